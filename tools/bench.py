"""`make bench`: every benchmark, each printing ratios against a baseline run in this process."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benchmarks run")
    args = parser.parse_args()
    from tests.qgis_session import start_qgis

    start_qgis()
    from benchmarks import (
        attributes_bench,
        evaluate_bench,
        feature_tracking_bench,
        insar_bench,
        insar_steep_bench,
        moving_areas_bench,
        region_bench,
        segment_bench,
        tracing_bench,
        training_bench,
        views_bench,
    )

    if args.quick:
        attributes_bench.run(size_px=800, n_polygons=50, repeats=1)
        evaluate_bench.run(n=1000)
        feature_tracking_bench.run()
        feature_tracking_bench.large_pair(2000)
        insar_bench.run(size_px=1000, n_polygons=30, repeats=1)
        insar_steep_bench.run(seeds=2)
        moving_areas_bench.run(seeds=2)
        segment_bench.run(size_px=1024, memory_size_px=0, trained_steps=0)
        tracing_bench.run(size_px=768)
        region_bench.run(n_scenes=2, size_px=512, repeats=1)
        region_bench.noisy(n_scenes=2, size_px=512, costly=False)
        training_bench.run(encoders=("resnet18",), steps=1)
    else:
        attributes_bench.run()
        evaluate_bench.run()
        feature_tracking_bench.run()
        feature_tracking_bench.large_pair()
        insar_bench.run()
        insar_steep_bench.run()
        moving_areas_bench.run()
        segment_bench.run()
        tracing_bench.run()
        views_bench.run()
        region_bench.run()
        region_bench.noisy(costly=False)
        region_bench.noisy()
        training_bench.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
