"""ASF HyP3 InSAR products (GAMMA scene-wide and ISCE2 burst), given as the product folder or zip.

As the HyP3 product guides document them (hyp3-docs.asf.alaska.edu, "InSAR product guide" and
"Burst InSAR product guide"), and as MintPy's ``prep_hyp3.py``/``stackDict.py`` read them:

* ``<name>_unw_phase.tif``: unwrapped phase in radians, the ISCE2/GAMMA sign (the core's own: no
  flip); ``<name>_corr.tif``: coherence 0-1; ``<name>_conncomp.tif`` (ISCE2 burst products):
  SNAPHU connected components, 0 = not unwrapped;
* ``<name>_lv_theta.tif``: look-vector elevation angle **from the horizontal**, radians;
  ``<name>_lv_phi.tif``: look-vector orientation **from east, anticlockwise**, radians, of the
  ground-to-satellite vector. Converted here to the core's incidence = 90 - theta and LOS azimuth
  (from north, anticlockwise) = phi - 90 degrees, as MintPy converts them;
* ``<name>.txt``: metadata (``Heading``, ``Reference Granule``...); the dates are in the name
  (``S1AA_20190610T135156_20190622T135157_...`` for GAMMA, ``S1_213524_IW1_20170411_20170517_...``
  for bursts). Sentinel-1's C-band wavelength (0.05546576 m) is used.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from typing import Optional

import numpy as np

from ..errors import InputRasterError
from ..raster.io import open_raster, raster_grid, read_window
from ..raster.staged import unique_stem
from .interferogram import Interferogram, parse_date
from .los_geometry import LosGeometry
from .sensors import WAVELENGTH_M, Sensor
from .velocity_map import track_from_los_azimuth, write_los_geometry

_GAMMA_DATES = re.compile(r"S1[ABCD_]{2}_(\d{8})T\d{6}_(\d{8})T\d{6}_")
_BURST_DATES = re.compile(r"_((?:19|20)\d{6})_((?:19|20)\d{6})_(?:VV|HH|VH|HV)_")


@dataclass(frozen=True)
class Hyp3Product:
    """An ASF HyP3 InSAR product as the core reads it: the interferogram, coherence, components and look vectors."""

    interferogram: Interferogram
    coherence_path: str
    components_path: Optional[str]
    geometry: LosGeometry
    track: str
    folder: str


def hyp3_angles_to_core(lv_theta_rad: np.ndarray, lv_phi_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(incidence from vertical, LOS azimuth anticlockwise from north), degrees, from HyP3's look vector.

    >>> inc, az = hyp3_angles_to_core(np.radians(51.3), np.radians(192.0))
    >>> round(float(inc), 1), round(float(az), 1)
    (38.7, 102.0)
    """
    incidence = 90.0 - np.degrees(lv_theta_rad)
    azimuth = (np.degrees(lv_phi_rad) - 90.0 + 180.0) % 360.0 - 180.0
    return incidence, azimuth


def product_dates(name: str) -> tuple[date, date]:
    """The reference and secondary dates in a HyP3 product's name (S1AB_YYYYMMDDTHHMMSS_YYYYMMDDTHHMMSS_...)."""
    match = _GAMMA_DATES.search(name) or _BURST_DATES.search(name)
    if match is None:
        raise InputRasterError(
            f"'{name}' is not named like a HyP3 InSAR product (S1AA_YYYYMMDDTHHMMSS_YYYYMMDDTHHMMSS_... or "
            "S1_<burst>_IW<n>_YYYYMMDD_YYYYMMDD_...): the dates cannot be read."
        )
    return parse_date(match.group(1), "product name"), parse_date(match.group(2), "product name")


def unpacked(path: str, work_dir: str) -> str:
    """The product folder: ``path`` itself, or the zip extracted into ``work_dir``."""
    if os.path.isdir(path):
        return path
    if zipfile.is_zipfile(path):
        target = os.path.join(work_dir, unique_stem(path))
        os.makedirs(target, exist_ok=True)
        with zipfile.ZipFile(path) as archive:
            archive.extractall(target)
        inner = [os.path.join(target, n) for n in os.listdir(target) if os.path.isdir(os.path.join(target, n))]
        return inner[0] if len(inner) == 1 and not any(n.endswith(".tif") for n in os.listdir(target)) else target
    if path.endswith("_unw_phase.tif"):
        return os.path.dirname(path) or "."
    raise InputRasterError(f"'{path}' is neither a HyP3 product folder, its zip, nor its _unw_phase.tif.")


def _find(folder: str, suffix: str) -> Optional[str]:
    found = [n for n in sorted(os.listdir(folder)) if n.endswith(suffix) and ".partial" not in n]
    return os.path.join(folder, found[0]) if found else None


def read_hyp3_product(path: str, work_dir: str) -> tuple[Hyp3Product, list[str]]:
    """A HyP3 product (folder or zip; a zip is unpacked into ``work_dir``) and notes for the log."""
    folder = unpacked(path, work_dir)
    unwrapped = _find(folder, "_unw_phase.tif")
    coherence = _find(folder, "_corr.tif")
    if unwrapped is None or coherence is None:
        raise InputRasterError(f"'{folder}' holds no _unw_phase.tif and _corr.tif: is it a HyP3 InSAR product?")
    theta_path, phi_path = _find(folder, "_lv_theta.tif"), _find(folder, "_lv_phi.tif")
    if theta_path is None or phi_path is None:
        raise InputRasterError(
            f"'{folder}' has no _lv_theta.tif/_lv_phi.tif: order the product with include_look_vectors "
            "(HyP3 option), or give INCIDENCE_DEG and LOS_AZIMUTH_DEG and the _unw_phase.tif as UNWRAPPED."
        )
    start, end = product_dates(os.path.basename(unwrapped))
    dataset = open_raster(unwrapped, "HyP3 unwrapped phase")
    grid = raster_grid(dataset, 1, "HyP3 unwrapped phase")
    theta_ds, phi_ds = open_raster(theta_path, "lv_theta"), open_raster(phi_path, "lv_phi")
    theta = read_window(theta_ds.GetRasterBand(1), raster_grid(theta_ds, 1, "lv_theta"), grid.full_window)
    phi = read_window(phi_ds.GetRasterBand(1), raster_grid(phi_ds, 1, "lv_phi"), grid.full_window)
    incidence, azimuth = hyp3_angles_to_core(np.where(theta == 0, np.nan, theta), np.where(theta == 0, np.nan, phi))
    stem = unique_stem(unwrapped)
    geometry = LosGeometry(los_path=write_los_geometry(work_dir, stem, incidence, azimuth, grid.geotransform, grid.crs_wkt))
    track = track_from_los_azimuth(float(np.nanmedian(azimuth)))
    interferogram = Interferogram(unwrapped, 1, start, end, WAVELENGTH_M[Sensor.SENTINEL1])
    components = _find(folder, "_conncomp.tif")
    notes = [
        f"HyP3 '{os.path.basename(folder)}': {start} to {end}, Sentinel-1 C band, {track} track, look vectors "
        f"converted (incidence = 90 - lv_theta, azimuth = lv_phi - 90)" + ("; connected components used." if components else ".")
    ]
    return Hyp3Product(interferogram, coherence, components, geometry, track, folder), notes
