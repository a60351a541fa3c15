"""rockglacier:segment against its peer and the floor, in one process on one raster, for a user's own model
and for the shipped model.

Part 1, a user's model (``user_models``: DeepLabv3+ ResNet34, fixed 512 px input, batch 1, Deepness-style
metadata) on a 4096 x 4096 px 8-bit raster composed of real Sentinel-2 chips (synthetic relief when the
chips are absent):
1. the floor: bare onnxruntime over non-overlapping 512 px tiles, float32 (the model's cost and nothing else);
2. Deepness' own processing loop, headless (``deepness_peer``; when its source is not on this machine, a
   re-implementation of that loop, named as such);
3. ours, PRECISION=float32, 1 view (the reference for agreement);
4. ours with the defaults: the first run (float32; after it a background process makes the int8 copy, mixed where
   needed, or refuses it: timed apart) and a later run (the copy, or the refusal, remembered), with the precision each
   chose.
For three user-like models (``USER_MODELS``: a ResNet34 with random weights, one trained briefly on the Chilean
chips, whose probabilities sit near its threshold, and the shipped EfficientNet-Lite0 re-saved as a user's), each
against the peer in the same run; agreement of the defaults' mask with ours float32 (IoU) and of their probabilities
(99th percentile of |difference|).
Part 2, the shipped model on the synthetic scene: float32 and int8 with 1 view, 8 views everywhere and the
default (8 views adaptively). Part 3: peak memory of a 10,000 x 10,000 px scene in a child process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np
from osgeo import gdal, osr

from .synthetic_scene import ORIGIN, UTM_EPSG


def write_scene(path: Path, size_px: int, block_rows: int = 1024) -> Path:
    """A smooth 3-band 8-bit scene written by blocks (never whole in memory)."""
    ds = gdal.GetDriverByName("GTiff").Create(
        str(path), size_px, size_px, 3, gdal.GDT_Byte, ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=YES"]
    )
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


def deepness_style_loop(model_path: Path, raster: Path, tile_px: int = 512, overlap: float = 0.15) -> tuple[float, np.ndarray]:
    """A re-implementation of Deepness' loop (used when its source is absent): fixed tiles with an overlap,
    batch 1, the centre of each tile pasted; returns the seconds and the mask at 0.5."""
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
            result[row + border : r1, col + border : c1] = output[border : r1 - row, border : c1 - col]
    return time.perf_counter() - start, result >= 0.5


def _models(work: Path) -> tuple[Path, Path]:
    """The shipped float model and its int8 copy (quantised here on the scene's tiles if not shipped)."""
    models = Path(__file__).resolve().parents[1] / "rockglacier_plugin" / "models"
    float_path = models / "rockglacier_default.onnx"
    int8_path = models / "rockglacier_default_int8.onnx"
    if not int8_path.exists():
        from training.export.onnx_export import quantize_int8

        rng = np.random.default_rng(0)
        int8_path = Path(
            quantize_int8(
                str(float_path), str(work / "int8.onnx"), [rng.uniform(-1, 1, (3, 256, 256)).astype(np.float32) for _ in range(8)]
            )
        )
    return float_path, int8_path


def _ours(raster: Path, model: Path, work: Path, name: str, views: Optional[int] = 0, precision: Optional[int] = None) -> float:
    """The algorithm as a user runs it; ``views`` the VIEWS choice (None: the default, the model's own, adaptive),
    ``precision`` the PRECISION choice (None: the default, auto). Seconds."""
    return _ours_logged(raster, model, work, name, precision, views)[0]


def _read(path: Path) -> np.ndarray:
    return gdal.Open(str(path)).ReadAsArray()


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boolean masks (1.0 when both are empty).

    >>> mask_iou(np.array([1, 1, 0], bool), np.array([1, 0, 0], bool))
    0.5
    """
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def real_scene(path: Path, size_px: int) -> Optional[Path]:
    """An 8-bit scene of real Sentinel-2 chips (the Chilean validation chips, drawn again to fill it), or None."""
    try:
        from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
        from training.config import TrainConfig
        from training.data.compose import validation_scene
        from training.data.samples import load_samples
        from training.evaluation.scene_eval import write_image
        from training.model.checkpoints import spec_for

        config = TrainConfig.load(str(Path(__file__).resolve().parents[1] / "training" / "configs" / "default_chile_ds1b.json"))
        spec = spec_for(config)
        samples = [s for s in load_samples(config) if s.split == "validation"]
    except Exception:  # the chips are not on this machine
        return None
    scene = validation_scene(
        samples,
        spec.in_channels,
        size_px // config.cell_px,
        7,
        config.cell_px,
        lambda raw: to_uint8_range(raw, spec.input_scaling),
    )
    return Path(write_image(scene.image, str(path)))


def _ours_logged(
    raster: Path, model: Path, work: Path, name: str, precision: Optional[int] = None, views: Optional[int] = None
) -> tuple[float, str]:
    """``_ours``, and the precision the run chose, as its log says."""
    import processing
    from qgis.core import QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def pushInfo(self, info: str) -> None:  # noqa: N802 (Qt's name)
            self.lines.append(info)

    feedback = Log()
    parameters = {
        "INPUT": str(raster),
        "MODEL": str(model),
        "DEVICE": 1,
        "MIN_AREA_KM2": 0.03,
        "PROBABILITY": str(work / f"{name}_prob.tif"),
        "MASK": str(work / f"{name}_mask.tif"),
        "OUTPUT": str(work / f"{name}.gpkg"),
    }
    if precision is not None:
        parameters["PRECISION"] = precision
    if views is not None:
        parameters["VIEWS"] = views
    start = time.perf_counter()
    processing.run("rockglacier:segment", parameters, feedback=feedback)
    seconds = time.perf_counter() - start
    chosen = next((line.strip()[len("Precision: ") :] for line in feedback.lines if line.strip().startswith("Precision: ")), "?")
    return seconds, chosen


#: The user-like models of part 1 (issue 43): name, what it is.
USER_MODELS = (
    ("random", "ResNet34, random weights"),
    ("trained", "ResNet34 trained briefly on the Chilean chips (low confidence)"),
    ("shipped", "the shipped EfficientNet-Lite0 re-saved as a user's model"),
)


def _user_model_files(work: Path, trained_steps: int) -> dict[str, Path]:
    from .user_models import resnet34_deeplab, shipped_as_user_model, trained_resnet34

    files = {
        "random": resnet34_deeplab(work / "user_resnet34.onnx"),
        "shipped": shipped_as_user_model(work / "user_trained_efficientnet.onnx"),
    }
    if trained_steps:
        files["trained"] = trained_resnet34(work / "user_trained.onnx", trained_steps)
    return files


def _user_model_row(raster: Path, model: Path, work: Path, name: str, source: Optional[Path]) -> dict:
    """One user-like model: the peer, ours float32, ours with the defaults (first run, then a later run), the
    precision each chose, and agreement with ours float32."""
    from rockglacier_plugin.core.mapping.int8_background import wait_for_preparation

    from .deepness_peer import run_deepness

    row: dict = {}
    if source is not None:
        row["deepness"], result = run_deepness(source, raster, model)
        peer_mask = result[0] == 2  # Deepness writes class + 1: 2 = rock glacier
    else:
        row["deepness"], peer_mask = deepness_style_loop(model, raster, overlap=0.10)
    row["float32"], _ = _ours_logged(raster, model, work, f"{name}_float", precision=1)
    row["first"], row["first_precision"] = _ours_logged(raster, model, work, f"{name}_first")
    row["background"] = wait_for_preparation(str(model), timeout_s=900.0)  # the copy made after the first run
    row["later"], row["later_precision"] = _ours_logged(raster, model, work, f"{name}_later")
    reference_p, reference_m = _read(work / f"{name}_float_prob.tif"), _read(work / f"{name}_float_mask.tif") == 1
    default_p, valid = _read(work / f"{name}_later_prob.tif"), reference_p >= 0
    row["p99_difference"] = float(np.quantile(np.abs(default_p[valid] - reference_p[valid]), 0.99))
    row["mask_iou_default"] = mask_iou(_read(work / f"{name}_later_mask.tif") == 1, reference_m)
    row["mask_iou_peer"] = mask_iou(peer_mask, reference_m)
    row["mask_share"] = float(reference_m.mean())
    return row


def user_model_part(work: Path, size_px: int, trained_steps: int = 0) -> dict:
    """Part 1 of the module docstring: each user-like model against Deepness in the same run."""
    from .deepness_peer import deepness_source

    raster = real_scene(work / "user_scene.tif", size_px) or write_scene(work / "user_scene.tif", size_px)
    files = _user_model_files(work, trained_steps)
    source = deepness_source()
    tiles = [(col, row, 512) for row in range(0, size_px, 512) for col in range(0, size_px, 512)]
    floor = bare_loop(files["random"], raster, tiles, 1)
    rows = {name: _user_model_row(raster, files[name], work, name, source) for name, _ in USER_MODELS if name in files}
    area_km2 = (size_px * 10.0 / 1000.0) ** 2
    peer = f"Deepness' own loop (headless, its source at {source})" if source else "a Deepness-style loop (a re-implementation)"
    print(
        f"\n== Users' models: fixed 512 px input, Deepness-style metadata; {size_px} x {size_px} px ({area_km2:.0f} km2) of "
        f"real chips, CPU ({os.cpu_count()} cores); the peer: {peer}; bare onnxruntime floor (random ResNet34) {floor:.1f} s"
    )
    for name, title in USER_MODELS:
        if name not in rows:
            continue
        row = rows[name]
        peer_s = row["deepness"]
        print(f"   {title} ({100 * row['mask_share']:.1f} % of the scene in its float32 mask):")
        print(f"      the peer {peer_s:.1f} s; ours float32 {row['float32']:.1f} s ({row['float32'] / peer_s:.2f} x the peer)")
        print(
            f"      ours, defaults, first run {row['first']:.1f} s ({row['first'] / peer_s:.2f} x the peer, "
            f"{row['first'] / row['float32']:.2f} x ours float32): {row['first_precision'][:160]}"
        )
        background = row["background"]
        print(
            "      after it, the int8 copy made and checked in a background process: "
            + (f"{background:.1f} s" if background is not None else "none started")
        )
        print(
            f"      ours, defaults, later run {row['later']:.1f} s ({row['later'] / peer_s:.2f} x the peer): "
            f"{row['later_precision'][:160]}"
        )
        print(
            f"      agreement with ours float32: defaults p99 |dp| {row['p99_difference']:.3f}, mask IoU "
            f"{row['mask_iou_default']:.3f}; the peer's mask IoU {row['mask_iou_peer']:.3f}"
        )
    return {"floor": floor, "models": rows}


def run(size_px: int = 4096, memory_size_px: int = 10000, trained_steps: int = 300) -> dict:
    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from rockglacier_plugin.core.mapping.segmentation import SegmentSettings, auto_batch_size, tile_layout_for
    from rockglacier_plugin.core.mapping.tiling import tile_windows

    work = Path(tempfile.mkdtemp(prefix="rockglacier-segment-bench-"))
    user = user_model_part(work, size_px, trained_steps)
    raster = write_scene(work / "scene.tif", size_px)
    float_path, int8_path = _models(work)
    model = load_model(str(float_path), "cpu")
    layout = tile_layout_for(SegmentSettings(), model)

    def inside(offset: int) -> int:  # the floor reads each model input (tile and context) inside the raster
        return max(min(offset - layout.context_px, size_px - layout.input_px), 0)

    ours_tiles = [
        (inside(t.col_off), inside(t.row_off), layout.input_px) for row in tile_windows(size_px, size_px, layout) for t in row
    ]
    times = {
        "ours_float32": _ours(raster, float_path, work, "float", precision=1),
        "ours_int8": _ours(raster, int8_path, work, "int8"),
        "ours_int8_8_views": _ours(raster, int8_path, work, "int8_views8", views=2),
        "ours_default": _ours(raster, float_path, work, "default", views=None),
        "bare_floor": bare_loop(float_path, raster, ours_tiles, auto_batch_size(layout)),  # batched as the algorithm runs
    }
    area_km2 = (size_px * 10.0 / 1000.0) ** 2
    base = times["ours_float32"]
    print(
        f"\n== The shipped model (DeepLabv3+ EfficientNet-Lite0) on the {size_px} x {size_px} px synthetic scene "
        f"({area_km2:.0f} km2), "
        f"tiles of {layout.tile_px} px with {layout.context_px} px of context ({layout.input_px} px model input)"
    )
    labels = {
        "ours_float32": "ours, float32, 1 view",
        "ours_int8": "ours, int8, 1 view",
        "ours_int8_8_views": "ours, int8, 8 views everywhere",
        "ours_default": "ours, defaults (int8, 8 views adaptively)",
        "bare_floor": "bare onnxruntime floor, our tiles, float32",
    }
    for key, seconds in times.items():
        print(f"   {labels[key]:<48} {seconds:8.1f} s   {seconds / base:5.2f} x ours float32   {area_km2 / seconds:6.2f} km2/s")
    print(f"   defaults / int8 1 view: {times['ours_default'] / times['ours_int8']:.2f} (goal <= 2)")
    memory = {}
    if memory_size_px:
        memory = {
            "analytic model": peak_memory(work, memory_size_px),
            "the user's ResNet34, defaults": peak_memory(work, memory_size_px, work / "user_resnet34.onnx"),
        }
        for name, found in memory.items():
            if found:
                print(
                    f"   {memory_size_px} x {memory_size_px} px scene, {name}: peak memory {found['peak_mb']:.0f} MB, "
                    f"{found['seconds']:.0f} s, {found.get('candidates')} candidates"
                )
    return {"user": user, **times, "memory": memory}


def peak_memory(work: Path, size_px: int, user_model: Optional[Path] = None) -> dict:
    """Run the algorithm on a large scene in a child process and read its peak resident memory: with
    ``user_model`` that model with the defaults (its int8 copy, the reader thread), else an analytic model
    whose bright crests of the synthetic relief make about a thousand candidates to trace."""
    raster = write_scene(work / "big.tif", size_px)
    root = Path(__file__).resolve().parents[1]
    script = f"""
import json, sys, time
sys.path.insert(0, {str(root)!r})
from tests.qgis_session import start_qgis
start_qgis()
import processing
from tests.onnx_builders import threshold_model
from pathlib import Path
from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
model = {str(user_model) if user_model else None!r} or threshold_model(Path({str(work / 'threshold.onnx')!r}),
    ModelSpec(tile_size_px=1536, margin_px=0), level=0.84, sharpness=50.0)
start = time.perf_counter()
processing.run("rockglacier:segment", {{"INPUT": {str(raster)!r}, "MODEL": str(model), "MIN_AREA_KM2": 0.03,
    "PROBABILITY": {str(work / 'big_prob.tif')!r}, "MASK": {str(work / 'big_mask.tif')!r}, "OUTPUT": {str(work / 'big.gpkg')!r}}})
from osgeo import ogr
dataset = ogr.Open({str(work / 'big.gpkg')!r})  # keep it: a layer dies with its dataset
n = dataset.GetLayer(0).GetFeatureCount()
# VmHWM, not ru_maxrss: ru_maxrss survives exec and would report the parent's size at fork time
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({{"peak_mb": peak_kb / 1024, "seconds": time.perf_counter() - start, "candidates": n}}))
"""
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    for line in completed.stdout.splitlines()[::-1]:
        if line.startswith("{"):
            return json.loads(line)
    print(completed.stdout[-2000:], completed.stderr[-2000:])
    return {}
