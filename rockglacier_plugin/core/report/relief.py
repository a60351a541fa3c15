"""The report map's background: shaded relief of the user's DEM, warped onto the map's CRS and extent.

No basemap tiles can be fetched (a report is made offline, often in the field); the DEM the attributes came from is on
disk, and relief is what a reader needs to see the landforms in their cirques. The hillshade is GDAL's (``gdaldem
hillshade``: azimuth 315 degrees, altitude 45 degrees; z scaled for a geographic CRS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

#: The background's longer side, pixels (the figure is about 900 px wide at its DPI).
BACKGROUND_PX = 1200
#: Metres per degree of latitude, for gdaldem's scale on a geographic CRS.
METRES_PER_DEGREE = 111120.0


@dataclass(frozen=True)
class Relief:
    """A shaded-relief image (0-255, NaN outside the DEM) and its extent (xmin, xmax, ymin, ymax) in the map's CRS."""

    shade: np.ndarray
    extent: tuple[float, float, float, float]


def relief_background(dem_path: str, crs_wkt: str, bounds: tuple[float, float, float, float]) -> Optional[Relief]:
    """Shaded relief of ``dem_path`` over ``bounds`` = (xmin, ymin, xmax, ymax) in ``crs_wkt``; None when the DEM does not
    cover them or cannot be read (the map is drawn without it, and the report says so)."""
    from osgeo import gdal, osr

    xmin, ymin, xmax, ymax = bounds
    if not (xmax > xmin and ymax > ymin):
        return None
    scale = BACKGROUND_PX / max(xmax - xmin, ymax - ymin)
    width, height = max(int((xmax - xmin) * scale), 2), max(int((ymax - ymin) * scale), 2)
    srs = osr.SpatialReference()
    if srs.SetFromUserInput(crs_wkt) != 0:
        return None
    try:
        warped = gdal.Warp(
            "",
            dem_path,
            format="MEM",
            dstSRS=crs_wkt,
            outputBounds=(xmin, ymin, xmax, ymax),
            width=width,
            height=height,
            resampleAlg="bilinear",
            dstNodata=-32768.0,
        )
        if warped is None:
            return None
        options = ["-az", "315", "-alt", "45", "-compute_edges"] + (["-s", str(METRES_PER_DEGREE)] if srs.IsGeographic() else [])
        shaded = gdal.DEMProcessing("", warped, "hillshade", format="MEM", options=options)
    except RuntimeError:
        return None
    elevation = warped.GetRasterBand(1).ReadAsArray().astype(np.float64)
    shade = shaded.GetRasterBand(1).ReadAsArray().astype(np.float64)
    shade[(elevation == -32768.0) | (shade == 0)] = np.nan
    if not np.isfinite(shade).any():
        return None
    return Relief(shade, (xmin, xmax, ymin, ymax))
