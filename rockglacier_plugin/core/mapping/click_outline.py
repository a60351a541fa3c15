"""An outline proposed from one click inside a landform the model under-called: half-maximum region growing on the
model's probability raster.

The rule: the peak probability ``p_peak`` within ``PEAK_RADIUS_PX`` of the click, then the 8-connected region around
the click where the probability is at least ``max(HALF_MAXIMUM * p_peak, FLOOR)`` (the threshold lowered locally from
the model's: a landform the model gives 0.3 still has a shape at 0.15), holes filled, traced as one polygon in the
raster's CRS. A click where the model sees nothing (``p_peak < FLOOR``) is refused: draw that landform by hand. The
window grows (up to ``MAX_WINDOW_PX``) while the region touches its border, so a large landform is not cut.

The peers offer click-to-outline with SAM; no package this project can install ships SAM's weights, and the
segmentation model's own probability is the better prior for this landform class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..raster.io import open_raster, raster_grid, read_window
from ..raster.windows import Window

#: Share of the peak probability that bounds the region (the half maximum).
HALF_MAXIMUM = 0.5
#: Below this probability nothing is grown: the model sees no landform there.
FLOOR = 0.05
#: The peak is looked for within this many pixels of the click (a click a little off the landform's core).
PEAK_RADIUS_PX = 3
#: First window around the click, px (1,500 m at 10 m), doubled while the region reaches its border.
START_WINDOW_PX = 300
MAX_WINDOW_PX = 2400


@dataclass(frozen=True)
class ClickOutline:
    """The proposed outline (WKB, in ``crs_wkt``), the probability it was grown at and the peak it started from."""

    wkb: bytes
    crs_wkt: str
    threshold: float
    peak_probability: float
    area_px: int


def _window_around(col: int, row: int, size_px: int) -> Window:
    half = size_px // 2
    return Window(col - half, row - half, size_px, size_px)


def _fill_holes(region: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_fill_holes(region)


def _grow(values: np.ndarray, seed: tuple[int, int], threshold: float) -> np.ndarray:
    from scipy import ndimage

    above = np.nan_to_num(values, nan=-1.0) >= threshold
    labels, _ = ndimage.label(above, structure=np.ones((3, 3), dtype=bool))
    label = labels[seed]
    return labels == label if label else np.zeros_like(above)


def _peak(values: np.ndarray, seed: tuple[int, int]) -> tuple[float, tuple[int, int]]:
    r0, c0 = max(seed[0] - PEAK_RADIUS_PX, 0), max(seed[1] - PEAK_RADIUS_PX, 0)
    near = np.nan_to_num(values[r0 : seed[0] + PEAK_RADIUS_PX + 1, c0 : seed[1] + PEAK_RADIUS_PX + 1], nan=-1.0)
    index = np.unravel_index(int(np.argmax(near)), near.shape)
    return float(near[index]), (r0 + int(index[0]), c0 + int(index[1]))


def _trace(region: np.ndarray, window: Window, geotransform: tuple, crs_wkt: str) -> bytes:
    """The region's outline as a polygon (GDAL's polygonize of the pixel edges), in the raster's CRS."""
    from osgeo import gdal, ogr, osr

    raster = gdal.GetDriverByName("MEM").Create("", window.width_px, window.height_px, 1, gdal.GDT_Byte)
    raster.SetGeoTransform(window.transform(geotransform))
    raster.GetRasterBand(1).WriteArray(region.astype(np.uint8))
    vectors = ogr.GetDriverByName("Memory").CreateDataSource("")
    srs = osr.SpatialReference()
    srs.ImportFromWkt(crs_wkt)
    layer = vectors.CreateLayer("outline", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
    band = raster.GetRasterBand(1)
    gdal.Polygonize(band, band, layer, 0, [])
    parts = [feature.GetGeometryRef().Clone() for feature in layer]
    geometry = parts[0]
    for part in parts[1:]:  # corner-touching pixels polygonize as separate parts of one region
        geometry = geometry.Union(part)
    return bytes(geometry.ExportToWkb())


def outline_from_click(probability_path: str, x: float, y: float) -> ClickOutline:
    """The outline grown from the click at (x, y) (the probability raster's CRS) on that raster; ``ParameterError``
    when the click is outside the raster or the model sees nothing there."""
    dataset = open_raster(probability_path, "probability raster")
    grid = raster_grid(dataset, 1, "probability raster")
    g = grid.geotransform
    col, row = int(np.floor((x - g[0]) / g[1])), int(np.floor((y - g[3]) / g[5]))
    if not (0 <= col < grid.width_px and 0 <= row < grid.height_px):
        raise ParameterError("The click is outside the probability raster: click inside a landform the model has seen.")
    band = dataset.GetRasterBand(1)
    size = START_WINDOW_PX
    while True:
        window = _window_around(col, row, size)
        values = read_window(band, grid, window)
        seed = (row - window.row_off, col - window.col_off)
        peak, peak_at = _peak(values, seed)
        if peak < FLOOR:
            raise ParameterError(
                f"The model's probability near the click is {max(peak, 0.0):.2f} (below {FLOOR}): it sees no "
                "landform there to outline. Draw the outline by hand (the dock's Draw new, key D)."
            )
        threshold = max(HALF_MAXIMUM * peak, FLOOR)
        region = _fill_holes(_grow(values, peak_at, threshold))
        touches = region[0, :].any() or region[-1, :].any() or region[:, 0].any() or region[:, -1].any()
        if not touches or size >= MAX_WINDOW_PX:
            break
        size *= 2
    return ClickOutline(_trace(region, window, g, grid.crs_wkt), grid.crs_wkt, threshold, peak, int(region.sum()))
