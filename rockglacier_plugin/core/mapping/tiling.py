"""Tiles over a raster, the context each one reads around it, and the weights that blend them.

Each model call answers for one tile of ``tile_px`` and reads ``context_px`` more on every side
(the model's margin, rounded up to ``align_px``): its input is ``tile_px + 2 context_px`` square, and
only the tile's own pixels of the answer are kept. A convolutional model whose receptive field
fits in the context then gives every pixel the answer of one whole-scene run, whatever the tile
size: the tile size is a speed and memory choice only. Beyond the raster's edge the context is the
model's neutral input (the same for every tile size).

Along each axis tiles start every ``tile_px - overlap_px`` pixels, every start a multiple of
``align_px`` (the model's size multiple, its total stride): a network that downsamples by 16 is
only shift-equivariant for shifts of 16 px, so aligned inputs see each pixel at the same phase
whatever the tile size. The last tile starts at the first aligned offset that reaches the raster's
edge and is clipped there; a raster smaller than a tile is one clipped tile (both padded like the context).

Blending weight of a tile, per axis: a sin^2 ramp from 0 to 1 over the ``overlap_px`` pixels next
to an edge shared with another tile, 1 inside; edges on the raster's border keep weight 1. Where
tiles agree the ramps change nothing; where a model reaches beyond the context they hide the seam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..raster.windows import Window


@dataclass(frozen=True)
class TileLayout:
    """Tile size, overlap, grid and context in pixels; checked at creation."""

    tile_px: int
    overlap_px: int
    align_px: int = 1
    context_px: int = 0  # read on every side of a tile beyond it (a multiple of align_px)

    def __post_init__(self) -> None:
        if self.tile_px < 16:
            raise ParameterError(f"TILE_SIZE_PX={self.tile_px} is too small; use at least 16 (e.g. 512).")
        if not 0 <= self.overlap_px < self.tile_px:
            raise ParameterError(f"OVERLAP_PX={self.overlap_px} must lie between 0 and the tile size {self.tile_px} - 1.")
        if self.tile_px % self.align_px or self.context_px % self.align_px:
            raise ParameterError(
                f"TILE_SIZE_PX={self.tile_px} and the context {self.context_px} px must be multiples of the "
                f"model's size multiple {self.align_px}."
            )

    @property
    def input_px(self) -> int:
        """Side of the model's input for a full tile."""
        return self.tile_px + 2 * self.context_px

    @property
    def stride_px(self) -> int:
        """Tile step: ``tile_px - overlap_px`` rounded down to ``align_px`` (at least ``align_px``)."""
        return max((self.tile_px - self.overlap_px) // self.align_px * self.align_px, self.align_px)


def tile_starts(length_px: int, layout: TileLayout) -> list[int]:
    """Start offsets along one axis, multiples of ``align_px``; the last tile reaches ``length_px``.

    >>> tile_starts(1000, TileLayout(512, 48))
    [0, 464, 488]
    >>> tile_starts(1000, TileLayout(512, 48, align_px=16))
    [0, 464, 496]
    >>> tile_starts(300, TileLayout(512, 48))
    [0]
    """
    if length_px <= layout.tile_px:
        return [0]
    align = layout.align_px
    last = -(-(length_px - layout.tile_px) // align) * align  # first aligned start that reaches the edge
    starts = list(range(0, last, layout.stride_px))
    starts.append(last)
    return sorted(set(starts))


def tile_windows(width_px: int, height_px: int, layout: TileLayout) -> list[list[Window]]:
    """Tiles as rows of windows (row-major), clipped to the raster (the last tiles, rasters smaller than a tile)."""
    rows = []
    for row in tile_starts(height_px, layout):
        rows.append(
            [
                Window(col, row, min(layout.tile_px, width_px - col), min(layout.tile_px, height_px - row))
                for col in tile_starts(width_px, layout)
            ]
        )
    return rows


def axis_weights(start_px: int, size_px: int, length_px: int, layout: TileLayout) -> np.ndarray:
    """Blending weight along one axis of a tile starting at ``start_px`` on an axis of ``length_px``."""
    weights = np.ones(size_px, dtype=np.float64)
    ramp = max(layout.overlap_px, 1)
    position = np.arange(size_px, dtype=np.float64)
    rising = np.sin(0.5 * math.pi * np.clip((position + 0.5) / ramp, 0.0, 1.0)) ** 2
    if start_px > 0:  # an edge shared with the previous tile
        weights *= rising
    if start_px + size_px < length_px:  # an edge shared with the next tile
        weights *= rising[::-1]
    return weights


def blend_weights(window: Window, width_px: int, height_px: int, layout: TileLayout) -> np.ndarray:
    """2-D weight (rows, cols) of a tile window."""
    return np.outer(
        axis_weights(window.row_off, window.height_px, height_px, layout),
        axis_weights(window.col_off, window.width_px, width_px, layout),
    ).astype(np.float32)


def context_for(margin_px: int, align_px: int) -> int:
    """The context read around each tile: the model's margin rounded up to its size multiple.

    >>> context_for(32, 16), context_for(2, 16), context_for(0, 16)
    (32, 16, 0)
    """
    return padded_size(margin_px, align_px)


def padded_size(size_px: int, multiple_px: int) -> int:
    """Smallest multiple of ``multiple_px`` >= size (models with output stride 16 need it)."""
    return int(math.ceil(size_px / multiple_px) * multiple_px)
