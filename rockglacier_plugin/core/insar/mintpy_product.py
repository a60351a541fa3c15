"""MintPy velocity products: ``velocity.h5`` with, when given, ``geometryGeo.h5``.

As MintPy documents them (mintpy.readthedocs.io, "File formats" and ``timeseries2velocity``):

* ``velocity.h5``: datasets ``velocity`` and ``velocityStd`` in m/year (root attribute ``UNIT``),
  **positive towards the satellite** (MintPy's LOS displacement convention); dates ``START_DATE`` and
  ``END_DATE`` (YYYYMMDD); geocoded grid from the root attributes ``X_FIRST``, ``Y_FIRST`` (the
  upper-left corner of the first pixel), ``X_STEP``, ``Y_STEP`` and ``EPSG`` (UTM products) or
  ``X_UNIT`` = degrees (latitude/longitude, WGS84).
* ``geometryGeo.h5``: ``incidenceAngle`` (from the vertical, degrees), ``azimuthAngle`` (of the
  ground-to-satellite vector, anticlockwise from north, degrees -- the ISCE2 convention, the core's
  own), ``height`` (metres).
* Without a geometry file: the centre ``incidenceAngle`` and ``HEADING`` (flight direction clockwise
  from north) attributes, with ``ANTENNA_SIDE`` (-1 right-looking, 1 left-looking). The attribute
  ``azimuthAngle`` is *not* used: products loaded from ARIA carry ARIA's angle there (from east),
  90 degrees off MintPy's own (seen in the real Coso files of ../shared).
* ``temporalCoherence.h5`` beside ``velocity.h5``, when present, is the quality used in the masks.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np

from ..errors import InputRasterError
from ..numbers import finite
from ..raster.staged import unique_stem
from .interferogram import parse_date
from .los_geometry import LosGeometry, los_azimuth_from_heading
from .velocity_map import (
    VelocityMap,
    open_hdf5,
    to_cm_per_yr_towards,
    track_from_los_azimuth,
    write_los_geometry,
    write_velocity_map,
)


def _attributes(handle: Any) -> dict[str, str]:
    return {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in handle.attrs.items()}


def is_mintpy_velocity(path: str) -> bool:
    """An HDF5 file with a ``velocity`` dataset and MintPy's grid attributes."""
    if not path.lower().endswith((".h5", ".he5")):
        return False
    with open_hdf5(path, "MintPy HDF5 products") as handle:
        return "velocity" in handle and "X_FIRST" in handle.attrs


def mintpy_grid(attributes: dict[str, str], path: str) -> tuple[tuple, str]:
    """GDAL geotransform and CRS WKT from MintPy's root attributes."""
    from ..raster.geometry import spatial_reference

    try:
        geotransform = (
            float(attributes["X_FIRST"]),
            float(attributes["X_STEP"]),
            0.0,
            float(attributes["Y_FIRST"]),
            0.0,
            float(attributes["Y_STEP"]),
        )
    except (KeyError, ValueError) as exc:
        raise InputRasterError(
            f"'{path}' is not geocoded (no X_FIRST/Y_FIRST/X_STEP/Y_STEP): geocode it with MintPy's geocode.py first."
        ) from exc
    epsg = attributes.get("EPSG")
    srs = spatial_reference(int(float(epsg)) if epsg and epsg not in ("None", "") else 4326, path)
    return geotransform, srs.ExportToWkt()


def _quality(velocity_path: str, shape: tuple) -> Optional[np.ndarray]:
    path = os.path.join(os.path.dirname(velocity_path), "temporalCoherence.h5")
    if not os.path.exists(path):
        return None
    with open_hdf5(path, "MintPy HDF5 products") as handle:
        name = "temporalCoherence" if "temporalCoherence" in handle else next(iter(handle))
        values = handle[name][:].astype(np.float64)
    return values if values.shape == shape else None


