"""Feature tracking against its peer, PyImageTrack, on data nobody here made: the Laurichard rock glacier's 2012 and
2017 hillshades (../shared/datasets/laurichard-dem-2012-2017) and its 265 hand-matched landmarks.

Both get the same pair (the hillshades, as images), grid spacing (10 px = 5 m), template (32 px) and search radius
(24 px), the same stable ground (6 m squares around the stable landmarks) and the same moving area (the moving
landmarks' convex hull). PyImageTrack runs its own pipeline from its own source in its own environment
(``pyimagetrack_peer``); ours is ``core.tracking.track_features``, as ``rockglacier:featuretracking`` calls it.

Reported:

* wall time: ours (whole grid over the image: the moving area and the stable ground), PyImageTrack's pipeline timed
  inside its process (alignment, tracking of the moving area, LoD, filters, writing) and its whole process;
* agreement of the two fields: at every PyImageTrack point valid in both, the difference to our nearest valid grid
  point (within half a spacing), median and 90th percentile;
* each against the landmarks: the nearest valid point (within one spacing) of each method to each moving landmark,
  the error against the hand-matched displacement (median, p90, share within 0.5 m and 1 m) and how many
  landmarks got a valid point; the same on the stable landmarks (their displacement is zero).

    .venv/bin/python -m benchmarks.feature_tracking_bench [--shared ../shared]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ROCKGLACIER_SHARED", ROOT.parent / "shared"))
DATASET = "laurichard-dem-2012-2017"
SPACING_PX, TEMPLATE_PX, SEARCH_PX = 10, 32, 24


def _nearest(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray, within_m: float) -> np.ndarray:
    """Index of the nearest (px, py) to each (x, y), -1 where none lies within ``within_m``."""
    from scipy.spatial import cKDTree

    if px.size == 0:
        return np.full(x.shape, -1)
    distance, index = cKDTree(np.column_stack([px, py])).query(np.column_stack([x, y]))
    return np.where(distance <= within_m, index, -1)


def landmark_scores(
    x: np.ndarray,
    y: np.ndarray,
    east: np.ndarray,
    north: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    p_east: np.ndarray,
    p_north: np.ndarray,
    within_m: float,
) -> dict[str, Any]:
    """Error of the nearest valid point against each landmark's hand-matched displacement."""
    index = _nearest(x, y, px, py, within_m)
    found = index >= 0
    error = np.hypot(p_east[index[found]] - east[found], p_north[index[found]] - north[found])
    if error.size == 0:
        return {"found": 0, "of": int(x.size)}
    return {
        "found": int(found.sum()),
        "of": int(x.size),
        "median_m": float(np.median(error)),
        "p90_m": float(np.percentile(error, 90)),
        "within_0_5_m": float(np.mean(error <= 0.5)),
        "within_1_m": float(np.mean(error <= 1.0)),
    }


def _ours(folder: Path, hull: Any, stable_polygons: list[Any]) -> tuple[float, Any]:
    from rockglacier_plugin.core.tracking.feature_tracking import (
        IMAGE,
        Areas,
        TrackingInputs,
        TrackingSettings,
        track_features,
    )

    inputs = TrackingInputs(
        str(folder / "rock_glacier_hillshade_2012_50cm.tif"),
        str(folder / "rock_glacier_hillshade_2017_50cm.tif"),
        date(2012, 10, 5),
        date(2017, 10, 5),
        IMAGE,
        spacing_px=SPACING_PX,
    )
    settings = TrackingSettings(template_px=TEMPLATE_PX, search_radius_px=SEARCH_PX, neighbour_radius_px=4.0 * SPACING_PX)
    start = time.perf_counter()
    result = track_features(inputs, settings, Areas([hull], stable_polygons))
    return time.perf_counter() - start, result


def _line(name: str, scores: dict[str, Any]) -> str:
    if "median_m" not in scores:
        return f"   {name:<44} no landmark has a valid point within reach ({scores['of']} landmarks)"
    return (
        f"   {name:<44} {scores['found']}/{scores['of']} landmarks with a valid point; error median {scores['median_m']:.2f} m, "
        f"p90 {scores['p90_m']:.2f} m, within 0.5 m {100 * scores['within_0_5_m']:.0f} %, within 1 m "
        f"{100 * scores['within_1_m']:.0f} %"
    )


