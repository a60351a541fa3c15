"""Seeded steep-relief InSAR scenes: rock glaciers in valleys, as the reference workflow meets them.

A valley system with 25-40 deg flanks, a floor that rises along the valley, and side ridges;
rock-glacier lobes sit at the foot of the flanks and in cirques, each creeping downslope at a known
speed (cos^2 taper to rest at the outline). The interferogram (46-day ALOS-1-like pair) carries:
* LOS motion of the lobes (true slope and aspect of the generator's DEM, closed form);
* an orbital ramp and a constant;
* stratified atmosphere: ``stratified_rad_per_km`` x elevation (km);
* turbulent atmosphere: a smooth Gaussian random field (correlation ~``turbulence_km``);
* multilook phase noise drawn from the distributed-scatterer statistics of a coherence map that
  falls with slope (and on the lobes), with layover-like loss on slopes facing the radar.
Truths are the mean speed over the pixels whose centre lies inside each outline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import ogr

from tests.builders import write_raster
from tests.insar_builders import EPSG, ORIGIN, lobe, multilook_noise, phase_per_cm_per_yr


@dataclass
class SteepScene:
    dem: Path
    unwrapped: Path
    coherence: Path
    landforms_wkt: list[str]
    truths_cm_per_yr: list[float]
    good: list[bool]  # coherence and projection good enough that a velocity is expected
    incidence_deg: float
    los_azimuth_deg: float


def _smooth_field(shape: tuple[int, int], correlation_px: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance Gaussian random field with a Gaussian correlation of about ``correlation_px``."""
    white = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    spectrum = np.exp(-2.0 * (math.pi * correlation_px) ** 2 * (fx**2 + fy**2))
    field = np.real(np.fft.ifft2(np.fft.fft2(white) * spectrum))
    return field / field.std()


def _dem(size_px: int, pixel_m: float, rng: np.random.Generator) -> np.ndarray:
    rows, cols = np.mgrid[0:size_px, 0:size_px].astype(np.float64)
    x, y = cols * pixel_m, (size_px - rows) * pixel_m  # metres east and north of the SW corner
    centre = size_px * pixel_m / 2.0
    # a valley running north-south whose axis meanders, flanks of ~30 deg, floor rising northwards
    axis = centre + 600.0 * np.sin(y / 2500.0 + rng.uniform(0, math.pi))
    across = np.abs(x - axis)
    floor = 3800.0 + 0.08 * y
    flank = np.where(across < 250.0, 0.05 * across, 12.5 + np.tan(np.radians(32.0)) * (across - 250.0))
    ridges = 150.0 * np.sin(y / 900.0) * np.clip((across - 800.0) / 800.0, 0.0, 1.0)
    return floor + np.minimum(flank, 1800.0) + ridges + 15.0 * _smooth_field((size_px, size_px), 4.0, rng)


def _slope_aspect(z: np.ndarray, pixel_m: float) -> tuple[np.ndarray, np.ndarray]:
    dz_dy_rows, dz_dx = np.gradient(z, pixel_m)
    dz_dnorth = -dz_dy_rows
    slope = np.degrees(np.arctan(np.hypot(dz_dx, dz_dnorth)))
    aspect = np.degrees(np.arctan2(-dz_dx, -dz_dnorth)) % 360.0
    return slope, aspect


