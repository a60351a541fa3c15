"""Feature tracking of a large pair on a Dask cluster, with the same result as one ``rockglacier:featuretracking`` run.

The client makes the plan (``plan_tracking``: the grid of points, which lie on each landform and on stable ground),
cuts the points into bands of rows (one task each: ``tasks.track_points`` reads only its band of both rasters and
saves its raw matches), gathers the matches in the points' order and finishes as one run does
(``finish_tracking``: filters, co-registration and level of detection over all the points, per-landform rates).
Matching is per point, so the cut changes nothing: the test compares with one run. A rerun skips the bands done.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..core.inventory.layer_io import read_layer, write_layer
from ..core.raster.geometry import spatial_reference, transformed, transformer
from ..core.raster.io import open_raster, raster_grid
from ..core.raster.staged import unique_stem
from ..core.tracking.displacements import Tracked, TrackingSettings
from ..core.tracking.feature_tracking import Areas, TrackingInputs, finish_tracking, plan_tracking
from ..core.workflows.tracking import LANDFORM_FIELDS, LANDFORM_LAYER, POINT_FIELDS, POINT_LAYER, point_rows
from . import tasks
from .runner import run_tasks
from .workflows import RegionResult, has_layer, inventory_fields


@dataclass(frozen=True)
class TrackRequest:
    """What ``track`` is asked: the pair, the areas, the options and where to write."""

    inputs: TrackingInputs
    settings: TrackingSettings
    output: str  # GeoPackage: the points (feature_tracking_points) and, with an inventory, rock_glaciers with ft_ fields
    work_dir: str
    inventory: Optional[str] = None
    stable: Optional[str] = None
    velocity: Optional[str] = None  # the velocity raster (rate, direction)
    bands: int = 0  # tasks; 0: four per worker


def _polygons(path: Optional[str], crs_wkt: str) -> tuple[list[dict[str, Any]], list[Optional[bytes]], str, list[Any]]:
    """A polygon layer's rows, WKB and CRS, and its polygons in the rasters' CRS (OGR)."""
    from osgeo import ogr

    if not path:
        return [], [], "", []
    rows, wkb, crs = read_layer(path, LANDFORM_LAYER if has_layer(path, LANDFORM_LAYER) else None)
    to_raster = transformer(spatial_reference(crs), spatial_reference(crs_wkt))
    return rows, wkb, crs, [transformed(ogr.CreateGeometryFromWkb(w), to_raster) if w else None for w in wkb]


def _gather(records: list[dict[str, Any]], chunks: list[np.ndarray], n: int) -> Tracked:
    tracked = Tracked(np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), [None] * n)
    for record, members in zip(records, chunks):
        with np.load(record["result"]) as saved:
            for name in ("d_col_px", "d_row_px", "correlation", "second_ratio"):
                getattr(tracked, name)[members] = saved[name]
            for i, reason in zip(members, saved["reason"]):
                tracked.reason[i] = str(reason) or None
    return tracked


def track_region(client: Any, request: TrackRequest, *, progress: bool = True) -> RegionResult:
    """The points, per-landform rates and velocity raster of one pair, matched band by band on the cluster."""
    from osgeo import ogr

    from ..core.tracking.velocity_raster import write_velocity_raster

    started = time.perf_counter()
    os.makedirs(request.work_dir, exist_ok=True)
    raster_crs = raster_grid(open_raster(request.inputs.first_path, "first image"), 1, "first image").crs_wkt
    rows, wkb, crs, landforms = _polygons(request.inventory, raster_crs)
    stable = _polygons(request.stable, raster_crs)[3]
    plan = plan_tracking(request.inputs, request.settings, Areas(landforms, stable or None))
    workers = len(client.scheduler_info().get("workers", {})) or 1
    order = np.argsort(plan.rows, kind="stable")
    chunks = [c for c in np.array_split(order, request.bands or 4 * workers) if c.size]
    salt = json.dumps([request.inputs.first_path, request.inputs.second_path, str(request.inputs), str(request.settings)])
    keys = [unique_stem(f"track{i:04d}", salt) for i in range(len(chunks))]
    names = [f"band {i + 1} of {len(chunks)} ({c.size} points)" for i, c in enumerate(chunks)]

    def submit(client_: Any, index: int) -> Any:
        members = chunks[index]
        return client_.submit(
            tasks.track_points,
            request.inputs,
            request.settings,
            plan.rows[members],
            plan.cols[members],
            request.work_dir,
            keys[index],
            key=f"track-{keys[index]}",
            pure=False,
        )

    report = run_tasks(client, names, keys, request.work_dir, submit, progress)
    if report.failed:
        return RegionResult(request.output, 0, report, time.perf_counter() - started, notes=list(plan.notes))
    result = finish_tracking(plan, _gather(report.done, chunks, len(plan.rows)))
    point_wkb = []
    for x, y in zip(result.points.x, result.points.y):
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(float(x), float(y))
        point_wkb.append(bytes(point.ExportToWkb()))
    write_layer(request.output, POINT_LAYER, POINT_FIELDS, point_rows(result), point_wkb, result.crs_wkt, points=True)
    if rows:
        specs = inventory_fields(rows) + LANDFORM_FIELDS  # the inventory's fields as the region velocity run writes them
        write_layer(
            request.output,
            LANDFORM_LAYER,
            specs,
            [{**row, **measured} for row, measured in zip(rows, result.landforms)],
            wkb,
            crs,
        )
    if request.velocity:
        write_velocity_raster(request.velocity, result)
    return RegionResult(request.output, len(result.points.x), report, time.perf_counter() - started, notes=list(result.notes))
