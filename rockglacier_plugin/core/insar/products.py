"""Which reader a LOS velocity file needs, detected from the file itself.

``*.h5`` with a ``velocity`` dataset and MintPy's grid attributes: MintPy (``mintpy_product``);
``*.h5`` with ``vel`` and ``corner_lat``: LiCSBAS (``licsbas_product``); any other raster: a plain
GeoTIFF of LOS velocity whose unit and sign the user states (``velocity_map``). The geometry file
is detected the same way: MintPy's ``geometryGeo.h5``, LiCSAR's E/N/U rasters (give the E one), or
a two-band raster of incidence and LOS azimuth in the core's conventions (ISCE2's ``los.rdr.geo``).
"""

from __future__ import annotations

import math
import os
from datetime import date
from typing import Optional

from ..errors import InputRasterError, ParameterError
from ..raster.io import open_raster, raster_grid
from ..raster.staged import unique_stem
from ..raster.units import band_unit
from .interferogram import dates_from_metadata
from .licsbas_product import enu_geometry, is_enu_geometry, is_licsbas_cum, read_licsbas_cum
from .los_geometry import LosGeometry
from .mintpy_product import is_mintpy_velocity, read_mintpy_velocity
from .velocity_map import VelocityMap, geotiff_velocity_map, track_from_los_azimuth, velocity_unit


def _geotiff_geometry(
    path: str, geometry_path: Optional[str], fallback: LosGeometry, work_dir: str
) -> tuple[LosGeometry, Optional[str]]:
    if geometry_path and geometry_path.lower().endswith((".h5", ".he5")):
        geometry_path = None  # MintPy's geometry file serves MintPy products; a GeoTIFF takes the stated geometry
    if geometry_path and is_enu_geometry(geometry_path):
        grid = raster_grid(open_raster(path, "LOS velocity raster"), 1, "LOS velocity raster")
        return enu_geometry(geometry_path, grid, work_dir, unique_stem(path))
    if geometry_path:
        if open_raster(geometry_path, "geometry raster").RasterCount < 2:
            raise InputRasterError(
                f"'{geometry_path}' has one band; GEOMETRY needs incidence and LOS azimuth (two bands, ISCE2 "
                "los.rdr.geo), MintPy's geometryGeo.h5, or LiCSAR's E raster (with N and U beside it)."
            )
        return LosGeometry(los_path=geometry_path), None
    fallback.check()
    return fallback, track_from_los_azimuth(
        float(math.nan if fallback.los_azimuth_deg is None else fallback.los_azimuth_deg)
    )  # check(): given


def read_los_velocity(
    path: str,
    geometry_path: Optional[str],
    unit_and_sign: tuple[Optional[str], str],
    fallback: LosGeometry,
    dates: tuple[Optional[date], Optional[date]],
    work_dir: str,
    sigma_path: Optional[str] = None,
) -> tuple[VelocityMap, list[str]]:
    """Normalise one LOS velocity product (see the module docstring); returns it and notes for the log.

    ``unit_and_sign`` (VELOCITY_UNIT, VELOCITY_SIGN) serve GeoTIFFs only: a unit None takes the band's unit tag, and a
    file without one is refused (``velocity_map.velocity_unit``). ``sigma_path`` (LOS_VELOCITY_SIGMA) is a GeoTIFF's
    1-sigma raster, in its own tagged unit or else the velocity's. MintPy and LiCSBAS files carry their own units and
    uncertainty."""
    unit, sign = unit_and_sign
    os.makedirs(work_dir, exist_ok=True)
    if path.lower().endswith((".h5", ".he5")):
        if is_mintpy_velocity(path):
            mintpy_geometry = geometry_path if geometry_path and geometry_path.lower().endswith(".h5") else None
            return read_mintpy_velocity(path, mintpy_geometry, work_dir)
        if is_licsbas_cum(path):
            return read_licsbas_cum(path, geometry_path if is_enu_geometry(geometry_path) else None, fallback, work_dir)
        raise InputRasterError(
            f"'{path}' is neither MintPy's velocity.h5 (dataset velocity, X_FIRST...) nor LiCSBAS's cum.h5 (vel, corner_lat...)."
        )
    start, end = dates
    if start is None or end is None:
        start, end = dates_from_metadata(open_raster(path, "LOS velocity raster"), path)
    if start is None or end is None:
        raise ParameterError(
            f"No period found for '{path}': give REFERENCE_DATE and SECONDARY_DATE (the first and last "
            "acquisition of the time series), or name the file with YYYYMMDD_YYYYMMDD."
        )
    unit, unit_source = velocity_unit(unit, band_unit(open_raster(path, "LOS velocity raster"), 1), path)
    geometry, track = _geotiff_geometry(path, geometry_path, fallback, work_dir)
    sigma_unit, sigma_source = None, ""
    if sigma_path:
        sigma_tag = band_unit(open_raster(sigma_path, "LOS velocity sigma raster"), 1)
        sigma_unit, sigma_source = (
            velocity_unit(None, sigma_tag, sigma_path)
            if sigma_tag
            else (unit, "the velocity's unit: the sigma raster has no unit tag")
        )
    velocity_map = geotiff_velocity_map(
        path, work_dir, (unit, sign), geometry, (min(start, end), max(start, end)), (sigma_path, sigma_unit)
    )
    velocity_map = VelocityMap(
        velocity_map.velocity_path, velocity_map.start_date, velocity_map.end_date, geometry, path, track or velocity_map.track
    )
    notes = [
        f"LOS velocity raster '{os.path.basename(path)}': {unit} ({unit_source}), positive {sign}, {velocity_map.start_date} to "
        f"{velocity_map.end_date}, {velocity_map.track or 'track unknown'}; "
        + (
            f"1-sigma from '{os.path.basename(sigma_path)}' ({sigma_unit}, {sigma_source})."
            if sigma_path
            else "no sigma raster (LOS_VELOCITY_SIGMA): the error is the local reference's spread alone."
        )
    ]
    return velocity_map, notes
