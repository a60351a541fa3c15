"""rockglacier:evaluate on a country-size inventory against QGIS's own spatial join.

Both run in this process on the same two layers (N candidates, N references spread over 2000 km x
2000 km in UTM, each candidate a shifted copy of its reference, IoU about 0.6-0.9). The baseline,
``native:joinattributesbylocation`` (intersects, one-to-many), only finds the overlapping pairs;
ours also computes every IoU, solves the optimal one-to-one matching and writes two layers.
Printed: both times and the ratio.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from tests.builders import square_wkt, write_polygons


def run(n: int = 20000, seed: int = 0) -> dict:
    import processing

    work = Path(tempfile.mkdtemp(prefix="rockglacier-evaluate-bench-"))
    rng = np.random.default_rng(seed)
    xs, ys = rng.uniform(200000, 2200000, n), rng.uniform(2000000, 4000000, n)
    references = write_polygons(work / "reference.gpkg", [square_wkt(x, y, 300) for x, y in zip(xs, ys)], epsg=32644)
    shifted = [square_wkt(x + rng.normal(0, 30), y + rng.normal(0, 30), 300) for x, y in zip(xs, ys)]
    candidates = write_polygons(work / "candidates.gpkg", shifted, epsg=32644)
    start = time.perf_counter()
    result = processing.run(
        "rockglacier:evaluate",
        {
            "CANDIDATES": str(candidates),
            "REFERENCE": str(references),
            "OUTPUT": "TEMPORARY_OUTPUT",
            "REFERENCE_OUTPUT": "TEMPORARY_OUTPUT",
        },
    )
    ours = time.perf_counter() - start
    start = time.perf_counter()
    processing.run(
        "native:joinattributesbylocation",
        {"INPUT": str(candidates), "JOIN": str(references), "PREDICATE": [0], "METHOD": 0, "OUTPUT": "TEMPORARY_OUTPUT"},
    )
    native = time.perf_counter() - start
    print(
        f"evaluate: {n} candidates vs {n} references: rockglacier:evaluate {ours:.2f} s (TP {result['TP']}, F1 "
        f"{result['F1']:.3f}); native:joinattributesbylocation (pairs only) {native:.2f} s; ratio {ours / native:.2f}"
    )
    return {"ours_s": ours, "native_s": native}
