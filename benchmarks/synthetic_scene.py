"""Seeded synthetic mountain scenes for benchmarks and the demo: a DEM and lobate polygons."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()

UTM_EPSG = 32644  # UTM 44N: West Kunlun, where the reference inventory lies
ORIGIN = (400000.0, 4000000.0)


def mountain_dem(size_px: int, pixel_m: float, seed: int = 0) -> np.ndarray:
    """Smooth random relief (FFT-filtered noise) between about 3500 and 6000 m, float32."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((size_px, size_px))
    fy = np.fft.fftfreq(size_px)[:, None]
    fx = np.fft.rfftfreq(size_px)[None, :]
    frequency = np.hypot(fx, fy) * size_px * pixel_m  # cycles per scene length in metres
    spectrum = np.fft.rfft2(noise) / np.maximum(frequency, size_px * pixel_m / 4000.0) ** 2.2
    relief = np.fft.irfft2(spectrum, s=noise.shape)
    relief = (relief - relief.min()) / (relief.max() - relief.min())
    return (3500.0 + 2500.0 * relief).astype(np.float32)


def write_dem(path: Path, z: np.ndarray, pixel_m: float, epsg: int = UTM_EPSG) -> Path:
    driver = gdal.GetDriverByName("GTiff")
    ds = driver.Create(str(path), z.shape[1], z.shape[0], 1, gdal.GDT_Float32, ["TILED=YES", "COMPRESS=NONE"])
    ds.SetGeoTransform((ORIGIN[0], pixel_m, 0.0, ORIGIN[1], 0.0, -pixel_m))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    ds.SetProjection(srs.ExportToWkt())
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(-9999.0)
    band.WriteArray(z)
    ds = None
    return path


def lobe_wkt(x: float, y: float, a_m: float, b_m: float, angle_rad: float, n_vertices: int = 40) -> str:
    t = np.linspace(0.0, 2.0 * math.pi, n_vertices, endpoint=False)
    # A tongue: an ellipse whose front is fuller than its root, like a rock-glacier lobe.
    r = 1.0 + 0.15 * np.cos(t)
    px, py = a_m * r * np.cos(t), b_m * r * np.sin(t)
    ca, sa = math.cos(angle_rad), math.sin(angle_rad)
    xs, ys = x + ca * px - sa * py, y + sa * px + ca * py
    ring = ",".join(f"{u:.2f} {v:.2f}" for u, v in zip(xs, ys))
    return f"POLYGON(({ring},{xs[0]:.2f} {ys[0]:.2f}))"


def random_lobes(n: int, size_px: int, pixel_m: float, seed: int = 1, margin_m: float = 600.0) -> list[str]:
    rng = np.random.default_rng(seed)
    extent_m = size_px * pixel_m
    out = []
    for _ in range(n):
        x = ORIGIN[0] + rng.uniform(margin_m, extent_m - margin_m)
        y = ORIGIN[1] - rng.uniform(margin_m, extent_m - margin_m)
        a, b = rng.uniform(120.0, 400.0), rng.uniform(70.0, 200.0)
        out.append(lobe_wkt(x, y, a, b, rng.uniform(0, 2 * math.pi)))
    return out


def write_polygon_layer(path: Path, wkts: list[str], layer: str, epsg: int = UTM_EPSG, ids: Optional[list[str]] = None) -> Path:
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path)) if not path.exists() else ogr.Open(str(path), 1)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    lyr = ds.CreateLayer(layer, srs, ogr.wkbMultiPolygon, ["OVERWRITE=YES"])
    lyr.CreateField(ogr.FieldDefn("rg_id", ogr.OFTString))
    for index, wkt in enumerate(wkts):
        feature = ogr.Feature(lyr.GetLayerDefn())
        feature.SetGeometryDirectly(ogr.ForceToMultiPolygon(ogr.CreateGeometryFromWkt(wkt)))
        if ids is not None:
            feature.SetField("rg_id", ids[index])
        lyr.CreateFeature(feature)
    ds = None
    return path
