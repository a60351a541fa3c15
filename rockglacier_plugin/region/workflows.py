"""The two region workflows: ``map`` (scenes -> one candidate inventory) and ``velocity``
(inventory + pairs -> velocities, the per-pair series and the references used), each a set of tasks
then one merge. Both run the core's workflows (``core.workflows``) as ``rockglacier:segment`` and
``rockglacier:insarvelocity`` do: the same options, ids, best-pair choice and messages.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Optional, Sequence

from ..core.errors import InputRasterError
from ..core.inventory.layer_io import read_layer, write_layer
from ..core.inventory.schema import (
    REFERENCE_POINT_FIELDS,
    REFERENCE_POINT_LAYER,
    ROCK_GLACIER_FIELDS,
    ROCK_GLACIER_LAYER,
    VELOCITY_PAIR_FIELDS,
    VELOCITY_PAIR_LAYER,
)
from ..core.raster.staged import unique_stem
from ..core.workflows.mapping import MappingOptions
from ..core.workflows.velocity import VelocityInputs
from . import tasks
from .runner import TaskReport, run_tasks


@dataclass
class RegionResult:
    """What a region command did: its output, features, tasks' report, time (and the client's share) and log lines."""

    output: str
    n_features: int
    report: TaskReport
    seconds: float
    area_km2: float = 0.0
    notes: list[str] = field(default_factory=list)
    client_seconds: float = 0.0  # after the tasks: what the client did alone (merge, tracing, attributes, writing)


@dataclass(frozen=True)
class MapRequest:
    """What ``map`` is asked: the scenes, the model, the options, where to write and which part of the scenes."""

    scenes: Sequence[str]
    model_path: str
    output: str
    work_dir: str
    options: MappingOptions = MappingOptions()
    dem: Optional[str] = None
    existing: Optional[str] = None  # an inventory: match_rg_id, and new ids after its ids
    extent: Optional[tuple[float, float, float, float]] = None  # in the scenes' CRS
    mask_layer: Optional[str] = None  # polygons: only the tiles they touch
    block_px: int = 8192
    block_overlap_px: int = 512


def map_region(client: Any, request: MapRequest, *, threads: int = 0, progress: bool = True) -> RegionResult:
    """Map every scene on the cluster (a scene larger than ``block_px`` in blocks), merge the seams, trace
    candidates once (``core.workflows.mapping.candidate_rows``), add DEM attributes, write ``output``."""
    from ..core.workflows.mapping import candidate_rows, describe_candidates
    from .merge import mosaic, scene_area_km2

    started = time.perf_counter()
    os.makedirs(request.work_dir, exist_ok=True)
    settings = asdict(request.options.segment_settings(threads))
    scenes, notes = _scene_rasters(request)
    mask = _mask_layer(request.mask_layer)
    salt = json.dumps(
        {"model": os.path.abspath(request.model_path), "settings": settings, "mask": request.mask_layer},
        sort_keys=True,
        default=str,
    )
    units = [
        (scene, extent)
        for scene in scenes
        for extent in tasks.blocks(scene, request.block_px, request.block_overlap_px, request.extent)
    ]
    names = [scene if extent is None else f"{scene} block {extent}" for scene, extent in units]
    keys = [unique_stem(scene, salt + json.dumps(extent)) for scene, extent in units]

    def submit(client_: Any, index: int) -> Any:
        scene, extent = units[index]
        return client_.submit(
            tasks.map_scene,
            scene,
            request.model_path,
            request.work_dir,
            keys[index],
            settings,
            extent,
            mask,
            key=f"map-{keys[index]}",
            pure=False,
        )

    report = run_tasks(client, names, keys, request.work_dir, submit, progress)
    tasks_done = time.perf_counter()
    if not report.done:
        raise InputRasterError("No scene was mapped: " + "; ".join(f"{name}: {error}" for name, error in report.failed))
    probability, mask_path = mosaic(
        [r["probability"] for r in report.done],
        [r["mask"] for r in report.done],
        os.path.join(request.work_dir, "mosaic_probability.tif"),
        os.path.join(request.work_dir, "mosaic_mask.tif"),
    )
    candidates = candidate_rows(mask_path, probability, request.options, _existing(request.existing))
    crs = _crs_of(probability)
    notes.append(describe_candidates(candidates, request.options))
    if request.dem and candidates.rows:
        notes += _add_attributes(candidates.rows, candidates.wkb, crs, request.dem)
    write_layer(request.output, ROCK_GLACIER_LAYER, ROCK_GLACIER_FIELDS, candidates.rows, candidates.wkb, crs)
    ended = time.perf_counter()
    return RegionResult(
        request.output,
        len(candidates.rows),
        report,
        ended - started,
        scene_area_km2([r["probability"] for r in report.done]),
        notes,
        client_seconds=ended - tasks_done,
    )


def _scene_rasters(request: MapRequest) -> tuple[list[str], list[str]]:
    """Each scene as a raster: L2A products (SAFE folders, zips, STAC items) become VRTs of the model's bands
    (``core.workflows.mapping.imagery_for_model``), as rockglacier:segment reads them."""
    from ..core.mapping.onnx_model import Device, load_model
    from ..core.mapping.sentinel2_product import is_product
    from ..core.workflows.mapping import imagery_for_model

    if not any(is_product(scene) for scene in request.scenes):
        return list(request.scenes), []
    spec = load_model(request.model_path, Device.CPU, 1).spec
    rasters, notes = [], []
    for scene in request.scenes:
        raster, found = imagery_for_model(scene, spec, os.path.join(request.work_dir, "products"), request.options)
        rasters.append(raster)
        notes += found
    return rasters, notes


def _existing(path: Optional[str]) -> Any:
    from ..core.workflows.mapping import ExistingInventory

    if not path:
        return None
    rows, wkb, crs = read_layer(path, ROCK_GLACIER_LAYER if has_layer(path, ROCK_GLACIER_LAYER) else None)
    return ExistingInventory(wkb, [r.get("rg_id") for r in rows], crs)


def _mask_layer(path: Optional[str]) -> Optional[dict[str, Any]]:
    if not path:
        return None
    _, wkb, crs = read_layer(path)
    return {"wkb": wkb, "crs": crs}


def _crs_of(path: str) -> str:
    from ..core.raster.io import open_raster

    return open_raster(path, "mosaic").GetProjection()


def _add_attributes(rows: list[dict[str, Any]], wkb: list[bytes], crs: str, dem: str) -> list[str]:
    from ..core.raster.geometry import Polygons
    from ..core.terrain.attributes import compute_attributes

    result = compute_attributes(Polygons(wkb, crs, [r["rg_id"] for r in rows]), dem)
    for row, values in zip(rows, result.values):
        row.update({k: v for k, v in values.items() if v is not None})
    return list(result.notes) + list(result.warnings)


@dataclass(frozen=True)
class VelocityRequest:
    """What ``velocity`` is asked: the inventory, the pairs, the DEM, the geometry and settings, and the outputs."""

    inventory: str
    inputs: VelocityInputs
    dem: str
    output: str
    work_dir: str
    geometry: Any  # LosGeometry
    settings: Any  # VelocitySettings
    reference_points: Optional[str] = None  # a point layer
    velocity_los: Optional[str] = None  # raster outputs, per pair when several
    velocity_downslope: Optional[str] = None


def velocity_region(client: Any, request: VelocityRequest, *, progress: bool = True) -> RegionResult:
    """Velocities of every landform of the inventory from every pair (one task each, ``tasks.velocity_pair``), combined
    as the plugin does: the core's one velocity run (``core.workflows.velocity_run``), its pairs spread over the
    workers."""
    from ..core.insar.landform_velocity import ReferencePoints, combine_pairs
    from ..core.raster.geometry import Polygons
    from ..core.workflows.velocity_run import RasterRequest, VelocityRun, landform_ids

    started = time.perf_counter()
    os.makedirs(request.work_dir, exist_ok=True)
    request.inputs.check()
    rows, wkb, crs = read_layer(
        request.inventory, ROCK_GLACIER_LAYER if has_layer(request.inventory, ROCK_GLACIER_LAYER) else None
    )
    rg_ids = landform_ids([r.get("rg_id") for r in rows])
    references = None
    if request.reference_points:
        point_rows, points, points_crs = read_layer(request.reference_points)
        references = ReferencePoints.from_wkb(points, [r.get("rg_id") for r in point_rows], points_crs)
    run = VelocityRun(
        Polygons(wkb, crs, rg_ids),
        request.inputs,
        request.dem,
        request.geometry,
        request.settings,
        os.path.join(request.work_dir, "products"),
        references,
        RasterRequest(request.velocity_los, request.velocity_downslope),
    )
    scattered = client.scatter(run, broadcast=True)  # the polygons travel once, not once per task
    names = request.inputs.names()
    keys = [
        unique_stem(
            name, json.dumps([request.inventory, request.dem, request.velocity_los, request.velocity_downslope], default=str)
        )
        for name in names
    ]

    def submit(client_: Any, index: int) -> Any:
        return client_.submit(
            tasks.velocity_pair, scattered, index, request.work_dir, keys[index], key=f"velocity-{keys[index]}", pure=False
        )

    report = run_tasks(client, names, keys, request.work_dir, submit, progress)
    measured = [_measurement(record) for record in report.done]
    result = combine_pairs([pair for m in measured for pair in m.pairs], rg_ids)
    for row, rg_id, landform in zip(rows, rg_ids, result.landforms):
        row["rg_id"] = rg_id
        row.update(landform.fields())
    write_layer(request.output, ROCK_GLACIER_LAYER, inventory_fields(rows), rows, wkb, crs)
    write_layer(request.output, VELOCITY_PAIR_LAYER, VELOCITY_PAIR_FIELDS, result.pair_rows)
    _write_references(request.output, result.landforms, crs)
    return RegionResult(
        request.output, len(rows), report, time.perf_counter() - started, notes=[note for m in measured for note in m.notes]
    )


def _measurement(record: dict[str, Any]) -> Any:
    """A finished task's ``RunMeasurement``."""
    import pickle

    with open(record["result"], "rb") as handle:
        return pickle.load(handle)


def _write_references(path: str, landforms: Sequence[Any], crs: str) -> None:
    from osgeo import ogr

    from ..core.workflows.velocity_run import used_references

    rows, points = used_references(landforms), []
    for reference in rows:
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(reference["x"], reference["y"])
        points.append(bytes(point.ExportToWkb()))
    write_layer(path, REFERENCE_POINT_LAYER, REFERENCE_POINT_FIELDS, rows, points, crs, points=True)


def has_layer(path: str, name: str) -> bool:
    """Whether the vector file ``path`` holds a layer ``name``."""
    from osgeo import ogr

    dataset = ogr.Open(path)
    return dataset is not None and dataset.GetLayerByName(name) is not None


def inventory_fields(rows: list[dict[str, Any]]) -> tuple:
    """The schema's fields, plus the input's own text fields that the schema does not have."""
    from ..core.inventory.schema import FieldSpec

    known = {spec.name for spec in ROCK_GLACIER_FIELDS}
    extra = sorted({k for row in rows for k in row if k not in known})
    return ROCK_GLACIER_FIELDS + tuple(FieldSpec(name, "text", "from the input") for name in extra)
