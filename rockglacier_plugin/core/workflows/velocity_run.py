"""One velocity run, read -> measure -> write, as ``rockglacier:insarvelocity`` and the region command's ``velocity``
both run it: one copy, not two held together by a test.

1. **Read**: the adapter reads the inventory (QGIS features, or OGR in the region client) and keeps the layer's rg_id
   values, assigning the missing ones (``landform_ids``); it describes the pairs as one ``VelocityInputs``.
2. **Measure**: ``measure_run`` turns the run's inputs into pairs (``velocity.pair_inputs``), names each pair's
   rasters, and measures every landform in every pair (``insar.landform_velocity.measure_pairs``). The algorithm calls
   it once; the region command once per pair on a worker (``VelocityRun.for_pair``: the same run, one pair's inputs).
3. **Combine**: ``insar.landform_velocity.combine_pairs``: per landform the inventory's value from every pair's, and
   the ``velocity_pairs`` rows.
4. **Write**: each landform's fields (``LandformVelocity.fields``), the pairs' rows and the references used
   (``used_references``), through a Processing sink or ``inventory.layer_io``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional, Sequence

from ..insar.landform_velocity import (
    LandformVelocity,
    PairMeasurement,
    ReferencePoints,
    VelocitySettings,
    measure_pairs,
)
from ..insar.los_geometry import LosGeometry
from ..insar.velocity_rasters import per_pair_paths
from ..inventory.identifiers import assign_ids
from ..progress import RunHooks
from ..raster.geometry import Polygons
from .mapping import DEFAULT_ID_PREFIX
from .velocity import VelocityInputs, pair_inputs, unique_labels


@dataclass(frozen=True)
class RasterRequest:
    """The velocity rasters asked for (None: not wanted); with several pairs each is ``<stem>_<YYYYMMDD-YYYYMMDD>.tif``."""

    los_path: Optional[str] = None
    downslope_path: Optional[str] = None
    several_pairs: Optional[bool] = None  # None: from the pairs measured together (a region task sets it from the run)

    def paths(self, labels: Sequence[str]) -> Optional[list[tuple[Optional[str], Optional[str]]]]:
        """Per pair, its LOS and downslope raster paths; None when no raster is asked for."""
        if not (self.los_path or self.downslope_path):
            return None
        return list(
            zip(
                per_pair_paths(self.los_path, labels, self.several_pairs),
                per_pair_paths(self.downslope_path, labels, self.several_pairs),
            )
        )


@dataclass(frozen=True)
class VelocityRun:
    """Everything one velocity run measures with: the landforms (ids assigned), the pairs as given, the DEM, the LOS
    geometry, the settings, the user's reference points, the rasters asked for, and a folder for normalised products."""

    landforms: Polygons
    inputs: VelocityInputs
    dem_path: str
    geometry: LosGeometry
    settings: VelocitySettings
    work_dir: str
    references: Optional[ReferencePoints] = None
    rasters: RasterRequest = RasterRequest()

    def for_pair(self, index: int) -> "VelocityRun":
        """The same run restricted to its ``index``-th pair (``VelocityInputs.per_pair`` order): a region task."""
        singles = self.inputs.per_pair()
        return replace(self, inputs=singles[index], rasters=replace(self.rasters, several_pairs=len(singles) > 1))


@dataclass
class RunMeasurement:
    """What ``measure_run`` gives back: each pair's values, its label for names (``velocity.unique_labels``), the pairs'
    raster paths (as written) and the log's notes."""

    pairs: list[PairMeasurement]
    labels: list[str] = field(default_factory=list)
    raster_paths: list[tuple[Optional[str], Optional[str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def landform_ids(layer_ids: Sequence[Optional[str]]) -> list[str]:
    """The layer's rg_id values, the missing or repeated ones replaced by new ids (``inventory.identifiers``)."""
    return assign_ids(layer_ids, DEFAULT_ID_PREFIX)


def measure_run(run: VelocityRun, hooks: RunHooks = RunHooks()) -> RunMeasurement:
    """Step 2 of the module docstring: the run's pairs measured on every landform; notes go to ``hooks.log`` and are
    returned too."""
    notes: list[str] = []

    def log(line: str) -> None:
        notes.append(line)
        hooks.log(line)

    pairs, found = pair_inputs(run.inputs, run.geometry, run.work_dir)
    for note in found:
        log(note)
    labels = unique_labels(pairs)
    outputs = run.rasters.paths(labels)
    if outputs is not None and len(pairs) > 1:
        log("Several interferograms: one velocity raster per pair, named <output>_<YYYYMMDD-YYYYMMDD>.tif.")
    measured = measure_pairs(
        run.landforms, pairs, run.dem_path, run.geometry, run.settings, run.references, replace(hooks, log=log), outputs
    )
    return RunMeasurement(measured, labels, outputs or [], notes)


def used_references(landforms: Sequence[LandformVelocity]) -> list[dict[str, Any]]:
    """The references the inventory's values were measured against (fields of ``schema.REFERENCE_POINT_FIELDS``, with
    the point's ``x`` and ``y`` in the inventory's CRS), one per landform that has one."""
    return [landform.reference for landform in landforms if landform.reference is not None]