def run(shared: Path = SHARED, work: Optional[Path] = None) -> dict[str, Any]:
    from osgeo import gdal

    from benchmarks.pyimagetrack_peer import PeerSettings, peer_python, peer_source, run_peer, write_inputs
    from tests.core.tracking.test_feature_tracking import _landmarks, moving_hull, stable_squares

    folder = shared / "datasets" / DATASET
    if not folder.exists():
        print(f"\n== Feature tracking: skipped, {folder} is not on this machine")
        return {}
    work = work or Path(tempfile.mkdtemp(prefix="rockglacier-ft-bench-"))
    x, y, east, north = _landmarks(folder)
    stable = np.hypot(east, north) == 0
    hull = moving_hull(x[~stable], y[~stable])
    squares = stable_squares(x[stable], y[stable])
    pixel_m = abs(gdal.Open(str(folder / "rock_glacier_hillshade_2012_50cm.tif")).GetGeoTransform()[1])
    seconds, ours = _ours(folder, hull, squares)
    p = ours.points
    valid = np.array([r is None for r in p.reason])
    results: dict[str, Any] = {"ours_seconds": seconds, "ours_points": int(p.x.size), "ours_lod_m": ours.lod_m}
    print(
        f"\n== Feature tracking on the Laurichard hillshades 2012/2017 (0.5 m; grid {SPACING_PX} px, template {TEMPLATE_PX} px, "
        f"search {SEARCH_PX} px; landmarks matched by hand, not by us)"
    )
    print(
        f"   ours (core.tracking.track_features)          {seconds:.1f} s for {p.x.size} points over the whole image "
        f"({int(valid.sum())} valid), LoD {ours.lod_m:.2f} m"
    )
    within = SPACING_PX * pixel_m
    for name, mask in (("moving", ~stable), ("stable", stable)):
        results[f"ours_{name}"] = landmark_scores(
            x[mask], y[mask], east[mask], north[mask], p.x[valid], p.y[valid], p.east_m[valid], p.north_m[valid], within
        )
        print(_line(f"ours, {name} landmarks", results[f"ours_{name}"]))
    python, source = peer_python(), peer_source()
    if python is None or source is None:
        print(
            "   PyImageTrack: not run ("
            + (
                "no environment: make peers"
                if python is None
                else "no source: fetch github:SimonEbert/PyImageTrack or set PYIMAGETRACK_SRC"
            )
            + ")"
        )
        return results
    crs = gdal.Open(str(folder / "rock_glacier_hillshade_2012_50cm.tif")).GetProjection()
    config = write_inputs(
        work / "inputs",
        folder / "rock_glacier_hillshade_2012_50cm.tif",
        folder / "rock_glacier_hillshade_2017_50cm.tif",
        ("2012-10-05", "2017-10-05"),
        [s.ExportToWkt() for s in squares],
        hull.ExportToWkt(),
        crs,
        PeerSettings(SPACING_PX, TEMPLATE_PX, SEARCH_PX),
        work / "outputs",
    )
    peer = run_peer(python, source, config, work / "outputs", work, pixel_m)
    results.update({"peer_seconds": peer.seconds, "peer_wall_seconds": peer.wall_seconds, "peer_points": int(peer.x.size)})
    print(
        f"   PyImageTrack (its run_from_config)           {peer.seconds:.1f} s for {peer.x.size} points on the moving area "
        f"({int(peer.valid.sum())} valid; {peer.wall_seconds:.1f} s with its start-up); ours is "
        f"{peer.seconds / seconds:.1f}x faster for {p.x.size / max(peer.x.size, 1):.1f}x the points"
    )
    for name, mask in (("moving", ~stable), ("stable", stable)):
        results[f"peer_{name}"] = landmark_scores(
            x[mask],
            y[mask],
            east[mask],
            north[mask],
            peer.x[peer.valid],
            peer.y[peer.valid],
            peer.east_m[peer.valid],
            peer.north_m[peer.valid],
            within,
        )
        print(_line(f"PyImageTrack, {name} landmarks", results[f"peer_{name}"]))
    index = _nearest(peer.x[peer.valid], peer.y[peer.valid], p.x[valid], p.y[valid], within / 2.0)
    both = index >= 0
    difference = np.hypot(
        peer.east_m[peer.valid][both] - p.east_m[valid][index[both]],
        peer.north_m[peer.valid][both] - p.north_m[valid][index[both]],
    )
    if difference.size:
        results["agreement_median_m"] = float(np.median(difference))
        results["agreement_p90_m"] = float(np.percentile(difference, 90))
        print(
            f"   the two fields, {difference.size} points valid in both: difference median {np.median(difference):.2f} m, "
            f"p90 {np.percentile(difference, 90):.2f} m"
        )
    return results


