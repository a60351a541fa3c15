"""rockglacier:insarvelocity with the products people have, each through qgis_process as a user
types it: MintPy, LiCSBAS, HyP3 and a plain GeoTIFF; the velocity_pairs table; per-pair rasters
returned as separate outputs."""

import os

import processing
import pytest

from tests.builders import read_layer, write_polygons
from tests.conftest import require_module
from tests.insar_builders import EPSG, cone_scene
from tests.product_builders import geotiff_velocity, hyp3_product, licsbas_cum, mintpy_velocity
from tests.qgis.test_qgis_process import qgis_process

FACING_AWAY = (20.0, 45.0, 70.0, 90.0, 110.0, 135.0, 160.0)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("products")
    scene = cone_scene(folder / "scene", seed=5, aspects_deg=FACING_AWAY)
    ids = [f"wkl{i:03d}" for i in range(len(FACING_AWAY))]
    polygons = write_polygons(folder / "rg.gpkg", scene.landforms_wkt, epsg=EPSG, attributes={"rg_id": ids})
    return scene, polygons, folder


def _qgis_process(cwd, *arguments, algorithm="rockglacier:insarvelocity"):
    completed = qgis_process("run", algorithm, "--", *arguments, cwd=cwd)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout


def _recovered(rows, truths, tolerance=0.08):
    return sum(
        1
        for row, truth in zip(rows, truths)
        if row["vel_ok"] == 1 and abs(row["vel_dslp_cm_yr"] - truth) <= 3 * row["vel_err_cm_yr"] + tolerance * truth
    )


def test_qgis_process__mintpy_velocity_with_its_geometry_file(scene, tmp_path):
    require_module("h5py")
    scene, polygons, _ = scene
    velocity, geometry = mintpy_velocity(scene, tmp_path / "mintpy")
    log = _qgis_process(
        tmp_path,
        f"INPUT={polygons}",
        f"LOS_VELOCITY={velocity}",
        f"GEOMETRY={geometry}",
        f"DEM={scene.dem}",
        "NOISE_CORRELATION_PX=1",
        "OUTPUT=out.gpkg",
        "VELOCITY_PAIRS=out.gpkg",
    )
    rows = read_layer(tmp_path / "out.gpkg", "rock_glaciers")
    assert _recovered(rows, scene.velocity_dslp_cm_per_yr) == len(FACING_AWAY)
    assert {r["vel_pair"] for r in rows} == {"20150101-20191231"} and {r["vel_geometry"] for r in rows} == {"ascending"}
    pairs = read_layer(tmp_path / "out.gpkg", "velocity_pairs")
    assert len(pairs) == len(FACING_AWAY) and pairs[0]["days"] == 1825 and pairs[0]["source"].endswith("velocity.h5")
    assert "MintPy 'velocity.h5'" in log


def test_qgis_process__licsbas_cum_h5_with_enu_rasters(scene, tmp_path):
    require_module("h5py")
    scene, polygons, _ = scene
    cum, east = licsbas_cum(scene, tmp_path / "licsbas")
    _qgis_process(
        tmp_path,
        f"INPUT={polygons}",
        f"LOS_VELOCITY={cum}",
        f"GEOMETRY={east}",
        f"DEM={scene.dem}",
        "NOISE_CORRELATION_PX=1",
        "OUTPUT=out.gpkg",
    )
    rows = read_layer(tmp_path / "out.gpkg", "rock_glaciers")
    assert _recovered(rows, scene.velocity_dslp_cm_per_yr, tolerance=0.12) >= len(FACING_AWAY) - 1


def test_qgis_process__hyp3_zip(scene, tmp_path):
    scene, polygons, _ = scene
    archive = hyp3_product(scene, tmp_path / "hyp3")
    _qgis_process(
        tmp_path,
        f"INPUT={polygons}",
        f"HYP3={archive}",
        f"DEM={scene.dem}",
        "LOOKS=60",
        "NOISE_CORRELATION_PX=1",
        "SLOPE_ERROR_DEG=0",
        "ASPECT_ERROR_DEG=0",
        "OUTPUT=out.gpkg",
    )
    rows = read_layer(tmp_path / "out.gpkg", "rock_glaciers")
    assert _recovered(rows, scene.velocity_dslp_cm_per_yr) >= len(FACING_AWAY) - 1
    assert {r["vel_pair"] for r in rows if r["vel_pair"]} == {"20190610-20190622"}


def test_qgis_process__plain_geotiff_in_mm_per_year_away_from_the_satellite(scene, tmp_path):
    scene, polygons, _ = scene
    path = geotiff_velocity(scene, tmp_path / "tif")
    _qgis_process(
        tmp_path,
        f"INPUT={polygons}",
        f"LOS_VELOCITY={path}",
        "VELOCITY_UNIT=2",
        "VELOCITY_SIGN=1",
        "INCIDENCE_DEG=38.7",
        "LOS_AZIMUTH_DEG=102",
        f"DEM={scene.dem}",
        "NOISE_CORRELATION_PX=1",
        "OUTPUT=out.gpkg",
    )
    assert _recovered(read_layer(tmp_path / "out.gpkg", "rock_glaciers"), scene.velocity_dslp_cm_per_yr) == len(FACING_AWAY)


