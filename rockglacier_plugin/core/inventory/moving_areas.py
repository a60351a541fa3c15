"""RGIK moving areas: polygons of coherent motion per kinematic class, from a velocity raster.

A pixel belongs to the kinematic class of its downslope velocity (``kinematic_classes``); pixels
below 1 cm/yr, negative (upslope) or no-data belong to none. Connected pixels of one class
(8-connectivity) form one polygon (GDAL's Polygonize), and polygons smaller than
``min_area_km2`` are dropped: RGIK delineates moving areas large enough to be read on the map.

Classes are taken from the velocity after a 3 x 3 median filter (no-data counted as at rest), so
single noisy pixels of stable ground neither make moving areas nor punch holes in one. With
landform outlines given, only moving areas that touch a landform are kept (the moving areas of
the inventoried rock glaciers, not every patch of noise or landslide in the scene).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import ParameterError
from ..raster.geometry import polygons_in_crs, valid_traced_polygon
from ..raster.io import open_raster, raster_grid, read_window
from ..raster.overlap import check_overlap, geometries_footprint, raster_footprint
from ..raster.units import band_unit, describe_unit, velocity_cm_per_yr_per_unit
from .kinematic_classes import KINEMATIC_CLASSES
from .rgik import kinematic_period

#: Classes that make a moving area: every class from 1 cm/yr up (index into KINEMATIC_CLASSES).
FIRST_MOVING_CLASS = 1


@dataclass(frozen=True)
class MovingArea:
    """One moving area (a candidate of ``rockglacier:movingareas``) as the inventory keeps it."""

    wkb: bytes  # polygon in the raster's CRS
    area_km2: float
    velocity_code: int  # 1 + index of the class in KINEMATIC_CLASSES (RGIK's Vel.Class code)

    @property
    def velocity_class(self) -> str:
        """The class's label in KINEMATIC_CLASSES."""
        return KINEMATIC_CLASSES[self.velocity_code - 1][2]


@dataclass
class MovingAreas:
    """The moving areas of a run and the landforms they fall on."""

    areas: list[MovingArea]
    crs_wkt: str
    period: Optional[str]  # Kin.Period from the raster's PAIR metadata
    source: str


def class_codes(velocity_cm_per_yr: np.ndarray) -> np.ndarray:
    """Per pixel: 1 + index of its kinematic class when moving (>= 1 cm/yr), 0 otherwise (NaN too).

    >>> class_codes(np.array([0.5, 2.0, 50.0, np.nan, -20.0])).tolist()
    [0, 2, 5, 0, 0]
    """
    codes = np.zeros(velocity_cm_per_yr.shape, dtype=np.uint8)
    with np.errstate(invalid="ignore"):
        for index, (lower, upper, _) in enumerate(KINEMATIC_CLASSES):
            if index >= FIRST_MOVING_CLASS:
                codes[(velocity_cm_per_yr >= lower) & (velocity_cm_per_yr < upper)] = index + 1
    return codes


def _polygonize(codes: np.ndarray, geotransform: Any, crs_wkt: str) -> Any:
    from osgeo import gdal, ogr, osr

    raster = gdal.GetDriverByName("MEM").Create("", codes.shape[1], codes.shape[0], 1, gdal.GDT_Byte)
    raster.SetGeoTransform(tuple(geotransform))
    raster.SetProjection(crs_wkt)
    raster.GetRasterBand(1).WriteArray(codes)
    srs = osr.SpatialReference()
    srs.ImportFromWkt(crs_wkt)
    vectors = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = vectors.CreateLayer("areas", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("code", ogr.OFTInteger))
    band = raster.GetRasterBand(1)
    gdal.Polygonize(band, band, layer, 0, ["8CONNECTED=8"])
    return vectors, layer


