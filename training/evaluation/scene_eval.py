"""Scene-level scores: a composed validation scene through the plugin's own inference path.

The scene is written as a georeferenced 8-bit GeoTIFF (10 m pixels, UTM 19S, where the Chilean
chips come from) and segmented by ``core.mapping.segmentation.segment_raster`` on the exported
ONNX model, with the model's default tile size and blending unless told otherwise: exactly what
``rockglacier:segment`` does for a user. Scores: pixel IoU of the rock-glacier class, one-to-one
object precision/recall (IoU >= 0.5), and the false-positive area on negative chips (share of
their pixels, and km2 per 100 km2 of negative terrain).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Iterable, Iterator, Optional

import numpy as np

from rockglacier_plugin.core.mapping.segmentation import SegmentSettings, segment_raster
from training.data.compose import ValidationScene
from training.data.samples import scored
from training.evaluation.metrics import object_scores

#: Where the scene is placed: UTM 19S (EPSG:32719), 10 m pixels, the Huasco area of the chips.
SCENE_EPSG = 32719
SCENE_ORIGIN = (340000.0, 6860000.0)
PIXEL_M = 10.0


def write_image(image: np.ndarray, path: str) -> str:
    """An image (bands, rows, cols; 0-255) as an 8-bit GeoTIFF on a real grid."""
    from osgeo import gdal, osr

    gdal.UseExceptions()
    bands, rows, cols = image.shape
    dataset = gdal.GetDriverByName("GTiff").Create(path, cols, rows, bands, gdal.GDT_Byte, ["COMPRESS=DEFLATE"])
    dataset.SetGeoTransform((SCENE_ORIGIN[0], PIXEL_M, 0.0, SCENE_ORIGIN[1], 0.0, -PIXEL_M))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(SCENE_EPSG)
    dataset.SetProjection(srs.ExportToWkt())
    for index in range(bands):
        dataset.GetRasterBand(index + 1).WriteArray(np.clip(np.rint(image[index]), 0, 255).astype(np.uint8))
    dataset = None
    return path


def segment_image(
    onnx_path: str,
    image: np.ndarray,
    tile_px: Optional[int] = None,
    threads: int = 0,
    folder: Optional[str] = None,
    views: int = 1,
    model: Optional[Any] = None,
) -> np.ndarray:
    """The probability map (rows, cols) the plugin gives for an 8-bit image; ``views`` as its VIEWS
    option, ``model`` an already loaded ``onnx_path`` (many images, one session)."""
    from osgeo import gdal

    with tempfile.TemporaryDirectory(dir=folder) as work:
        raster = write_image(image, os.path.join(work, "image.tif"))
        probability_path, mask_path = os.path.join(work, "probability.tif"), os.path.join(work, "mask.tif")
        segment_raster(
            raster,
            onnx_path,
            probability_path,
            mask_path,
            SegmentSettings(
                bands=tuple(range(1, image.shape[0] + 1)), tile_px=tile_px, device="cpu", threads=threads, views=views
            ),
            model=model,
        )
        return gdal.Open(probability_path).ReadAsArray().astype(np.float32)


def segment_scene(
    onnx_path: str,
    scene: ValidationScene,
    tile_px: Optional[int] = None,
    threads: int = 0,
    folder: Optional[str] = None,
    views: int = 1,
) -> np.ndarray:
    """The probability map the plugin gives for the scene (rows, cols); ``views`` as its VIEWS option."""
    return segment_image(onnx_path, scene.image, tile_px, threads, folder, views)


def scene_scores(
    probability: np.ndarray, scene: ValidationScene, threshold: float = 0.5, iou_threshold: float = 0.5
) -> dict[str, Any]:
    """Pixel IoU, object scores and false-positive area on negatives of one probability map."""
    predicted, truth = scored(probability >= threshold, scene.label)
    union = int((predicted | truth).sum())
    objects = object_scores(predicted, truth, iou_threshold)
    negative_px = int(scene.negative_pixels.sum())
    false_on_negatives = int((predicted & scene.negative_pixels).sum())
    return {
        "scene_pixel_iou": float((predicted & truth).sum() / union) if union else 1.0,
        "scene_tp": objects.tp,
        "scene_fp": objects.fp,
        "scene_fn": objects.fn,
        "scene_precision": objects.precision,
        "scene_recall": objects.recall,
        "scene_f1": objects.f1,
        "scene_false_pixels_on_negatives": false_on_negatives / negative_px if negative_px else None,
        "scene_size_px": list(probability.shape),
        "scene_mean_probability_on_rock_glaciers": float(probability[truth].mean()) if truth.any() else None,
    }


def evaluate_scene(
    onnx_path: str,
    scene: ValidationScene,
    tile_px: Optional[int] = None,
    threshold: float = 0.5,
    threads: int = 0,
    views: int = 1,
) -> dict[str, Any]:
    """Segment the scene with the plugin's path (``views`` as its VIEWS option) and score it."""
    return scene_scores(segment_scene(onnx_path, scene, tile_px, threads, views=views), scene, threshold)


