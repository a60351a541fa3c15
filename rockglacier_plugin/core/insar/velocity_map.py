"""LOS velocity maps (time-series products) as input, normalised on entry.

Every reader (MintPy, LiCSBAS, a plain GeoTIFF) converts its product once into the core's own
conventions and writes two GeoTIFFs into a work folder, so that one code path serves them all:

* ``<stem>_los_velocity.tif``: band 1 LOS velocity in cm/yr, **positive towards the satellite**;
  band 2 its 1-sigma in cm/yr (NaN when the product has none); band 3 a quality in 0-1 that plays
  the role of coherence in the masks (MintPy's temporal coherence when given, else 1 where there
  is data); no-data NaN;
* ``<stem>_los_geometry.tif`` (when the product has per-pixel geometry): band 1 incidence from the
  vertical, band 2 LOS azimuth anticlockwise from north, ground to satellite, degrees -- the
  conventions written in ``los_geometry``. Products with one centre geometry give constants instead.

The unit and sign conversions live here (``to_cm_per_yr_towards``; unit spellings are parsed by
``raster.units``) and the angle conversions in ``los_geometry``; readers only say what their format
documents. A GeoTIFF's unit is read from its band's unit tag (``velocity_unit``): a unit the user
gives must agree with it, and a file without one needs it given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from typing import Any, Optional

import numpy as np

from ..errors import ParameterError
from ..raster.staged import unique_stem
from ..raster.units import UNIT_CM_PER_YR, describe_unit, velocity_cm_per_yr_per_unit
from .interferogram import Interferogram
from .los_geometry import LosGeometry

#: The units a user may choose for a LOS velocity GeoTIFF (VELOCITY_UNIT, --velocity-unit); any spelling
#: ``raster.units`` understands is read from a file's unit tag.
VELOCITY_UNITS = ("m/yr", "cm/yr", "mm/yr")
TOWARDS, AWAY = "towards the satellite", "away from the satellite"
#: Bands of the normalised velocity GeoTIFF.
VELOCITY_BAND, SIGMA_BAND, QUALITY_BAND = 1, 2, 3


@dataclass(frozen=True)
class VelocityMap:
    """One LOS velocity product, normalised (see the module docstring)."""

    velocity_path: str  # the normalised 3-band GeoTIFF
    start_date: date
    end_date: date
    geometry: LosGeometry
    source: str  # the file the user gave
    track: Optional[str] = None  # "ascending" / "descending" when known

    @property
    def pair_label(self) -> str:
        """YYYYMMDD-YYYYMMDD of the product's first and last dates."""
        return f"{self.start_date:%Y%m%d}-{self.end_date:%Y%m%d}"

    def as_interferogram(self) -> Interferogram:
        """The map seen where the scene expects an interferogram: its velocity band and period (the
        wavelength is unused: the scene's phase-to-velocity factor is 1 for a velocity map)."""
        return Interferogram(self.velocity_path, VELOCITY_BAND, self.start_date, self.end_date, 1.0)


def to_cm_per_yr_towards(values: np.ndarray, unit: str, sign: str = TOWARDS) -> np.ndarray:
    """Velocity in ``unit`` with the stated sign -> cm/yr towards the satellite.

    >>> to_cm_per_yr_towards(np.array([-0.01, 5.0]), "m/year").tolist()
    [-1.0, 500.0]
    >>> to_cm_per_yr_towards(np.array([3.0]), "mm/yr", AWAY).round(6).tolist()
    [-0.3]
    """
    factor = velocity_cm_per_yr_per_unit(unit)
    if factor is None:
        raise ParameterError(f"Velocity unit {unit!r} is not known; use one of {', '.join(VELOCITY_UNITS)} (or m/a, mm/a...).")
    if sign not in (TOWARDS, AWAY):
        raise ParameterError(f"Velocity sign {sign!r}: say '{TOWARDS}' or '{AWAY}'.")
    return np.asarray(values, dtype=np.float64) * factor * (1.0 if sign == TOWARDS else -1.0)


