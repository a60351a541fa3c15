"""rockglacier:attributes against QGIS's own chain (native slope, aspect, zonal statistics).

Both run in this process on the same DEM and polygons; the chain's time includes writing its
slope and aspect rasters, since it cannot work without them. Printed: times, the ratio, and the
largest differences between the two results per statistic.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from .synthetic_scene import mountain_dem, random_lobes, write_dem, write_polygon_layer


def _timed(function, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(size_px: int = 4000, n_polygons: int = 500, repeats: int = 3, pixel_m: float = 10.0) -> dict:
    import processing

    work = Path(tempfile.mkdtemp(prefix="rockglacier-bench-"))
    dem = write_dem(work / "dem.tif", mountain_dem(size_px, pixel_m, seed=0), pixel_m)
    polygons = write_polygon_layer(work / "rg.gpkg", random_lobes(n_polygons, size_px, pixel_m), "rock_glaciers")
    polygons_uri = f"{polygons}|layername=rock_glaciers"

    def ours():
        return processing.run("rockglacier:attributes", {"INPUT": polygons_uri, "DEM": str(dem), "OUTPUT": "TEMPORARY_OUTPUT"})[
            "OUTPUT"
        ]

    def native_chain():
        slope = processing.run("native:slope", {"INPUT": str(dem), "Z_FACTOR": 1, "OUTPUT": str(work / "slope.tif")})["OUTPUT"]
        aspect = processing.run("native:aspect", {"INPUT": str(dem), "Z_FACTOR": 1, "OUTPUT": str(work / "aspect.tif")})["OUTPUT"]
        layer = processing.run(
            "native:zonalstatisticsfb",
            {
                "INPUT": polygons_uri,
                "INPUT_RASTER": str(dem),
                "RASTER_BAND": 1,
                "COLUMN_PREFIX": "z_",
                "STATISTICS": [2, 5, 6],
                "OUTPUT": "TEMPORARY_OUTPUT",
            },
        )["OUTPUT"]
        layer = processing.run(
            "native:zonalstatisticsfb",
            {
                "INPUT": layer,
                "INPUT_RASTER": slope,
                "RASTER_BAND": 1,
                "COLUMN_PREFIX": "s_",
                "STATISTICS": [2],
                "OUTPUT": "TEMPORARY_OUTPUT",
            },
        )["OUTPUT"]
        return processing.run(
            "native:zonalstatisticsfb",
            {
                "INPUT": layer,
                "INPUT_RASTER": aspect,
                "RASTER_BAND": 1,
                "COLUMN_PREFIX": "a_",
                "STATISTICS": [2, 7],
                "OUTPUT": "TEMPORARY_OUTPUT",
            },
        )["OUTPUT"]

    ours_s, ours_layer = _timed(ours, repeats)
    chain_s, chain_layer = _timed(native_chain, repeats)
    mine = list(ours_layer.getFeatures())
    theirs = list(chain_layer.getFeatures())
    differences = {
        "elev_min_m": np.array([m["elev_min_m"] - t["z_min"] for m, t in zip(mine, theirs)]),
        "elev_max_m": np.array([m["elev_max_m"] - t["z_max"] for m, t in zip(mine, theirs)]),
        "elev_mean_m": np.array([m["elev_mean_m"] - t["z_mean"] for m, t in zip(mine, theirs)]),
        "slope_mean_deg": np.array([m["slope_mean_deg"] - t["s_mean"] for m, t in zip(mine, theirs)]),
    }
    # QGIS averages aspect arithmetically, which is meaningless across the 0/360 cut; compare
    # only polygons whose aspects stay within a half circle (range < 180 deg).
    aspect_pairs = [
        (m["aspect_deg"], t["a_mean"]) for m, t in zip(mine, theirs) if m["aspect_deg"] is not None and t["a_range"] < 180
    ]
    differences["aspect_deg (no 0/360 wrap)"] = np.array([(a - b + 180) % 360 - 180 for a, b in aspect_pairs])
    report = {"ours_s": ours_s, "chain_s": chain_s, "ratio": chain_s / ours_s, "differences": differences}
    print(
        f"\n== rockglacier:attributes vs QGIS native slope + aspect + zonal statistics "
        f"({size_px} x {size_px} px DEM, {n_polygons} polygons, median of {repeats})"
    )
    print(f"   rockglacier:attributes  {ours_s:8.2f} s")
    print(f"   QGIS native chain       {chain_s:8.2f} s")
    print(f"   speed-up                {chain_s / ours_s:8.1f} x   (target >= 5 x)")
    print("   largest |difference| (mean |difference|) per statistic, ours - QGIS:")
    for name, values in differences.items():
        values = values[np.isfinite(values)]
        print(f"     {name:26s} {np.abs(values).max():9.3f} ({np.abs(values).mean():.3f})  over {values.size} polygons")
    print("   Differences come from boundary pixels: QGIS counts a pixel when its centre is inside;")
    print("   we weight every pixel by the share of it the polygon covers.")
    return report
