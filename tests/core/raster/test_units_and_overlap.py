"""Units parsed from the files' tags, DEM plausibility, and footprints compared in a common CRS."""

import numpy as np
import pytest
from osgeo import gdal

from rockglacier_plugin.core.errors import InputRasterError, ParameterError
from rockglacier_plugin.core.insar.velocity_map import velocity_unit
from rockglacier_plugin.core.raster.io import open_raster, raster_grid
from rockglacier_plugin.core.raster.overlap import Footprint, check_overlap, covered_share
from rockglacier_plugin.core.raster.units import elevation_metres_per_unit, velocity_cm_per_yr_per_unit
from rockglacier_plugin.core.terrain.elevation import dem_unit, plausibility_warnings
from tests.builders import plane_dem, write_raster

ORIGIN = (600000.0, 5200000.0)


@pytest.mark.parametrize(
    "text, cm_per_yr",
    [
        ("m/yr", 100.0),
        ("m/a", 100.0),
        ("M/YR", 100.0),
        ("m yr-1", 100.0),
        ("m yr^-1", 100.0),
        ("cm/year", 1.0),
        ("cm a-1", 1.0),
        ("mm/yr", 0.1),
        ("mm/a", 0.1),
        ("millimetres per year", 0.1),
        ("m/d", 36525.0),
    ],
)
def test_velocity_units__spellings_of_one_unit_give_its_factor(text, cm_per_yr):
    assert velocity_cm_per_yr_per_unit(text) == pytest.approx(cm_per_yr)


@pytest.mark.parametrize("text", ["", "rad", "m", "cm", "degrees", "m/s2", "unknown"])
def test_velocity_units__anything_else_is_not_a_velocity(text):
    assert velocity_cm_per_yr_per_unit(text) is None


def test_velocity_unit__tag_wins_given_must_agree_none_is_an_error():
    assert velocity_unit(None, "mm/a", "v.tif") == ("mm/a", "read from the file's unit tag")
    assert velocity_unit("mm/yr", "mm/a", "v.tif")[0] == "mm/a"  # the same unit, spelt otherwise
    with pytest.raises(ParameterError, match="contradicts"):
        velocity_unit("m/yr", "cm/yr", "v.tif")
    with pytest.raises(ParameterError, match="does not say its unit.*VELOCITY_UNIT"):
        velocity_unit(None, "", "v.tif")
    with pytest.raises(ParameterError, match="unit tag 'rad', which is no velocity unit"):
        velocity_unit(None, "rad", "v.tif")


def test_elevation_units__metres_feet_us_survey_feet():
    assert [elevation_metres_per_unit(t) for t in ("m", "metre", "ft", "international foot")] == [1.0, 1.0, 0.3048, 0.3048]
    assert elevation_metres_per_unit("US survey foot") == pytest.approx(1200 / 3937)
    assert elevation_metres_per_unit("furlong") is None


def test_dem__unit_tag_that_is_no_length_is_refused(tmp_path):
    z, gt = plane_dem(20, 10.0, ORIGIN, 10.0, 0.0)
    path = write_raster(tmp_path / "dem.tif", z, gt, unit="cm/yr")
    with pytest.raises(InputRasterError, match="no unit of elevation.*gdal_edit.py -units m"):
        dem_unit(open_raster(str(path)), 1, str(path))


def test_dem_plausibility__feet_of_a_high_range_and_an_unset_nodata_are_named(tmp_path):
    z, gt = plane_dem(100, 30.0, ORIGIN, 20.0, 0.0, z0_m=4500.0)

    def warnings(values, name, unit=None):
        path = write_raster(tmp_path / name, values, gt, unit=unit)
        dataset = open_raster(str(path))
        return plausibility_warnings(dataset, 1, raster_grid(dataset, 1), dem_unit(dataset, 1, str(path)), str(path))

    assert warnings(z, "metres.tif") == []
    assert warnings(z / 0.3048, "feet_tagged.tif", "ft") == []
    high = warnings(z / 0.3048, "feet_untagged.tif")
    assert any("outside any elevation on Earth" in w and "-units ft" in w for w in high)
    with_hole = z.copy()
    with_hole[:5] = -32768.0
    assert any("unset no-data value" in w for w in warnings(with_hole, "nodata_unset.tif"))


def test_overlap__the_share_covered_in_the_covered_crs_and_an_error_when_none():
    utm44 = Footprint("interferogram 'a.tif'", (500000.0, 4000000.0, 510000.0, 4010000.0), "EPSG:32644")
    half = Footprint("DEM 'b.tif'", (505000.0, 3990000.0, 520000.0, 4020000.0), "EPSG:32644")
    assert covered_share(utm44, half) == pytest.approx(0.5)
    assert "covers 50 % of the extent of the interferogram 'a.tif'" in check_overlap(utm44, half, "x")
    # the same box in degrees covers it whole, whatever the CRS
    degrees = Footprint("DEM 'c.tif'", (80.9, 36.0, 81.2, 36.3), "EPSG:4326")
    assert covered_share(utm44, degrees) == pytest.approx(1.0)
    wrong_zone = Footprint("coherence 'd.tif'", utm44.bounds, "EPSG:32645")  # same numbers, another zone: 500 km away
    with pytest.raises(
        InputRasterError,
        match=r"coherence 'd.tif' \(WGS 84 / UTM zone 45N, EPSG:32645; x 500000 to 510000.*"
        r"does not overlap the interferogram 'a.tif' \(WGS 84 / UTM zone 44N",
    ):
        check_overlap(utm44, wrong_zone, "")
    gdal.UseExceptions()
    assert np.isfinite(covered_share(wrong_zone, utm44))