def velocity_unit(given: Optional[str], tag: str, path: str) -> tuple[str, str]:
    """The unit of a LOS velocity raster: its unit ``tag`` when it has one, else the ``given`` one;
    returns (unit, how it was found). A given unit that contradicts the tag, a tag that is no velocity
    unit, or neither: ``ParameterError`` naming VELOCITY_UNIT.

    >>> velocity_unit(None, "cm/yr", "v.tif")
    ('cm/yr', "read from the file's unit tag")
    >>> velocity_unit("cm/yr", "", "v.tif")
    ('cm/yr', 'as given in VELOCITY_UNIT (the file has no unit tag)')
    """
    name = os.path.basename(path)
    tag_factor = velocity_cm_per_yr_per_unit(tag) if tag else None
    if tag and tag_factor is None and not given:
        raise ParameterError(
            f"'{name}' has the {describe_unit(tag)}, which is no velocity unit; if band 1 holds LOS "
            f"velocity, set VELOCITY_UNIT ({', '.join(VELOCITY_UNITS)})."
        )
    if given:
        given_factor = velocity_cm_per_yr_per_unit(given)
        if given_factor is None:
            raise ParameterError(f"VELOCITY_UNIT={given!r} is not a velocity unit; use one of {', '.join(VELOCITY_UNITS)}.")
        if tag_factor is not None and abs(given_factor - tag_factor) > 1e-9 * tag_factor:
            raise ParameterError(
                f"VELOCITY_UNIT={given} contradicts '{name}', whose {describe_unit(tag)} says otherwise: leave "
                f"VELOCITY_UNIT empty to use the file's unit, or fix the tag (gdal_edit.py -units {given} {name})."
            )
        if tag_factor is None:
            return given, "as given in VELOCITY_UNIT (the file has no unit tag)"
    if tag_factor is not None:
        return tag, "read from the file's unit tag"
    raise ParameterError(
        f"'{name}' does not say its unit (its band has no unit tag): set VELOCITY_UNIT "
        f"({', '.join(VELOCITY_UNITS)}), or tag the file (gdal_edit.py -units mm/yr {name})."
    )


def track_from_los_azimuth(los_azimuth_deg: float) -> str:
    """Ascending when the satellite looks from the west (ground -> satellite azimuth 0..180 anticlockwise
    from north, i.e. the satellite lies west of the ground point), descending otherwise.

    >>> track_from_los_azimuth(102.0), track_from_los_azimuth(-102.0)
    ('ascending', 'descending')
    """
    return "ascending" if 0.0 < (los_azimuth_deg % 360.0) < 180.0 else "descending"


def write_grid(
    path: str,
    bands: list[np.ndarray],
    geotransform: tuple,
    crs_wkt: str,
    descriptions: list[str],
    units: Optional[list[str]] = None,
) -> str:
    """A float32 GeoTIFF with NaN as no-data, each band with its description and unit tag."""
    from osgeo import gdal

    from ..raster.io import BandInfo, create_geotiff

    height, width = bands[0].shape
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    dataset = create_geotiff(
        path,
        (width, height),
        geotransform,
        crs_wkt,
        gdal.GDT_Float32,
        ["COMPRESS=DEFLATE", "TILED=YES", "BIGTIFF=IF_SAFER"],
        bands=len(bands),
        band_info=BandInfo(nodata=float("nan")),
    )
    for index, (band, description) in enumerate(zip(bands, descriptions), start=1):
        dataset.GetRasterBand(index).WriteArray(np.asarray(band, dtype=np.float32))
        dataset.GetRasterBand(index).SetDescription(description)
        if units and units[index - 1]:
            dataset.GetRasterBand(index).SetUnitType(units[index - 1])
    dataset = None
    return path


