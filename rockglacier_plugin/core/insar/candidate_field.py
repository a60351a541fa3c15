"""One pair's downslope velocity field for finding moving areas, with its error and masks.

The pair is read as ``rockglacier:insarvelocity`` reads it (``InsarScene``: phase to LOS velocity,
orbital ramp and stratified atmosphere removed on stable ground, connected components, products
normalised on entry), then:

* **Local reference** (the atmosphere that stays): the LOS velocity is re-referenced, pixel by
  pixel, to the stable ground around it: the median of coherent pixels in cells of
  ``reference_radius_m / 4``, then the median of those cell medians within ``reference_radius_m``
  (a moving landform fills a few cells of the ~80 in the window, so it does not bias its own
  reference). The spread of the cell medians around it (1.4826 MAD) is the error of that reference
  at one pixel: the turbulent atmosphere and unwrapping noise at the landform's scale. 500 m by
  default: the turbulent delay between two points grows with their distance (as r^(5/3) for a
  Kolmogorov spectrum), so the nearer the reference, the less of it stays; a 0.45 km2 landform
  still fills under half of the window's cells. On both scene generators of ``make bench``
  (benchmarks/moving_areas_bench.py) 500 m finds more moderate landforms than 1 km with no more
  false candidates.
* **Downslope velocity** ``v_dslp = v_los_rel / g`` (``los_geometry``), its 1-sigma from the pixel's
  phase noise and the local reference error, both divided by |g|, and the projection factor's error.
* **Usable pixels**: coherence >= ``min_coherence``, |g| >= ``min_projection_factor``, slope within
  ``[min_slope_deg, max_slope_deg]``, neither layover nor radar shadow (``los_geometry.layover_or_shadow``),
  not under a glacier outline.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional

import numpy as np

from ..conventions import MAD_TO_SIGMA
from ..errors import OperationCancelled
from ..raster.io import RasterGrid
from ..raster.pixel_size import row_pixel_sizes_m
from ..raster.windows import Window
from .los_geometry import layover_or_shadow
from .scene import InsarScene, VelocityMapScene

BLOCK_ROWS = 512
#: A cell's median counts when at least this share of its pixels is coherent.
MIN_CELL_SHARE = 0.25


@dataclass(frozen=True)
class FieldSettings:
    """The per-pixel masks and local reference of a candidate field: coherence, |g| and slope gates, reference radius."""

    min_coherence: float = 0.3
    min_projection_factor: float = 0.3
    min_slope_deg: float = 5.0
    max_slope_deg: float = 35.0
    reference_radius_m: float = 500.0  # module docstring: why 500 m


@dataclass
class CandidateField:
    """Per-pixel arrays of one pair on its grid (float32; NaN where not usable)."""

    grid: RasterGrid
    pair_label: str
    los_rel_cm_per_yr: np.ndarray  # LOS velocity towards the satellite minus the local reference
    dslp_cm_per_yr: np.ndarray  # downslope velocity (NaN where not usable)
    dslp_sigma_cm_per_yr: np.ndarray  # its 1-sigma, pixel noise and local reference
    reference_sigma_cm_per_yr: np.ndarray  # the local reference's error in LOS (common to neighbouring pixels)
    noise_sigma_cm_per_yr: np.ndarray  # the pixel's phase noise in LOS
    projection: np.ndarray
    coherence: np.ndarray
    coherent: np.ndarray  # bool: data and coherence >= min_coherence
    usable: np.ndarray  # bool
    unmeasurable: np.ndarray  # bool: layover, shadow or |g| too small (the ground the pair cannot see moving)
    component: Optional[np.ndarray]  # SNAPHU connected components, when given
    cycle_cm_per_yr: Optional[float]  # LOS velocity of one phase cycle (None for velocity products)
    pixel_m: float  # mean pixel size

    def window(self, box: tuple[slice, slice]) -> "CandidateField":
        """The per-pixel arrays of ``box`` (views; ``grid`` stays the whole scene's)."""
        arrays = {name: getattr(self, name)[box] for name in PER_PIXEL}
        if self.component is not None:
            arrays["component"] = self.component[box]
        return replace(self, **arrays)


#: The per-pixel array fields of ``CandidateField`` (``component`` is optional).
PER_PIXEL = (
    "los_rel_cm_per_yr",
    "dslp_cm_per_yr",
    "dslp_sigma_cm_per_yr",
    "reference_sigma_cm_per_yr",
    "noise_sigma_cm_per_yr",
    "projection",
    "coherence",
    "coherent",
    "usable",
    "unmeasurable",
)


def _cell_medians(values: np.ndarray, valid: np.ndarray, cell_px: int) -> np.ndarray:
    """Median of the valid values in each ``cell_px`` x ``cell_px`` cell (NaN where too few are valid)."""
    height, width = values.shape
    ny, nx = -(-height // cell_px), -(-width // cell_px)
    padded = np.full((ny * cell_px, nx * cell_px), np.nan, dtype=np.float64)
    padded[:height, :width] = np.where(valid, values, np.nan)
    blocks = padded.reshape(ny, cell_px, nx, cell_px).transpose(0, 2, 1, 3).reshape(ny, nx, cell_px * cell_px)
    counts = np.isfinite(blocks).sum(axis=2)
    with warnings.catch_warnings():  # all-NaN cells give NaN, as meant
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nanmedian(blocks, axis=2)
    return np.where(counts >= MIN_CELL_SHARE * cell_px * cell_px, medians, np.nan)


def _window_median_and_spread(cells: np.ndarray, radius_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: median of the cell medians within ``radius_cells`` and their spread (1.4826 MAD)."""
    from numpy.lib.stride_tricks import sliding_window_view

    k = 2 * radius_cells + 1
    padded = np.pad(cells, radius_cells, constant_values=np.nan)
    reference = np.full(cells.shape, np.nan)
    spread = np.full(cells.shape, np.nan)
    rows_per_chunk = max(1, 2_000_000 // max(1, cells.shape[1] * k * k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for start in range(0, cells.shape[0], rows_per_chunk):
            stop = min(cells.shape[0], start + rows_per_chunk)
            windows = sliding_window_view(padded[start : stop + 2 * radius_cells], (k, k)).reshape(
                stop - start, cells.shape[1], k * k
            )
            median = np.nanmedian(windows, axis=2)
            reference[start:stop] = median
            spread[start:stop] = MAD_TO_SIGMA * np.nanmedian(np.abs(windows - median[..., None]), axis=2)
    return reference, spread


def _to_pixels(cells: np.ndarray, cell_px: int, shape: tuple[int, ...]) -> np.ndarray:
    """Cell values -> pixels, bilinear between cell centres (cells without a value take the nearest one's)."""
    from scipy.ndimage import distance_transform_edt, map_coordinates

    if not np.isfinite(cells).any():
        return np.full(shape, np.nan)
    missing = ~np.isfinite(cells)
    if missing.any():
        _, (rows, cols) = distance_transform_edt(missing, return_indices=True)
        cells = cells[rows, cols]
    r = (np.arange(shape[0]) + 0.5) / cell_px - 0.5
    c = (np.arange(shape[1]) + 0.5) / cell_px - 0.5
    rr, cc = np.meshgrid(r, c, indexing="ij")
    return map_coordinates(cells, [rr, cc], order=1, mode="nearest")


def local_reference(
    los_cm_per_yr: np.ndarray, coherent: np.ndarray, pixel_m: float, radius_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """(reference, its 1-sigma) per pixel, in the LOS velocity's unit (see the module docstring).

    >>> v = np.zeros((120, 120)); v[50:60, 50:60] = 30.0  # a 300 m moving patch on stable ground
    >>> ref, sigma = local_reference(v, np.ones(v.shape, bool), 30.0, 1000.0)
    >>> float(np.abs(ref).max()), float(sigma.max())
    (0.0, 0.0)
    """
    cell_m = radius_m / 4.0
    cell_px = max(1, int(round(cell_m / pixel_m)))
    radius_cells = max(1, int(math.ceil(radius_m / (cell_px * pixel_m))))
    cells = _cell_medians(los_cm_per_yr, coherent & np.isfinite(los_cm_per_yr), cell_px)
    reference, spread = _window_median_and_spread(cells, radius_cells)
    return _to_pixels(reference, cell_px, los_cm_per_yr.shape), _to_pixels(spread, cell_px, los_cm_per_yr.shape)


def _read_scene(scene: InsarScene, cancelled: Callable[[], bool]) -> dict[str, Any]:
    """The scene's per-pixel arrays (float32), read in row blocks."""
    grid = scene.grid
    names = (
        "velocity_los_cm_per_yr",
        "sigma_los_cm_per_yr",
        "coherence",
        "slope_deg",
        "aspect_deg",
        "projection",
        "projection_sigma",
        "incidence_deg",
        "los_azimuth_deg",
    )
    arrays: dict[str, Any] = {name: np.full((grid.height_px, grid.width_px), np.nan, dtype=np.float32) for name in names}
    component = None
    for row in range(0, grid.height_px, BLOCK_ROWS):
        if cancelled():
            raise OperationCancelled("Cancelled: nothing was written.")
        window = Window(0, row, grid.width_px, min(BLOCK_ROWS, grid.height_px - row))
        data = scene.read(window)
        for name in names:
            arrays[name][row : row + window.height_px] = getattr(data, name)
        if data.component is not None:
            if component is None:
                component = np.zeros((grid.height_px, grid.width_px), dtype=np.int32)
            component[row : row + window.height_px] = data.component
    arrays["component"] = component  # int32 labels, or None without SNAPHU components
    return arrays


def candidate_field(
    scene: InsarScene,
    settings: FieldSettings,
    excluded: Optional[np.ndarray] = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> CandidateField:
    """The downslope velocity field of a scene whose stable ground has been fitted (``fit_stable_ground``);
    ``excluded`` marks pixels that never count (glacier outlines)."""
    a = _read_scene(scene, cancelled)
    dx, dy = row_pixel_sizes_m(scene.grid, Window(0, scene.grid.height_px // 2, 1, 1))
    pixel_m = float(math.sqrt(abs(float(dx[0]) * float(dy[0]))))
    v = a["velocity_los_cm_per_yr"].astype(np.float64)
    coherence = np.nan_to_num(a["coherence"].astype(np.float64))
    coherent = np.isfinite(v) & (coherence >= settings.min_coherence)
    reference, reference_sigma = local_reference(v, coherent, pixel_m, settings.reference_radius_m)
    los_rel = v - reference
    g = a["projection"].astype(np.float64)
    slope = a["slope_deg"].astype(np.float64)
    with np.errstate(invalid="ignore"):
        hidden = layover_or_shadow(a["incidence_deg"], a["los_azimuth_deg"], slope, a["aspect_deg"])
        unmeasurable = hidden | ~(np.abs(g) >= settings.min_projection_factor)
        usable = coherent & ~unmeasurable & (slope >= settings.min_slope_deg) & (slope <= settings.max_slope_deg)
    if excluded is not None:
        usable &= ~excluded
    noise = a["sigma_los_cm_per_yr"].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        dslp = np.where(usable, los_rel / g, np.nan)
        sigma = np.sqrt(noise**2 + reference_sigma**2) / np.abs(g)
        sigma = np.where(usable, np.hypot(sigma, np.abs(dslp) * a["projection_sigma"] / np.abs(g)), np.nan)
    cycle = None if isinstance(scene, VelocityMapScene) else abs(scene.factor) * 2.0 * math.pi
    return CandidateField(
        scene.grid,
        scene.interferogram.pair_label,
        los_rel.astype(np.float32),
        dslp.astype(np.float32),
        sigma.astype(np.float32),
        reference_sigma.astype(np.float32),
        noise.astype(np.float32),
        g.astype(np.float32),
        coherence.astype(np.float32),
        coherent,
        usable,
        unmeasurable,
        a["component"],
        cycle,
        pixel_m,
    )
