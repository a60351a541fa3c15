"""Pixel and object scores for the rock-glacier class.

Object scores match predictions to truths one to one (a prediction matches at most one truth and
vice versa, IoU >= 0.5 by default, the Hungarian assignment on IoU), so TP + FN = truths and
TP + FP = predictions always hold. (The paper's pipeline compared each prediction with all truths
without one-to-one matching, so its false-negative count could go negative.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def pixel_iou(prediction: np.ndarray, truth: np.ndarray) -> float:
    """IoU of the positive class; 1.0 when both are empty.

    >>> pixel_iou(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
    0.5
    """
    p, t = prediction.astype(bool), truth.astype(bool)
    union = np.logical_or(p, t).sum()
    return 1.0 if union == 0 else float(np.logical_and(p, t).sum() / union)


def label_objects(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected objects of a binary mask."""
    from scipy import ndimage

    return ndimage.label(mask.astype(bool), structure=np.ones((3, 3), dtype=int))


@dataclass
class ObjectScores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    matched_iou: list = field(default_factory=list)

    def add(self, other: "ObjectScores") -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.matched_iou += other.matched_iou

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def object_scores(prediction: np.ndarray, truth: np.ndarray, iou_threshold: float = 0.5) -> ObjectScores:
    """One-to-one object matching by IoU (Hungarian assignment)."""
    from scipy.optimize import linear_sum_assignment

    predicted, n_predicted = label_objects(prediction)
    true, n_true = label_objects(truth)
    scores = ObjectScores()
    if n_predicted == 0 or n_true == 0:
        scores.fp, scores.fn = n_predicted, n_true
        return scores
    # Intersections from the joint histogram of the two label images.
    joint = np.bincount(predicted.ravel() * (n_true + 1) + true.ravel(), minlength=(n_predicted + 1) * (n_true + 1))
    joint = joint.reshape(n_predicted + 1, n_true + 1)
    intersection = joint[1:, 1:].astype(np.float64)
    area_p = joint[1:, :].sum(axis=1)[:, None]
    area_t = joint[:, 1:].sum(axis=0)[None, :]
    iou = intersection / (area_p + area_t - intersection)
    rows, cols = linear_sum_assignment(-iou)
    good = iou[rows, cols] >= iou_threshold
    scores.tp = int(good.sum())
    scores.fp = n_predicted - scores.tp
    scores.fn = n_true - scores.tp
    scores.matched_iou = [float(v) for v in iou[rows, cols][good]]
    return scores
