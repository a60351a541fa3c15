"""rockglacier:segment on a 10,000 x 10,000 px scene against bare onnxruntime loops.

Timed in one process with the same model and session options:
1. a bare loop over non-overlapping 512 px tiles: the peer (Deepness) took 1.28x this on its own
   overlapping tiles (measured in ../shared/docs/peers.md), so 1.28 x this is the peer's total;
2. a bare loop over the algorithm's own tiles (the model's cost alone);
3. the whole algorithm (I/O, scaling, blending, writing, polygonising).
The model is a convolutional network with about the CPU cost of DeepLabv3+ ResNet34 (random
weights: timing does not need training). A second part runs a 20,000 x 20,000 px scene in a
child process and reports its peak memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from .bench_models import conv_net
from .synthetic_scene import ORIGIN, UTM_EPSG

PEER_RATIO = 1.28  # Deepness total / bare loop over non-overlapping 512 px tiles (peers.md)


def write_scene(path: Path, size_px: int, block_rows: int = 1024) -> Path:
    """A smooth 3-band 8-bit scene written by blocks (never whole in memory)."""
    ds = gdal.GetDriverByName("GTiff").Create(str(path), size_px, size_px, 3, gdal.GDT_Byte, ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=YES"])
    ds.SetGeoTransform((ORIGIN[0], 10.0, 0.0, ORIGIN[1], 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(UTM_EPSG)
    ds.SetProjection(srs.ExportToWkt())
    cols = np.arange(size_px)[None, :]
    for row in range(0, size_px, block_rows):
        rows = np.arange(row, min(row + block_rows, size_px))[:, None]
        base = 127 + 60 * np.sin(cols / 97.0) * np.cos(rows / 131.0) + 40 * np.sin((cols + rows) / 53.0)
        for band in range(3):
            ds.GetRasterBand(band + 1).WriteArray(np.clip(base + 10 * band, 0, 255).astype(np.uint8), 0, row)
    ds = None
    return path


def bare_loop(model_path: Path, raster: Path, tiles: list, batch_size: int) -> float:
    """Only what the model needs: read each tile, scale to [0, 1], run onnxruntime."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    dataset = gdal.Open(str(raster))
    start = time.perf_counter()
    batch = []
    for col, row, size in tiles:
        width = min(size, dataset.RasterXSize - col)
        height = min(size, dataset.RasterYSize - row)
        data = np.zeros((3, size, size), np.float32)
        data[:, :height, :width] = dataset.ReadAsArray(col, row, width, height) / 255.0
        batch.append(data)
        if len(batch) == batch_size:
            session.run(None, {"input": np.stack(batch)})
            batch = []
    if batch:
        session.run(None, {"input": np.stack(batch)})
    return time.perf_counter() - start


def run(size_px: int = 10000, tile_px: int = 1536, blocks: int = 24, memory_size_px: int = 20000) -> dict:
    import processing

    from rockglacier_plugin.core.tiling import TileLayout, tile_windows

    work = Path(tempfile.mkdtemp(prefix="rockglacier-segment-bench-"))
    raster = write_scene(work / "scene.tif", size_px)
    model = conv_net(work / "net.onnx", width=128, blocks=blocks, tile_size_px=tile_px, margin_px=16)
    layout = TileLayout(tile_px, 48, 16)
    ours_tiles = [(t.col_off, t.row_off, tile_px) for row in tile_windows(size_px, size_px, layout) for t in row]
    plain_tiles = [(c, r, 512) for r in range(0, size_px, 512) for c in range(0, size_px, 512)]
    bare_plain = bare_loop(model, raster, plain_tiles, 4)
    bare_ours = bare_loop(model, raster, ours_tiles, 1)
    start = time.perf_counter()
    result = processing.run("rockglacier:segment", {
        "INPUT": str(raster), "MODEL": str(model), "DEVICE": 1, "BATCH_SIZE": 1, "MIN_AREA_KM2": 0.03,
        "PROBABILITY": str(work / "prob.tif"), "MASK": str(work / "mask.tif"), "OUTPUT": str(work / "candidates.gpkg"),
    })
    ours = time.perf_counter() - start
    area_km2 = (size_px * 10.0 / 1000.0) ** 2
    print(f"\n== rockglacier:segment, {size_px} x {size_px} px scene ({area_km2:.0f} km2), conv net of DeepLabv3+ ResNet34 cost, CPU")
    print(f"   bare loop, non-overlapping 512 px tiles ({len(plain_tiles)})        {bare_plain:8.1f} s")
    print(f"   peer (Deepness) estimate = {PEER_RATIO} x that                      {PEER_RATIO * bare_plain:8.1f} s")
    print(f"   bare loop over our {len(ours_tiles)} tiles of {tile_px} px (overlap 48)      {bare_ours:8.1f} s")
    print(f"   rockglacier:segment, everything included                 {ours:8.1f} s  ({area_km2 / ours:.1f} km2/s)")
    print(f"   overhead over the model on our tiles   {100 * (ours / bare_ours - 1):5.1f} %   (target <= 25 %)")
    print(f"   total / peer estimate                  {ours / (PEER_RATIO * bare_plain):5.2f}     (target <= 1)")
    memory = peak_memory(work, memory_size_px) if memory_size_px else None
    if memory:
        print(f"   {memory_size_px} x {memory_size_px} px scene: peak memory {memory['peak_mb']:.0f} MB, {memory['seconds']:.0f} s, "
              f"{memory.get('candidates')} candidates (target < 4000 MB)")
    return {"bare_plain": bare_plain, "bare_ours": bare_ours, "ours": ours, "memory": memory}


def peak_memory(work: Path, size_px: int) -> dict:
    """Run the algorithm on a large scene in a child process and read its peak resident memory."""
    raster = write_scene(work / "big.tif", size_px)
    root = Path(__file__).resolve().parents[1]
    script = f"""
import json, resource, sys, time
sys.path.insert(0, {str(root)!r})
from tests.qgis_session import start_qgis
start_qgis()
import processing
from tests.onnx_builders import threshold_model
from pathlib import Path
from rockglacier_plugin.core.model_metadata import ModelSpec
# bright crests of the synthetic relief become candidates: about a thousand blobs
model = threshold_model(Path({str(work / 'threshold.onnx')!r}), ModelSpec(tile_size_px=1536, margin_px=0), level=0.84, sharpness=50.0)
start = time.perf_counter()
processing.run("rockglacier:segment", {{"INPUT": {str(raster)!r}, "MODEL": str(model), "MIN_AREA_KM2": 0.03,
    "PROBABILITY": {str(work / 'big_prob.tif')!r}, "MASK": {str(work / 'big_mask.tif')!r}, "OUTPUT": {str(work / 'big.gpkg')!r}}})
from osgeo import ogr
dataset = ogr.Open({str(work / 'big.gpkg')!r})  # keep it: a layer dies with its dataset
n = dataset.GetLayer(0).GetFeatureCount()
print(json.dumps({{"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "seconds": time.perf_counter() - start, "candidates": n}}))
"""
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    for line in completed.stdout.splitlines()[::-1]:
        if line.startswith("{"):
            return json.loads(line)
    print(completed.stdout[-2000:], completed.stderr[-2000:])
    return {}
