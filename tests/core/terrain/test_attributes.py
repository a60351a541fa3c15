"""Per-polygon DEM attributes through the core, with closed-form and independent oracles."""

import math

import numpy as np
import pytest
from osgeo import gdal, ogr

from rockglacier_plugin.core.errors import InputRasterError, InputVectorError, OperationCancelled
from rockglacier_plugin.core.progress import RunHooks
from rockglacier_plugin.core.raster.geometry import Polygons
from rockglacier_plugin.core.terrain.attributes import compute_attributes
from rockglacier_plugin.core.terrain.connection import ConnectionRule
from tests.builders import cone_dem, plane_dem, square_wkt, srs_from_epsg, write_raster
from tests.conftest import require_module

ORIGIN = (600000.0, 5200000.0)  # UTM 32N, Alps


def wkb(wkt):
    return ogr.CreateGeometryFromWkt(wkt).ExportToWkb()


def run(dem, wkts, crs="EPSG:32632", existing_ids=(), on_progress=None, is_cancelled=None, **kwargs):
    polygons = Polygons([None if w is None else wkb(w) for w in wkts], crs, existing_ids or ())
    return compute_attributes(polygons, str(dem), hooks=RunHooks(on_progress, is_cancelled), **kwargs)


@pytest.fixture
def plane(tmp_path):
    z, gt = plane_dem(200, 10.0, ORIGIN, 20.0, 135.0)
    return write_raster(tmp_path / "plane.tif", z, gt, dtype=gdal.GDT_Float64), z


@pytest.fixture
def steps(tmp_path):
    """Columns alternate 100 m / 200 m so every pixel's value tells which pixel it is."""
    z = np.tile(np.where(np.arange(20) % 2 == 0, 100.0, 200.0), (20, 1))
    return write_raster(tmp_path / "steps.tif", z, (ORIGIN[0], 10.0, 0, ORIGIN[1], 0, -10.0))


def test_plane__square_gets_closed_form_elevation_slope_and_aspect(plane):
    path, z = plane
    values = run(path, [square_wkt(ORIGIN[0] + 1000, ORIGIN[1] - 1000, 1000)]).values[0]
    a = math.radians(135.0)
    expected_mean = 3000.0 - math.tan(math.radians(20.0)) * (1000 * math.sin(a) - 1000 * math.cos(a))
    assert values["elev_mean_m"] == pytest.approx(expected_mean, abs=1e-6)
    assert values["slope_mean_deg"] == pytest.approx(20.0, abs=1e-6)
    assert values["aspect_deg"] == pytest.approx(135.0, abs=1e-6)
    assert values["aspect_class"] == "SE"
    # min/max over pixels whose centre is inside: 100 x 100 pixels of the plane
    inside = z[50:150, 50:150]
    assert values["elev_min_m"] == pytest.approx(inside.min()) and values["elev_max_m"] == pytest.approx(inside.max())


def test_polygon_smaller_than_a_pixel__takes_that_pixels_value(steps):
    values = run(steps, [square_wkt(ORIGIN[0] + 35, ORIGIN[1] - 55, 2.0)]).values[0]  # inside column 3
    assert values["elev_mean_m"] == 200.0 and values["elev_min_m"] == 200.0 and values["elev_max_m"] == 200.0
    assert values["area_km2"] == pytest.approx(4e-6, rel=2e-3)


def test_polygon_straddling_pixels__mean_weights_each_pixel_by_covered_area(steps):
    # x from 27.5 to 37.5 m: 2.5 m in column 2 (100 m) and 7.5 m in column 3 (200 m)
    corners = [(27.5, -50), (37.5, -50), (37.5, -60), (27.5, -60), (27.5, -50)]
    wkt = "POLYGON((" + ",".join(f"{ORIGIN[0] + dx} {ORIGIN[1] + dy}" for dx, dy in corners) + "))"
    values = run(steps, [wkt]).values[0]
    assert values["elev_mean_m"] == pytest.approx(0.25 * 100 + 0.75 * 200, abs=0.5)
    assert values["elev_max_m"] == 200.0 and values["elev_min_m"] == 200.0  # only column 3 is >= half covered


