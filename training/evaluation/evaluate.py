"""Evaluating a model on chips: pixel IoU of the rock-glacier class, one-to-one object scores (the core's, through
``metrics``), and the false-positive rate on negative chips.

What a model is measured by (``evaluate_through_plugin``): every chip run alone through the plugin's own inference
path (``scene_eval.chips_alone``: ``segment_raster``, its tiles, the context it reads and the neutral input it
gives beyond a raster's edge, VIEWS) at the model's threshold: what a user segmenting that clip gets. ``python -m
training evaluate`` and the model card report these. The bare model on each chip (``evaluate_samples``, a
``predict`` function on the chip alone, padded as the plugin pads: the standardised zero) serves the training loop
(hard-negative mining, the PyTorch-vs-ONNX parity), not a reported score.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from rockglacier_plugin.core.inventory.evaluation import Summary
from rockglacier_plugin.core.mapping.input_scaling import standardize, to_uint8_range
from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
from training.data.samples import Sample, read_sample, scored
from training.evaluation.metrics import object_scores


def predict_probability(predict: Callable[[np.ndarray], np.ndarray], image_raw: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Probability (rows, cols) of one raw image through ``predict`` (batch -> logits), padded to the model's size
    multiple with the standardised zero, the neutral input the plugin gives beyond a raster's edge."""
    rows, cols = image_raw.shape[1:]
    model_input = standardize(to_uint8_range(image_raw, spec.input_scaling), spec)
    multiple = spec.size_multiple_px
    pad_rows, pad_cols = -rows % multiple, -cols % multiple
    padded = np.pad(model_input, ((0, 0), (0, pad_rows), (0, pad_cols))).astype(np.float32)
    logits = predict(padded[None])[0, 0, :rows, :cols]
    return 1.0 / (1.0 + np.exp(-logits))


def score_chips(
    results: Iterable[tuple[np.ndarray, np.ndarray]], threshold: float = 0.5, iou_threshold: float = 0.5, min_object_px: int = 0
) -> dict[str, Any]:
    """Scores over (label, probability) chips: pixel IoU (summed intersections / unions), objects, FP rate on negatives."""
    from rockglacier_plugin.core.inventory.evaluation import raster_objects

    intersection = union = chips = 0
    objects = Summary(0, 0, 0)
    negatives = negatives_with_fp = 0
    for label, probability in results:
        chips += 1
        predicted = probability >= threshold
        if min_object_px:
            labels, n = raster_objects(predicted)
            sizes = np.bincount(labels.ravel())
            predicted = np.isin(labels, [i for i in range(1, n + 1) if sizes[i] >= min_object_px])
        predicted, truth = scored(predicted, label)
        intersection += int((predicted & truth).sum())
        union += int((predicted | truth).sum())
        objects = objects + object_scores(predicted, truth, iou_threshold)
        if not truth.any():
            negatives += 1
            negatives_with_fp += int(predicted.any())
    return {
        "pixel_iou": intersection / union if union else 1.0,
        "tp": objects.tp,
        "fp": objects.fp,
        "fn": objects.fn,
        "precision": objects.precision,
        "recall": objects.recall,
        "f1": objects.f1,
        "negative_samples": negatives,
        "false_positive_rate_on_negatives": negatives_with_fp / negatives if negatives else None,
        "samples": chips,
    }


def evaluate_through_plugin(
    onnx_path: str,
    samples: Sequence[Sample],
    spec: Optional[ModelSpec] = None,
    threshold: float = 0.5,
    views: int = 8,
    threads: int = 0,
    iou_threshold: float = 0.5,
) -> dict[str, Any]:
    """The scores a model is reported by: each chip alone through the plugin's path (``views`` as its VIEWS option, 8
    its default), at ``threshold`` (the model's own, ``scene_eval.model_threshold``, as rockglacier:segment uses)."""
    from training.evaluation.scene_eval import chips_alone

    results = ((label, probability) for _, label, probability in chips_alone(onnx_path, samples, spec, views, threads))
    report = score_chips(results, threshold, iou_threshold)
    report["views"] = views
    return report


def evaluate_samples(
    predict: Callable[[np.ndarray], np.ndarray],
    samples: Sequence[Sample],
    spec: ModelSpec,
    threshold: float = 0.5,
    iou_threshold: float = 0.5,
    min_object_px: int = 0,
) -> dict[str, Any]:
    """The bare model (``predict``) on each chip alone, scored as ``score_chips`` (training-time checks only)."""

    def results() -> Iterable[tuple[np.ndarray, np.ndarray]]:
        for sample in samples:
            raw, label = read_sample(sample, spec.in_channels)
            yield label, predict_probability(predict, raw, spec)

    return score_chips(results(), threshold, iou_threshold, min_object_px)


def torch_predictor(model: Any, device: str = "cpu") -> Callable[[np.ndarray], np.ndarray]:
    import torch

    model = model.eval().to(device)

    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(batch).to(device)).cpu().numpy()

    return predict


def onnx_predictor(path: str) -> Callable[[np.ndarray], np.ndarray]:
    from training.export.onnx_export import cpu_session

    session = cpu_session(path)
    return lambda batch: session.run(None, {"input": batch.astype(np.float32)})[0]
