"""LiCSBAS velocity products: ``cum.h5`` (or its GeoTIFF export) with LiCSAR's E/N/U rasters.

As LiCSBAS documents them (github.com/yumorishita/LiCSBAS, LiCSBAS_cum2vel and the output-file
list of its wiki):

* ``cum.h5``: dataset ``vel``, mean velocity in **mm/yr, positive towards the satellite** (uplift
  positive); ``imdates`` (YYYYMMDD integers, the first and last are the period); grid from
  ``corner_lat``, ``corner_lon`` (centre of the upper-left pixel, GAMMA's convention) and
  ``post_lat`` (negative), ``post_lon``, in WGS84 degrees.
* The GeoTIFF export (``LiCSBAS_flt2geotiff.py``, e.g. ``vel.geo.tif``) is a plain GeoTIFF in mm/yr.
* Geometry: LiCSAR's ``<frame>.geo.E.tif``, ``.N.tif``, ``.U.tif`` (or LiCSBAS ``E.geo``...), the
  east, north and up components of the unit vector **from the ground to the satellite**. They are
  converted here to incidence = acos(U) and LOS azimuth = atan2(-E, N) (anticlockwise from north),
  the inverse of ``los_geometry.los_unit_vector_enu``.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Optional

import numpy as np

from ..errors import InputRasterError
from ..raster.io import RasterGrid, read_window
from ..raster.staged import unique_stem
from .interferogram import parse_date
from .los_geometry import LosGeometry
from .velocity_map import (
    VelocityMap,
    open_hdf5,
    to_cm_per_yr_towards,
    track_from_los_azimuth,
    write_los_geometry,
    write_velocity_map,
)


def incidence_azimuth_from_enu(east: np.ndarray, north: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(incidence from vertical, LOS azimuth anticlockwise from north), degrees, from a ground -> satellite
    unit vector.

    >>> inc, az = incidence_azimuth_from_enu(np.array(-0.6155), np.array(-0.1308), np.array(0.7771))
    >>> round(float(inc), 1), round(float(az), 1)
    (39.0, 102.0)
    """
    norm = np.sqrt(east**2 + north**2 + up**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        incidence = np.degrees(np.arccos(np.clip(up / norm, -1.0, 1.0)))
    azimuth = np.degrees(np.arctan2(-east, north))
    bad = ~(norm > 0)
    return np.where(bad, np.nan, incidence), np.where(bad, np.nan, azimuth)


def enu_paths(east_path: str) -> tuple[str, str, str]:
    """The N and U rasters beside an E raster (the letter E swapped in the file name)."""
    folder, name = os.path.split(east_path)
    match = list(re.finditer(r"(?<![A-Za-z])E(?![A-Za-z])", name))
    if not match:
        raise InputRasterError(f"'{east_path}' is not named like an E component raster (e.g. frame.geo.E.tif, E.geo).")
    start = match[-1].start()
    north, up = (os.path.join(folder, name[:start] + letter + name[start + 1 :]) for letter in ("N", "U"))
    for path in (north, up):
        if not os.path.exists(path):
            raise InputRasterError(f"'{path}' is missing: the E, N and U rasters must lie side by side.")
    return east_path, north, up


def is_enu_geometry(path: Optional[str]) -> bool:
    """Whether ``path`` is LiCSAR's east component of the LOS unit vector (``*.geo.E.tif``, with N and U beside it)."""
    if not path:
        return False
    return re.search(r"(?<![A-Za-z])E(?![A-Za-z])", os.path.basename(path)) is not None and not path.lower().endswith(".h5")


def enu_geometry(east_path: str, grid: RasterGrid, work_dir: str, stem: str) -> tuple[LosGeometry, str]:
    """Per-pixel incidence and azimuth on ``grid`` from LiCSAR E/N/U rasters (warped when needed)."""
    from ..raster.alignment import aligned_dataset

    components = []
    for path in enu_paths(east_path):
        dataset, _ = aligned_dataset(path, grid, "E/N/U geometry")
        band = dataset.GetRasterBand(1)
        from dataclasses import replace

        values = read_window(band, replace(grid, nodata=band.GetNoDataValue()), grid.full_window)
        components.append(np.where(values == 0, np.nan, values))
    incidence, azimuth = incidence_azimuth_from_enu(*components)
    path = write_los_geometry(work_dir, stem, incidence, azimuth, grid.geotransform, grid.crs_wkt)
    return LosGeometry(los_path=path), track_from_los_azimuth(float(np.nanmedian(azimuth)))


def is_licsbas_cum(path: str) -> bool:
    """Whether ``path`` is a LiCSBAS ``cum.h5`` (its ``vel`` dataset)."""
    if not path.lower().endswith(".h5"):
        return False
    with open_hdf5(path, "LiCSBAS cum.h5") as handle:
        return "vel" in handle and "corner_lat" in handle


def _scalar(handle: Any, name: str) -> float:
    return float(np.asarray(handle[name][()]).ravel()[0])


def read_licsbas_cum(
    path: str, geometry_path: Optional[str], fallback: LosGeometry, work_dir: str
) -> tuple[VelocityMap, list[str]]:
    """Normalise LiCSBAS ``cum.h5`` (``vel``, mm/yr towards the satellite)."""
    from ..raster.geometry import spatial_reference
    from ..raster.io import RasterGrid

    with open_hdf5(path, "LiCSBAS cum.h5") as handle:
        velocity = handle["vel"][:].astype(np.float64)
        lat0, lon0 = _scalar(handle, "corner_lat"), _scalar(handle, "corner_lon")
        dlat, dlon = _scalar(handle, "post_lat"), _scalar(handle, "post_lon")
        dates = [str(int(d)) for d in np.asarray(handle["imdates"][()]).ravel()] if "imdates" in handle else []
    if len(dates) < 2:
        raise InputRasterError(f"'{path}' has no imdates; is it LiCSBAS's cum.h5?")
    geotransform = (lon0 - dlon / 2.0, dlon, 0.0, lat0 - dlat / 2.0, 0.0, dlat)  # corner_* are pixel centres
    crs_wkt = spatial_reference(4326).ExportToWkt()
    stem = unique_stem(path)
    written = write_velocity_map(work_dir, stem, to_cm_per_yr_towards(velocity, "mm/yr"), None, None, geotransform, crs_wkt)
    if geometry_path:
        grid = RasterGrid(velocity.shape[1], velocity.shape[0], geotransform, crs_wkt, True, 1.0, 6378137.0, 298.257223563, None)
        geometry, track = enu_geometry(geometry_path, grid, work_dir, stem)
    else:
        fallback.check()
        geometry, track = (
            fallback,
            track_from_los_azimuth(float(math.nan if fallback.los_azimuth_deg is None else fallback.los_azimuth_deg)),
        )  # check(): given
    start, end = parse_date(dates[0], "imdates"), parse_date(dates[-1], "imdates")
    notes = [
        f"LiCSBAS '{os.path.basename(path)}': vel in mm/yr positive towards the satellite, {start} to {end}, {track} track, "
        f"geometry {'from E/N/U ' + os.path.basename(geometry_path) if geometry_path else 'from INCIDENCE_DEG/LOS_AZIMUTH_DEG'}."
    ]
    return VelocityMap(written, start, end, geometry, path, track), notes
