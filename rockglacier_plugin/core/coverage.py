"""Fraction of each pixel covered by a polygon.

Pixels are split into ``k x k`` sub-pixels, the polygon is burnt at that finer resolution with
GDAL's rasterizer (sub-pixel centre inside = covered) and the counts are averaged back. With the
default budget a small polygon gets k = 16, i.e. coverage in steps of 1/256; a polygon smaller
than one DEM pixel therefore still gets a non-zero weight instead of an empty result.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .windows import GeoTransform, Window

MAX_SUBPIXELS_PER_POLYGON = 4_000_000
MAX_SUPERSAMPLING = 16


def supersampling_factor(window: Window, max_subpixels: int = MAX_SUBPIXELS_PER_POLYGON) -> int:
    """Sub-pixels per pixel side: as fine as the budget allows, between 1 and 16.

    >>> supersampling_factor(Window(0, 0, 10, 10))
    16
    >>> supersampling_factor(Window(0, 0, 2000, 2000))
    1
    """
    n_pixels = max(window.width_px * window.height_px, 1)
    return int(min(MAX_SUPERSAMPLING, max(1, math.floor(math.sqrt(max_subpixels / n_pixels)))))


def coverage_fraction(geometry: Any, window: Window, geotransform: GeoTransform) -> np.ndarray:
    """Covered fraction (0-1) of each pixel of ``window``, shape ``window.shape``, float64.

    Args:
        geometry: ``ogr.Geometry`` polygon or multipolygon in the raster's CRS.
        window: pixels to compute, may reach outside the raster.
        geotransform: the raster's geotransform (north-up).
    """
    from osgeo import gdal, ogr, osr

    # Both sides get the same placeholder CRS so the rasterizer neither warns nor reprojects:
    # the geometry is already in the raster's CRS.
    placeholder_srs = osr.SpatialReference()
    placeholder_srs.SetLocalCS("raster grid")
    factor = supersampling_factor(window)
    x0, dx, rx, y0, ry, dy = window.transform(geotransform)
    fine = gdal.GetDriverByName("MEM").Create(
        "", window.width_px * factor, window.height_px * factor, 1, gdal.GDT_Byte
    )
    fine.SetGeoTransform((x0, dx / factor, rx, y0, ry, dy / factor))
    fine.SetProjection(placeholder_srs.ExportToWkt())
    vector = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = vector.CreateLayer("polygon", placeholder_srs, geom_type=ogr.wkbMultiPolygon)
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(geometry)
    layer.CreateFeature(feature)
    gdal.RasterizeLayer(fine, [1], layer, burn_values=[1])
    burnt = fine.GetRasterBand(1).ReadAsArray()
    counts = burnt.reshape(window.height_px, factor, window.width_px, factor).sum(axis=(1, 3))
    return counts.astype(np.float64) / float(factor * factor)
