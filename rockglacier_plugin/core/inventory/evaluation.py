"""Evaluating mapped candidates against a reference inventory: one-to-one optimal matching by IoU.

A candidate and a reference polygon *match* when their intersection over union (IoU, areas in one
equal-area projection) is at least ``min_iou``. Matching is one to one and optimal: among all
eligible pairs, the assignment that maximises the total IoU (the Hungarian method, SciPy's
``linear_sum_assignment``), solved separately on each group of polygons connected by eligible pairs,
so a country-wide inventory splits into many tiny problems. Candidate pairs are found with a sweep
over bounding boxes (sorted by minimum x), not by testing every pair.

``eval_iou`` of a matched candidate is the IoU with its match; of an unmatched one, its highest IoU
with any reference (0 when it overlaps none), so near misses below ``min_iou`` are visible.

Counts: TP = matched candidates, FP = unmatched candidates, FN = unmatched references;
precision = TP / (TP + FP), recall = TP / (TP + FN), F1 their harmonic mean; None where undefined (no
candidate, or no reference), never a 0 that reads as a measured failure.

The same scores on label rasters (a predicted mask against a labelled mask: ``raster_object_summary``,
8-connected objects, IoU in pixels) are what training's evaluation and the model card report: one definition
of an object score, polygons or pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from ..errors import ParameterError
from ..raster.geometry import (
    WGS84_WKT_EPSG,
    local_equal_area_srs,
    prepare_polygon,
    spatial_reference,
    transformed,
    transformer,
)
from ..raster.overlap import check_overlap, geometries_footprint

TRUE_POSITIVE = "TP"
FALSE_POSITIVE = "FP"
MATCHED = "matched"
MISSED = "missed"
NO_GEOMETRY = "no_geometry"


@dataclass(frozen=True)
class Match:
    """A candidate and a reference that overlap, and their IoU."""

    candidate: int
    reference: int
    iou: float


@dataclass
class Summary:
    """TP, FP and FN of an evaluation, and precision, recall and F1 from them."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> Optional[float]:
        """TP / (TP + FP); None without a candidate."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> Optional[float]:
        """TP / (TP + FN); None without a reference."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> Optional[float]:
        """The harmonic mean of precision and recall; None where either is undefined."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)

    def as_row(self) -> dict[str, Any]:
        """The summary as a row of the summary table."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": self.precision, "recall": self.recall, "f1": self.f1}

    def __add__(self, other: "Summary") -> "Summary":
        """Counts of two evaluations together (chips scored one by one, summed over a set)."""
        return Summary(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


@dataclass
class Evaluation:
    """Per-candidate and per-reference results (index = feature order) and the summary."""

    candidate_status: list[str]
    candidate_iou: list[Optional[float]]
    candidate_match: list[Optional[int]]
    reference_status: list[str]
    reference_iou: list[Optional[float]]
    reference_match: list[Optional[int]]
    summary: Summary
    warnings: list[str] = field(default_factory=list)


def envelopes(geometries: Sequence[Any]) -> np.ndarray:
    """(n, 4) array of minx, maxx, miny, maxy (OGR's envelope order)."""
    return np.array([g.GetEnvelope() for g in geometries], dtype=np.float64).reshape(-1, 4)


def overlapping_boxes(boxes_a: np.ndarray, boxes_b: np.ndarray) -> Iterable[tuple[int, int]]:
    """Pairs (i, j) whose boxes intersect: ``b`` sorted by minimum x, a window of it per ``a``."""
    if not len(boxes_a) or not len(boxes_b):
        return
    order = np.argsort(boxes_b[:, 0], kind="stable")
    minx_sorted = boxes_b[order, 0]
    widest = float(np.max(boxes_b[:, 1] - boxes_b[:, 0]))
    for i, (minx, maxx, miny, maxy) in enumerate(boxes_a):
        lo = np.searchsorted(minx_sorted, minx - widest, side="left")
        hi = np.searchsorted(minx_sorted, maxx, side="right")
        window = order[lo:hi]
        b = boxes_b[window]
        keep = (b[:, 1] >= minx) & (b[:, 2] <= maxy) & (b[:, 3] >= miny)
        for j in window[keep]:
            yield i, int(j)


def intersection_over_union(a: Any, b: Any) -> float:
    """Area of the intersection over area of the union of two polygons in one metric CRS (0 when they only touch)."""
    intersection = a.Intersection(b)
    inter = intersection.GetArea() if intersection is not None else 0.0
    union = a.GetArea() + b.GetArea() - inter
    return inter / union if union > 0 else 0.0


def overlaps(candidates: Sequence[Any], references: Sequence[Any]) -> list[Match]:
    """Every candidate-reference pair with a positive IoU (geometries in one metric CRS)."""
    found = []
    for i, j in overlapping_boxes(envelopes(candidates), envelopes(references)):
        iou = intersection_over_union(candidates[i], references[j])
        if iou > 0.0:
            found.append(Match(i, j, iou))
    return found


def _components(pairs: Sequence[Match]) -> list[list[Match]]:
    """Groups of pairs connected through a shared candidate or reference (union-find)."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def root(node: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for pair in pairs:
        parent[root(("c", pair.candidate))] = root(("r", pair.reference))
    groups: dict[tuple[str, int], list[Match]] = {}
    for pair in pairs:
        groups.setdefault(root(("c", pair.candidate)), []).append(pair)
    return list(groups.values())


def optimal_matches(pairs: Sequence[Match], min_iou: float) -> list[Match]:
    """The one-to-one assignment of maximal total IoU among the pairs with IoU >= ``min_iou``."""
    if not 0.0 < min_iou <= 1.0:
        raise ParameterError(f"MIN_IOU is {min_iou}; give a value above 0 and at most 1 (the paper's habit: 0.5).")
    from scipy.optimize import linear_sum_assignment

    chosen = []
    for group in _components([p for p in pairs if p.iou >= min_iou]):
        rows = sorted({p.candidate for p in group})
        cols = sorted({p.reference for p in group})
        weights = np.zeros((len(rows), len(cols)))
        for p in group:
            weights[rows.index(p.candidate), cols.index(p.reference)] = p.iou
        for r, c in zip(*linear_sum_assignment(weights, maximize=True)):
            if weights[r, c] >= min_iou:
                chosen.append(Match(rows[r], cols[c], float(weights[r, c])))
    return sorted(chosen, key=lambda m: m.candidate)


def raster_objects(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected objects of a boolean mask: (labels, count)."""
    from scipy import ndimage

    return ndimage.label(np.asarray(mask, dtype=bool), structure=np.ones((3, 3), dtype=int))


def raster_object_summary(prediction: np.ndarray, truth: np.ndarray, min_iou: float = 0.5) -> Summary:
    """TP, FP and FN of the predicted mask's objects against the truth's (8-connected), matched one to one as polygons
    are (``optimal_matches``: pairs with IoU >= ``min_iou``, the assignment of maximal total IoU), IoU in pixels.

    >>> truth = np.zeros((8, 8), bool); truth[1:4, 1:4] = True; truth[5:8, 5:8] = True
    >>> prediction = np.zeros_like(truth); prediction[1:4, 1:3] = True; prediction[0, 7] = True
    >>> raster_object_summary(prediction, truth).as_row()["tp"], raster_object_summary(prediction, truth, 0.7).fn
    (1, 2)
    """
    predicted, n_predicted = raster_objects(prediction)
    true, n_true = raster_objects(truth)
    if n_predicted == 0 or n_true == 0:
        return Summary(0, n_predicted, n_true)
    joint = np.bincount(predicted.ravel() * (n_true + 1) + true.ravel(), minlength=(n_predicted + 1) * (n_true + 1))
    joint = joint.reshape(n_predicted + 1, n_true + 1)
    intersection = joint[1:, 1:].astype(np.float64)
    union = joint[1:, :].sum(axis=1)[:, None] + joint[:, 1:].sum(axis=0)[None, :] - intersection
    rows, cols = np.nonzero(intersection)
    pairs = [Match(int(r), int(c), float(intersection[r, c] / union[r, c])) for r, c in zip(rows, cols)]
    tp = len(optimal_matches(pairs, min_iou))
    return Summary(tp, n_predicted - tp, n_true - tp)


def common_projection(geometries_wgs84: Sequence[Any]) -> Any:
    """An equal-area projection centred on the polygons (areas, hence IoU, exact on the ellipsoid)."""
    boxes = envelopes(geometries_wgs84)
    return local_equal_area_srs(0.5 * (boxes[:, 0].min() + boxes[:, 1].max()), 0.5 * (boxes[:, 2].min() + boxes[:, 3].max()))


def _in_wgs84(polygons_wkb: Sequence[Optional[bytes]], crs: str, what: str) -> tuple[list[Optional[Any]], list[str]]:
    to_wgs84 = transformer(spatial_reference(crs, what), spatial_reference(WGS84_WKT_EPSG))
    geometries, warnings = [], []
    for index, wkb in enumerate(polygons_wkb):
        prepared = prepare_polygon(wkb)
        if prepared.geometry is None:
            warnings.append(f"{what} feature {index + 1} {prepared.problem}: left out of the evaluation.")
        geometries.append(transformed(prepared.geometry, to_wgs84) if prepared.geometry is not None else None)
    return geometries, warnings


def evaluate(
    candidates_wkb: Sequence[Optional[bytes]],
    candidates_crs: str,
    references_wkb: Sequence[Optional[bytes]],
    references_crs: str,
    min_iou: float = 0.5,
) -> Evaluation:
    """Match candidates to references (any CRS each) and count TP, FP and FN."""
    cand84, warnings = _in_wgs84(candidates_wkb, candidates_crs, "Candidate")
    ref84, ref_warnings = _in_wgs84(references_wkb, references_crs, "Reference")
    _check_same_area(cand84, candidates_crs, ref84, references_crs)
    usable = [g for g in cand84 + ref84 if g is not None]
    matches: list[Match] = []
    if not 0.0 < min_iou <= 1.0:
        optimal_matches([], min_iou)  # the parameter's message
    if usable and any(g is not None for g in cand84) and any(g is not None for g in ref84):
        to_metric = transformer(spatial_reference(WGS84_WKT_EPSG), common_projection(usable))
        cand_idx = [i for i, g in enumerate(cand84) if g is not None]
        ref_idx = [j for j, g in enumerate(ref84) if g is not None]
        pairs = overlaps(
            [transformed(cand84[i], to_metric) for i in cand_idx], [transformed(ref84[j], to_metric) for j in ref_idx]
        )
        pairs = [Match(cand_idx[m.candidate], ref_idx[m.reference], m.iou) for m in pairs]
        matches = optimal_matches(pairs, min_iou)
    else:
        pairs = []
    evaluation = _tabulate(cand84, ref84, matches, warnings + ref_warnings)
    for pair in pairs:  # unmatched candidates show their closest miss
        if evaluation.candidate_match[pair.candidate] is None:
            evaluation.candidate_iou[pair.candidate] = max(evaluation.candidate_iou[pair.candidate] or 0.0, pair.iou)
    return evaluation


def _check_same_area(cand84: Sequence[Any], candidates_crs: str, ref84: Sequence[Any], references_crs: str) -> None:
    """Candidates and references that lie in different places (a layer's CRS set wrong) stop the evaluation: it
    would count every candidate false and every reference missed."""
    wgs84 = spatial_reference(WGS84_WKT_EPSG).ExportToWkt()
    candidates = geometries_footprint(cand84, wgs84, f"candidates (layer CRS {spatial_reference(candidates_crs).GetName()})")
    references = geometries_footprint(ref84, wgs84, f"reference (layer CRS {spatial_reference(references_crs).GetName()})")
    if candidates is not None and references is not None:
        check_overlap(references, candidates, "")


def _tabulate(cand84: Sequence[Any], ref84: Sequence[Any], matches: Sequence[Match], warnings: list[str]) -> Evaluation:
    by_candidate = {m.candidate: m for m in matches}
    by_reference = {m.reference: m for m in matches}
    candidate_status = [
        NO_GEOMETRY if g is None else TRUE_POSITIVE if i in by_candidate else FALSE_POSITIVE for i, g in enumerate(cand84)
    ]
    reference_status = [NO_GEOMETRY if g is None else MATCHED if j in by_reference else MISSED for j, g in enumerate(ref84)]
    summary = Summary(tp=len(matches), fp=candidate_status.count(FALSE_POSITIVE), fn=reference_status.count(MISSED))
    return Evaluation(
        candidate_status=candidate_status,
        candidate_iou=[
            by_candidate[i].iou if i in by_candidate else (0.0 if g is not None else None) for i, g in enumerate(cand84)
        ],
        candidate_match=[by_candidate[i].reference if i in by_candidate else None for i in range(len(cand84))],
        reference_status=reference_status,
        reference_iou=[by_reference[j].iou if j in by_reference else None for j in range(len(ref84))],
        reference_match=[by_reference[j].candidate if j in by_reference else None for j in range(len(ref84))],
        summary=summary,
        warnings=warnings,
    )
