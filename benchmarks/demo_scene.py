"""The seeded synthetic scene of `make demo` (and of the whole-workflow test): everything the five
steps need, on one UTM 44N grid, with the truth each step should recover.

- ``dem.tif`` (10 m): smooth mountain relief with a 20-30 m thick lobe of debris at each rock glacier;
- ``image.tif`` (10 m, 8-bit RGB, Sentinel-2-like true colour): shaded terrain, bright glaciers, and
  rock glaciers as darker, furrowed debris tongues;
- ``20070716_20070831_unw.tif`` and ``coherence.tif`` (30 m): an ALOS-1-like 46-day unwrapped pair
  (L band) with each rock glacier creeping downslope at a known speed, an orbital ramp, a constant,
  and multilook phase noise from coherence that falls on steep slopes; constant LOS geometry
  (incidence 38.7 degrees, LOS azimuth 102 degrees, as ``rockglacier:insarvelocity`` takes them);
- ``glaciers.gpkg``: glacier outlines touching (G) or 250 m above (GF) some rock glaciers;
- ``outlines.gpkg`` (layer ``rock_glaciers``): the true outlines with ``rg_id`` and the upslope class
  an analyst would set (G, GF from the glaciers; DMS or T for the others);
- ``truth.json``: per rg_id the class, the true mean downslope speed (cm/yr, over the pixels whose
  centre is inside) and the polygon's area (km2, planimetric in UTM).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

from benchmarks.synthetic_scene import ORIGIN, UTM_EPSG, lobe_wkt, mountain_dem

PIXEL_M = 10.0
INSAR_LOOKS = 3  # 30 m interferogram pixels from the 10 m grid
INCIDENCE_DEG, LOS_AZIMUTH_DEG = 38.7, 102.0
WAVELENGTH_M = 0.2360571  # ALOS-1 PALSAR
DAYS = 46
PAIR_NAME = "20070716_20070831"


@dataclass
class Lobe:
    rg_id: str
    wkt: str
    x: float
    y: float
    length_m: float
    width_m: float
    angle_rad: float  # downslope direction, from east anticlockwise
    upslope_con: str
    speed_cm_per_yr: float


def _srs() -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(UTM_EPSG)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _write(path: Path, bands: np.ndarray, pixel_m: float, data_type: int, nodata=None) -> Path:
    bands = bands if bands.ndim == 3 else bands[None]
    ds = gdal.GetDriverByName("GTiff").Create(
        str(path), bands.shape[2], bands.shape[1], bands.shape[0], data_type, ["COMPRESS=DEFLATE", "TILED=YES"]
    )
    ds.SetGeoTransform((ORIGIN[0], pixel_m, 0.0, ORIGIN[1], 0.0, -pixel_m))
    ds.SetProjection(_srs().ExportToWkt())
    for index, band in enumerate(bands, start=1):
        if nodata is not None:
            ds.GetRasterBand(index).SetNoDataValue(nodata)
        ds.GetRasterBand(index).WriteArray(band)
    ds = None
    return path


def _write_polygons(path: Path, layer_name: str, wkts: list[str], fields: dict[str, list]) -> Path:
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer(layer_name, _srs(), ogr.wkbMultiPolygon)
    for name in fields:
        layer.CreateField(ogr.FieldDefn(name, ogr.OFTString))
    for index, wkt in enumerate(wkts):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(ogr.ForceToMultiPolygon(ogr.CreateGeometryFromWkt(wkt)))
        for name, values in fields.items():
            feature.SetField(name, values[index])
        layer.CreateFeature(feature)
    ds = None
    return path


def _place_lobes(z: np.ndarray, n_lobes: int, rng: np.random.Generator) -> tuple[list[Lobe], list[str]]:
    size = z.shape[0]
    gy, gx = np.gradient(z.astype(np.float64), PIXEL_M)
    lobes: list[Lobe] = []
    glaciers: list[str] = []
    attempts = 0
    while len(lobes) < n_lobes and attempts < 20000:
        attempts += 1
        row, col = rng.integers(120, size - 120, size=2)
        d_east, d_north = -gx[row, col], gy[row, col]
        slope = math.degrees(math.atan(math.hypot(d_east, d_north)))
        x, y = ORIGIN[0] + (col + 0.5) * PIXEL_M, ORIGIN[1] - (row + 0.5) * PIXEL_M
        if not 14.0 < slope < 32.0 or any(math.hypot(x - lobe.x, y - lobe.y) < 900.0 for lobe in lobes):
            continue
        angle = math.atan2(d_north, d_east)
        length, width = rng.uniform(220, 380), rng.uniform(110, 170)
        kind = len(lobes) % 4  # G, GF, DMS, T in turn
        glacier = None
        if kind < 2:
            distance = 0.85 * length + 1.15 * 260.0 + (0.0 if kind == 0 else 250.0) - 5.0
            gx0, gy0 = x - distance * math.cos(angle), y - distance * math.sin(angle)
            g_row, g_col = int((ORIGIN[1] - gy0) / PIXEL_M), int((gx0 - ORIGIN[0]) / PIXEL_M)
            if not (0 <= g_row < size and 0 <= g_col < size) or z[g_row, g_col] < z[row, col] + 80.0:
                continue  # the glacier must lie clearly upslope, as where glaciers feed rock glaciers
            glacier = lobe_wkt(gx0, gy0, 260.0, 320.0, angle)
        if glacier is not None:
            glaciers.append(glacier)
        lobes.append(
            Lobe(
                f"demo{len(lobes) + 1:03d}",
                lobe_wkt(x, y, length, width, angle),
                x,
                y,
                length,
                width,
                angle,
                ("G", "GF", "DMS", "T")[kind],
                float(rng.uniform(15.0, 90.0)),
            )
        )
    return lobes, glaciers


def _rho(lobe: Lobe, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Elliptical radius: 0 at the lobe's centre, about 1 at its outline."""
    u = (xs - lobe.x) * math.cos(lobe.angle_rad) + (ys - lobe.y) * math.sin(lobe.angle_rad)
    w = -(xs - lobe.x) * math.sin(lobe.angle_rad) + (ys - lobe.y) * math.cos(lobe.angle_rad)
    return np.hypot(u / (lobe.length_m * 1.1), w / (lobe.width_m * 1.1))


