"""Tracing candidates at the speed of inference (``core.mapping.polygons``): the labelled path (specks dropped by
pixel count, probabilities in one pass, an envelope index for existing landforms) gives exactly the candidates of the
plain path (every region traced and made valid, each probability read on its own, existing landforms scanned)."""

import numpy as np
from osgeo import ogr

from benchmarks.tracing_bench import noisy_scene
from rockglacier_plugin.core.mapping import polygons


def _noisy_scene(folder, size=600, epsg=32644, pixel=10.0, origin=(500000.0, 5000000.0)):
    mask, prob = noisy_scene(folder, size, epsg, pixel, origin, seed=3)
    return mask, prob, (origin[0], pixel, 0.0, origin[1], 0.0, -pixel)


def _run(mask, prob, existing, monkeypatch, labelled):
    monkeypatch.setattr(polygons, "MAX_LABEL_PX", 10**12 if labelled else 0)
    wkb, ids, crs = existing
    found, dropped = polygons.candidates_from_mask(str(mask), str(prob), 0.02, wkb, ids, crs)
    return [(c.geometry_wkb, c.area_km2, c.lon, c.lat, c.dl_prob_mean, c.match_rg_id) for c in found], dropped


def test_labelled_tracing__gives_exactly_the_plain_paths_candidates_areas_probabilities_and_matches(tmp_path, monkeypatch):
    mask, prob, gt = _noisy_scene(tmp_path)
    squares = []
    for i, (col, row) in enumerate([(100, 100), (300, 200), (450, 500), (20, 560)]):
        x0, y0 = gt[0] + col * gt[1], gt[3] + row * gt[5]
        squares.append(
            ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x0 + 800} {y0},{x0 + 800} {y0 - 800},{x0} {y0 - 800},{x0} {y0}))")
        )
    existing = ([bytes(s.ExportToWkb()) for s in squares], [f"rg{i}" for i in range(4)], "EPSG:32644")
    fast, fast_dropped = _run(mask, prob, existing, monkeypatch, True)
    plain, plain_dropped = _run(mask, prob, existing, monkeypatch, False)
    assert fast_dropped == plain_dropped > 3000 and len(fast) == len(plain) >= 10
    assert [c[0] for c in fast] == [c[0] for c in plain]  # the same polygons, vertex for vertex, in the same order
    assert [c[1:4] for c in fast] == [c[1:4] for c in plain] and [c[5] for c in fast] == [c[5] for c in plain]
    assert np.allclose([c[4] for c in fast], [c[4] for c in plain], rtol=1e-9, atol=0)
    assert sum(c[5] is not None for c in fast) >= 2  # some candidates do overlap an existing landform


def test_labelled_tracing__a_geographic_mask_drops_no_region_that_the_footprint_would_keep(tmp_path, monkeypatch):
    """Degrees: pixels shrink towards the poles; the pixel-count filter uses the largest pixel, so nothing kept by the
    equal-area footprint is lost."""
    mask, prob, _ = _noisy_scene(tmp_path, size=400, epsg=4326, pixel=0.0002, origin=(78.0, 36.5))
    fast, fast_dropped = _run(mask, prob, ([], [], "EPSG:4326"), monkeypatch, True)
    plain, plain_dropped = _run(mask, prob, ([], [], "EPSG:4326"), monkeypatch, False)
    assert (len(fast), fast_dropped) == (len(plain), plain_dropped) and [c[:4] for c in fast] == [c[:4] for c in plain]