def test_several_pairs__each_raster_is_its_own_output_and_every_pair_is_in_velocity_pairs(scene, tmp_path):
    require_module("h5py")
    scene, polygons, _ = scene
    velocity, geometry = mintpy_velocity(scene, tmp_path / "mintpy")
    tif = geotiff_velocity(scene, tmp_path / "tif")
    result = processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(polygons),
            "LOS_VELOCITY": [str(velocity), str(tif)],
            "GEOMETRY": str(geometry),
            "DEM": str(scene.dem),
            "VELOCITY_UNIT": 2,
            "VELOCITY_SIGN": 1,
            "INCIDENCE_DEG": 38.7,
            "LOS_AZIMUTH_DEG": 102,
            "NOISE_CORRELATION_PX": 1,
            "OUTPUT": str(tmp_path / "out.gpkg"),
            "VELOCITY_PAIRS": str(tmp_path / "pairs.gpkg"),
            "VELOCITY_DOWNSLOPE": str(tmp_path / "v.tif"),
        },
    )
    assert isinstance(result["VELOCITY_DOWNSLOPE"], str) and ";" not in result["VELOCITY_DOWNSLOPE"]
    assert len(result["VELOCITY_DOWNSLOPE_ALL"]) == 2 and all(os.path.exists(p) for p in result["VELOCITY_DOWNSLOPE_ALL"])
    assert all(os.path.exists(os.path.splitext(p)[0] + ".qml") for p in result["VELOCITY_DOWNSLOPE_ALL"])
    rows = read_layer(tmp_path / "pairs.gpkg")
    assert len(rows) == 2 * len(FACING_AWAY)
    assert {r["vel_pair"] for r in rows} == {"20150101-20191231"}  # the GeoTIFF took its dates from its name


def test_rgvexport__the_five_year_mintpy_velocity_is_an_rgv_series_value_in_m_per_yr(scene, tmp_path):
    from tests.rgik_reader import layer_doc, read_layer_checked

    require_module("h5py")
    scene, polygons, _ = scene
    velocity, geometry = mintpy_velocity(scene, tmp_path / "mintpy")
    processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(polygons),
            "LOS_VELOCITY": str(velocity),
            "GEOMETRY": str(geometry),
            "DEM": str(scene.dem),
            "NOISE_CORRELATION_PX": 1,
            "OUTPUT": str(tmp_path / "out.gpkg"),
            "VELOCITY_PAIRS": str(tmp_path / "pairs.gpkg"),
        },
    )
    result = processing.run(
        "rockglacier:rgvexport",
        {"INPUT": str(polygons), "VELOCITY_PAIRS": str(tmp_path / "pairs.gpkg"), "OUTPUT": str(tmp_path / "rgv.gpkg")},
    )
    pairs = {r["rg_id"]: r for r in read_layer(tmp_path / "pairs.gpkg")}
    rows, problems = read_layer_checked(str(tmp_path / "rgv.gpkg"), layer_doc("RGV"))
    assert problems == [] and result["VALUES"] == len(rows) == sum(1 for p in pairs.values() if p["vel_ok"] == 1) > 0
    truths = dict(zip([f"wkl{i:03d}" for i in range(len(FACING_AWAY))], scene.velocity_dslp_cm_per_yr))
    for row in rows:
        assert (row["Window"], row["Period.Start"], row["Period.End"]) == ("multi-annual (5 years)", "2015-01-01", "2019-12-31")
        assert row["RGV_m_yr"] == pytest.approx(pairs[row["WorkingID"]]["vel_dslp_cm_yr"] / 100.0)
        assert (
            abs(row["RGV_m_yr"] - truths[row["WorkingID"]] / 100.0)
            <= 3 * row["RGV.Err_m_yr"] + 0.08 * truths[row["WorkingID"]] / 100.0
        )
    refused = processing.run(
        "rockglacier:rgvexport",
        {
            "INPUT": str(polygons),
            "VELOCITY_PAIRS": str(tmp_path / "pairs.gpkg"),
            "ALLOW_MULTI_ANNUAL": False,
            "OUTPUT": str(tmp_path / "rgv1.gpkg"),
        },
    )
    assert refused["VALUES"] == 0 and refused["LEFT_OUT_COUNT"] == len(pairs)


def test_qgis_process__rgvexport_leaves_the_12_day_hyp3_pair_out_and_says_why(scene, tmp_path):
    scene, polygons, _ = scene
    archive = hyp3_product(scene, tmp_path / "hyp3")
    _qgis_process(
        tmp_path,
        f"INPUT={polygons}",
        f"HYP3={archive}",
        f"DEM={scene.dem}",
        "LOOKS=60",
        "NOISE_CORRELATION_PX=1",
        "OUTPUT=out.gpkg",
        "VELOCITY_PAIRS=pairs.gpkg",
    )
    log = _qgis_process(
        tmp_path,
        f"INPUT={polygons}",
        "VELOCITY_PAIRS=pairs.gpkg",
        "OUTPUT=rgv.gpkg",
        "LEFT_OUT=left_out.gpkg",
        algorithm="rockglacier:rgvexport",
    )
    assert read_layer(tmp_path / "rgv.gpkg") == []
    left_out = read_layer(tmp_path / "left_out.gpkg")
    assert len(left_out) == len(FACING_AWAY)
    assert {r["Reason"] for r in left_out} == {"12-day window: shorter than one year (a seasonal velocity, not an annual one)"}
    assert "No pair gives an RGV value" in log and f"left out {len(FACING_AWAY)} x: window shorter than one year" in log