def chips_alone(
    onnx_path: str, samples: Any, spec: Any = None, views: int = 8, threads: int = 0
) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
    """(sample, label, probability) of every chip run alone through the plugin's path
    (``segment_raster``, its default tiles and context, ``views`` as VIEWS), read and scaled with
    ``spec`` (default: the ONNX model's own metadata); one model session for all."""
    from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from training.data.samples import read_sample

    model = load_model(onnx_path, "cpu", threads)
    spec = spec or model.spec
    for sample in samples:
        raw, label = read_sample(sample, spec.in_channels)
        image = to_uint8_range(raw, spec.input_scaling)
        yield sample, label, segment_image(onnx_path, image, threads=threads, views=views, model=model)


def model_threshold(onnx_path: str) -> float:
    """The threshold rockglacier:segment applies to the model when THRESHOLD is left empty (its
    ``seg_thresh`` metadata, 0.5 without it)."""
    from rockglacier_plugin.core.mapping.onnx_model import load_model

    return float(load_model(onnx_path, "cpu").spec.seg_thresh)


def pixel_iou_of_chips(results: Iterable[tuple[Any, np.ndarray, np.ndarray]], threshold: float = 0.5) -> float:
    """Pixel IoU (summed intersections / unions) of ``chips_alone`` results."""
    intersection = union = 0
    for _, label, probability in results:
        predicted, truth = scored(probability >= threshold, label)
        intersection += int((predicted & truth).sum())
        union += int((predicted | truth).sum())
    return intersection / union if union else 1.0


def chips_through_plugin(
    onnx_path: str, samples: Any, spec: Any, views: int = 8, threads: int = 0, threshold: float = 0.5
) -> float:
    """Pixel IoU of every chip run alone through the plugin's path: a user segmenting a small clip
    of imagery gets this, not the bare model on the chip."""
    return pixel_iou_of_chips(chips_alone(onnx_path, samples, spec, views, threads), threshold)


#: The view settings a model card and the views benchmark compare: (views, adaptive).
VIEW_RUNS = {"1 view": (1, False), "8 views everywhere": (8, False), "8 views adaptively (the default)": (8, True)}


def views_on_scene(
    onnx_path: str, scene: ValidationScene, threshold: float, threads: int = 2, repeats: int = 1
) -> dict[str, Any]:
    """Scene IoU, false pixels on negatives and time (best of ``repeats``, after a warm-up) of each of
    ``VIEW_RUNS``, with one loaded model, through the plugin's path; plus the share of the model input the
    adaptive run's further views ran on."""
    import time

    from osgeo import gdal

    from rockglacier_plugin.core.mapping.onnx_model import load_model

    model = load_model(onnx_path, "cpu", threads)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        raster = write_image(scene.image, os.path.join(work, "scene.tif"))
        probability_path, mask_path = os.path.join(work, "p.tif"), os.path.join(work, "m.tif")

        def segment(views: int, adaptive: bool) -> tuple[float, Any]:
            start = time.perf_counter()
            run = segment_raster(
                raster,
                onnx_path,
                probability_path,
                mask_path,
                SegmentSettings(
                    bands=tuple(range(1, scene.image.shape[0] + 1)),
                    device="cpu",
                    threads=threads,
                    views=views,
                    adaptive_views=adaptive,
                ),
                model=model,
            )
            return time.perf_counter() - start, run

        segment(1, False)  # warm-up
        for name, (views, adaptive) in VIEW_RUNS.items():
            seconds = []
            for _ in range(repeats):
                elapsed, run = segment(views, adaptive)
                seconds.append(elapsed)
            scores = scene_scores(gdal.Open(probability_path).ReadAsArray().astype(np.float32), scene, threshold)
            results[name] = {
                "seconds": min(seconds),
                "scene_pixel_iou": scores["scene_pixel_iou"],
                "false_pixels_on_negatives": scores["scene_false_pixels_on_negatives"],
                "more_views_share": run.more_views_share,
            }
    return results