def test_cone__square_east_of_apex_faces_east_with_the_cone_slope(tmp_path):
    z, gt, (xa, ya) = cone_dem(400, 10.0, ORIGIN, 30.0)
    path = write_raster(tmp_path / "cone.tif", z, gt, dtype=gdal.GDT_Float64)
    values = run(path, [square_wkt(xa + 1000, ya, 400)]).values[0]
    assert values["slope_mean_deg"] == pytest.approx(30.0, abs=0.01)  # Horn on a curved surface
    assert values["aspect_deg"] == pytest.approx(90.0, abs=1e-6)
    # Oracle: the mean of the cone surface over the square by fine numerical integration.
    xs = np.linspace(800, 1200, 2001)
    ys = np.linspace(-200, 200, 2001)
    gx, gy = np.meshgrid(xs, ys)
    expected = 4000.0 - math.tan(math.radians(30.0)) * np.hypot(gx, gy).mean()
    assert values["elev_mean_m"] == pytest.approx(expected, abs=0.5)


def test_polygon_partly_outside_dem__uses_the_covered_part_and_says_so(plane):
    path, _ = plane
    wkt = square_wkt(ORIGIN[0], ORIGIN[1] - 1000, 400)  # half of it west of the DEM
    result = run(path, [wkt, square_wkt(ORIGIN[0] + 1500, ORIGIN[1] - 1500, 200)])
    assert result.values[0]["slope_mean_deg"] == pytest.approx(20.0, abs=1e-6)
    assert any("rg001: 50.0 % of its area lies outside the DEM" in w for w in result.warnings)
    # the warning is also in the landform's own field, to filter on; the complete one has none
    assert result.values[0]["attr_note"].startswith("50.0 % of its area lies outside the DEM")
    assert result.values[1]["attr_note"] is None


def test_polygon_wholly_outside_dem__gets_empty_attributes_and_a_warning(plane):
    path, _ = plane
    result = run(path, [square_wkt(ORIGIN[0] - 5000, ORIGIN[1], 200), square_wkt(ORIGIN[0] + 400, ORIGIN[1] - 400, 200)])
    values = result.values[0]
    assert values["elev_mean_m"] is None and values["slope_mean_deg"] is None and values["aspect_class"] is None
    assert values["area_km2"] == pytest.approx(0.04, rel=2e-3)  # geometry attributes still computed
    assert any("wholly outside the DEM" in w for w in result.warnings)
    assert result.values[1]["elev_mean_m"] is not None
    # the layer's extent reaches beyond the DEM: said once, with the share
    assert any(w.startswith("The DEM 'plane.tif' covers") and "% of the extent of the input layer" in w for w in result.warnings)


def test_polygons_all_outside_the_dem__stop_with_both_crs_and_extents(plane):
    path, _ = plane
    with pytest.raises(
        InputRasterError,
        match=r"DEM 'plane.tif' \(WGS 84 / UTM zone 32N, EPSG:32632; x 600000 to 602000.*does not "
        r"overlap the input layer \(WGS 84 / UTM zone 33N, EPSG:32633",
    ):
        run(path, [square_wkt(ORIGIN[0] + 400, ORIGIN[1] - 400, 200)], crs="EPSG:32633")


def test_nodata_inside_polygon__is_ignored_and_reported(tmp_path):
    z = np.full((20, 20), 500.0)
    z[:, 10:] = -9999.0
    path = write_raster(tmp_path / "nd.tif", z, (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10), nodata=-9999.0)
    result = run(path, [square_wkt(ORIGIN[0] + 100, ORIGIN[1] - 100, 100)])
    assert result.values[0]["elev_mean_m"] == 500.0 and result.values[0]["elev_max_m"] == 500.0
    assert any("50.0 % of its area lies outside the DEM or on no-data" in w for w in result.warnings)