LARGE_RUNNER = """
import resource, sys, time
from datetime import date
sys.path.insert(0, sys.argv[1])
from rockglacier_plugin.core.progress import RunHooks
from rockglacier_plugin.core.tracking.displacements import TrackingSettings
from rockglacier_plugin.core.tracking.feature_tracking import IMAGE, Areas, TrackingInputs, track_features
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
fractions = []
start = time.perf_counter()
result = track_features(TrackingInputs(sys.argv[2], sys.argv[3], date(2019, 8, 1), date(2021, 8, 1), IMAGE, spacing_px=50),
                        TrackingSettings(template_px=32, search_radius_px=8), Areas(), RunHooks(on_progress=fractions.append))
seconds = time.perf_counter() - start
valid = sum(r is None for r in result.points.reason)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, (peak - before) / 1024.0, peak / 1024.0, len(result.points.x), valid, len(fractions))
"""


def large_pair(size_px: int = 10_000, work: Optional[Path] = None) -> dict[str, Any]:
    """A size_px x size_px 8-bit pair (a band-limited texture tiled, the second shifted by 2.4, -1.3 px), tracked every
    50 px in a fresh process: its time, its peak memory against the two rasters' size, the progress reports."""
    import subprocess

    from osgeo import gdal

    from tests.builders import write_raster

    work = work or Path(tempfile.mkdtemp(prefix="rockglacier-ft-large-"))
    rng = np.random.default_rng(0)
    tile = 1000
    fy, fx = np.fft.fftfreq(tile)[:, None], np.fft.fftfreq(tile)[None, :]
    spectrum = np.fft.fft2(rng.standard_normal((tile, tile))) * np.exp(-((fx**2 + fy**2) * 200.0))
    paths = []
    for name, (d_col, d_row) in (("first", (0.0, 0.0)), ("second", (2.4, -1.3))):
        texture = np.real(np.fft.ifft2(spectrum * np.exp(-2j * np.pi * (fx * d_col + fy * d_row))))
        texture = np.clip(128.0 + 40.0 * texture / texture.std(), 0, 255).astype(np.uint8)
        reps = -(-size_px // tile)
        paths.append(
            write_raster(
                work / f"{name}.tif",
                np.tile(texture, (reps, reps))[:size_px, :size_px],
                (500000.0, 1.0, 0.0, 5000000.0, 0.0, -1.0),
                dtype=gdal.GDT_Byte,
            )
        )
    completed = subprocess.run(
        [sys.executable, "-c", LARGE_RUNNER, str(ROOT), str(paths[0]), str(paths[1])], capture_output=True, text=True, check=True
    )
    seconds, grown_mb, peak_mb, points, valid, reports = completed.stdout.split()[-6:]
    rasters_mb = 2 * size_px * size_px / 1024**2
    print(
        f"\n== Feature tracking, a {size_px:,} x {size_px:,} px 8-bit pair (every 50 px, template 32, search 8), in a fresh "
        "process"
    )
    print(
        f"   {float(seconds):.1f} s for {int(points):,} points ({int(valid):,} valid), {reports} progress reports; peak memory "
        f"{float(peak_mb):.0f} MB (grew {float(grown_mb):.0f} MB during the run) for {rasters_mb:.0f} MB of rasters "
        f"(read whole as float64 they would take {8 * rasters_mb:.0f} MB)"
    )
    return {"seconds": float(seconds), "peak_mb": float(peak_mb), "grown_mb": float(grown_mb), "points": int(points)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--large-px", type=int, default=10_000)
    args = parser.parse_args()
    run(args.shared)
    large_pair(args.large_px)
    return 0


if __name__ == "__main__":
    sys.exit(main())
