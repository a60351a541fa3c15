"""Scenes composed from chips: what a whole Sentinel-2 scene looks like to the model.

Chips framed around one rock glacier teach a model "a chip centred on a rock glacier": laid edge
to edge in one raster, as a scene is, such a model found almost nothing (scene IoU 0.04 against
0.62 per chip). Training here therefore sees canvases of several chips (positives and negatives,
each randomly rotated and flipped), randomly cropped so that crop borders cut through chips and a
rock glacier can sit anywhere next to other terrain; labels are composed the same way.

Validation scenes are composed from validation chips only (a chip is never on both sides), on a
fixed seed, and written as georeferenced GeoTIFFs so that the plugin's own inference path
(``core.mapping.segmentation`` on the exported ONNX model, default tiles and blending) scores them.

Georeferenced patches from ``rockglacier:trainingpatches`` (1,500 m of real context) go through
the same path: a cell of the canvas is filled with a random crop of a patch.

Chips labelled per chip only (another collection, ``training/image_level.py``) join the pool too:
those without rock glacier as negatives (an all-background label is exact), those with one as
"weak" positives whose cell is labelled ``labels.WEAK_LABEL_BASE + cell index`` (no pixel label;
``losses.with_image_level`` asks only that the cell hold a rock glacier somewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from training.data.augment import OTHER_RANGES, colour_jitter, other_ranges
from training.data.labels import WEAK_LABEL_BASE
from training.data.samples import Sample, read_sample


@dataclass(frozen=True)
class CompositionSettings:
    """A canvas of ``cells`` x ``cells`` cells of ``cell_px``, cropped to ``crop_px``."""

    cells: int = 3
    cell_px: int = 128
    crop_px: int = 256
    positive_share: float = 0.5  # chance that a cell holds a rock-glacier chip
    raster_edge_share: float = 0.0  # chance that a sample is cut by a raster's edge (raster_window)
    colour_jitter: float = 0.0  # per-cell band gains/offsets (augment.colour_jitter); 0 = off
    weak_positive_share: float = 0.0  # chance that a positive cell holds a chip labelled per chip only (ChipPool.weak_positives)
    other_ranges: tuple[str, ...] = ()  # per-cell augmentations of augment.OTHER_RANGES (pixel size, haze, snow, shadow)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.other_ranges) - set(OTHER_RANGES))
        if unknown:
            raise ValueError(f"other_ranges: unknown {', '.join(unknown)}; choose among {', '.join(OTHER_RANGES)}.")
        if self.crop_px > self.cells * self.cell_px:
            raise ValueError(f"crop_px={self.crop_px} is larger than the canvas ({self.cells} x {self.cell_px} px).")
        if not 0.0 <= self.raster_edge_share <= 1.0:
            raise ValueError(f"raster_edge_share={self.raster_edge_share} must lie in [0, 1].")
        if not 0.0 <= self.weak_positive_share <= 1.0:
            raise ValueError(f"weak_positive_share={self.weak_positive_share} must lie in [0, 1].")
        if self.cells * self.cells > 255 - WEAK_LABEL_BASE:
            raise ValueError(f"compose_cells={self.cells}: at most {int((255 - WEAK_LABEL_BASE) ** 0.5)} cells per side.")


def _dihedral(image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One of the eight rotations/flips, the same for image (bands, rows, cols) and label."""
    k = int(rng.integers(0, 4))
    image, label = np.rot90(image, k, axes=(1, 2)), np.rot90(label, k)
    if rng.random() < 0.5:
        image, label = image[:, :, ::-1], label[:, ::-1]
    return image, label