def smoothed(velocity_cm_per_yr: np.ndarray) -> np.ndarray:
    """3 x 3 median of the velocity, no-data (NaN) taken as 0 (at rest).

    >>> float(smoothed(np.array([[0.0, 0, 0], [0, 50, 0], [0, 0, 0]]))[1, 1])  # a lone fast pixel is noise
    0.0
    """
    from scipy.ndimage import median_filter

    return median_filter(np.nan_to_num(velocity_cm_per_yr, nan=0.0), size=3, mode="nearest")


def _cm_per_yr_per_unit(dataset: Any, path: str) -> float:
    tag = band_unit(dataset, 1)
    factor = velocity_cm_per_yr_per_unit(tag) if tag else None
    if factor is None:
        name = os.path.basename(path)
        raise ParameterError(
            f"The velocity raster '{name}' ({describe_unit(tag)}) does not say its velocity unit: moving-area classes need to "
            f"know whether its values are cm/yr, mm/yr or m/yr. Tag it (gdal_edit.py -units cm/yr {name}); "
            "rockglacier:insarvelocity's "
            "rasters carry their unit."
        )
    return factor


def _touching(areas: list[MovingArea], landforms: list[Any]) -> list[MovingArea]:
    from osgeo import ogr

    kept = []
    for area in areas:
        geometry = ogr.CreateGeometryFromWkb(area.wkb)
        if any(geometry.Intersects(landform) for landform in landforms):
            kept.append(area)
    return kept


def moving_areas(
    velocity_path: str,
    min_area_km2: float = 0.005,
    landforms_wkb: Optional[Sequence[Optional[bytes]]] = None,
    landforms_crs: Optional[str] = None,
) -> MovingAreas:
    """Moving areas of a projected velocity raster (e.g. ``rockglacier:insarvelocity``'s VELOCITY_DOWNSLOPE),
    touching one of ``landforms_wkb`` when given. The raster's unit tag says its unit (converted to cm/yr;
    a raster without one is refused); it must be in a projected CRS."""
    if min_area_km2 < 0:
        raise ParameterError(f"The minimum moving-area size is {min_area_km2} km2; give 0 or more.")
    dataset = open_raster(velocity_path, "velocity raster")
    grid = raster_grid(dataset, 1, "velocity raster")
    if grid.is_geographic:
        raise ParameterError(
            f"The velocity raster '{velocity_path}' is in geographic coordinates; moving areas need metres. "
            "Warp it to a projected CRS (e.g. its UTM zone) with Raster > Projections > Warp first."
        )
    landforms = None
    if landforms_wkb is not None:
        landforms = polygons_in_crs(landforms_wkb, landforms_crs or "", grid.crs_wkt, "inventory")
        footprint = geometries_footprint(landforms, grid.crs_wkt, "inventory")
        if footprint is not None:  # an inventory elsewhere (a CRS set wrong) is an error, not zero moving areas
            check_overlap(footprint, raster_footprint(dataset, f"velocity raster '{os.path.basename(velocity_path)}'"), "")
    velocity = read_window(dataset.GetRasterBand(1), grid, grid.full_window) * _cm_per_yr_per_unit(dataset, velocity_path)
    vectors, layer = _polygonize(class_codes(smoothed(velocity)), grid.geotransform, grid.crs_wkt)
    square_m_per_km2 = 1.0e6 / grid.linear_unit_m**2
    areas = []
    for feature in layer:
        geometry = valid_traced_polygon(feature.GetGeometryRef().Clone())
        if geometry is None:
            continue
        area_km2 = geometry.GetArea() / square_m_per_km2
        if area_km2 >= min_area_km2:
            areas.append(MovingArea(bytes(geometry.ExportToWkb()), area_km2, feature.GetField("code")))
    del vectors
    if landforms is not None:
        areas = _touching(areas, landforms)
    pair = (dataset.GetMetadata() or {}).get("PAIR")
    return MovingAreas(areas, grid.crs_wkt, kinematic_period(pair), velocity_path)
