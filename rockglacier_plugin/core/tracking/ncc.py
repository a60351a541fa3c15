"""Normalised cross-correlation (NCC) of a template inside a search window, with a sub-pixel peak.

Conventions: arrays are (row, column); a shift (d_col, d_row) in pixels is where the template's centre of the first
image lies in the second image, minus where it lay: d_col positive east (columns grow eastward), d_row positive down
(rows grow southward on a north-up grid). The metres and the north-positive sign are applied by the caller
(``displacements.pixel_shift_to_metres``).

The NCC at each offset is sum((t - mean t)(w - mean w)) / sqrt(sum (t - mean t)^2 sum (w - mean w)^2) over the
template footprint: the correlation coefficient, in [-1, 1], insensitive to a change of brightness and contrast
between the dates (another sun, another sensor). It is computed for every offset at once with FFTs of the search
window (numerator) and running sums (denominator), exactly, not approximately. The sub-pixel peak is the vertex of a
quadric surface (with its cross term) fitted to the 3 x 3 correlations around the integer peak: fitting each axis
alone biased shifts by up to 0.2 px on smooth band-limited textures, the quadric by at most 0.025 px (tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Match:
    """The best normalised cross-correlation match of a template: offset (sub-pixel), peak and the second peak's ratio."""

    d_col_px: float
    d_row_px: float
    correlation: float  # NCC at the integer peak
    second_ratio: float  # second-highest peak (away from the first) / highest: near 1 = ambiguous


def _window_sums(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Sum of each image of the stack (n, rows, cols) over every height x width window, for every valid offset."""
    padded = np.pad(np.cumsum(np.cumsum(images, axis=1), axis=2), ((0, 0), (1, 0), (1, 0)))
    return padded[:, height:, width:] - padded[:, :-height, width:] - padded[:, height:, :-width] + padded[:, :-height, :-width]


def ncc_surfaces(templates: np.ndarray, searches: np.ndarray) -> np.ndarray:
    """NCC of each template (n, th, tw) at every offset fully inside its search window (n, sh, sw): shape
    (n, sh - th + 1, sw - tw + 1); NaN where either is flat (no texture to match). One FFT pass for the whole stack;
    the FFT is as large as the search window (the offsets kept never wrap around), rounded up to a fast length."""
    from scipy import fft

    t = templates.astype(np.float64)
    t = t - t.mean(axis=(1, 2), keepdims=True)
    s = searches.astype(np.float64)
    th, tw = t.shape[1:]
    rows, cols = s.shape[1] - th + 1, s.shape[2] - tw + 1
    shape = (fft.next_fast_len(s.shape[1], real=True), fft.next_fast_len(s.shape[2], real=True))
    spectrum = fft.rfft2(s, shape, axes=(1, 2)) * np.conj(fft.rfft2(t, shape, axes=(1, 2)))
    numerator = fft.irfft2(spectrum, shape, axes=(1, 2))[:, :rows, :cols]
    n = th * tw
    sums, squares = _window_sums(s, th, tw), _window_sums(s * s, th, tw)
    variance = np.clip(squares - sums * sums / n, 0.0, None)
    denominator = np.sqrt(variance * np.sum(t * t, axis=(1, 2))[:, None, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        surface = numerator / denominator
    scale = np.max(denominator, axis=(1, 2), initial=0.0)[:, None, None]
    return np.where(denominator > 1e-12 * np.maximum(scale, 1e-300), surface, np.nan)


def ncc_surface(template: np.ndarray, search: np.ndarray) -> np.ndarray:
    """NCC of ``template`` at every offset fully inside ``search`` (shape: search - template + 1); NaN where either
    is flat (no texture to match)."""
    return ncc_surfaces(template[None], search[None])[0]


def _quadratic_vertex(patch: np.ndarray) -> tuple[float, float]:
    """Vertex (d_col, d_row) of the quadric a + b x + c y + d x^2 + e x y + f y^2 fitted (least squares) to the 3 x 3
    ``patch`` around the integer peak; (0, 0) when it is not a maximum or falls outside the central pixel."""
    y, x = np.mgrid[-1:2, -1:2].astype(np.float64)
    design = np.column_stack([np.ones(9), x.ravel(), y.ravel(), x.ravel() ** 2, (x * y).ravel(), y.ravel() ** 2])
    values = patch.ravel()
    if not np.isfinite(values).all():
        return 0.0, 0.0
    _, b, c, d, e, f = np.linalg.lstsq(design, values, rcond=None)[0]
    hessian = np.array([[2 * d, e], [e, 2 * f]])
    if np.linalg.det(hessian) <= 0 or d >= 0:
        return 0.0, 0.0
    dx, dy = np.linalg.solve(hessian, [-b, -c])
    if abs(dx) > 0.75 or abs(dy) > 0.75:
        return 0.0, 0.0
    return float(dx), float(dy)


def peak(surface: np.ndarray) -> Optional[Match]:
    """The match an NCC surface gives, relative to the surface's centre (the search window's centre), or None when no
    offset could be scored (flat data) or the peak lies on the surface's edge (the motion is larger than the search)."""
    if not np.isfinite(surface).any():
        return None
    row, col = (int(i) for i in np.unravel_index(int(np.nanargmax(surface)), surface.shape))
    if row in (0, surface.shape[0] - 1) or col in (0, surface.shape[1] - 1):
        return None
    top = float(surface[row, col])
    sub_col, sub_row = _quadratic_vertex(surface[row - 1 : row + 2, col - 1 : col + 2])
    rest = surface.copy()
    rest[max(0, row - 2) : row + 3, max(0, col - 2) : col + 3] = np.nan
    second = float(np.nanmax(rest)) if np.isfinite(rest).any() else -1.0
    centre_row, centre_col = (surface.shape[0] - 1) / 2.0, (surface.shape[1] - 1) / 2.0
    return Match(col + sub_col - centre_col, row + sub_row - centre_row, top, second / top if top > 0 else 1.0)


def match(template: np.ndarray, search: np.ndarray) -> Optional[Match]:
    """Where the centre of ``template`` lies in ``search`` relative to the search window's centre (``peak``)."""
    return peak(ncc_surface(template, search))
