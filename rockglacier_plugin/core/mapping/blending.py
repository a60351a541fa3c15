"""Blending the tiles' probabilities: weighted sums (``tiling.blend_weights``) for a band of rows one tile high,
flushed as rows complete, and the finished rows' probability and mask with their no-data values."""

from __future__ import annotations

import numpy as np

from ..raster.windows import Window

PROBABILITY_NODATA = -1.0
MASK_NODATA = 255


class BlendBuffer:
    """Weighted probability sums for a band of rows one tile high, flushed as rows complete."""

    def __init__(self, rows: int, width_px: int) -> None:
        self.numerator = np.zeros((rows, width_px), dtype=np.float32)
        self.denominator = np.zeros_like(self.numerator)
        self.valid = np.zeros((rows, width_px), dtype=bool)
        self.top = 0  # region row held in the buffer's first row

    def move_to(self, row_top: int) -> None:
        """Shift the buffer down so that its first row is ``row_top`` (rows above it are finished and written)."""
        shift = row_top - self.top
        if shift:
            for array, empty in ((self.numerator, 0.0), (self.denominator, 0.0), (self.valid, False)):
                array[:-shift], array[-shift:] = array[shift:], empty
            self.top = row_top

    def add(self, tile: Window, probability: np.ndarray, tile_valid: np.ndarray, weights: np.ndarray) -> None:
        """Add a tile's weighted probabilities where it is valid."""
        rows = slice(tile.row_off - self.top, tile.row_off - self.top + tile.height_px)
        cols = slice(tile.col_off, tile.col_off + tile.width_px)
        self.numerator[rows, cols] += weights * probability[: tile.height_px, : tile.width_px]
        self.denominator[rows, cols] += weights
        self.valid[rows, cols] |= tile_valid

    def finished(self, rows: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """(probability, mask) of the first ``rows`` rows, which no further tile reaches (new arrays)."""
        return finished_rows(self.numerator[:rows], self.denominator[:rows], self.valid[:rows], threshold)


def finished_rows(
    numerator: np.ndarray, denominator: np.ndarray, valid: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Probability and mask of finished rows: the weighted sums divided by the weights, no-data where no tile was valid."""
    has = valid & (denominator > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        probability = np.where(has, numerator / np.where(has, denominator, 1.0), PROBABILITY_NODATA).astype(np.float32)
    mask = np.where(has, (probability >= threshold).astype(np.uint8), MASK_NODATA).astype(np.uint8)
    return probability, mask
