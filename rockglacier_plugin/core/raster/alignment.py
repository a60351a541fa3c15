"""Putting auxiliary rasters (coherence, LOS geometry, DEM) on the interferogram's grid.

When a raster is not on the reference grid (size, geotransform or CRS differ), it is warped on
the fly with GDAL into a virtual raster on that grid (bilinear), read lazily by windows; the caller
logs that it happened.
"""

from __future__ import annotations

from typing import Any

from .io import RasterGrid, open_raster, raster_grid


def _same_grid(a: RasterGrid, b: RasterGrid) -> bool:
    from osgeo import osr

    if (a.width_px, a.height_px) != (b.width_px, b.height_px):
        return False
    tolerance = 1e-6 * max(abs(a.geotransform[1]), abs(a.geotransform[5]))
    if any(abs(x - y) > tolerance for x, y in zip(a.geotransform, b.geotransform)):
        return False
    sa, sb = osr.SpatialReference(), osr.SpatialReference()
    sa.ImportFromWkt(a.crs_wkt)
    sb.ImportFromWkt(b.crs_wkt)
    return bool(sa.IsSame(sb))


def aligned_dataset(path: str, reference: RasterGrid, what: str, resampling: str = "bilinear") -> tuple[Any, bool]:
    """A GDAL dataset of ``path`` on ``reference``'s grid and whether it had to be resampled."""
    from osgeo import gdal

    dataset = open_raster(path, what)
    grid = raster_grid(dataset, 1, what)
    if _same_grid(grid, reference):
        return dataset, False
    x0, dx, _, y0, _, dy = reference.geotransform
    bounds = (x0, y0 + dy * reference.height_px, x0 + dx * reference.width_px, y0)
    # Float output with a destination no-data (the source's, else NaN): pixels outside the source's
    # footprint must read as no-data, never as 0 (a zero elevation would make cliffs and fake slopes).
    source_nodata = dataset.GetRasterBand(1).GetNoDataValue()
    warped = gdal.Warp(
        "",
        dataset,
        format="VRT",
        outputBounds=bounds,
        width=reference.width_px,
        height=reference.height_px,
        dstSRS=reference.crs_wkt,
        resampleAlg=resampling,
        outputType=gdal.GDT_Float32,
        srcNodata=source_nodata,
        dstNodata=source_nodata if source_nodata is not None else float("nan"),
        multithread=False,
    )
    if warped is None:
        from ..errors import InputRasterError

        raise InputRasterError(f"The {what} '{path}' could not be resampled to the interferogram grid.")
    warped._source = dataset  # keep the source alive as long as the warped view
    return warped, True