def steep_valley_scene(
    folder: Path,
    seed: int = 0,
    size_px: int = 300,
    pixel_m: float = 30.0,
    n_landforms: int = 10,
    incidence_deg: float = 38.7,
    los_azimuth_deg: float = 102.0,
    looks: int = 10,
    stratified_rad_per_km: float = 1.2,
    turbulence_rad: float = 0.6,
    turbulence_km: float = 3.0,
    speed_range_cm_per_yr: tuple[float, float] = (15.0, 90.0),
) -> SteepScene:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    z = _dem(size_px, pixel_m, rng)
    slope, aspect = _slope_aspect(z, pixel_m)
    th, al = math.radians(incidence_deg), math.radians(los_azimuth_deg)
    s, a = np.radians(slope), np.radians(aspect)
    g = np.sin(th) * np.cos(s) * np.cos(al + a) - np.cos(th) * np.sin(s)
    # coherence falls with slope; slopes facing the radar (foreshortening, layover) lose more
    facing_radar = np.clip(np.cos(al + a) * np.sin(s), 0.0, 1.0)  # aspect towards the ground-to-satellite azimuth
    coherence = np.clip(0.9 - 0.35 * slope / 45.0 - 0.6 * facing_radar + 0.05 * rng.standard_normal(z.shape), 0.05, 0.95)
    rows, cols = np.mgrid[0:size_px, 0:size_px].astype(np.float64)
    xs = ORIGIN[0] + (cols + 0.5) * pixel_m
    ys = ORIGIN[1] - (rows + 0.5) * pixel_m
    speed_total = np.zeros_like(z)
    landforms, truths, good = [], [], []
    margin = 40
    attempts = 0
    while len(landforms) < n_landforms and attempts < 5000:
        attempts += 1
        r, c = rng.integers(margin, size_px - margin, 2)
        if not (15.0 <= slope[r, c] <= 30.0) or speed_total[r - 12 : r + 12, c - 12 : c + 12].any():
            continue
        length_m, width_m = rng.uniform(250, 420), rng.uniform(130, 220)
        # the lobe's long axis follows the downslope direction
        angle = math.atan2(math.cos(math.radians(aspect[r, c])), math.sin(math.radians(aspect[r, c])))
        x, y = xs[r, c], ys[r, c]
        u = (xs - x) * math.cos(angle) + (ys - y) * math.sin(angle)
        w = -(xs - x) * math.sin(angle) + (ys - y) * math.cos(angle)
        rho = np.hypot(u / length_m, w / width_m)
        inside = rho < 1.0
        if (speed_total[inside] > 0).any():
            continue
        speed = float(rng.uniform(*speed_range_cm_per_yr))
        taper = np.where(rho < 0.4, 1.0, np.cos(0.5 * math.pi * np.clip((rho - 0.4) / 0.6, 0.0, 1.0)) ** 2)
        speed_total += np.where(inside, speed * taper, 0.0)
        coherence[inside] = np.clip(coherence[inside] - 0.15, 0.05, 0.95)
        wkt = lobe(x, y, length_m, width_m, angle)
        polygon = ogr.CreateGeometryFromWkt(wkt)
        centre_inside = np.zeros_like(inside)
        for rr, cc in zip(*np.nonzero(rho < 1.2)):
            point = ogr.Geometry(ogr.wkbPoint)
            point.AddPoint_2D(float(xs[rr, cc]), float(ys[rr, cc]))
            centre_inside[rr, cc] = polygon.Contains(point)
        landforms.append(wkt)
        truths.append(float(speed_total[centre_inside].mean()))
        kept = centre_inside & (coherence >= 0.3) & (np.abs(g) >= 0.3) & (slope >= 5.0)
        good.append(bool(kept.sum() > 0.6 * centre_inside.sum()))
    velocity_los = speed_total * g
    k = phase_per_cm_per_yr()
    turbulence = turbulence_rad * _smooth_field(z.shape, turbulence_km * 1000.0 / pixel_m / 2.0, rng)
    phase = (
        velocity_los * k
        + 0.003 * cols
        - 0.002 * rows
        + 0.7
        + stratified_rad_per_km * (z - 4000.0) / 1000.0
        + turbulence
        + multilook_noise(coherence, looks, rng)
    )
    gt = (ORIGIN[0], pixel_m, 0.0, ORIGIN[1], 0.0, -pixel_m)
    dem = write_raster(folder / "dem.tif", z, gt, epsg=EPSG)
    unwrapped = write_raster(folder / "20070716_20070831_unw.tif", phase, gt, epsg=EPSG)
    coh = write_raster(folder / "coherence.tif", coherence, gt, epsg=EPSG)
    return SteepScene(dem, unwrapped, coh, landforms, truths, good, incidence_deg, los_azimuth_deg)
