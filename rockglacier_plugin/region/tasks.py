"""The work of one task, run on a worker: one scene mapped, or one pair measured.

A worker keeps the ONNX sessions it opened (``_MODELS``, per process) between tasks. Every task
writes its outputs into the work folder (staged: complete or absent) and a small JSON marker last;
``done_marker`` is what a rerun checks to skip the scene (resume).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Optional

_MODELS: dict[tuple, Any] = {}


def done_marker(work_dir: str, key: str) -> str:
    """The path of a task's marker, written last: the task is done when it exists."""
    return os.path.join(work_dir, f"{key}.done.json")


def read_marker(work_dir: str, key: str) -> Optional[dict[str, Any]]:
    """The finished task's record, None when the task has not finished (or its outputs are gone)."""
    path = done_marker(work_dir, key)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        record = json.load(handle)
    outputs = [record.get("probability"), record.get("mask"), record.get("result")]
    return record if all(os.path.exists(p) for p in outputs if p) else None


def _write_marker(work_dir: str, key: str, record: dict[str, Any]) -> dict[str, Any]:
    partial = done_marker(work_dir, key) + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.replace(partial, done_marker(work_dir, key))
    return record


def blocks(
    scene_path: str, block_px: int, overlap_px: int, extent: Optional[tuple[float, float, float, float]] = None
) -> list[Optional[tuple[float, float, float, float]]]:
    """The extents (raster CRS) of the blocks a very large scene is cut into, overlapping by ``overlap_px``;
    ``[None]`` (the whole scene) when it fits in one block. With ``extent`` (--extent, EXTENT), only the
    blocks it touches, each cut to it; none when the scene lies outside it.

    The extents sit a thousandth of a pixel inside the blocks' pixel edges, so that the core's
    whole-pixel rounding gives back exactly the planned windows.
    """
    from ..core.errors import RockGlacierError
    from ..core.raster.io import open_raster, raster_grid

    try:
        grid = raster_grid(open_raster(scene_path, "scene"), 1, "scene")
    except RockGlacierError:
        return [None]  # the scene's own task fails with the message and is reported with the others
    x0, dx, _, y0, _, dy = grid.geotransform
    eps = 1e-3
    if grid.width_px <= block_px and grid.height_px <= block_px:
        planned: list[tuple[float, float, float, float]] = [
            (x0 + eps * dx, y0 + (grid.height_px - eps) * dy, x0 + (grid.width_px - eps) * dx, y0 + eps * dy)
        ]
    else:
        step = max(1, block_px - overlap_px)
        planned = []
        for row in range(0, max(grid.height_px - overlap_px, 1), step):
            for col in range(0, max(grid.width_px - overlap_px, 1), step):
                height, width = min(block_px, grid.height_px - row), min(block_px, grid.width_px - col)
                planned.append(
                    (x0 + (col + eps) * dx, y0 + (row + height - eps) * dy, x0 + (col + width - eps) * dx, y0 + (row + eps) * dy)
                )
    if extent is None:
        return [None] if len(planned) == 1 else list(planned)
    cut = [(max(b[0], extent[0]), max(b[1], extent[1]), min(b[2], extent[2]), min(b[3], extent[3])) for b in planned]
    return [c for c in cut if c[2] > c[0] and c[3] > c[1]]


def cached_model(model_path: str, device: str, threads: int) -> Any:
    """The worker's loaded model for (path, device, threads), loaded on first use."""
    from ..core.mapping.onnx_model import Device, load_model

    key = (os.path.abspath(model_path), device, threads)
    if key not in _MODELS:
        _MODELS[key] = load_model(model_path, Device(device), threads, spinning=False)
    return _MODELS[key]


def map_scene(
    scene_path: str,
    model_path: str,
    work_dir: str,
    key: str,
    settings: dict[str, Any],
    extent: Optional[tuple[float, float, float, float]] = None,
    mask: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """Segment one scene (or the block ``extent`` of it, only where ``mask``'s polygons are) into
    ``<key>_probability.tif`` and ``<key>_mask.tif``; returns the marker record."""
    from ..core.mapping.onnx_model import Device
    from ..core.mapping.reflectance import Calibration
    from ..core.mapping.segmentation import MapArea, SegmentSettings, segment_raster
    from ..core.progress import RunHooks
    from ..core.raster.geometry import polygons_in_crs
    from ..core.raster.io import open_raster

    started = time.perf_counter()
    calibration = Calibration(**settings["calibration"]) if settings.get("calibration") else None
    segment_settings = SegmentSettings(**{**settings, "device": Device(settings["device"]), "calibration": calibration})
    model = cached_model(model_path, segment_settings.device.value, segment_settings.threads)
    probability = os.path.join(work_dir, f"{key}_probability.tif")
    mask_path = os.path.join(work_dir, f"{key}_mask.tif")
    geometries = (
        None
        if mask is None
        else polygons_in_crs(mask["wkb"], mask["crs"], open_raster(scene_path, "scene").GetProjection(), "mask layer")
    )
    run = segment_raster(
        scene_path, model_path, probability, mask_path, segment_settings, MapArea(extent, geometries), RunHooks(), model=model
    )
    return _write_marker(
        work_dir,
        key,
        {
            "scene": scene_path,
            "probability": probability,
            "mask": mask_path,
            "seconds": time.perf_counter() - started,
            "tiles": run.tiles_run,
            "provider": run.provider,
            "pid": os.getpid(),
        },
    )


def velocity_pair(run: Any, index: int, work_dir: str, key: str) -> dict[str, Any]:
    """The ``index``-th pair of the velocity run ``run`` (a ``core.workflows.velocity_run.VelocityRun``) measured on
    every landform, as ``rockglacier:insarvelocity`` measures it (``measure_run``); the ``RunMeasurement`` is saved as
    ``<key>_velocities.pickle`` (staged) for the client to combine."""
    import pickle

    from ..core.workflows.velocity_run import measure_run

    started = time.perf_counter()
    measured = measure_run(run.for_pair(index))
    path = os.path.join(work_dir, f"{key}_velocities.pickle")
    with open(path + ".partial", "wb") as handle:
        pickle.dump(measured, handle)
    os.replace(path + ".partial", path)
    return _write_marker(
        work_dir,
        key,
        {"pair": run.inputs.names()[index], "result": path, "seconds": time.perf_counter() - started, "pid": os.getpid()},
    )


def track_points(inputs: Any, settings: Any, rows: Any, cols: Any, work_dir: str, key: str) -> dict[str, Any]:
    """Raw feature-tracking matches of a share of the points (``core.tracking.feature_tracking.match_points``), saved
    as ``<key>_matches.npz`` (staged), then the marker."""
    import numpy as np

    from ..core.tracking.feature_tracking import match_points

    tracked = match_points(inputs, settings, np.asarray(rows), np.asarray(cols))
    path = os.path.join(work_dir, f"{key}_matches.npz")
    partial = path + ".partial.npz"
    np.savez(
        partial,
        d_col_px=tracked.d_col_px,
        d_row_px=tracked.d_row_px,
        correlation=tracked.correlation,
        second_ratio=tracked.second_ratio,
        reason=np.array([r or "" for r in tracked.reason], dtype=str),
    )
    os.replace(partial, path)
    return _write_marker(work_dir, key, {"result": path, "points": int(len(rows))})
