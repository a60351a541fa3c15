"""Tiny seeded builders for test inputs: arrays -> GeoTIFF with a real CRS, WKT -> GeoPackage.

QGIS-free (GDAL/OGR only) so core tests and QGIS tests share them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()


def srs_from_epsg(epsg: int) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def write_raster(
    path: Path,
    array: np.ndarray,
    geotransform: Sequence[float],
    epsg: Optional[int] = 32632,
    nodata: Optional[float] = None,
    dtype: int = gdal.GDT_Float32,
    unit: Optional[str] = None,
) -> Path:
    """Write a single- or multi-band (bands first) GeoTIFF, every band tagged with ``unit`` when given."""
    bands = array if array.ndim == 3 else array[None]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), bands.shape[2], bands.shape[1], bands.shape[0], dtype)
    ds.SetGeoTransform(tuple(geotransform))
    if epsg is not None:
        ds.SetProjection(srs_from_epsg(epsg).ExportToWkt())
    for index, band_values in enumerate(bands, start=1):
        band = ds.GetRasterBand(index)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        if unit:
            band.SetUnitType(unit)
        band.WriteArray(band_values)
    ds.FlushCache()
    ds = None
    return Path(path)


def write_polygons(
    path: Path,
    wkts: Iterable[Optional[str]],
    epsg: int = 32632,
    layer: str = "rock_glaciers",
    attributes: Optional[dict[str, Sequence[Any]]] = None,
) -> Path:
    """Write polygons (WKT, None = no geometry) to a GeoPackage layer with optional text fields."""
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path)) if not Path(path).exists() else ogr.Open(str(path), 1)
    lyr = ds.CreateLayer(layer, srs_from_epsg(epsg), ogr.wkbMultiPolygon)
    attributes = attributes or {}
    for name, values in attributes.items():
        kind = ogr.OFTReal if all(isinstance(v, float) or v is None for v in values) else ogr.OFTString
        lyr.CreateField(ogr.FieldDefn(name, kind))
    for index, wkt in enumerate(wkts):
        feature = ogr.Feature(lyr.GetLayerDefn())
        if wkt is not None:
            feature.SetGeometryDirectly(ogr.ForceToMultiPolygon(ogr.CreateGeometryFromWkt(wkt)))
        for name, values in attributes.items():
            if values[index] is not None:
                feature.SetField(name, values[index])
        lyr.CreateFeature(feature)
    ds = None
    return Path(path)


def read_layer(path: str | Path, layer: Optional[str] = None) -> list[dict[str, Any]]:
    """All features of a vector layer as dicts (geometry as WKT under '_wkt')."""
    ds = ogr.Open(str(path))
    lyr = ds.GetLayerByName(layer) if layer else ds.GetLayer(0)
    rows = []
    for feature in lyr:
        row = feature.items()
        geometry = feature.GetGeometryRef()
        row["_wkt"] = geometry.ExportToWkt() if geometry is not None else None
        rows.append(row)
    return rows


def square_wkt(x_centre: float, y_centre: float, side: float) -> str:
    h = side / 2.0
    x0, x1, y0, y1 = x_centre - h, x_centre + h, y_centre - h, y_centre + h
    return f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


def plane_dem(
    size_px: int,
    pixel_m: float,
    origin: tuple[float, float],
    slope_deg: float,
    aspect_deg: float,
    z0_m: float = 3000.0,
) -> tuple[np.ndarray, tuple[float, ...]]:
    """A tilted plane facing ``aspect_deg`` with slope ``slope_deg`` on a north-up grid.

    The elevation at the grid's upper-left corner is ``z0_m``.
    """
    rows, cols = np.mgrid[0:size_px, 0:size_px].astype(np.float64)
    east_m = (cols + 0.5) * pixel_m
    north_m = -(rows + 0.5) * pixel_m
    a = math.radians(aspect_deg)
    z = z0_m - math.tan(math.radians(slope_deg)) * (east_m * math.sin(a) + north_m * math.cos(a))
    return z, (origin[0], pixel_m, 0.0, origin[1], 0.0, -pixel_m)


def cone_dem(
    size_px: int, pixel_m: float, origin: tuple[float, float], slope_deg: float, peak_m: float = 4000.0
) -> tuple[np.ndarray, tuple[float, ...], tuple[float, float]]:
    """A cone with constant slope, apex at the grid centre; returns z, geotransform, apex (x, y)."""
    rows, cols = np.mgrid[0:size_px, 0:size_px].astype(np.float64)
    centre = size_px * pixel_m / 2.0
    east_m = (cols + 0.5) * pixel_m - centre
    north_m = centre - (rows + 0.5) * pixel_m
    z = peak_m - math.tan(math.radians(slope_deg)) * np.hypot(east_m, north_m)
    apex = (origin[0] + centre, origin[1] - centre)
    return z, (origin[0], pixel_m, 0.0, origin[1], 0.0, -pixel_m), apex
