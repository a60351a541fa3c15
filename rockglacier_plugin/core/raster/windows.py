"""Pixel windows on a north-up raster grid.

A ``Window`` is a rectangle of pixels: column and row offsets of its upper-left pixel and its
size, all in pixels. It may reach outside the raster (negative offsets, or past the edge); readers
fill the outside with NaN so that callers can see what is missing instead of silently dropping it.
A geotransform is GDAL's six numbers ``(x0, pixel_width, 0, y0, 0, -pixel_height)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

GeoTransform = Sequence[float]


@dataclass(frozen=True)
class Window:
    """Rectangle of pixels; offsets and sizes in pixels."""

    col_off: int
    row_off: int
    width_px: int
    height_px: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns), numpy order."""
        return (self.height_px, self.width_px)

    def padded(self, pad_px: int) -> "Window":
        """The same window grown by ``pad_px`` pixels on every side."""
        return Window(
            self.col_off - pad_px,
            self.row_off - pad_px,
            self.width_px + 2 * pad_px,
            self.height_px + 2 * pad_px,
        )

    def intersection(self, other: "Window") -> Optional["Window"]:
        """The overlap of two windows, or None when they do not overlap."""
        col0 = max(self.col_off, other.col_off)
        row0 = max(self.row_off, other.row_off)
        col1 = min(self.col_off + self.width_px, other.col_off + other.width_px)
        row1 = min(self.row_off + self.height_px, other.row_off + other.height_px)
        if col1 <= col0 or row1 <= row0:
            return None
        return Window(col0, row0, col1 - col0, row1 - row0)

    def transform(self, geotransform: GeoTransform) -> tuple[float, float, float, float, float, float]:
        """The geotransform of this window's upper-left corner."""
        x0, dx, rx, y0, ry, dy = geotransform
        return (x0 + self.col_off * dx, dx, rx, y0 + self.row_off * dy, ry, dy)


def window_from_bounds(xmin: float, ymin: float, xmax: float, ymax: float, geotransform: GeoTransform) -> Window:
    """Smallest window of whole pixels that covers a bounding box (north-up grids only).

    >>> window_from_bounds(10.0, -20.0, 25.0, -5.0, (0.0, 10.0, 0.0, 0.0, 0.0, -10.0))
    Window(col_off=1, row_off=0, width_px=2, height_px=2)
    """
    x0, dx, _, y0, _, dy = geotransform
    col0 = math.floor((xmin - x0) / dx)
    col1 = math.ceil((xmax - x0) / dx)
    row0 = math.floor((ymax - y0) / dy)
    row1 = math.ceil((ymin - y0) / dy)
    # A degenerate box (a point or a line along a pixel edge) still gets one pixel.
    return Window(col0, row0, max(col1 - col0, 1), max(row1 - row0, 1))
