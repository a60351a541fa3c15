"""One interferogram with its coherence, LOS geometry and DEM on the interferogram's grid.

``InsarScene`` opens everything once, aligns what is not on the interferogram grid (logging it),
fits the scene's orbital ramp on stable ground, and reads any window as the per-pixel quantities
the velocity extraction needs: LOS velocity (towards the satellite, cm/yr), its noise, coherence,
slope, aspect, elevation and the downslope projection factor.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional

import numpy as np

from ..dependencies import install_hint
from ..errors import InputRasterError
from ..raster.alignment import aligned_dataset
from ..raster.coverage import coverage_fraction
from ..raster.io import RasterGrid, open_raster, raster_grid, read_window
from ..raster.overlap import check_overlap, raster_footprint
from ..raster.pixel_size import row_pixel_sizes_m
from ..raster.windows import Window, window_from_bounds
from ..terrain.elevation import dem_unit, plausibility_warnings
from ..terrain.slope_aspect import gaussian_kernel_radius_px, horn_gradient, slope_aspect_deg, smooth_gaussian
from .interferogram import Interferogram, check_phase_values
from .los_geometry import LosGeometry, projection_factor, projection_factor_sigma
from .phase import exact_noise_available, phase_sigma_rad, phase_to_cm_per_yr_factor
from .ramp import MAX_SAMPLES_PER_AXIS, PhaseRamp, fit_ramp
from .velocity_map import QUALITY_BAND, SIGMA_BAND

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SceneSettings:
    """How a pair's scene is read: DEM band, looks, slope and aspect errors, ramp and stratified-atmosphere removal."""

    looks: float = 10.0
    dem_smoothing_px: float = 1.0
    slope_sigma_deg: float = 2.0
    aspect_sigma_deg: float = 5.0
    remove_ramp: bool = True
    remove_stratified: bool = True  # fit and remove a phase-elevation slope on stable ground (rad/km)
    dem_band: int = 1
    stable_min_coherence: float = 0.7


@dataclass
class WindowData:
    """Per-pixel arrays of one window (all the same shape)."""

    window: Window
    velocity_los_cm_per_yr: np.ndarray
    sigma_los_cm_per_yr: np.ndarray
    coherence: np.ndarray
    elevation_m: np.ndarray
    slope_deg: np.ndarray
    aspect_deg: np.ndarray
    projection: np.ndarray
    projection_sigma: np.ndarray
    component: Optional[np.ndarray] = None  # SNAPHU connected component (0 = not unwrapped), when given
    incidence_deg: Optional[np.ndarray] = None  # LOS incidence per pixel (``los_geometry`` conventions)
    los_azimuth_deg: Optional[np.ndarray] = None


def dem_notes(dem_path: str, dem_band: int) -> list[str]:
    """What a run should log once about its DEM: the unit conversion, and warnings when its values are implausible."""
    source = open_raster(dem_path, "DEM")
    if not 1 <= dem_band <= source.RasterCount:
        raise InputRasterError(f"The DEM has {source.RasterCount} band(s); DEM_BAND={dem_band} does not exist.")
    unit = dem_unit(source, dem_band, dem_path)
    warnings = plausibility_warnings(source, dem_band, raster_grid(source, dem_band, "DEM"), unit, dem_path)
    return ([unit.note] if unit.note else []) + [f"Warning: {warning}" for warning in warnings]


