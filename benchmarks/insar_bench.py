"""rockglacier:insarvelocity on a full multilooked frame against QGIS's native zonal statistics.

A 5000 x 5000 px frame (ALOS-1 after multilooking, 30 m) with 300 landforms: the whole
extraction (ramp, projection, masks, references, errors, statistics) is timed against QGIS's
``native:zonalstatisticsfb`` computing only the mean of one raster over the same polygons.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from .synthetic_scene import ORIGIN, UTM_EPSG, mountain_dem, random_lobes, write_polygon_layer


def _write(path: Path, array: np.ndarray, pixel_m: float) -> Path:
    ds = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[1], array.shape[0], 1, gdal.GDT_Float32, ["TILED=YES"])
    ds.SetGeoTransform((ORIGIN[0], pixel_m, 0.0, ORIGIN[1], 0.0, -pixel_m))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(UTM_EPSG)
    ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(array.astype(np.float32))
    ds = None
    return path


def run(size_px: int = 5000, n_polygons: int = 300, repeats: int = 3, pixel_m: float = 30.0) -> dict:
    import processing

    work = Path(tempfile.mkdtemp(prefix="rockglacier-insar-bench-"))
    rng = np.random.default_rng(0)
    dem = _write(work / "dem.tif", mountain_dem(size_px, pixel_m, seed=2), pixel_m)
    smooth = mountain_dem(size_px, pixel_m, seed=3).astype(np.float64)
    phase = (smooth - smooth.mean()) / 300.0 + rng.normal(0.0, 0.3, (size_px, size_px))
    unwrapped = _write(work / "20070716_20070831_unw.tif", phase, pixel_m)
    del phase
    coherence = _write(
        work / "coherence.tif",
        np.clip(0.55 + 0.3 * (smooth - smooth.mean()) / smooth.std() + rng.normal(0, 0.05, smooth.shape), 0, 1),
        pixel_m,
    )
    del smooth
    polygons = write_polygon_layer(
        work / "rg.gpkg", random_lobes(n_polygons, size_px, pixel_m, seed=4, margin_m=2000.0), "rock_glaciers"
    )
    uri = f"{polygons}|layername=rock_glaciers"

    def ours():
        return processing.run(
            "rockglacier:insarvelocity",
            {
                "INPUT": uri,
                "UNWRAPPED": [str(unwrapped)],
                "COHERENCE": [str(coherence)],
                "DEM": str(dem),
                "INCIDENCE_DEG": 38.7,
                "LOS_AZIMUTH_DEG": 102.0,
                "OUTPUT": "TEMPORARY_OUTPUT",
                "REFERENCE_POINTS_OUTPUT": "TEMPORARY_OUTPUT",
            },
        )["OUTPUT"]

    def native_zonal():
        return processing.run(
            "native:zonalstatisticsfb",
            {
                "INPUT": uri,
                "INPUT_RASTER": str(unwrapped),
                "RASTER_BAND": 1,
                "COLUMN_PREFIX": "v_",
                "STATISTICS": [2],
                "OUTPUT": "TEMPORARY_OUTPUT",
            },
        )["OUTPUT"]

    timings = {}
    for name, function in (("ours", ours), ("native", native_zonal)):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            layer = function()
            times.append(time.perf_counter() - start)
        timings[name] = statistics.median(times)
        if name == "ours":
            n_ok = sum(1 for f in layer.getFeatures() if f["vel_ok"] == 1)
    print(
        f"\n== rockglacier:insarvelocity vs QGIS native zonal statistics ({size_px} x {size_px} px frame, "
        f"{n_polygons} polygons, median of {repeats})"
    )
    print(f"   whole extraction (ramp, projection, masks, references, errors, statistics)  {timings['ours']:7.2f} s")
    print(f"   native:zonalstatisticsfb, mean of one raster only                         {timings['native']:7.2f} s")
    print(f"   ratio extraction / zonal statistics  {timings['ours'] / timings['native']:.2f}   (target <= 1)")
    print(f"   landforms with vel_ok = 1: {n_ok} of {n_polygons} (random phase: most fail the criteria, as they should)")
    return timings
