"""Pixel IoU between a mapped raster (mask or probability) and reference polygons.

A pixel is mapped when its value is >= ``threshold`` (0.5 suits both a 0/1 mask and a
probability); a pixel is reference when its centre lies inside a reference polygon (GDAL's
rasterizer rule). No-data pixels of the mapped raster count for neither. The raster is read in
blocks of rows, so a whole scene never sits in memory at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..raster.geometry import polygons_in_crs
from ..raster.io import open_raster, raster_grid, read_window
from ..raster.windows import Window

BLOCK_ROWS = 1024


@dataclass(frozen=True)
class PixelAgreement:
    """Pixel counts of a mapped raster against reference polygons (intersection, union)."""

    intersection_px: int
    union_px: int

    @property
    def iou(self) -> Optional[float]:
        """Intersection over union of the pixels; None when both are empty."""
        return self.intersection_px / self.union_px if self.union_px else None


def _reference_layer(geometries: Sequence[Any], crs_wkt: str) -> tuple[Any, Any]:
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromWkt(crs_wkt)
    source = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = source.CreateLayer("reference", srs, ogr.wkbMultiPolygon)
    for geometry in geometries:
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
    return source, layer


def _burn(layer: Any, grid: Any, window: Window) -> np.ndarray:
    from osgeo import gdal

    x0, dx, _, y0, _, dy = grid.geotransform
    block = gdal.GetDriverByName("MEM").Create("", window.width_px, window.height_px, 1, gdal.GDT_Byte)
    block.SetGeoTransform((x0 + window.col_off * dx, dx, 0.0, y0 + window.row_off * dy, 0.0, dy))
    block.SetProjection(grid.crs_wkt)
    gdal.RasterizeLayer(block, [1], layer, burn_values=[1])
    return block.GetRasterBand(1).ReadAsArray().astype(bool)


def pixel_agreement(
    mapped_path: str, reference_wkb: Sequence[Optional[bytes]], reference_crs: str, threshold: float = 0.5
) -> PixelAgreement:
    """Intersection and union, in pixels, of the mapped raster and the reference polygons."""
    dataset = open_raster(mapped_path, "mapped raster")
    grid = raster_grid(dataset, 1, "mapped raster")
    source, layer = _reference_layer(polygons_in_crs(reference_wkb, reference_crs, grid.crs_wkt, "reference layer"), grid.crs_wkt)
    band = dataset.GetRasterBand(1)
    intersection = union = 0
    for row in range(0, grid.height_px, BLOCK_ROWS):
        window = Window(0, row, grid.width_px, min(BLOCK_ROWS, grid.height_px - row))
        values = read_window(band, grid, window)
        valid = np.isfinite(values)
        with np.errstate(invalid="ignore"):
            mapped = valid & (values >= threshold)
        reference = _burn(layer, grid, window) & valid
        intersection += int(np.count_nonzero(mapped & reference))
        union += int(np.count_nonzero(mapped | reference))
    del source
    return PixelAgreement(intersection, union)