def _grid(size: int, pixel_m: float) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    return ORIGIN[0] + (cols + 0.5) * pixel_m, ORIGIN[1] - (rows + 0.5) * pixel_m


def _image(z: np.ndarray, lobes: list[Lobe], glaciers: list[str], rng: np.random.Generator) -> np.ndarray:
    gy, gx = np.gradient(z.astype(np.float64), PIXEL_M)
    shade = np.clip(0.55 + 0.45 * (-gx * 0.7 + gy * 0.7) / np.sqrt(1 + gx**2 + gy**2), 0, 1)  # sun from the NW
    rgb = np.stack([110 + 90 * shade, 100 + 85 * shade, 90 + 80 * shade]) + rng.normal(0, 6, (3,) + z.shape)
    xs, ys = _grid(z.shape[0], PIXEL_M)
    for lobe in lobes:
        rho = _rho(lobe, xs, ys)
        along = (xs - lobe.x) * math.cos(lobe.angle_rad) + (ys - lobe.y) * math.sin(lobe.angle_rad)
        furrows = 0.5 + 0.5 * np.cos(2 * math.pi * along / 35.0)  # transverse ridges and furrows
        inside = rho < 0.9
        for band, base in enumerate((95.0, 88.0, 80.0)):
            rgb[band][inside] = base + 45.0 * shade[inside] - 25.0 * furrows[inside] + rng.normal(0, 8, inside.sum())
    for wkt in glaciers:
        polygon = ogr.CreateGeometryFromWkt(wkt)
        minx, maxx, miny, maxy = polygon.GetEnvelope()
        near = (xs >= minx) & (xs <= maxx) & (ys >= miny) & (ys <= maxy)
        for r, c in zip(*np.nonzero(near)):
            point = ogr.Geometry(ogr.wkbPoint)
            point.AddPoint_2D(float(xs[r, c]), float(ys[r, c]))
            if polygon.Contains(point):
                rgb[:, r, c] = (225 + 25 * shade[r, c], 235 + 15 * shade[r, c], 245 + 10 * shade[r, c])
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _centre_inside(wkt: str, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    polygon = ogr.CreateGeometryFromWkt(wkt)
    minx, maxx, miny, maxy = polygon.GetEnvelope()
    inside = np.zeros(xs.shape, dtype=bool)
    for r, c in zip(*np.nonzero((xs >= minx) & (xs <= maxx) & (ys >= miny) & (ys <= maxy))):
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(float(xs[r, c]), float(ys[r, c]))
        inside[r, c] = polygon.Contains(point)
    return inside


def _interferogram(z: np.ndarray, lobes: list[Lobe], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Unwrapped phase (rad), coherence and the true mean speed per landform on the 30 m grid."""
    n = z.shape[0] // INSAR_LOOKS
    z30 = z[: n * INSAR_LOOKS, : n * INSAR_LOOKS].reshape(n, INSAR_LOOKS, n, INSAR_LOOKS).mean(axis=(1, 3))
    pixel = PIXEL_M * INSAR_LOOKS
    gy, gx = np.gradient(z30.astype(np.float64), pixel)
    slope = np.arctan(np.hypot(gx, gy))
    aspect = np.arctan2(-gx, gy)  # downslope azimuth, clockwise from north (rows run south)
    th, al = math.radians(INCIDENCE_DEG), math.radians(LOS_AZIMUTH_DEG)
    g = np.sin(th) * np.cos(slope) * np.cos(al + aspect) - np.cos(th) * np.sin(slope)
    xs, ys = _grid(n, pixel)
    speed = np.zeros_like(z30)
    coherence = np.clip(0.9 - 0.012 * np.maximum(np.degrees(slope) - 20.0, 0.0), 0.2, 0.9)
    truth = {}
    for lobe in lobes:
        rho = _rho(lobe, xs, ys)
        taper = np.where(rho < 0.7, 1.0, np.cos(0.5 * math.pi * np.clip((rho - 0.7) / 0.3, 0.0, 1.0)) ** 2)
        speed += np.where(rho < 1.0, lobe.speed_cm_per_yr * taper, 0.0)
        coherence[rho < 1.0] = np.minimum(coherence[rho < 1.0], 0.65)
        truth[lobe.rg_id] = float(speed[_centre_inside(lobe.wkt, xs, ys)].mean())
    k = -(4.0 * math.pi / WAVELENGTH_M) / 100.0 * DAYS / 365.25  # rad per cm/yr towards the satellite
    rows, cols = np.mgrid[0:n, 0:n]
    phase = speed * g * k + 0.003 * cols - 0.002 * rows + 1.1
    looks = 12
    shape = (looks,) + coherence.shape
    z1 = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2)
    noise = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2)
    z2 = coherence * z1 + np.sqrt(1 - coherence**2) * noise
    phase = phase + np.angle((z1 * np.conj(z2)).mean(axis=0))
    return phase.astype(np.float32), coherence.astype(np.float32), truth


def write_demo_scene(folder: Path, size_px: int = 1200, n_lobes: int = 12, seed: int = 11) -> dict:
    """Write the scene into ``folder`` and return the truth (also written as truth.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    z = mountain_dem(size_px, PIXEL_M, seed=seed).astype(np.float64)
    lobes, glaciers = _place_lobes(z, n_lobes, rng)
    xs, ys = _grid(size_px, PIXEL_M)
    for lobe in lobes:  # a debris tongue 20-30 m thick, steepest at its front
        rho = _rho(lobe, xs, ys)
        z += np.where(rho < 1.0, rng.uniform(20, 30) * np.sqrt(np.clip(1.0 - rho**2, 0, 1)), 0.0)
    _write(folder / "dem.tif", z.astype(np.float32), PIXEL_M, gdal.GDT_Float32, nodata=-9999.0)
    _write(folder / "image.tif", _image(z, lobes, glaciers, rng), PIXEL_M, gdal.GDT_Byte)
    phase, coherence, speeds = _interferogram(z, lobes, rng)
    _write(folder / f"{PAIR_NAME}_unw.tif", phase, PIXEL_M * INSAR_LOOKS, gdal.GDT_Float32)
    _write(folder / "coherence.tif", coherence, PIXEL_M * INSAR_LOOKS, gdal.GDT_Float32)
    _write_polygons(folder / "glaciers.gpkg", "glaciers", glaciers, {})
    _write_polygons(
        folder / "outlines.gpkg",
        "rock_glaciers",
        [lobe.wkt for lobe in lobes],
        {
            "rg_id": [lobe.rg_id for lobe in lobes],
            "upslope_con": [lobe.upslope_con for lobe in lobes],
            "review": ["accepted"] * len(lobes),
            "source": ["manual"] * len(lobes),
        },
    )
    truth = {
        lobe.rg_id: {
            "upslope_con": lobe.upslope_con,
            "speed_cm_per_yr": speeds[lobe.rg_id],
            "area_km2": ogr.CreateGeometryFromWkt(lobe.wkt).GetArea() / 1e6,
        }
        for lobe in lobes
    }
    (folder / "truth.json").write_text(json.dumps(truth, indent=2))
    return truth
