"""Evaluating a model on samples: pixel IoU of the rock-glacier class, one-to-one object scores,
and the false-positive rate on negative samples."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from rockglacier_plugin.core.mapping.input_scaling import standardize, to_uint8_range
from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
from training.data.samples import Sample, pad_to_multiple, read_sample, scored
from training.evaluation.metrics import ObjectScores, object_scores


def predict_probability(predict: Callable[[np.ndarray], np.ndarray], image_raw: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Probability (rows, cols) of one raw image through ``predict`` (batch -> logits)."""
    rows, cols = image_raw.shape[1:]
    scaled = to_uint8_range(image_raw, spec.input_scaling)
    padded, _ = pad_to_multiple(scaled, np.zeros((rows, cols), np.uint8), spec.size_multiple_px)
    logits = predict(standardize(padded, spec)[None])[0, 0, :rows, :cols]
    return 1.0 / (1.0 + np.exp(-logits))


def evaluate_samples(predict: Callable[[np.ndarray], np.ndarray], samples: Sequence[Sample], spec: ModelSpec,
                     threshold: float = 0.5, iou_threshold: float = 0.5, min_object_px: int = 0) -> dict[str, Any]:
    """Scores over samples: pixel IoU (summed intersections / unions), objects, FP rate on negatives."""
    intersection = union = 0
    objects = ObjectScores()
    negatives = negatives_with_fp = 0
    for sample in samples:
        raw, label = read_sample(sample, spec.in_channels)
        predicted = predict_probability(predict, raw, spec) >= threshold
        if min_object_px:
            from training.evaluation.metrics import label_objects

            labels, n = label_objects(predicted)
            sizes = np.bincount(labels.ravel())
            predicted = np.isin(labels, [i for i in range(1, n + 1) if sizes[i] >= min_object_px])
        predicted, truth = scored(predicted, label)
        intersection += int((predicted & truth).sum())
        union += int((predicted | truth).sum())
        objects.add(object_scores(predicted, truth, iou_threshold))
        if not truth.any():
            negatives += 1
            negatives_with_fp += int(predicted.any())
    return {
        "pixel_iou": intersection / union if union else 1.0,
        "tp": objects.tp, "fp": objects.fp, "fn": objects.fn,
        "precision": objects.precision, "recall": objects.recall, "f1": objects.f1,
        "negative_samples": negatives,
        "false_positive_rate_on_negatives": negatives_with_fp / negatives if negatives else None,
        "samples": len(samples),
    }


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
