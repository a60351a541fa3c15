"""A second, independent InSAR scene generator: a glaciated massif with cirques, for moving-area recall.

Written apart from ``tests/steep_builders.py`` (and not tuned against ``movingareas``) so that a method tuned on one
generator is checked on another. What differs, on purpose:

* **Relief**: a massif (a summit and radial ridges) with cirque bowls cut into it and fractal roughness (a power-law
  spectrum, not a smooth Gaussian field); slopes from flat cirque floors to > 45 deg walls, every aspect.
* **Landforms**: irregular tongues (outline radius perturbed by low Fourier harmonics), 0.02-0.45 km2, elongated
  downslope 1.2-3.5 : 1; the slow ones with a smooth taper to the margin, the fast ones (> 60 cm/yr) as a plug with a
  **sharp shear margin** (the speed falls to rest within one or two pixels), as fast rock glaciers are seen.
* **Noise**: coherence a spatially correlated field (lower on the landforms, lower still where the speed gradient
  decorrelates the pair), ``looks`` looks (6 by default, not the method's assumed 10), phase noise from the
  distributed-scatterer statistics.
* **Atmosphere**: turbulence with a power-law (Kolmogorov-like, -8/3) spectrum, a stratified delay that is
  exponential in elevation (not the linear law the method fits), a quadratic orbital ramp.
* **Geometry**: 25 m pixels, ALOS-1 ascending at 34.3 deg incidence (FBD), a 46-day pair.

Truths are the mean speed over the pixels whose centre lies inside each outline; ``good`` marks the landforms over
60 % of whose pixels are coherent (>= 0.3), seen with |g| >= 0.3 and not in layover or shadow, as in
``steep_builders``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import ogr

from tests.builders import write_raster
from tests.insar_builders import EPSG, ORIGIN, multilook_noise, phase_per_cm_per_yr
from tests.steep_builders import SteepScene

#: Speeds above this are plugs with a sharp shear margin.
SHARP_MARGIN_CM_PER_YR = 60.0


@dataclass(frozen=True)
class MassifSettings:
    size_px: int = 320
    pixel_m: float = 25.0
    n_landforms: int = 14
    incidence_deg: float = 34.3
    los_azimuth_deg: float = 100.0
    looks: int = 6
    speed_range_cm_per_yr: tuple[float, float] = (3.0, 130.0)
    turbulence_rad: float = 0.9
    stratified_rad: float = 2.5


def _power_law_field(shape: tuple[int, int], exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance random field whose power spectrum falls as |k|^exponent."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    k = np.hypot(fx, fy)
    k[0, 0] = 1.0
    amplitude = k ** (exponent / 2.0)
    amplitude[0, 0] = 0.0
    field = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal(shape)) * amplitude))
    return field / field.std()


def _massif(size_px: int, pixel_m: float, rng: np.random.Generator) -> np.ndarray:
    rows, cols = np.mgrid[0:size_px, 0:size_px].astype(np.float64)
    x, y = (cols - size_px / 2) * pixel_m, (size_px / 2 - rows) * pixel_m
    r = np.hypot(x, y)
    theta = np.arctan2(y, x)
    ridges = 1.0 + 0.25 * np.cos(5 * theta + rng.uniform(0, 2 * math.pi))
    z = 5600.0 - 0.55 * r * ridges  # a massif, steeper between the ridges
    for _ in range(5):  # cirque bowls: flat floors under steep head walls
        cx, cy = rng.uniform(-2500, 2500, 2)
        radius = rng.uniform(500, 900)
        d = np.hypot(x - cx, y - cy) / radius
        z -= 260.0 * np.clip(1.0 - d**2, 0.0, None) ** 0.7
    return z + 25.0 * _power_law_field(z.shape, -3.2, rng)


def _slope_aspect(z: np.ndarray, pixel_m: float) -> tuple[np.ndarray, np.ndarray]:
    dz_drow, dz_dx = np.gradient(z, pixel_m)
    dz_dnorth = -dz_drow
    return np.degrees(np.arctan(np.hypot(dz_dx, dz_dnorth))), np.degrees(np.arctan2(-dz_dx, -dz_dnorth)) % 360.0


def _tongue(
    x: float, y: float, length_m: float, width_m: float, angle: float, rng: np.random.Generator
) -> tuple[str, np.ndarray]:
    """An irregular outline (WKT) and its radius function's harmonics."""
    harmonics = rng.normal(0.0, 0.07, (3, 2))
    t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    wobble = 1.0 + sum(a * np.cos((k + 2) * t) + b * np.sin((k + 2) * t) for k, (a, b) in enumerate(harmonics))
    px, py = length_m * np.cos(t) * wobble, width_m * np.sin(t) * wobble
    xs = x + math.cos(angle) * px - math.sin(angle) * py
    ys = y + math.sin(angle) * px + math.cos(angle) * py
    ring = ",".join(f"{a:.2f} {b:.2f}" for a, b in zip(xs, ys))
    return f"POLYGON(({ring},{xs[0]:.2f} {ys[0]:.2f}))", harmonics


def _wobble(phi: np.ndarray, harmonics: np.ndarray) -> np.ndarray:
    return 1.0 + sum(a * np.cos((k + 2) * phi) + b * np.sin((k + 2) * phi) for k, (a, b) in enumerate(harmonics))