def _cell(image: np.ndarray, label: np.ndarray, cell_px: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A ``cell_px`` square from a chip or patch: a random crop when larger, reflected when smaller."""
    rows, cols = label.shape
    if rows < cell_px or cols < cell_px:
        pad = ((0, max(0, cell_px - rows)), (0, max(0, cell_px - cols)))
        image = np.pad(image, ((0, 0),) + pad, mode="reflect")
        label = np.pad(label, pad, mode="constant")
        rows, cols = label.shape
    r = int(rng.integers(0, rows - cell_px + 1))
    c = int(rng.integers(0, cols - cell_px + 1))
    return image[:, r : r + cell_px, c : c + cell_px], label[r : r + cell_px, c : c + cell_px]


class ChipPool:
    """Raw chips (already on the 0-255 scale) kept in memory: positives with a mask, negatives, and
    "weak" positives (``image_level`` samples of kind "positive": a rock glacier, no mask)."""

    def __init__(
        self,
        samples: Sequence[Sample],
        channels: int,
        to_uint8: Optional[callable] = None,
        hard_negatives: Sequence[str] = (),
        hard_weight: float = 1.0,
        image_level: Sequence[Sample] = (),
        weak_positive_share: float = 0.0,
    ):
        self.positives: list[tuple[np.ndarray, np.ndarray]] = []
        self.negatives: list[tuple[np.ndarray, np.ndarray]] = []
        self.weak_positives: list[np.ndarray] = []
        self.weak_positive_share = weak_positive_share
        weights: list[float] = []
        hard = set(hard_negatives)

        def scaled(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
            raw, label = read_sample(sample, channels)
            return (to_uint8(raw) if to_uint8 is not None else raw).astype(np.float32), label

        for sample in samples:
            image, label = scaled(sample)
            if (label == 1).any():  # a patch of unreviewed landforms only (IGNORE_LABEL) holds no rock glacier
                self.positives.append((image, label))
            else:
                self.negatives.append((image, label))
                weights.append(hard_weight if sample.image_path in hard else 1.0)
        for sample in image_level:
            image, label = scaled(sample)
            if sample.kind == "positive":
                self.weak_positives.append(image)
            else:
                self.negatives.append((image, label))
                weights.append(1.0)
        if not self.positives:
            raise ValueError("No sample with a rock glacier: composed scenes need positive chips.")
        total = sum(weights)
        self.negative_p = np.asarray(weights) / total if weights else None

    def draw(self, positive: bool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
        """(image, mask, weak): a random positive (weak, mask all zero, with ``weak_positive_share``
        when there are weak positives), or a negative (hard negatives ``hard_weight`` times as often)."""
        if positive or not self.negatives:
            if self.weak_positives and rng.random() < self.weak_positive_share:
                image = self.weak_positives[int(rng.integers(0, len(self.weak_positives)))]
                return image, np.zeros(image.shape[1:], dtype=np.uint8), True
            return (*self.positives[int(rng.integers(0, len(self.positives)))], False)
        return (*self.negatives[int(rng.choice(len(self.negatives), p=self.negative_p))], False)


def compose_canvas(pool: ChipPool, settings: CompositionSettings, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A ``cells`` x ``cells`` canvas of randomly turned chips and its label (uint8: 0/1, and
    ``WEAK_LABEL_BASE + row * cells + col`` over a cell holding a weak positive)."""
    size = settings.cells * settings.cell_px
    first, _, _ = pool.draw(True, rng)  # (its draw keeps the canvases of a seed what they were)
    canvas = np.zeros((first.shape[0], size, size), dtype=np.float32)
    label = np.zeros((size, size), dtype=np.uint8)
    for row in range(settings.cells):
        for col in range(settings.cells):
            image, mask, weak = pool.draw(bool(rng.random() < settings.positive_share), rng)
            image, mask = _cell(*_dihedral(image, mask, rng), settings.cell_px, rng)
            if settings.other_ranges:
                image, mask = other_ranges(image, mask, rng, settings.other_ranges)
            if weak:
                mask = np.full(mask.shape, WEAK_LABEL_BASE + row * settings.cells + col, dtype=np.uint8)
            if settings.colour_jitter:
                image = colour_jitter(image, rng, settings.colour_jitter)
            rows = slice(row * settings.cell_px, (row + 1) * settings.cell_px)
            cols = slice(col * settings.cell_px, (col + 1) * settings.cell_px)
            canvas[:, rows, cols], label[rows, cols] = image, mask
    return canvas, label


def random_crop(image: np.ndarray, label: np.ndarray, crop_px: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = label.shape
    r = int(rng.integers(0, rows - crop_px + 1))
    c = int(rng.integers(0, cols - crop_px + 1))
    return image[:, r : r + crop_px, c : c + crop_px], label[r : r + crop_px, c : c + crop_px]


def composed_sample(pool: ChipPool, settings: CompositionSettings, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One training sample: a composed canvas randomly cropped to ``crop_px``."""
    canvas, label = compose_canvas(pool, settings, rng)
    return random_crop(canvas, label, settings.crop_px, rng)


def _axis_window(size_px: int, min_inside_px: int, rng: np.random.Generator) -> slice:
    """Along one axis: no edge, one edge (either side) or two edges, a third of the time each."""
    case = int(rng.integers(0, 3))
    if case == 0:
        return slice(0, size_px)
    inside = int(rng.integers(min_inside_px, size_px + 1))
    if case == 1:
        return slice(0, inside) if rng.random() < 0.5 else slice(size_px - inside, size_px)
    start = int(rng.integers(0, size_px - inside + 1))
    return slice(start, start + inside)


def raster_window(shape: tuple[int, int], min_inside_px: int, rng: np.random.Generator) -> tuple[slice, slice]:
    """Where a raster's pixels lie in a sample cut by the raster's edges (rows, cols).

    Beyond its edges the plugin gives the model the neutral input (the standardised zero, see
    ``core.mapping.segmentation``): a scene's border, or a small clip run alone
    (``min_inside_px`` of data in the middle of neutral input is a chip segmented by itself).
    Training on such samples teaches the model what the plugin shows it there.
    """
    return _axis_window(shape[0], min_inside_px, rng), _axis_window(shape[1], min_inside_px, rng)


def cut_by_raster_edges(
    standardized: np.ndarray, label: np.ndarray, window: tuple[slice, slice]
) -> tuple[np.ndarray, np.ndarray]:
    """The sample with everything outside ``window`` set to the neutral input (0 after
    standardisation) and to background in the label."""
    inside = np.zeros(label.shape, dtype=bool)
    inside[window] = True
    return np.where(inside, standardized, 0.0).astype(standardized.dtype), np.where(inside, label, 0).astype(label.dtype)


@dataclass
class ValidationScene:
    """Validation chips laid edge to edge: image (bands, rows, cols), label, and which pixels came
    from negative chips (for the false-positive area on negatives)."""

    image: np.ndarray
    label: np.ndarray
    negative_pixels: np.ndarray


def validation_scene(
    samples: Sequence[Sample],
    channels: int,
    cells_per_side: int,
    seed: int = 0,
    cell_px: int = 128,
    to_uint8: Optional[callable] = None,
    shuffle: bool = True,
) -> ValidationScene:
    """Every chip once, in a seeded order (or as given, row by row, with ``shuffle=False``) and a
    seeded orientation, on a square grid of ``cells_per_side`` cells (cells left over get chips drawn again)."""
    rng = np.random.default_rng(seed)
    chips = []
    for sample in samples:
        raw, label = read_sample(sample, channels)
        image = to_uint8(raw) if to_uint8 is not None else raw
        chips.append((image.astype(np.float32), label))
    order = list(rng.permutation(len(chips))) if shuffle else list(range(len(chips)))
    while len(order) < cells_per_side**2:
        order.append(int(rng.integers(0, len(chips))))
    size = cells_per_side * cell_px
    image = np.zeros((channels, size, size), dtype=np.float32)
    label = np.zeros((size, size), dtype=np.uint8)
    negative = np.zeros((size, size), dtype=bool)
    for index, chip_index in enumerate(order[: cells_per_side**2]):
        chip, mask = chips[chip_index]
        chip, mask = _cell(*_dihedral(chip, mask, rng), cell_px, rng)
        row, col = divmod(index, cells_per_side)
        rows = slice(row * cell_px, (row + 1) * cell_px)
        cols = slice(col * cell_px, (col + 1) * cell_px)
        image[:, rows, cols], label[rows, cols] = chip, mask
        negative[rows, cols] = not mask.any()
    return ValidationScene(image, label, negative)


def cells_for(n_chips: int) -> int:
    """The side of the smallest square grid that holds ``n_chips`` chips.

    >>> cells_for(95), cells_for(100), cells_for(1)
    (10, 10, 1)
    """
    side = int(np.ceil(np.sqrt(max(n_chips, 1))))
    return side
