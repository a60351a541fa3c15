"""rockglacier:segment with the shipped model against bare onnxruntime loops, in one process on one raster.

Timed with the same real model (the shipped DeepLabv3+ EfficientNet-Lite0) and session options:
1. ours, float32: the whole algorithm (reading, scaling, tiles with blending, writing, polygons);
2. ours, int8: the same with the static int8 copy (quantised here when none is shipped), with 1 and
   with 8 views (the default) like float32;
3. the floor: a bare onnxruntime loop over our own tiles with the float model (the model's cost);
4. a Deepness-style loop: fixed 512 px tiles with 15 % overlap (Deepness's default), batch 1,
   each tile's centre pasted into the result (what that plugin does, without its I/O).
Ratios are against ours float32. A second part runs a 20,000 x 20,000 px scene in a child process
and reports its peak memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

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


def _session(model_path: Path, threads: int = 2):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])


def _scaled(dataset, col: int, row: int, size: int) -> np.ndarray:
    width, height = min(size, dataset.RasterXSize - col), min(size, dataset.RasterYSize - row)
    data = np.zeros((3, size, size), np.float32)
    data[:, :height, :width] = (dataset.ReadAsArray(col, row, width, height) / 255.0 - 0.5) / 0.5
    return data


def bare_loop(model_path: Path, raster: Path, tiles: list, batch_size: int) -> float:
    """Only what the model needs: read each tile, scale it, run onnxruntime."""
    session = _session(model_path)
    dataset = gdal.Open(str(raster))
    start = time.perf_counter()
    batch = []
    for col, row, size in tiles:
        batch.append(_scaled(dataset, col, row, size))
        if len(batch) == batch_size:
            session.run(None, {"input": np.stack(batch)})
            batch = []
    if batch:
        session.run(None, {"input": np.stack(batch)})
    return time.perf_counter() - start


def deepness_loop(model_path: Path, raster: Path, tile_px: int = 512, overlap: float = 0.15) -> float:
    """Deepness-style: fixed tiles with an overlap, batch 1, the centre of each tile pasted."""
    session = _session(model_path)
    dataset = gdal.Open(str(raster))
    size_x, size_y = dataset.RasterXSize, dataset.RasterYSize
    step = int(tile_px * (1 - overlap))
    border = (tile_px - step) // 2
    result = np.zeros((size_y, size_x), np.float32)
    start = time.perf_counter()
    for row in range(0, size_y, step):
        for col in range(0, size_x, step):
            output = session.run(None, {"input": _scaled(dataset, col, row, tile_px)[None]})[0][0, 0]
            r1, c1 = min(row + tile_px - border, size_y), min(col + tile_px - border, size_x)
            result[row + border:r1, col + border:c1] = output[border:r1 - row, border:c1 - col]
    return time.perf_counter() - start


def _models(work: Path) -> tuple[Path, Path]:
    """The shipped float model and its int8 copy (quantised here on the scene's tiles if not shipped)."""
    models = Path(__file__).resolve().parents[1] / "rockglacier_plugin" / "models"
    float_path = models / "rockglacier_default.onnx"
    int8_path = models / "rockglacier_default_int8.onnx"
    if not int8_path.exists():
        from training.export import quantize_int8

        rng = np.random.default_rng(0)
        int8_path = Path(quantize_int8(str(float_path), str(work / "int8.onnx"),
                                       [rng.uniform(-1, 1, (3, 256, 256)).astype(np.float32) for _ in range(8)]))
    return float_path, int8_path


def _ours(raster: Path, model: Path, work: Path, name: str, views: int = 0) -> float:
    """The algorithm as a user runs it; ``views`` the VIEWS choice (0: 1 view, one model call per tile,
    to compare with the bare loops; 2: 8 views, the default)."""
    import processing

    start = time.perf_counter()
    processing.run("rockglacier:segment", {
        "INPUT": str(raster), "MODEL": str(model), "DEVICE": 1, "MIN_AREA_KM2": 0.03, "VIEWS": views,
        "PROBABILITY": str(work / f"{name}_prob.tif"), "MASK": str(work / f"{name}_mask.tif"),
        "OUTPUT": str(work / f"{name}.gpkg"),
    })
    return time.perf_counter() - start


def run(size_px: int = 4096, memory_size_px: int = 20000) -> dict:
    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from rockglacier_plugin.core.mapping.segmentation import SegmentSettings, auto_batch_size, tile_layout_for
    from rockglacier_plugin.core.mapping.tiling import tile_windows

    work = Path(tempfile.mkdtemp(prefix="rockglacier-segment-bench-"))
    raster = write_scene(work / "scene.tif", size_px)
    float_path, int8_path = _models(work)
    model = load_model(str(float_path), "cpu")
    layout = tile_layout_for(SegmentSettings(), model)

    def inside(offset: int) -> int:  # the floor reads each model input (tile and context) inside the raster
        return min(max(offset - layout.context_px, 0), size_px - layout.input_px)

    ours_tiles = [(inside(t.col_off), inside(t.row_off), layout.input_px) for row in tile_windows(size_px, size_px, layout) for t in row]
    times = {
        "ours_float32": _ours(raster, float_path, work, "float"),
        "ours_int8": _ours(raster, int8_path, work, "int8"),
        "ours_float32_8_views": _ours(raster, float_path, work, "views8", views=2),
        "ours_int8_8_views": _ours(raster, int8_path, work, "int8_views8", views=2),
        "bare_floor": bare_loop(float_path, raster, ours_tiles, auto_batch_size(layout)),  # batched as the algorithm runs
        "deepness_style": deepness_loop(float_path, raster),
    }
    area_km2 = (size_px * 10.0 / 1000.0) ** 2
    base = times["ours_float32"]
    print(f"\n== rockglacier:segment, {size_px} x {size_px} px scene ({area_km2:.0f} km2), shipped DeepLabv3+ "
          f"EfficientNet-Lite0, CPU ({os.cpu_count()} cores), tiles of {layout.tile_px} px read with "
          f"{layout.context_px} px of context ({layout.input_px} px model input)")
    labels = {"ours_float32": "ours, float32 (everything included)", "ours_int8": "ours, int8 (everything included)",
              "ours_float32_8_views": "ours, float32, 8 views (the default)", "ours_int8_8_views": "ours, int8, 8 views (the CPU default)",
              "bare_floor": "bare onnxruntime floor, our tiles, float32", "deepness_style": "Deepness-style 512 px tiles, 15 % overlap"}
    for key, seconds in times.items():
        print(f"   {labels[key]:<48} {seconds:8.1f} s   {seconds / base:5.2f} x ours float32   {area_km2 / seconds:6.2f} km2/s")
    print(f"   int8 speed-up over float32 (ours)          {base / times['ours_int8']:5.2f} x with 1 view, "
          f"{times['ours_float32_8_views'] / times['ours_int8_8_views']:5.2f} x with 8 views   (goal >= 2)")
    print(f"   overhead of ours float32 over the floor    {100 * (base / times['bare_floor'] - 1):5.1f} %")
    memory = peak_memory(work, memory_size_px) if memory_size_px else None
    if memory:
        print(f"   {memory_size_px} x {memory_size_px} px scene: peak memory {memory['peak_mb']:.0f} MB, {memory['seconds']:.0f} s, "
              f"{memory.get('candidates')} candidates (target < 4000 MB)")
    return {**times, "memory": memory}


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
from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
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