def massif_scene(folder: Path, seed: int = 0, settings: MassifSettings = MassifSettings()) -> SteepScene:
    rng = np.random.default_rng(10_000 + seed)
    folder.mkdir(parents=True, exist_ok=True)
    n, pixel_m = settings.size_px, settings.pixel_m
    z = _massif(n, pixel_m, rng)
    slope, aspect = _slope_aspect(z, pixel_m)
    th, al = math.radians(settings.incidence_deg), math.radians(settings.los_azimuth_deg)
    s, a = np.radians(slope), np.radians(aspect)
    g = np.sin(th) * np.cos(s) * np.cos(al + a) - np.cos(th) * np.sin(s)
    range_slope = np.degrees(np.arctan(np.tan(s) * np.cos(al + a)))
    hidden = (range_slope > settings.incidence_deg) | (-range_slope > 90.0 - settings.incidence_deg)
    coherence = 0.72 + 0.12 * _power_law_field(z.shape, -2.0, rng) - 0.25 * np.clip(slope - 30.0, 0, None) / 20.0
    rows, cols = np.mgrid[0:n, 0:n].astype(np.float64)
    xs, ys = ORIGIN[0] + (cols + 0.5) * pixel_m, ORIGIN[1] - (rows + 0.5) * pixel_m
    speed = np.zeros_like(z)
    landforms, truths, good = [], [], []
    attempts = 0
    while len(landforms) < settings.n_landforms and attempts < 8000:
        attempts += 1
        r, c = rng.integers(30, n - 30, 2)
        if not (8.0 <= slope[r, c] <= 32.0) or hidden[r, c]:
            continue
        area_km2 = math.exp(rng.uniform(math.log(0.02), math.log(0.45)))
        elongation = rng.uniform(1.2, 3.5)
        width_m = math.sqrt(area_km2 * 1e6 / (math.pi * elongation))
        length_m = width_m * elongation
        angle = math.atan2(math.cos(math.radians(aspect[r, c])), math.sin(math.radians(aspect[r, c])))
        x, y = xs[r, c], ys[r, c]
        u = (xs - x) * math.cos(angle) + (ys - y) * math.sin(angle)
        w = -(xs - x) * math.sin(angle) + (ys - y) * math.cos(angle)
        wkt, harmonics = _tongue(x, y, length_m, width_m, angle, rng)
        rho = np.hypot(u / length_m, w / width_m) / _wobble(np.arctan2(w / width_m, u / length_m), harmonics)
        if (speed[rho < 1.3] > 0).any():
            continue
        v = float(math.exp(rng.uniform(math.log(settings.speed_range_cm_per_yr[0]), math.log(settings.speed_range_cm_per_yr[1]))))
        if v >= SHARP_MARGIN_CM_PER_YR:
            profile = np.clip((1.0 - rho) * max(length_m, width_m) / (1.5 * pixel_m), 0.0, 1.0)  # plug, margin ~1.5 px
        else:
            profile = np.cos(0.5 * math.pi * np.clip((rho - 0.3) / 0.7, 0.0, 1.0)) ** 2 * (rho < 1.0)
        speed += v * profile
        polygon = ogr.CreateGeometryFromWkt(wkt)
        inside = np.zeros(z.shape, bool)
        for rr, cc in zip(*np.nonzero(rho < 1.3)):
            point = ogr.Geometry(ogr.wkbPoint)
            point.AddPoint_2D(float(xs[rr, cc]), float(ys[rr, cc]))
            inside[rr, cc] = polygon.Contains(point)
        coherence[inside] -= 0.12 + rng.uniform(0.0, 0.1)
        landforms.append(wkt)
        truths.append(float(speed[inside].mean()))
        good.append(inside)
    # the speed gradient decorrelates the pair (the displacement varies within a resolution cell)
    gy, gx = np.gradient(speed * 46.0 / 365.25 / 100.0, pixel_m)  # m of displacement per m
    coherence = np.clip(coherence - 40.0 * np.hypot(gx, gy), 0.05, 0.95)
    coherence[hidden] = np.clip(coherence[hidden] * 0.3, 0.05, 0.95)
    good = [
        bool((inside & (coherence >= 0.3) & (np.abs(g) >= 0.3) & ~hidden & (slope >= 5.0)).sum() > 0.6 * inside.sum())
        for inside in good
    ]
    k = phase_per_cm_per_yr()
    zn = (z - z.min()) / 1000.0
    stratified = settings.stratified_rad * np.exp(-zn / 1.5)
    turbulence = settings.turbulence_rad * _power_law_field(z.shape, -8.0 / 3.0, rng)
    ramp = 2e-5 * (cols - n / 2) ** 2 + 0.004 * rows - 0.3
    phase = speed * g * k + stratified + turbulence + ramp + multilook_noise(coherence, settings.looks, rng)
    gt = (ORIGIN[0], pixel_m, 0.0, ORIGIN[1], 0.0, -pixel_m)
    dem = write_raster(folder / "dem.tif", z, gt, epsg=EPSG)
    unwrapped = write_raster(folder / "20070716_20070831_unw.tif", phase, gt, epsg=EPSG)
    coh = write_raster(folder / "coherence.tif", coherence, gt, epsg=EPSG)
    return SteepScene(dem, unwrapped, coh, landforms, truths, good, settings.incidence_deg, settings.los_azimuth_deg)