def test_polygons_in_another_crs__give_the_same_values(plane):
    path, _ = plane
    utm_wkt = square_wkt(ORIGIN[0] + 1000, ORIGIN[1] - 1000, 600)
    geometry = ogr.CreateGeometryFromWkt(utm_wkt)
    geometry.Segmentize(10.0)
    from rockglacier_plugin.core.raster.geometry import transformer

    geometry.Transform(transformer(srs_from_epsg(32632), srs_from_epsg(4326)))
    in_utm = run(path, [utm_wkt]).values[0]
    in_wgs84 = run(path, [geometry.ExportToWkt()], crs="EPSG:4326").values[0]
    for key in ("elev_mean_m", "slope_mean_deg", "aspect_deg", "area_km2", "lon", "lat"):
        assert in_wgs84[key] == pytest.approx(in_utm[key], rel=1e-5), key


def test_area__matches_pyproj_geodesic_area_for_a_lat_lon_box(plane):
    pyproj = require_module("pyproj")
    path, _ = plane
    lon0, lat0, d = 10.32, 46.93, 0.01  # on the DEM (UTM 32N), whose values do not matter here
    wkt = f"POLYGON(({lon0} {lat0},{lon0 + d} {lat0},{lon0 + d} {lat0 + d},{lon0} {lat0 + d},{lon0} {lat0}))"
    values = run(path, [wkt], crs="EPSG:4326").values[0]
    area_m2, _ = pyproj.Geod(ellps="WGS84").polygon_area_perimeter(
        [lon0, lon0 + d, lon0 + d, lon0], [lat0, lat0, lat0 + d, lat0 + d]
    )
    assert values["area_km2"] == pytest.approx(abs(area_m2) / 1e6, rel=1e-4)
    assert values["lon"] == pytest.approx(lon0 + d / 2, abs=1e-5) and values["lat"] == pytest.approx(lat0 + d / 2, abs=1e-4)


def test_invalid_bowtie_polygon__is_repaired_for_the_computation_and_reported(plane):
    path, _ = plane
    x, y = ORIGIN[0] + 500, ORIGIN[1] - 500
    bowtie = f"POLYGON(({x} {y},{x + 200} {y - 200},{x + 200} {y},{x} {y - 200},{x} {y}))"
    result = run(path, [bowtie])
    assert result.values[0]["area_km2"] == pytest.approx(0.02, rel=2e-3)  # two 0.01 km2 triangles
    assert result.values[0]["slope_mean_deg"] == pytest.approx(20.0, abs=1e-6)
    assert any("invalid geometry" in w for w in result.warnings)


def test_multipart_polygon__statistics_cover_both_parts(steps):
    a = square_wkt(ORIGIN[0] + 5, ORIGIN[1] - 95, 10)  # column 0: 100 m
    b = square_wkt(ORIGIN[0] + 35, ORIGIN[1] - 95, 10)  # column 3: 200 m
    multi = f"MULTIPOLYGON(({a[8:-1]}),({b[8:-1]}))"
    values = run(steps, [multi]).values[0]
    assert values["elev_mean_m"] == pytest.approx(150.0) and values["elev_min_m"] == 100 and values["elev_max_m"] == 200


def test_missing_geometry__keeps_its_row_with_empty_values(plane):
    path, _ = plane
    result = run(path, [None, square_wkt(ORIGIN[0] + 500, ORIGIN[1] - 500, 100)])
    assert result.values[0]["area_km2"] is None and result.values[0]["rg_id"] == "rg001"
    assert result.values[1]["slope_mean_deg"] == pytest.approx(20.0, abs=1e-6)
    assert any("rg001 has no geometry" in w for w in result.warnings)