def write_velocity_map(
    work_dir: str,
    stem: str,
    velocity_cm_per_yr: np.ndarray,
    sigma_cm_per_yr: Optional[np.ndarray],
    quality: Optional[np.ndarray],
    geotransform: tuple,
    crs_wkt: str,
) -> str:
    """The normalised 3-band velocity GeoTIFF (see the module docstring); returns its path."""
    finite = np.isfinite(velocity_cm_per_yr)
    sigma = np.full(velocity_cm_per_yr.shape, np.nan) if sigma_cm_per_yr is None else np.where(finite, sigma_cm_per_yr, np.nan)
    weight = np.where(finite, 1.0, 0.0) if quality is None else np.where(finite, np.clip(np.nan_to_num(quality), 0, 1), 0.0)
    path = os.path.join(work_dir, f"{stem}_los_velocity.tif")
    return write_grid(
        path,
        [np.where(finite, velocity_cm_per_yr, np.nan), sigma, weight],
        geotransform,
        crs_wkt,
        ["LOS velocity, cm/yr, positive towards the satellite", "1-sigma, cm/yr", "quality 0-1 (as coherence)"],
        [UNIT_CM_PER_YR, UNIT_CM_PER_YR, "1"],
    )


def write_los_geometry(
    work_dir: str, stem: str, incidence_deg: np.ndarray, los_azimuth_deg: np.ndarray, geotransform: tuple, crs_wkt: str
) -> str:
    """The product's incidence and LOS azimuth as a two-band raster on its grid (what ``LosGeometry`` reads)."""
    path = os.path.join(work_dir, f"{stem}_los_geometry.tif")
    return write_grid(
        path,
        [incidence_deg, los_azimuth_deg],
        geotransform,
        crs_wkt,
        ["incidence from vertical, deg", "LOS azimuth ground->satellite, anticlockwise from north, deg"],
        ["deg", "deg"],
    )


def geotiff_velocity_map(
    path: str,
    work_dir: str,
    unit_and_sign: tuple[str, str],
    geometry: LosGeometry,
    period: tuple[date, date],
    sigma: tuple[Optional[str], Optional[str]] = (None, None),
) -> VelocityMap:
    """A plain GeoTIFF of LOS velocity (band 1) in ``unit`` (see ``velocity_unit``), with the sign and
    geometry stated by the user; ``sigma`` = (path, unit) of its 1-sigma raster (the unit defaults to the velocity's)."""
    unit, sign = unit_and_sign
    start_date, end_date = period
    sigma_path, sigma_unit = sigma
    from ..raster.io import open_raster, raster_grid, read_window

    dataset = open_raster(path, "LOS velocity raster")
    grid = raster_grid(dataset, 1, "LOS velocity raster")
    velocity = to_cm_per_yr_towards(read_window(dataset.GetRasterBand(1), grid, grid.full_window), unit, sign)
    sigma_cm_per_yr = None
    if sigma_path:
        sigma_ds = open_raster(sigma_path, "velocity standard deviation raster")
        sigma_grid = raster_grid(sigma_ds, 1, "velocity standard deviation raster")
        if (sigma_grid.width_px, sigma_grid.height_px) != (grid.width_px, grid.height_px):
            raise ParameterError("The velocity standard deviation raster is not on the velocity raster's grid; warp it first.")
        if sigma_grid.geotransform != grid.geotransform:
            raise ParameterError(
                "The velocity standard deviation raster does not cover the velocity raster's pixels (its origin or "
                "pixel size differs); warp it onto the velocity's grid first."
            )
        sigma_cm_per_yr = np.abs(
            to_cm_per_yr_towards(read_window(sigma_ds.GetRasterBand(1), sigma_grid, sigma_grid.full_window), sigma_unit or unit)
        )
    written = write_velocity_map(work_dir, unique_stem(path), velocity, sigma_cm_per_yr, None, grid.geotransform, grid.crs_wkt)
    track = track_from_los_azimuth(geometry.los_azimuth_deg) if geometry.los_azimuth_deg is not None else None
    return VelocityMap(written, start_date, end_date, geometry, path, track)


def open_hdf5(path: str, what: str) -> Any:
    """An HDF5 file opened read-only with h5py, or a clear error for an unreadable one."""
    from ..dependencies import require
    from ..errors import InputRasterError

    h5py = require("h5py", "h5py", f"Reading {what}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputRasterError(
            f"'{path}' cannot be read as HDF5 ({exc}); give the {what} file itself, complete and readable."
        ) from exc
