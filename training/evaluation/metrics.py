"""Pixel and object scores for the rock-glacier class.

Object scores are the core's (``rockglacier_plugin.core.inventory.evaluation``): predictions matched to truths one
to one (pairs with IoU >= 0.5 by default, the assignment of maximal total IoU), so TP + FN = truths and TP + FP =
predictions always hold, and precision or recall is None where undefined (no prediction, no truth). One definition
for training, the model card and ``rockglacier:evaluate``. (The paper's pipeline compared each prediction with all
truths without one-to-one matching, so its false-negative count could go negative.)
"""

from __future__ import annotations

import numpy as np

from rockglacier_plugin.core.inventory.evaluation import Summary, raster_object_summary


def pixel_iou(prediction: np.ndarray, truth: np.ndarray) -> float:
    """IoU of the positive class; 1.0 when both are empty.

    >>> pixel_iou(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
    0.5
    """
    p, t = prediction.astype(bool), truth.astype(bool)
    union = np.logical_or(p, t).sum()
    return 1.0 if union == 0 else float(np.logical_and(p, t).sum() / union)


def object_scores(prediction: np.ndarray, truth: np.ndarray, iou_threshold: float = 0.5) -> Summary:
    """One-to-one object matching by IoU (the core's ``raster_object_summary``)."""
    return raster_object_summary(prediction, truth, iou_threshold)
