"""Tracing against inference on a noisy model output: a 1,536 x 1,536 px, 10 m scene whose probability is mostly
noise around the threshold (about 34,000 8-connected regions before the minimum area, as a briefly trained model
gives) with some real blobs.

Reported, in this process: ``candidates_from_mask`` (the labelled path: specks dropped by pixel count, probabilities
in one pass, polygons made valid only when kept) against the plain path of before (every region traced and made
valid, each candidate's probability read on its own; ``MAX_LABEL_PX`` = 0), both giving the same candidates; and the
model stage on a scene of the same size (the shipped model over the algorithm's tiles, batched as the algorithm runs:
``segment_bench.bare_loop``), the time tracing must stay below.

    .venv/bin/python -m benchmarks.tracing_bench
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

SIZE_PX = 1536


def noisy_scene(
    folder: Path,
    size_px: int = SIZE_PX,
    epsg: int = 32644,
    pixel: float = 10.0,
    origin: tuple[float, float] = (500000.0, 5000000.0),
    seed: int = 0,
) -> tuple[Path, Path]:
    """(mask, probability) GeoTIFFs: smoothed noise around the 0.56 threshold (thousands of specks, self-touching
    regions) and a blob per 40,000 px."""
    from osgeo import gdal
    from scipy.ndimage import gaussian_filter

    from tests.builders import write_raster

    rng = np.random.default_rng(seed)
    probability = gaussian_filter(rng.random((size_px, size_px)), 0.9)
    probability = (probability - probability.min()) / (probability.max() - probability.min())
    y, x = np.mgrid[0:size_px, 0:size_px]
    margin = size_px // 12
    for cx, cy, r in rng.uniform([margin, margin, 8], [size_px - margin, size_px - margin, 45], (max(size_px**2 // 40000, 4), 3)):
        probability = np.maximum(probability, 0.9 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r)) + 0.05)
    gt = (origin[0], pixel, 0.0, origin[1], 0.0, -pixel)
    prob = write_raster(folder / "prob.tif", probability.astype(np.float32), gt, epsg=epsg)
    mask = write_raster(folder / "mask.tif", (probability >= 0.56).astype(np.uint8), gt, epsg=epsg, dtype=gdal.GDT_Byte)
    return mask, prob


def _trace(mask: Path, prob: Path, labelled: bool) -> tuple[float, Any]:
    from rockglacier_plugin.core.mapping import polygons

    saved = polygons.MAX_LABEL_PX
    polygons.MAX_LABEL_PX = saved if labelled else 0
    try:
        start = time.perf_counter()
        found = polygons.candidates_from_mask(str(mask), str(prob), polygons.DEFAULT_MIN_AREA_KM2)
        return time.perf_counter() - start, found
    finally:
        polygons.MAX_LABEL_PX = saved


def _model_stage(work: Path, size_px: int) -> float:
    from benchmarks.segment_bench import bare_loop, write_scene
    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from rockglacier_plugin.core.mapping.segmentation import SegmentSettings, auto_batch_size, tile_layout_for
    from rockglacier_plugin.core.mapping.tiling import tile_windows

    raster = write_scene(work / "scene.tif", size_px)
    model_path = Path(__file__).resolve().parents[1] / "rockglacier_plugin" / "models" / "rockglacier_default.onnx"
    layout = tile_layout_for(SegmentSettings(), load_model(str(model_path), "cpu"))

    def inside(offset: int) -> int:
        return max(min(offset - layout.context_px, size_px - layout.input_px), 0)

    tiles = [
        (inside(t.col_off), inside(t.row_off), layout.input_px) for row in tile_windows(size_px, size_px, layout) for t in row
    ]
    return bare_loop(model_path, raster, tiles, auto_batch_size(layout))


def run(size_px: int = SIZE_PX, work: Optional[Path] = None) -> dict[str, Any]:
    from osgeo import gdal
    from scipy.ndimage import label

    work = work or Path(tempfile.mkdtemp(prefix="rockglacier-tracing-"))
    mask, prob = noisy_scene(work, size_px)
    regions = label(gdal.Open(str(mask)).ReadAsArray() == 1, structure=np.ones((3, 3)))[1]
    fast_s, (fast, fast_dropped) = _trace(mask, prob, True)
    plain_s, (plain, plain_dropped) = _trace(mask, prob, False)
    same = [c.geometry_wkb for c in fast] == [c.geometry_wkb for c in plain] and fast_dropped == plain_dropped
    model_s = _model_stage(work, size_px)
    print(f"\n== Tracing a noisy {size_px} x {size_px} px model output ({regions:,} regions before the minimum area)")
    print(f"   labelled path (now)          {fast_s:6.2f} s   {len(fast)} candidates, {fast_dropped:,} dropped")
    print(f"   plain path (before)          {plain_s:6.2f} s   {len(plain)} candidates ({'the same' if same else 'DIFFERENT'})")
    print(f"   model stage, same size       {model_s:6.2f} s   (shipped model, the algorithm's tiles and batch)")
    print(f"   tracing / model stage: {fast_s / model_s:.2f} now, {plain_s / model_s:.2f} before")
    return {"fast_s": fast_s, "plain_s": plain_s, "model_s": model_s, "same": same, "regions": int(regions)}


if __name__ == "__main__":
    run()
    sys.exit(0)