class InsarScene:
    """An interferogram and its companions, read by windows on the interferogram grid."""

    def __init__(
        self,
        interferogram: Interferogram,
        coherence_path: str,
        coherence_band: int,
        dem_path: str,
        geometry: LosGeometry,
        settings: SceneSettings,
        log: Callable[[str], None] = LOGGER.info,
        components_path: Optional[str] = None,
    ) -> None:
        geometry.check()
        self.interferogram = interferogram
        self.settings = settings
        self.log = log
        self.dataset = open_raster(interferogram.path, "interferogram")
        self.grid: RasterGrid = raster_grid(self.dataset, interferogram.phase_band, "interferogram")
        self.footprint = raster_footprint(self.dataset, f"interferogram '{os.path.basename(interferogram.path)}'")
        self.phase_band = self.dataset.GetRasterBand(interferogram.phase_band)
        self.factor = phase_to_cm_per_yr_factor(
            interferogram.wavelength_m, interferogram.reference_date, interferogram.secondary_date
        )
        self.coherence_ds = self._companion(coherence_path, "coherence", "pixels outside it count as incoherent.")
        if coherence_band > self.coherence_ds.RasterCount:
            raise InputRasterError(
                f"The coherence raster has {self.coherence_ds.RasterCount} band(s); COHERENCE_BAND={coherence_band} does not "
                "exist."
            )
        self.coherence_band = self.coherence_ds.GetRasterBand(coherence_band)
        # each raster is read with its own no-data value, never the interferogram's
        self.coherence_grid = self._band_grid(self.coherence_band)
        self._open_dem(dem_path, settings.dem_band)
        self.geometry = geometry
        self.los_ds = None
        if geometry.los_path:
            self.los_ds = self._companion(geometry.los_path, "LOS geometry", "pixels outside it have no projection.")
            if self.los_ds.RasterCount < 2:
                raise InputRasterError(
                    f"The LOS raster '{geometry.los_path}' has {self.los_ds.RasterCount} band(s); it needs "
                    "incidence (band 1) and azimuth (band 2) in degrees, as ISCE2's los.rdr.geo."
                )
        self.components_ds = None
        if components_path:
            self.components_ds = self._companion(
                components_path, "connected components", "pixels outside it are not used.", "near"
            )
            log(
                f"{interferogram.pair_label}: SNAPHU connected components read: pixels of component 0 are not used, and each "
                "landform and its reference are kept in one component."
            )
        if not exact_noise_available():
            log(
                "Warning: SciPy is missing, so phase noise uses the Cramer-Rao bound, which underestimates it (by 15 % at "
                "coherence 0.6 and 10 looks) and makes vel_err_cm_yr too small. " + install_hint("scipy", "scipy")
            )
        self.ramp = PhaseRamp()
        self.scene_reference_cm_per_yr = 0.0

    def _companion(self, path: str, what: str, consequence: str, resampling: str = "bilinear") -> Any:
        """A raster that goes with the interferogram, checked to cover it and put on its grid (the log says when)."""
        label = self.interferogram.pair_label
        partial = check_overlap(
            self.footprint, raster_footprint(open_raster(path, what), f"{what} '{os.path.basename(path)}'"), consequence
        )
        if partial:
            self.log(f"Warning: {label}: {partial}")
        dataset, resampled = aligned_dataset(path, self.grid, what, resampling)
        if resampled:
            self.log(f"{label}: {what} '{path}' is on another grid; resampled ({resampling}) to the interferogram grid.")
        return dataset

    def _open_dem(self, dem_path: str, dem_band: int) -> None:
        """The DEM on the interferogram grid, with its unit (``terrain.elevation``: feet converted)."""
        source = open_raster(dem_path, "DEM")
        if not 1 <= dem_band <= source.RasterCount:
            raise InputRasterError(f"The DEM has {source.RasterCount} band(s); DEM_BAND={dem_band} does not exist.")
        self.dem_unit = dem_unit(source, dem_band, dem_path)  # what it means for the run is logged once (``dem_notes``)
        self.dem_ds = self._companion(dem_path, "DEM", "pixels outside it have no elevation, slope or velocity.")
        self.dem_band = self.dem_ds.GetRasterBand(dem_band)
        self.dem_grid = self._band_grid(self.dem_band)

    # -- reading -------------------------------------------------------------------------
    def _band_grid(self, band: Any) -> RasterGrid:
        """The interferogram grid with ``band``'s own no-data value."""
        return replace(self.grid, nodata=band.GetNoDataValue())

    def pixel_size_m(self, row: int) -> tuple[float, float]:
        """The pixel's east-west and north-south size in metres on ``row`` (geographic grids differ by latitude)."""
        dx, dy = row_pixel_sizes_m(self.grid, Window(0, row, 1, 1))
        return float(dx[0]), float(dy[0])

    def _coherence(self, window: Window) -> np.ndarray:
        values = read_window(self.coherence_band, self.coherence_grid, window)
        return np.where(np.isfinite(values), np.clip(values, 0.0, 1.0), 0.0)

    def _noise_cm_per_yr(self, window: Window, coherence: np.ndarray) -> np.ndarray:
        """1-sigma LOS velocity noise per pixel: the phase noise of the coherence and looks."""
        return abs(self.factor) * phase_sigma_rad(coherence, self.settings.looks)

    def _check_values(self, values: np.ndarray) -> None:
        check_phase_values(values, self.interferogram.phase_band, self.interferogram.path)

    def read(self, window: Window) -> WindowData:
        """Every per-pixel quantity over ``window`` (NaN or coherence 0 outside the data)."""
        phase = read_window(self.phase_band, self.grid, window)
        coherence = self._coherence(window)
        # ISCE2 products carry no no-data value: outside the swath phase and coherence are 0.
        phase = np.where(coherence > 0, phase, np.nan)
        rows = np.arange(window.row_off, window.row_off + window.height_px, dtype=np.float64)[:, None]
        cols = np.arange(window.col_off, window.col_off + window.width_px, dtype=np.float64)[None, :]
        sigma = self._noise_cm_per_yr(window, coherence)
        radius = gaussian_kernel_radius_px(self.settings.dem_smoothing_px) + 1
        dem_window = window.padded(radius)
        elevation = smooth_gaussian(
            self.dem_unit.to_metres(read_window(self.dem_band, self.dem_grid, dem_window)), self.settings.dem_smoothing_px
        )
        inner = elevation[radius - 1 : elevation.shape[0] - radius + 1, radius - 1 : elevation.shape[1] - radius + 1]
        velocity = self.factor * (phase - self.ramp.evaluate(cols, rows, inner[1:-1, 1:-1])) - self.scene_reference_cm_per_yr
        dx_m, dy_m = row_pixel_sizes_m(self.grid, window.padded(1))
        slope, aspect = slope_aspect_deg(*horn_gradient(inner, dx_m, dy_m))
        if self.los_ds is not None:
            incidence = read_window(self.los_ds.GetRasterBand(1), self._band_grid(self.los_ds.GetRasterBand(1)), window)
            azimuth = read_window(self.los_ds.GetRasterBand(2), self._band_grid(self.los_ds.GetRasterBand(2)), window)
            incidence = np.where(incidence > 0, incidence, np.nan)  # 0 outside the swath
        else:  # LosGeometry.check(): without a LOS raster, both angles are given
            incidence = np.full(
                window.shape, float(math.nan if self.geometry.incidence_deg is None else self.geometry.incidence_deg)
            )
            azimuth = np.full(
                window.shape, float(math.nan if self.geometry.los_azimuth_deg is None else self.geometry.los_azimuth_deg)
            )
        g = np.asarray(projection_factor(incidence, azimuth, slope, aspect))
        g_sigma = np.asarray(
            projection_factor_sigma(
                incidence, azimuth, slope, aspect, self.settings.slope_sigma_deg, self.settings.aspect_sigma_deg
            )
        )
        component = None
        if self.components_ds is not None:
            band = self.components_ds.GetRasterBand(1)
            component = np.nan_to_num(read_window(band, replace(self.grid, nodata=None), window), nan=0.0).astype(np.int64)
            velocity = np.where(component > 0, velocity, np.nan)
        return WindowData(
            window, velocity, sigma, coherence, inner[1:-1, 1:-1], slope, aspect, g, g_sigma, component, incidence, azimuth
        )

    # -- scene-wide steps ----------------------------------------------------------------
    def fit_stable_ground(self, landforms: list[Any], min_coherence: float) -> None:
        """Fit the orbital ramp (when asked) and the scene reference on decimated stable pixels."""
        step = max(1, math.ceil(max(self.grid.width_px, self.grid.height_px) / MAX_SAMPLES_PER_AXIS))
        out_w, out_h = math.ceil(self.grid.width_px / step), math.ceil(self.grid.height_px / step)

        def decimated(band: Any) -> np.ndarray:
            values = band.ReadAsArray(0, 0, self.grid.width_px, self.grid.height_px, buf_xsize=out_w, buf_ysize=out_h).astype(
                np.float64
            )
            nodata = band.GetNoDataValue()
            return np.where(values == nodata, np.nan, values) if nodata is not None else values

        phase = decimated(self.phase_band)
        if self.components_ds is not None:
            phase = np.where(np.nan_to_num(decimated(self.components_ds.GetRasterBand(1))) > 0, phase, np.nan)
        coherence = np.nan_to_num(decimated(self.coherence_band))
        self._check_values(phase[coherence > 0])
        if not (coherence >= min_coherence).any():
            raise InputRasterError(
                f"{self.interferogram.pair_label}: no pixel of the coherence raster reaches MIN_COHERENCE="
                f"{min_coherence:g} (maximum {coherence.max():.2f}); check COHERENCE_BAND (ISCE2 topophase.cor holds "
                "coherence in band 2) or lower the threshold."
            )
        x0, dx, _, y0, _, dy = self.grid.geotransform
        coarse_transform = (x0, dx * self.grid.width_px / out_w, 0.0, y0, 0.0, dy * self.grid.height_px / out_h)
        inside = np.zeros(phase.shape, dtype=bool)
        for geometry in landforms:
            if geometry is None:
                continue
            xmin, xmax, ymin, ymax = geometry.GetEnvelope()
            window = window_from_bounds(xmin, ymin, xmax, ymax, coarse_transform).padded(1)
            part = window.intersection(Window(0, 0, out_w, out_h))
            if part is None:
                continue
            cover = coverage_fraction(geometry, part, coarse_transform)
            inside[part.row_off : part.row_off + part.height_px, part.col_off : part.col_off + part.width_px] |= cover > 0
        stable = np.isfinite(phase) & (coherence >= max(min_coherence, self.settings.stable_min_coherence)) & ~inside
        if stable.sum() < 50:
            stable = np.isfinite(phase) & (coherence >= min_coherence) & ~inside
        rows, cols = np.mgrid[0:out_h, 0:out_w].astype(np.float64)
        full_rows = (rows + 0.5) * self.grid.height_px / out_h - 0.5
        full_cols = (cols + 0.5) * self.grid.width_px / out_w - 0.5
        elevation = self.dem_unit.to_metres(decimated(self.dem_band)) if self.settings.remove_stratified else None
        if self.settings.remove_ramp or self.settings.remove_stratified:
            ramp = fit_ramp(
                phase[stable],
                full_cols[stable],
                full_rows[stable],
                elevation_m=elevation[stable] if elevation is not None else None,
            )
            self.ramp = (
                ramp if self.settings.remove_ramp else PhaseRamp(per_km_rad=ramp.per_km_rad, elevation0_m=ramp.elevation0_m)
            )
        residual = self.factor * (phase - self.ramp.evaluate(full_cols, full_rows, elevation))
        self.scene_reference_cm_per_yr = float(np.nanmedian(residual[stable])) if stable.any() else 0.0


class VelocityMapScene(InsarScene):
    """A normalised LOS velocity map (``velocity_map``) read as a scene: its band 1 is already LOS
    velocity in cm/yr towards the satellite (factor 1), band 2 its 1-sigma, band 3 the quality that
    the coherence masks read."""

    def __init__(
        self, velocity_map: Any, dem_path: str, settings: SceneSettings, log: Callable[[str], None] = LOGGER.info
    ) -> None:
        super().__init__(
            velocity_map.as_interferogram(),
            velocity_map.velocity_path,
            QUALITY_BAND,
            dem_path,
            velocity_map.geometry,
            settings,
            log,
        )
        self.factor = 1.0
        self.sigma_band = self.dataset.GetRasterBand(SIGMA_BAND)
        self.sigma_grid = self._band_grid(self.sigma_band)

    def _noise_cm_per_yr(self, window: Window, coherence: np.ndarray) -> np.ndarray:
        """The product's own standard deviation (0 where it has none: the reference and atmosphere terms,
        measured on stable ground, then carry the error)."""
        return np.nan_to_num(np.abs(read_window(self.sigma_band, self.sigma_grid, window)), nan=0.0)

    def _check_values(self, values: np.ndarray) -> None:
        return None
