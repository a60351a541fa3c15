"""Every polygon the plugin writes is valid for GEOS: candidates traced from masks and RGIK moving areas, on
random masks where 8-connected pixels touch at corners (rings that touch themselves)."""

import numpy as np
import pytest
from osgeo import gdal, ogr

from rockglacier_plugin.core.inventory.moving_areas import moving_areas
from rockglacier_plugin.core.mapping.polygons import candidates_from_mask
from tests.builders import write_raster
from tests.conftest import require_module

GT = (500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0)


def _invalid(wkbs):
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        return [w for w in wkbs if not ogr.CreateGeometryFromWkb(w).IsValid()]
    finally:
        gdal.PopErrorHandler()


@pytest.mark.parametrize("seed", range(6))
def test_candidates_from_random_masks__are_all_valid_and_keep_every_pixel(tmp_path, seed):
    rng = np.random.default_rng(seed)
    mask = (rng.random((60, 60)) < 0.45).astype(np.uint8)
    mask_path = write_raster(tmp_path / "m.tif", mask, GT, epsg=32644, dtype=gdal.GDT_Byte, nodata=255)
    probability = write_raster(tmp_path / "p.tif", mask.astype(float), GT, epsg=32644, nodata=-1.0)
    candidates, _ = candidates_from_mask(str(mask_path), str(probability), 0.0)
    assert candidates and _invalid([c.geometry_wkb for c in candidates]) == []
    total_m2 = sum(ogr.CreateGeometryFromWkb(c.geometry_wkb).GetArea() for c in candidates)
    assert total_m2 == pytest.approx(mask.sum() * 100.0)  # the repair splits rings, it adds or loses no pixel


@pytest.mark.parametrize("seed", range(6))
def test_moving_areas_from_random_velocities__are_all_valid(tmp_path, seed):
    require_module("scipy")
    rng = np.random.default_rng(seed)
    velocity = np.where(rng.random((60, 60)) < 0.55, rng.uniform(1.0, 300.0, (60, 60)), 0.0)
    path = write_raster(tmp_path / "v.tif", velocity, GT, epsg=32644, unit="cm/yr")
    areas = moving_areas(str(path), 0.0).areas
    assert areas and _invalid([a.wkb for a in areas]) == []


def test_moving_areas__read_the_raster_unit_and_refuse_a_raster_without_one(tmp_path):
    require_module("scipy")
    velocity = np.zeros((40, 40))
    velocity[5:25, 5:25] = 50.0
    in_cm = moving_areas(str(write_raster(tmp_path / "cm.tif", velocity, GT, epsg=32644, unit="cm/yr")), 0.0).areas
    in_mm = moving_areas(str(write_raster(tmp_path / "mm.tif", velocity * 10, GT, epsg=32644, unit="mm/yr")), 0.0).areas
    assert [(a.velocity_class, a.area_km2) for a in in_mm] == [(a.velocity_class, a.area_km2) for a in in_cm]
    with pytest.raises(ValueError, match="does not say its velocity unit.*gdal_edit.py -units cm/yr"):
        moving_areas(str(write_raster(tmp_path / "none.tif", velocity, GT, epsg=32644)), 0.0)
