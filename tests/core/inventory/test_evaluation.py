"""One-to-one optimal matching by IoU: against brute force, geometry, and CRS changes."""

import itertools

import numpy as np
import pytest
from osgeo import ogr, osr

from rockglacier_plugin.core.errors import ParameterError
from rockglacier_plugin.core.inventory.evaluation import (
    Match,
    envelopes,
    evaluate,
    optimal_matches,
    overlapping_boxes,
)
from tests.builders import square_wkt
from tests.conftest import require_module

UTM = "EPSG:32644"
X0, Y0 = 500000.0, 4000000.0


def _brute_force_total(pairs, min_iou):
    """Largest total IoU of any one-to-one set of eligible pairs (every subset tried)."""
    eligible = [p for p in pairs if p.iou >= min_iou]
    best = 0.0
    for size in range(len(eligible) + 1):
        for subset in itertools.combinations(eligible, size):
            cands = [p.candidate for p in subset]
            refs = [p.reference for p in subset]
            if len(set(cands)) == size and len(set(refs)) == size:
                best = max(best, sum(p.iou for p in subset))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_optimal_matches__total_iou_equals_brute_force_on_small_random_cases(seed):
    require_module("scipy")
    rng = np.random.default_rng(seed)
    pairs = [Match(int(i), int(j), float(rng.uniform(0.2, 1.0))) for i in range(5) for j in range(4) if rng.random() < 0.5]
    chosen = optimal_matches(pairs, 0.5)
    assert len({m.candidate for m in chosen}) == len(chosen) == len({m.reference for m in chosen})
    assert all(m.iou >= 0.5 for m in chosen)
    assert sum(m.iou for m in chosen) == pytest.approx(_brute_force_total(pairs, 0.5))


def test_optimal_matches__prefers_two_good_matches_over_one_greedy_best():
    require_module("scipy")
    # greedy would take (0, 0) = 0.9 and leave candidate 1 unmatched; the optimum is 0.8 + 0.7
    pairs = [Match(0, 0, 0.9), Match(0, 1, 0.8), Match(1, 0, 0.7)]
    assert optimal_matches(pairs, 0.5) == [Match(0, 1, 0.8), Match(1, 0, 0.7)]


def test_optimal_matches__refuses_a_min_iou_outside_0_1():
    with pytest.raises(ParameterError, match="MIN_IOU"):
        optimal_matches([], 0.0)


@pytest.mark.parametrize("seed", range(4))
def test_overlapping_boxes__finds_the_same_pairs_as_testing_every_pair(seed):
    rng = np.random.default_rng(seed)

    def boxes(n):
        x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
        w, h = rng.uniform(1, 80, n), rng.uniform(1, 80, n)
        return np.column_stack([x, x + w, y, y + h])

    a, b = boxes(150), boxes(200)
    found = set(overlapping_boxes(a, b))
    every = {
        (i, j)
        for i in range(len(a))
        for j in range(len(b))
        if a[i, 0] <= b[j, 1] and b[j, 0] <= a[i, 1] and a[i, 2] <= b[j, 3] and b[j, 2] <= a[i, 3]
    }
    assert found == every


def _wkb(wkt):
    return bytes(ogr.CreateGeometryFromWkt(wkt).ExportToWkb())


def _to_wgs84(wkt):
    source, target = osr.SpatialReference(), osr.SpatialReference()
    source.ImportFromEPSG(32644)
    target.ImportFromEPSG(4326)
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    geometry = ogr.CreateGeometryFromWkt(wkt)
    geometry.Transform(osr.CoordinateTransformation(source, target))
    return bytes(geometry.ExportToWkb())


def test_evaluate__counts_and_ious_follow_from_the_geometry_in_any_crs():
    require_module("scipy")
    # candidate 0 shifted 20 m on a 200 m square: IoU = 180*200 / (2*40000 - 36000) = 0.818...
    references = [square_wkt(X0, Y0, 200), square_wkt(X0 + 1000, Y0, 200), square_wkt(X0 + 5000, Y0, 200)]
    candidates = [square_wkt(X0 + 20, Y0, 200), square_wkt(X0 + 1100, Y0, 200), square_wkt(X0 + 3000, Y0, 100)]
    expected_iou = 180 * 200 / (2 * 40000 - 180 * 200)
    same_crs = evaluate([_wkb(w) for w in candidates], UTM, [_wkb(w) for w in references], UTM, 0.5)
    reference_in_degrees = evaluate([_wkb(w) for w in candidates], UTM, [_to_wgs84(w) for w in references], "EPSG:4326", 0.5)
    for result in (same_crs, reference_in_degrees):
        assert result.candidate_status == ["TP", "FP", "FP"]  # 100 m shift: IoU 1/3 < 0.5
        assert result.candidate_iou[0] == pytest.approx(expected_iou, rel=1e-4)
        assert result.candidate_iou[1] == pytest.approx(100 * 200 / (2 * 40000 - 100 * 200), rel=1e-4)  # near miss shown
        assert result.candidate_iou[2] == 0.0
        assert result.reference_status == ["matched", "missed", "missed"]
        assert (result.summary.tp, result.summary.fp, result.summary.fn) == (1, 2, 2)
        assert result.summary.precision == pytest.approx(1 / 3) and result.summary.recall == pytest.approx(1 / 3)
        assert result.summary.f1 == pytest.approx(1 / 3)


def test_evaluate__a_candidate_without_geometry_is_reported_not_counted():
    require_module("scipy")
    result = evaluate([None, _wkb(square_wkt(X0, Y0, 200))], UTM, [_wkb(square_wkt(X0, Y0, 200))], UTM)
    assert result.candidate_status == ["no_geometry", "TP"]
    assert result.summary.fp == 0 and "has no geometry" in result.warnings[0]


def test_envelopes__ogr_order_minx_maxx_miny_maxy():
    assert envelopes([ogr.CreateGeometryFromWkt(square_wkt(10, 20, 2))]).tolist() == [[9, 11, 19, 21]]
