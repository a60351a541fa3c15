"""The two region workflows: ``map`` (scenes -> one candidate inventory) and ``velocity``
(inventory + pairs -> velocities and the per-pair series), each a set of tasks then one merge."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..core.inventory.identifiers import ids_after
from ..core.inventory.schema import (
    ROCK_GLACIER_FIELDS,
    ROCK_GLACIER_LAYER,
    VELOCITY_PAIR_FIELDS,
    VELOCITY_PAIR_LAYER,
)
from ..core.mapping.polygons import DEFAULT_MIN_AREA_KM2
from ..core.raster.staged import unique_stem
from . import tasks
from .inventory_io import read_layer, write_layer
from .runner import TaskReport, run_tasks


@dataclass
class RegionResult:
    output: str
    n_features: int
    report: TaskReport
    seconds: float
    area_km2: float = 0.0
    notes: list[str] = field(default_factory=list)


def map_region(client: Any, scenes: Sequence[str], model_path: str, output: str, work_dir: str, *, min_area_km2: float = DEFAULT_MIN_AREA_KM2,
               dem: Optional[str] = None, id_prefix: str = "rg", segment: Optional[dict[str, Any]] = None,
               progress: bool = True, block_px: int = 8192, block_overlap_px: int = 512) -> RegionResult:
    """Map every scene on the cluster (a scene larger than ``block_px`` in blocks), merge the seams, trace
    candidates once, add DEM attributes, write ``output``."""
    from ..core.mapping.polygons import candidates_from_mask
    from .merge import mosaic, scene_area_km2

    started = time.perf_counter()
    os.makedirs(work_dir, exist_ok=True)
    segment = dict(segment or {})
    salt = json.dumps({"model": os.path.abspath(model_path), **segment}, sort_keys=True, default=str)
    units = [(scene, extent) for scene in scenes for extent in tasks.blocks(scene, block_px, block_overlap_px)]
    names = [scene if extent is None else f"{scene} block {extent}" for scene, extent in units]
    keys = [unique_stem(scene, salt + json.dumps(extent)) for scene, extent in units]

    def submit(client_: Any, index: int) -> Any:
        scene, extent = units[index]
        return client_.submit(tasks.map_scene, scene, model_path, work_dir, keys[index], segment, extent, key=f"map-{keys[index]}",
                              pure=False)

    report = run_tasks(client, names, keys, work_dir, submit, progress)
    if not report.done:
        raise RuntimeError("No scene was mapped: " + "; ".join(f"{name}: {error}" for name, error in report.failed))
    probability, mask = mosaic([r["probability"] for r in report.done], [r["mask"] for r in report.done],
                               os.path.join(work_dir, "mosaic_probability.tif"), os.path.join(work_dir, "mosaic_mask.tif"))
    candidates, dropped = candidates_from_mask(mask, probability, min_area_km2)
    ids = ids_after([], len(candidates), id_prefix)
    rows = [candidate.inventory_values(rg_id) for rg_id, candidate in zip(ids, candidates)]
    wkb = [candidate.geometry_wkb for candidate in candidates]
    crs = _crs_of(probability)
    notes = [f"{len(candidates)} candidate(s) after merging the seams; {dropped} smaller than {min_area_km2} km2 dropped."]
    if dem and candidates:
        notes += _add_attributes(rows, wkb, crs, dem)
    write_layer(output, ROCK_GLACIER_LAYER, ROCK_GLACIER_FIELDS, rows, wkb, crs)
    return RegionResult(output, len(rows), report, time.perf_counter() - started,
                        scene_area_km2([r["probability"] for r in report.done]), notes)


def _crs_of(path: str) -> str:
    from ..core.raster.io import open_raster

    return open_raster(path, "mosaic").GetProjection()


def _add_attributes(rows: list[dict[str, Any]], wkb: list[bytes], crs: str, dem: str) -> list[str]:
    from ..core.terrain.attributes import compute_attributes

    result = compute_attributes(wkb, crs, dem, existing_ids=[r["rg_id"] for r in rows])
    for row, values in zip(rows, result.values):
        row.update({k: v for k, v in values.items() if v is not None})
    return list(result.warnings)


def velocity_region(client: Any, inventory: str, pairs: Sequence[dict[str, Any]], dem: str, output: str, work_dir: str, *,
                    geometry: Any, settings: Any, progress: bool = True) -> RegionResult:
    """Velocities of every landform of ``inventory`` from every pair (one task each), combined as the plugin does."""
    from ..core.insar.velocity_series import PairCandidate, choose

    started = time.perf_counter()
    os.makedirs(work_dir, exist_ok=True)
    rows, wkb, crs = read_layer(inventory, ROCK_GLACIER_LAYER if _has_layer(inventory, ROCK_GLACIER_LAYER) else None)
    rg_ids = [str(r.get("rg_id") or f"rg{i + 1:03d}") for i, r in enumerate(rows)]
    payload = {"wkb": wkb, "crs": crs, "rg_ids": rg_ids}
    scattered = client.scatter(payload, broadcast=True)  # the polygons travel once, not once per task
    keys = [unique_stem(p["path"], json.dumps([inventory, dem], default=str)) for p in pairs]

    def submit(client_: Any, index: int) -> Any:
        return client_.submit(tasks.velocity_pair, pairs[index], scattered, dem, work_dir, keys[index], settings, geometry,
                              key=f"velocity-{keys[index]}", pure=False)

    report = run_tasks(client, [p["path"] for p in pairs], keys, work_dir, submit, progress)
    candidates: list[list[Any]] = [[] for _ in rows]
    pair_rows: list[dict[str, Any]] = []
    for record in report.done:
        with open(record["result"], encoding="utf-8") as handle:
            result = json.load(handle)
        pair_rows += result["pair_rows"]
        for index, values in enumerate(result["landforms"]):
            if values.get("vel_pair"):
                candidates[index].append(PairCandidate(_landform(values), result["track"], *_dates(result["dates"]), result["source"]))
    for index, row in enumerate(rows):
        chosen = choose(candidates[index])
        row["rg_id"] = rg_ids[index]
        if chosen is not None:
            row.update(chosen.fields())
        else:
            row["vel_reason"] = "not covered by any pair"
    write_layer(output, ROCK_GLACIER_LAYER, _fields_for(rows), rows, wkb, crs)
    write_layer(output, VELOCITY_PAIR_LAYER, VELOCITY_PAIR_FIELDS, pair_rows)
    return RegionResult(output, len(rows), report, time.perf_counter() - started)


def _landform(values: dict[str, Any]) -> Any:
    from ..core.insar.landform_velocity import LandformVelocity

    return LandformVelocity(**values)


def _dates(texts: Sequence[str]) -> tuple[Any, Any]:
    from datetime import date

    first, second = (date.fromisoformat(t) for t in texts)
    return (first, second) if first <= second else (second, first)


def _has_layer(path: str, name: str) -> bool:
    from osgeo import ogr

    dataset = ogr.Open(path)
    return dataset is not None and dataset.GetLayerByName(name) is not None


def _fields_for(rows: list[dict[str, Any]]) -> tuple:
    """The schema's fields, plus the input's own text fields that the schema does not have."""
    from ..core.inventory.schema import FieldSpec

    known = {spec.name for spec in ROCK_GLACIER_FIELDS}
    extra = sorted({k for row in rows for k in row if k not in known})
    return ROCK_GLACIER_FIELDS + tuple(FieldSpec(name, "text", "from the input") for name in extra)
