"""The views of test-time averaging, in one place: which views (``VIEWS``: as is, mirrored, turned), their average
(``averaged_probability``), and adaptive views: the further views only where the first view finds something.

The first view runs on every tile, with the model's full context. Where it reaches ``LOW`` (cells of
``CELL_PX`` holding such a pixel, grouped into connected blocks), the remaining views run on a crop of the
model input around each block with ``CROP_CONTEXT_PX`` of context (never more than the model's), and the
block's pixels get the average of all views; elsewhere the first view stands (nothing there is near a rock
glacier). When the crops would cover most of the input, the whole input runs the views instead.

Measured with the shipped int8 model on four composed scenes (the validation scene, the same chips in
another arrangement, training chips, and a sparse scene three quarters without rock glaciers), against 8
views everywhere: with the full 192 px context the crops covered the whole input on dense scenes (7.3x the
1-view time, the same IoU); with 32 px, scene IoU within 0.003 (-0.0017, -0.0029, +0.0030, -0.0022) and
fewer false pixels on every scene, at 1.6-2.0x (sparse) to 2.9-5.0x (dense) the 1-view time (timings of a
shared 2-core machine); with 16 px the IoU fell by 0.006-0.012. The further views average out small biases, which a little
context carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..errors import ParameterError
from .onnx_model import SegmentationModel

#: A first-view probability from which a pixel's neighbourhood gets the further views.
LOW = 0.2
#: Size of the cells the busy area is counted in, pixels.
CELL_PX = 32
#: Context read around each block for the further views, pixels (the first view has the model's full context).
CROP_CONTEXT_PX = 32
#: Crops covering more than this share of the input: run the views over the whole input.
WHOLE_INPUT_SHARE = 0.7


@dataclass(frozen=True)
class Block:
    """A crop of the model input (rows r0:r1, cols c0:c1) and the part of it whose pixels it answers for."""

    r0: int
    r1: int
    c0: int
    c1: int
    inner: tuple[int, int, int, int]  # rows, rows end, cols, cols end, in input coordinates


def _components(cells: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (row0, row1, col0, col1; cells, end exclusive) of the 8-connected groups of True cells.

    >>> _components(np.array([[1, 0, 0], [0, 0, 1], [0, 0, 1]], bool))
    [(0, 1, 0, 1), (1, 3, 2, 3)]
    """
    seen = np.zeros_like(cells, dtype=bool)
    boxes = []
    rows, cols = cells.shape
    for start in zip(*np.nonzero(cells)):
        if seen[start]:
            continue
        stack, members = [start], []
        seen[start] = True
        while stack:
            r, c = stack.pop()
            members.append((r, c))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    nr, nc = r + dr, c + dc
                    if 0 <= nr < rows and 0 <= nc < cols and cells[nr, nc] and not seen[nr, nc]:
                        seen[nr, nc] = True
                        stack.append((nr, nc))
        found = np.array(members)
        boxes.append((int(found[:, 0].min()), int(found[:, 0].max()) + 1, int(found[:, 1].min()), int(found[:, 1].max()) + 1))
    return boxes


