"""Opening rasters with GDAL and reading windows as float arrays with NaN for no-data.

Only north-up grids are accepted (no rotation terms); anything else gets a message that says how
to warp it. Windows reaching outside the raster are filled with NaN.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import InputRasterError
from .windows import GeoTransform, Window

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class RasterGrid:
    """Georeferencing of one raster band.

    Attributes:
        width_px, height_px: raster size.
        geotransform: GDAL's six numbers (north-up: terms 2 and 4 are zero).
        crs_wkt: the CRS as WKT.
        is_geographic: True when coordinates are degrees of longitude and latitude.
        linear_unit_m: metres per CRS unit for projected CRSs (1.0 for metres, 0.3048 for feet).
        semi_major_m, inverse_flattening: the CRS's ellipsoid, for metric distances in degrees.
        nodata: the band's no-data value, or None.
    """

    width_px: int
    height_px: int
    geotransform: tuple[float, float, float, float, float, float]
    crs_wkt: str
    is_geographic: bool
    linear_unit_m: float
    semi_major_m: float
    inverse_flattening: float
    nodata: Optional[float]

    @property
    def full_window(self) -> Window:
        """The window of the whole raster."""
        return Window(0, 0, self.width_px, self.height_px)


def _gdal() -> Any:
    from osgeo import gdal

    gdal.UseExceptions()
    return gdal


def open_raster(path: str, what: str = "raster") -> Any:
    """Open a raster read-only with GDAL; the message names ``what`` (e.g. 'DEM') on failure."""
    gdal = _gdal()
    try:
        dataset = gdal.Open(str(path), gdal.GA_ReadOnly)
    except RuntimeError as exc:
        raise InputRasterError(
            f"The {what} '{path}' cannot be opened by GDAL ({exc}). Give a file-based raster "
            "(GeoTIFF, VRT, ISCE .vrt, JP2...) that exists and is readable."
        ) from exc
    if dataset is None:
        raise InputRasterError(f"The {what} '{path}' cannot be opened by GDAL.")
    return dataset


def raster_grid(dataset: Any, band_index: int, what: str = "raster") -> RasterGrid:
    """Describe the grid of band ``band_index`` (1-based) and check it is usable."""
    from osgeo import osr

    if not 1 <= band_index <= dataset.RasterCount:
        raise InputRasterError(
            f"The {what} has {dataset.RasterCount} band(s); band {band_index} does not exist. "
            f"Choose a band between 1 and {dataset.RasterCount}."
        )
    geotransform = tuple(float(v) for v in dataset.GetGeoTransform(can_return_null=True) or ())
    if len(geotransform) != 6:
        raise InputRasterError(
            f"The {what} '{dataset.GetDescription()}' has no georeferencing. Georeference it "
            "(e.g. with the QGIS Georeferencer or gdal_translate -a_ullr -a_srs) first."
        )
    if geotransform[2] != 0.0 or geotransform[4] != 0.0:
        raise InputRasterError(
            f"The {what} '{dataset.GetDescription()}' has a rotated grid (geotransform "
            f"{geotransform}). Warp it to a north-up grid first, e.g. gdalwarp in.tif out.tif."
        )
    if geotransform[1] <= 0 or geotransform[5] >= 0:
        raise InputRasterError(
            f"The {what} '{dataset.GetDescription()}' is not north-up (pixel size "
            f"{geotransform[1]}, {geotransform[5]}). Warp it to a north-up grid with gdalwarp."
        )
    wkt = dataset.GetProjection()
    if not wkt:
        raise InputRasterError(
            f"The {what} '{dataset.GetDescription()}' has no CRS. Assign one (Layer Properties > "
            "Source in QGIS, or gdal_edit.py -a_srs EPSG:xxxx) and run again."
        )
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    is_geographic = bool(srs.IsGeographic())
    linear_unit_m = 1.0 if is_geographic else float(srs.GetLinearUnits())
    band = dataset.GetRasterBand(band_index)
    nodata = band.GetNoDataValue()
    return RasterGrid(
        width_px=dataset.RasterXSize,
        height_px=dataset.RasterYSize,
        geotransform=geotransform,
        crs_wkt=wkt,
        is_geographic=is_geographic,
        linear_unit_m=linear_unit_m,
        semi_major_m=float(srs.GetSemiMajor()),
        inverse_flattening=float(srs.GetInvFlattening()),
        nodata=None if nodata is None else float(nodata),
    )


@dataclass(frozen=True)
class BandInfo:
    """What every band of a new raster says of itself: its no-data value, description and unit tag
    (``raster.units``); None = not set."""

    nodata: Optional[float] = None
    description: Optional[str] = None
    unit: Optional[str] = None


def create_geotiff(
    path: str,
    size_px: tuple[int, int],
    geotransform: GeoTransform,
    crs_wkt: str,
    data_type: int,
    options: Sequence[str],
    bands: int = 1,
    band_info: BandInfo = BandInfo(),
) -> Any:
    """A new georeferenced GeoTIFF of ``size_px`` = (width, height); every band gets ``band_info``. Its folder is made
    when it does not exist yet (as QGIS does for its own outputs); a file that cannot be made is a ``ParameterError``."""
    import os

    from ..errors import ParameterError

    width_px, height_px = size_px
    folder = os.path.dirname(os.path.abspath(str(path)))
    try:
        os.makedirs(folder, exist_ok=True)
        dataset = (
            _gdal().GetDriverByName("GTiff").Create(str(path), int(width_px), int(height_px), bands, data_type, list(options))
        )
    except (OSError, RuntimeError) as exc:
        dataset, problem = None, str(exc)
    else:
        problem = "" if dataset is not None else _gdal().GetLastErrorMsg()
    if dataset is None:
        raise ParameterError(
            f"The raster {path} cannot be written ({problem}): choose a folder you can write to and a "
            "file that no other program holds open."
        )
    dataset.SetGeoTransform(tuple(geotransform))
    dataset.SetProjection(crs_wkt)
    for index in range(1, bands + 1):
        band = dataset.GetRasterBand(index)
        if band_info.nodata is not None:
            band.SetNoDataValue(band_info.nodata)
        if band_info.description is not None:
            band.SetDescription(band_info.description)
        if band_info.unit:
            band.SetUnitType(band_info.unit)
    return dataset


def read_window(band: Any, grid: RasterGrid, window: Window) -> np.ndarray:
    """Read ``window`` of a band as float64, NaN where no-data or outside the raster."""
    out = np.full(window.shape, np.nan, dtype=np.float64)
    inside = window.intersection(grid.full_window)
    if inside is None:
        return out
    data = band.ReadAsArray(inside.col_off, inside.row_off, inside.width_px, inside.height_px)
    if data is None:
        raise InputRasterError(
            f"Reading pixels {inside} of '{band.GetDataset().GetDescription()}' failed; the file may be truncated or corrupted."
        )
    values = data.astype(np.float64, copy=False)
    if grid.nodata is not None and not np.isnan(grid.nodata):
        values = np.where(values == grid.nodata, np.nan, values)
    r0 = inside.row_off - window.row_off
    c0 = inside.col_off - window.col_off
    out[r0 : r0 + inside.height_px, c0 : c0 + inside.width_px] = values
    return out
