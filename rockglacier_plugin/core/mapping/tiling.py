"""Overlapping tiles over a raster and the weights that blend them without seams.

Along each axis tiles of ``tile_px`` start every ``tile_px - overlap_px`` pixels; the last tile
is shifted inward so it ends at the raster's edge (no padding, every tile is full size), which
keeps the last partial stretch as torchgeo's ceil formula does. Rasters smaller than a tile get
one tile of the raster's size rounded up to the model's size multiple (padded by reflection).

Blending weight of a tile, per axis: 0 over the ``margin_px`` pixels next to an edge shared with
another tile (where a convolutional model sees its zero padding), then a sin^2 ramp to 1 over
``overlap_px - 2 margin_px`` pixels, 1 inside; edges on the raster's border keep weight 1. With
margin >= the model's receptive-field radius, every output pixel away from the raster's border
comes only from tile interiors, so the blend equals a single whole-image run; the smooth ramps
leave no seam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..raster.windows import Window


@dataclass(frozen=True)
class TileLayout:
    """Tile size, overlap and edge margin in pixels; checked at creation."""

    tile_px: int
    overlap_px: int
    margin_px: int

    def __post_init__(self) -> None:
        if self.tile_px < 16:
            raise ParameterError(f"TILE_SIZE_PX={self.tile_px} is too small; use at least 16 (e.g. 512).")
        if not 0 <= self.overlap_px < self.tile_px:
            raise ParameterError(f"OVERLAP_PX={self.overlap_px} must lie between 0 and the tile size {self.tile_px} - 1.")
        if self.overlap_px < 2 * self.margin_px + 1:
            raise ParameterError(
                f"OVERLAP_PX={self.overlap_px} must be at least 2 x the model's edge margin ({self.margin_px} px) + 1 = "
                f"{2 * self.margin_px + 1} so that tile edges never reach the output; e.g. {2 * self.margin_px + 16}."
            )

    @property
    def stride_px(self) -> int:
        return self.tile_px - self.overlap_px


def tile_starts(length_px: int, layout: TileLayout) -> list[int]:
    """Start offsets along one axis; the last tile ends at ``length_px``.

    >>> tile_starts(1000, TileLayout(512, 48, 16))
    [0, 464, 488]
    >>> tile_starts(300, TileLayout(512, 48, 16))
    [0]
    """
    if length_px <= layout.tile_px:
        return [0]
    starts = list(range(0, length_px - layout.tile_px, layout.stride_px))
    starts.append(length_px - layout.tile_px)
    return sorted(set(starts))


def tile_windows(width_px: int, height_px: int, layout: TileLayout) -> list[list[Window]]:
    """Tiles as rows of windows (row-major), clipped to the raster for rasters smaller than a tile."""
    rows = []
    for row in tile_starts(height_px, layout):
        rows.append([
            Window(col, row, min(layout.tile_px, width_px), min(layout.tile_px, height_px))
            for col in tile_starts(width_px, layout)
        ])
    return rows


def axis_weights(start_px: int, size_px: int, length_px: int, layout: TileLayout) -> np.ndarray:
    """Blending weight along one axis of a tile starting at ``start_px`` on an axis of ``length_px``."""
    weights = np.ones(size_px, dtype=np.float64)
    ramp = max(layout.overlap_px - 2 * layout.margin_px, 1)
    position = np.arange(size_px, dtype=np.float64)
    rising = np.sin(0.5 * math.pi * np.clip((position - layout.margin_px + 0.5) / ramp, 0.0, 1.0)) ** 2
    if start_px > 0:  # an edge shared with the previous tile
        weights *= np.where(position < layout.margin_px, 0.0, rising)
    if start_px + size_px < length_px:  # an edge shared with the next tile
        weights *= rising[::-1]
    return weights


def blend_weights(window: Window, width_px: int, height_px: int, layout: TileLayout) -> np.ndarray:
    """2-D weight (rows, cols) of a tile window."""
    return np.outer(
        axis_weights(window.row_off, window.height_px, height_px, layout),
        axis_weights(window.col_off, window.width_px, width_px, layout),
    ).astype(np.float32)


def padded_size(size_px: int, multiple_px: int) -> int:
    """Smallest multiple of ``multiple_px`` >= size (models with output stride 16 need it)."""
    return int(math.ceil(size_px / multiple_px) * multiple_px)
