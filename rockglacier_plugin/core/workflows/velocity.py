"""Inputs of a velocity run, as the user gives them, -> the pairs the core measures.

``rockglacier:insarvelocity`` and ``python -m rockglacier_plugin.region velocity`` both describe
their inputs as one ``VelocityInputs`` and call ``pair_inputs`` (the region command once per pair,
on a worker, with ``VelocityInputs.per_pair``): ISCE2 side-cars and connected components found the
same way, the same coherence band, the same dates, units and wavelength rules, the same messages.
Nothing is assumed: a wavelength comes from WAVELENGTH_M, the file's metadata or SENSOR (else an
error), a GeoTIFF velocity's unit from its tag or VELOCITY_UNIT (``insar.velocity_map``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import date
from typing import Optional, Sequence

from ..errors import ParameterError
from ..insar.interferogram import (
    default_coherence_band,
    describe_interferogram,
    isce_components_path,
    parse_date,
    resolve_isce_path,
)
from ..insar.landform_velocity import PairInput
from ..insar.los_geometry import LosGeometry, los_azimuth_from_heading
from ..insar.sensors import WAVELENGTH_M, sensor_from_name
from ..insar.velocity_map import TOWARDS
from ..raster.io import open_raster


@dataclass(frozen=True)
class VelocityInputs:
    """Everything that says what the pairs are (the measuring options are ``VelocitySettings``)."""

    unwrapped: tuple[str, ...] = ()
    coherence: tuple[str, ...] = ()  # one per interferogram, or one for all
    components: tuple[str, ...] = ()  # none (ISCE2's found beside the interferogram), or one per interferogram
    hyp3: tuple[str, ...] = ()
    los_velocity: tuple[str, ...] = ()
    los_velocity_sigma: tuple[str, ...] = ()  # none, or the 1-sigma raster of each GeoTIFF velocity (same order)
    product_geometry: Optional[str] = None  # GEOMETRY of the velocity products
    velocity_unit: Optional[str] = None  # of GeoTIFF velocities; None: the file's unit tag
    velocity_sign: str = TOWARDS
    phase_band: int = 0
    coherence_band: int = 0
    sensor: Optional[str] = None
    wavelength_m: Optional[float] = None
    reference_date: Optional[date] = None
    secondary_date: Optional[date] = None

    def check(self) -> None:
        """Refuse inputs that do not fit together, before any file is read."""
        if not (self.unwrapped or self.hyp3 or self.los_velocity):
            raise ParameterError(
                "Give at least one unwrapped interferogram (UNWRAPPED), LOS velocity product (LOS_VELOCITY) "
                "or HyP3 product (HYP3)."
            )
        if self.unwrapped and len(self.coherence) not in (1, len(self.unwrapped)):
            raise ParameterError(
                f"{len(self.unwrapped)} interferogram(s) but {len(self.coherence)} coherence raster(s): give one "
                "coherence raster per interferogram (same order) or a single one for all."
            )
        if self.components and len(self.components) != len(self.unwrapped):
            raise ParameterError(
                f"{len(self.unwrapped)} interferogram(s) but {len(self.components)} connected-component raster(s): "
                "give one per interferogram (same order), or none."
            )
        if (self.reference_date is None) != (self.secondary_date is None):
            raise ParameterError("Give both REFERENCE_DATE and SECONDARY_DATE, or neither (dates then come from the files).")
        if self.reference_date is not None and max(len(self.unwrapped), len(self.los_velocity)) > 1:
            raise ParameterError(
                "REFERENCE_DATE/SECONDARY_DATE apply to a single interferogram or velocity file; with several, "
                "put each pair's dates in its file name (YYYYMMDD_YYYYMMDD) or run them one at a time."
            )
        if self.los_velocity_sigma and len(self.los_velocity_sigma) != len(self.los_velocity):
            raise ParameterError(
                f"{len(self.los_velocity)} LOS velocity product(s) but {len(self.los_velocity_sigma)} sigma raster(s) "
                "(LOS_VELOCITY_SIGMA): give one per velocity product (same order), or none."
            )
        carried = [p for p, s in zip(self.los_velocity, self.los_velocity_sigma) if s and p.lower().endswith((".h5", ".he5"))]
        if carried:
            raise ParameterError(
                f"{', '.join(carried)} carries its own uncertainty (MintPy velocityStd, LiCSBAS vstd): give "
                "LOS_VELOCITY_SIGMA only for GeoTIFF velocities."
            )
        missing = [
            p
            for p in (
                *self.unwrapped,
                *self.coherence,
                *self.components,
                *self.hyp3,
                *self.los_velocity,
                *self.los_velocity_sigma,
            )
            if not os.path.exists(p) and not os.path.exists(p + ".vrt")
        ]
        if missing:
            raise ParameterError(f"{', '.join(missing)}: not found.")

    def per_pair(self) -> list["VelocityInputs"]:
        """One ``VelocityInputs`` per pair or product (the region command's tasks), in ``pair_inputs``' order."""
        empty = replace(self, unwrapped=(), coherence=(), components=(), hyp3=(), los_velocity=(), los_velocity_sigma=())
        single = [
            replace(
                empty,
                unwrapped=(path,),
                coherence=(self.coherence[i if len(self.coherence) > 1 else 0],),
                components=(self.components[i],) if self.components else (),
            )
            for i, path in enumerate(self.unwrapped)
        ]
        return (
            single
            + [replace(empty, hyp3=(p,)) for p in self.hyp3]
            + [
                replace(empty, los_velocity=(p,), los_velocity_sigma=self.los_velocity_sigma[i : i + 1])
                for i, p in enumerate(self.los_velocity)
            ]
        )

    def sigma_of(self, velocity_path: str) -> Optional[str]:
        """The LOS_VELOCITY_SIGMA raster given for one GeoTIFF velocity, or None."""
        if not self.los_velocity_sigma:
            return None
        return self.los_velocity_sigma[self.los_velocity.index(velocity_path)] or None

    def names(self) -> list[str]:
        """The file that names each pair, in ``pair_inputs``' order."""
        return [*self.unwrapped, *self.hyp3, *self.los_velocity]


def dates_from_text(reference: str, secondary: str) -> tuple[Optional[date], Optional[date]]:
    """REFERENCE_DATE and SECONDARY_DATE as typed ('' = not given)."""
    return (
        parse_date(reference, "REFERENCE_DATE") if reference.strip() else None,
        parse_date(secondary, "SECONDARY_DATE") if secondary.strip() else None,
    )


def los_geometry(
    los_path: Optional[str],
    incidence_deg: Optional[float],
    los_azimuth_deg: Optional[float],
    heading_deg: Optional[float],
    left_looking: bool = False,
) -> tuple[LosGeometry, list[str]]:
    """The run's LOS geometry: a LOS raster (ISCE2 ``los.rdr.geo``, its side-car resolved), or constants, the
    azimuth given directly or from the satellite heading (``los_geometry.los_azimuth_from_heading``)."""
    notes = []
    if los_azimuth_deg is not None and heading_deg is not None:
        raise ParameterError(
            f"Both LOS_AZIMUTH_DEG={los_azimuth_deg:g} and HEADING_DEG={heading_deg:g} are given; they describe the same thing "
            "in "
            "two conventions. Give one of them (LOS_AZIMUTH_DEG as ISCE2's los.rdr band 2, or HEADING_DEG of the orbit)."
        )
    if heading_deg is not None:
        los_azimuth_deg = float(los_azimuth_from_heading(heading_deg, right_looking=not left_looking))
        notes.append(
            f"LOS azimuth {los_azimuth_deg:.1f} deg (ISCE2 convention) from heading {heading_deg:.1f} deg, "
            f"{'left' if left_looking else 'right'}-looking."
        )
    if los_path:
        los_path = _isce_path(los_path, notes)
    return LosGeometry(los_path, incidence_deg, los_azimuth_deg), notes


def _isce_path(path: str, notes: list[str]) -> str:
    resolved = resolve_isce_path(path)
    if resolved != path:
        notes.append(f"Reading '{resolved}' (the ISCE2 side-car that georeferences '{path}').")
    return resolved


def pair_inputs(inputs: VelocityInputs, geometry: LosGeometry, work_dir: str) -> tuple[list[PairInput], list[str]]:
    """The pairs of ``inputs`` in order: interferograms, HyP3 products, LOS velocity products; and notes for the log.

    Products are normalised into ``work_dir`` (``insar.products``, ``insar.hyp3_product``)."""
    inputs.check()
    notes: list[str] = []
    pairs = [_interferogram_pair(inputs, index, notes) for index in range(len(inputs.unwrapped))]
    if inputs.hyp3 or inputs.los_velocity:
        os.makedirs(work_dir, exist_ok=True)
    pairs += [_hyp3_pair(path, work_dir, notes) for path in inputs.hyp3]
    pairs += [_velocity_pair(inputs, path, geometry, work_dir, notes) for path in inputs.los_velocity]
    return pairs, notes


def _interferogram_pair(inputs: VelocityInputs, index: int, notes: list[str]) -> PairInput:
    sensor_wavelength = WAVELENGTH_M.get(sensor_from_name(inputs.sensor)) if inputs.sensor else None
    interferogram, found = describe_interferogram(
        inputs.unwrapped[index],
        inputs.phase_band,
        sensor_wavelength,
        inputs.wavelength_m,
        inputs.reference_date,
        inputs.secondary_date,
    )
    notes += found
    coherence = _isce_path(inputs.coherence[index if len(inputs.coherence) > 1 else 0], notes)
    band = inputs.coherence_band or default_coherence_band(open_raster(coherence, "coherence"), coherence)
    if inputs.components:
        components: Optional[str] = _isce_path(inputs.components[index], notes)
    else:
        components = isce_components_path(interferogram.path)
        if components:
            notes.append(f"Connected components found beside the interferogram: '{components}'.")
    return PairInput(interferogram, coherence, band, components)


def _hyp3_pair(path: str, work_dir: str, notes: list[str]) -> PairInput:
    from ..insar.hyp3_product import read_hyp3_product

    product, found = read_hyp3_product(path, work_dir)
    notes += found
    return PairInput(
        product.interferogram,
        product.coherence_path,
        1,
        product.components_path,
        geometry=product.geometry,
        track=product.track,
        source=product.folder,
    )


def _velocity_pair(inputs: VelocityInputs, path: str, geometry: LosGeometry, work_dir: str, notes: list[str]) -> PairInput:
    from ..insar.products import read_los_velocity

    velocity_map, found = read_los_velocity(
        path,
        inputs.product_geometry,
        (inputs.velocity_unit, inputs.velocity_sign),
        geometry,
        (inputs.reference_date, inputs.secondary_date),
        work_dir,
        inputs.sigma_of(path),
    )
    notes += found
    return PairInput.from_velocity_map(velocity_map)


def unique_labels(pairs: Sequence[PairInput]) -> list[str]:
    """Pair labels for file names: two products of one period get their track added (ascending and
    descending), then their position when they still collide (two products of one track and period)."""
    labels = [p.interferogram.pair_label for p in pairs]
    labels = [f"{label}_{p.track}" if labels.count(label) > 1 and p.track else label for label, p in zip(labels, pairs)]
    return [f"{label}_{index + 1}" if labels.count(label) > 1 else label for index, label in enumerate(labels)]