def test_ids__existing_kept_and_new_ones_continue_after_the_highest(plane):
    path, _ = plane
    wkts = [square_wkt(ORIGIN[0] + 500 + 200 * i, ORIGIN[1] - 500, 100) for i in range(4)]
    result = run(path, wkts, existing_ids=["wkl007", None, "custom", ""], id_prefix="wkl")
    assert [v["rg_id"] for v in result.values] == ["wkl007", "wkl008", "custom", "wkl009"]


def test_ids__duplicates_are_reported(plane):
    path, _ = plane
    wkts = [square_wkt(ORIGIN[0] + 500 + 200 * i, ORIGIN[1] - 500, 100) for i in range(2)]
    result = run(path, wkts, existing_ids=["a1", "a1"])
    assert any("used more than once: a1" in w for w in result.warnings)


def test_bad_prefix__is_refused_with_the_rule():
    from rockglacier_plugin.core.errors import ParameterError
    from rockglacier_plugin.core.inventory.identifiers import assign_ids

    with pytest.raises(ParameterError, match="must start with a letter"):
        assign_ids([None], "9 bad")


def test_empty_input__is_refused(plane):
    with pytest.raises(InputVectorError, match="no features"):
        run(plane[0], [])


def test_dem_without_crs__is_refused_with_what_to_do(tmp_path):
    path = write_raster(tmp_path / "nocrs.tif", np.zeros((5, 5)), (0, 1, 0, 0, 0, -1), epsg=None)
    with pytest.raises(InputRasterError, match="has no CRS. Assign one"):
        run(path, [square_wkt(2, -2, 1)])


def test_dem_band_out_of_range__names_the_valid_bands(plane):
    with pytest.raises(InputRasterError, match="band 3 does not exist"):
        run(plane[0], [square_wkt(ORIGIN[0] + 500, ORIGIN[1] - 500, 100)], dem_band=3)


def test_unreadable_dem__says_so(tmp_path):
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    with pytest.raises(InputRasterError, match="cannot be opened by GDAL"):
        run(tmp_path / "junk.tif", [square_wkt(0, 0, 1)])


def test_cancel__raises_before_anything_is_returned(plane):
    calls = []
    with pytest.raises(OperationCancelled):
        run(
            plane[0], [square_wkt(ORIGIN[0] + 500, ORIGIN[1] - 500, 100)] * 3, is_cancelled=lambda: bool(calls) or calls.append(1)
        )


def test_progress__reports_fractions_up_to_one(plane):
    fractions = []
    run(plane[0], [square_wkt(ORIGIN[0] + 500, ORIGIN[1] - 500, 100)] * 4, on_progress=fractions.append)
    assert fractions == [0.25, 0.5, 0.75, 1.0]


# --- upslope connection -------------------------------------------------------------------
@pytest.fixture
def south_facing(tmp_path):
    """A slope falling to the south (aspect 180): north is upslope."""
    z, gt = plane_dem(400, 10.0, ORIGIN, 25.0, 180.0)
    return write_raster(tmp_path / "south.tif", z, gt, dtype=gdal.GDT_Float64)


@pytest.mark.parametrize(
    "glacier_centre_north_m, expected",
    [
        (500.0, "G"),  # a 500 m glacier square touching the landform's upper edge
        (530.0, "G"),  # 30 m gap: nearly touches
        (700.0, "GF"),  # 200 m gap upslope
        (1300.0, None),  # 800 m gap: beyond the 500 m search distance
        (-500.0, None),  # touching, but downslope
    ],
)
def test_upslope_suggestion__follows_distance_and_upslope_rule(south_facing, glacier_centre_north_m, expected):
    x, y = ORIGIN[0] + 2000, ORIGIN[1] - 2000
    landform = square_wkt(x, y, 500)
    glacier = square_wkt(x, y + glacier_centre_north_m, 500)
    result = run(south_facing, [landform], glaciers=Polygons([wkb(glacier)], "EPSG:32632"), rule=ConnectionRule(50.0, 500.0))
    assert result.values[0]["upslope_suggested"] == expected