def _geometry(
    attributes: dict[str, str],
    geometry_path: Optional[str],
    shape: tuple,
    geotransform: tuple,
    crs_wkt: str,
    work_dir: str,
    stem: str,
) -> tuple[LosGeometry, Optional[str]]:
    if geometry_path:
        with open_hdf5(geometry_path, "MintPy geometry") as handle:
            if "incidenceAngle" not in handle or "azimuthAngle" not in handle:
                raise InputRasterError(
                    f"'{geometry_path}' has no incidenceAngle/azimuthAngle datasets; give MintPy's "
                    "geometryGeo.h5 (inputs/geometryGeo.h5)."
                )
            incidence = handle["incidenceAngle"][:].astype(np.float64)
            azimuth = handle["azimuthAngle"][:].astype(np.float64)
        if incidence.shape != shape:
            raise InputRasterError(
                f"'{geometry_path}' is {incidence.shape[1]} x {incidence.shape[0]} pixels, the velocity "
                f"{shape[1]} x {shape[0]}: give the geometry file of the same MintPy run."
            )
        incidence = np.where(incidence > 0, incidence, np.nan)
        path = write_los_geometry(work_dir, stem, incidence, azimuth, geotransform, crs_wkt)
        return LosGeometry(los_path=path), track_from_los_azimuth(float(np.nanmedian(azimuth)))
    incidence_deg = finite(attributes.get("incidenceAngle")) or finite(attributes.get("CENTER_INCIDENCE_ANGLE"))
    heading = finite(attributes.get("HEADING"))
    if incidence_deg is None or heading is None:
        raise InputRasterError(
            "The MintPy product has neither a geometry file nor the incidenceAngle and HEADING attributes: "
            "give GEOMETRY (inputs/geometryGeo.h5)."
        )
    right_looking = finite(attributes.get("ANTENNA_SIDE")) != 1.0
    alpha = float(los_azimuth_from_heading(heading, right_looking))
    return LosGeometry(incidence_deg=incidence_deg, los_azimuth_deg=alpha), track_from_los_azimuth(alpha)


def read_mintpy_velocity(path: str, geometry_path: Optional[str], work_dir: str) -> tuple[VelocityMap, list[str]]:
    """Normalise a MintPy ``velocity.h5``; returns the map and notes for the log."""
    with open_hdf5(path, "MintPy HDF5 products") as handle:
        attributes = _attributes(handle)
        velocity = handle["velocity"][:].astype(np.float64)
        sigma = handle["velocityStd"][:].astype(np.float64) if "velocityStd" in handle else None
    unit = attributes.get("UNIT", "m/year")
    geotransform, crs_wkt = mintpy_grid(attributes, path)
    stem = unique_stem(path)
    velocity_cm = to_cm_per_yr_towards(np.where(velocity == 0, np.nan, velocity), unit)  # MintPy writes 0 outside the data
    sigma_cm = None if sigma is None else np.abs(to_cm_per_yr_towards(sigma, unit))
    written = write_velocity_map(work_dir, stem, velocity_cm, sigma_cm, _quality(path, velocity.shape), geotransform, crs_wkt)
    geometry, track = _geometry(attributes, geometry_path, velocity.shape, geotransform, crs_wkt, work_dir, stem)
    try:
        start, end = parse_date(attributes["START_DATE"], "START_DATE"), parse_date(attributes["END_DATE"], "END_DATE")
    except KeyError as exc:
        raise InputRasterError(f"'{path}' has no START_DATE/END_DATE attributes; is it MintPy's velocity.h5?") from exc
    notes = [
        f"MintPy '{os.path.basename(path)}': {unit} positive towards the satellite, {start} to {end}, "
        f"{'per-pixel geometry from ' + os.path.basename(geometry_path) if geometry_path else 'centre incidence and heading'}"
        f", {track} track" + ("; velocityStd enters the error." if sigma is not None else "; no velocityStd.")
    ]
    return VelocityMap(written, start, end, geometry, path, track), notes