def _aligned(start: int, end: int, limit: int, multiple: int) -> tuple[int, int]:
    """[start, end) grown to a multiple of ``multiple`` in length, kept inside [0, limit)."""
    length = -(-(end - start) // multiple) * multiple
    length = min(length, limit - limit % multiple if limit >= multiple else limit)
    start = max(0, min(start, limit - length))
    return start, start + length


def busy_blocks(
    first: np.ndarray,
    context_px: int,
    multiple: int,
    low: float = LOW,
    cell_px: int = CELL_PX,
    crop_context_px: int = CROP_CONTEXT_PX,
) -> list[Block]:
    """The crops to run the further views on, for one input's first-view probability (rows, cols); ``context_px``
    is the input's own context ring (not part of the tile), ``crop_context_px`` what each crop reads around its block."""
    rows, cols = first.shape
    interior = np.zeros_like(first, dtype=bool)
    interior[context_px:, context_px:] = first[context_px:, context_px:] >= low
    if not interior.any():
        return []
    pad_r, pad_c = -rows % cell_px, -cols % cell_px
    cells = np.pad(interior, ((0, pad_r), (0, pad_c))).reshape(
        (rows + pad_r) // cell_px, cell_px, (cols + pad_c) // cell_px, cell_px
    )
    busy = np.asarray(cells.any(axis=(1, 3)))
    blocks = []
    for r0, r1, c0, c1 in _components(busy):
        inner = (r0 * cell_px, min(r1 * cell_px, rows), c0 * cell_px, min(c1 * cell_px, cols))
        margin = min(context_px, crop_context_px)
        crop_r = _aligned(max(inner[0] - margin, 0), min(inner[1] + margin, rows), rows, multiple)
        crop_c = _aligned(max(inner[2] - margin, 0), min(inner[3] + margin, cols), cols, multiple)
        blocks.append(Block(crop_r[0], crop_r[1], crop_c[0], crop_c[1], inner))
    return blocks


def refine(
    first: np.ndarray,
    model_input: np.ndarray,
    context_px: int,
    multiple: int,
    further_views: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, float]:
    """``first`` with the busy blocks' pixels replaced by the average of all views, and the share of the
    input's pixels the further views ran on. ``further_views(input batch, first batch)`` returns the
    average of all views given the first (``averaged_probability``)."""
    blocks = busy_blocks(first, context_px, multiple)
    if not blocks:
        return first, 0.0
    area = sum((b.r1 - b.r0) * (b.c1 - b.c0) for b in blocks)
    if area >= WHOLE_INPUT_SHARE * first.size:
        return further_views(model_input[None], first[None])[0], 1.0
    result = first.copy()
    for block in blocks:
        averaged = further_views(
            np.ascontiguousarray(model_input[None, :, block.r0 : block.r1, block.c0 : block.c1]),
            first[None, block.r0 : block.r1, block.c0 : block.c1],
        )[0]
        r0, r1, c0, c1 = block.inner
        result[r0:r1, c0:c1] = averaged[r0 - block.r0 : r1 - block.r0, c0 - block.c0 : c1 - block.c0]
    return result, area / first.size


#: Views of test-time averaging, as (quarter turns, mirror left-right): 4 = the mirror images, 8 = every
#: symmetry of the square (a rock glacier is one whichever way the image is turned; the model's small
#: biases are not, so they average out).
VIEW_SYMMETRIES = {
    1: ((0, False),),
    4: ((0, False), (0, True), (2, True), (2, False)),
    8: tuple((turns, mirror) for turns in range(4) for mirror in (False, True)),
}


@dataclass(frozen=True)
class ViewsChoice:
    """One choice of the VIEWS option: its label, how many views, and whether the further ones run adaptively."""

    label: str
    views: int
    adaptive: bool


#: The VIEWS option's choices, in their order: Processing's enum index and the region command's --views take them
#: from here (none given: the model's own, adaptively).
VIEWS_CHOICES = (
    ViewsChoice("1: as is", 1, False),
    ViewsChoice("4: mirrored", 4, False),
    ViewsChoice("8: mirrored and turned", 8, False),
    ViewsChoice("8 on tiles where the first view finds anything (adaptive)", 8, True),
)


def check_views(views: int) -> None:
    """Refuse a VIEWS value other than 1, 4 or 8."""
    if views not in VIEW_SYMMETRIES:
        raise ParameterError(f"VIEWS={views}: choose 1 (as is), 4 (mirrored) or 8 (mirrored and turned).")


def averaged_probability(
    model: SegmentationModel, batch: np.ndarray, views: int, first: Optional[np.ndarray] = None
) -> np.ndarray:
    """The mean of the model's probabilities over ``views`` symmetric views of the batch, each turned back
    (``first``: the first view's probabilities, the image as is, when the caller has them already).

    Views 4 are: as is, mirrored left-right, turned twice and mirrored (= mirrored up-down), turned twice.
    """
    check_views(views)
    total = np.zeros((batch.shape[0],) + batch.shape[2:], dtype=np.float64)
    chosen = VIEW_SYMMETRIES[views]
    if first is not None:
        total += first
        chosen = chosen[1:]
    for turns, mirror in chosen:
        image = np.rot90(batch, turns, axes=(-2, -1))
        image = np.ascontiguousarray(image[..., ::-1] if mirror else image)
        probability = model.rock_glacier_probability(image)
        probability = probability[..., ::-1] if mirror else probability
        total += np.rot90(probability, -turns, axes=(-2, -1))
    return (total / len(VIEW_SYMMETRIES[views])).astype(np.float32)