def test_upslope_suggestion__without_glaciers_the_field_is_not_produced(south_facing):
    values = run(south_facing, [square_wkt(ORIGIN[0] + 2000, ORIGIN[1] - 2000, 100)]).values[0]
    assert "upslope_suggested" not in values


def test_connection_rule__touch_beyond_search_is_refused():
    from rockglacier_plugin.core.errors import ParameterError

    with pytest.raises(ParameterError, match="0 <= touch <= search"):
        ConnectionRule(600.0, 500.0)


# --- real data ------------------------------------------------------------------------------
def _rgi_oetztal(shared_dataset):
    base = shared_dataset("oggm-sample-dem-rgi") / "test-workflow"
    layer_ds = ogr.Open(str(base / "rgi" / "rgi_oetztal.shp"))
    layer = layer_ds.GetLayer()
    rows = [(f.GetGeometryRef().ExportToWkb(), f.items()) for f in layer]
    return base / "srtm_oetztal.tif", layer.GetSpatialRef().ExportToWkt(), rows


@pytest.mark.shared_data
def test_real_srtm_on_geographic_grid__agrees_with_published_rgi_attributes(shared_dataset):
    """RGI5 Zmin/Zmax/Slope/Aspect/Area of 18 Oetztal glaciers (divided glaciers excluded:
    their RGI attributes describe the parent glacier). RGI used another DEM, hence tolerances.
    Measured: Zmin MAD 17 m, Zmax MAD 12 m, slope MAD 0.4 deg, aspect MAD 3 deg, area 0.02 %."""
    dem, crs, rows = _rgi_oetztal(shared_dataset)
    rows = [(w, r) for w, r in rows if "_d" not in r["RGIId"]]
    result = compute_attributes(Polygons([w for w, _ in rows], crs), str(dem))
    zmin = np.array([v["elev_min_m"] - r["Zmin"] for v, (_, r) in zip(result.values, rows)])
    zmax = np.array([v["elev_max_m"] - r["Zmax"] for v, (_, r) in zip(result.values, rows)])
    slope = np.array([v["slope_mean_deg"] - r["Slope"] for v, (_, r) in zip(result.values, rows)])
    aspect = np.array([(v["aspect_deg"] - r["Aspect"] + 180) % 360 - 180 for v, (_, r) in zip(result.values, rows)])
    area = np.array([v["area_km2"] / r["Area"] - 1 for v, (_, r) in zip(result.values, rows)])
    assert len(rows) == 18
    assert np.abs(zmin).mean() < 30 and np.abs(zmax).mean() < 30
    assert np.abs(slope).mean() < 1.0 and np.abs(slope).max() < 2.0
    assert np.abs(aspect).mean() < 6.0 and np.abs(aspect).max() < 15.0
    assert np.abs(area).max() < 2e-3


@pytest.mark.shared_data
def test_real_srtm__geographic_dem_agrees_with_the_same_dem_warped_to_utm(shared_dataset, tmp_path):
    dem, crs, rows = _rgi_oetztal(shared_dataset)
    utm = tmp_path / "oetztal_utm.tif"
    gdal.Warp(str(utm), str(dem), dstSRS="EPSG:32632", xRes=60, yRes=60, resampleAlg="bilinear")
    geographic = compute_attributes(Polygons([w for w, _ in rows], crs), str(dem)).values
    projected = compute_attributes(Polygons([w for w, _ in rows], crs), str(utm)).values
    slope_diff = np.array([g["slope_mean_deg"] - p["slope_mean_deg"] for g, p in zip(geographic, projected)])
    elev_diff = np.array([g["elev_mean_m"] - p["elev_mean_m"] for g, p in zip(geographic, projected)])
    assert np.abs(slope_diff).mean() < 1.0
    assert np.abs(elev_diff).max() < 10.0
