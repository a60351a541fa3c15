"""rockglacier:unwrap and rockglacier:insarvelocity through processing.run and qgis_process:
SNAPHU round trip, ISCE2 products, a real Sentinel-1 stack, bad input."""

import glob
import os
import shutil
import subprocess

import numpy as np
import processing
import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from tests.builders import read_layer, write_polygons, write_raster
from tests.insar_builders import EPSG, cone_scene, isce_products
from tests.qgis.feedback import RecordingFeedback

FACING_AWAY = (20.0, 45.0, 70.0, 90.0, 110.0, 135.0, 160.0)
EXACT = {"LOOKS": 10, "NOISE_CORRELATION_PX": 1, "SLOPE_ERROR_DEG": 0, "ASPECT_ERROR_DEG": 0}


@pytest.fixture
def scene(tmp_path):
    scene = cone_scene(tmp_path / "scene", seed=21, aspects_deg=FACING_AWAY)
    polygons = write_polygons(
        tmp_path / "rg.gpkg",
        scene.landforms_wkt,
        epsg=EPSG,
        attributes={"rg_id": [f"wkl{i:03d}" for i in range(len(FACING_AWAY))]},
    )
    return scene, polygons


def assert_recovered(rows, truths, tolerance_sigma=4.0):
    for row, truth in zip(rows, truths):
        assert row["vel_ok"] == 1, row["vel_reason"]
        assert abs(row["vel_dslp_cm_yr"] - truth) < tolerance_sigma * row["vel_err_cm_yr"], (row, truth)


def assert_downslope_raster_matches_truth(path, scene):
    """The written downslope raster against the generator's per-pixel truth: each landform's core
    (full speed) has its speed, stable flanks are at rest, masked pixels carry the no-data value."""
    downslope = gdal.Open(str(path)).ReadAsArray().astype(np.float64)
    truth = gdal.Open(str(scene.velocity_dslp_true)).ReadAsArray()
    assert gdal.Open(str(path)).GetRasterBand(1).GetNoDataValue() == -9999
    valid = downslope != -9999
    assert 0.1 < valid.mean() < 0.9  # low coherence, flat plain and small |g| are masked, the rest is not
    moving = valid & (truth > 10)
    assert moving.sum() > 300
    # per-pixel noise is ~10 cm/yr: no bias over the moving pixels, and the map follows the truth
    assert abs(np.median(downslope[moving] - truth[moving])) < 3.0
    assert np.corrcoef(downslope[valid], truth[valid])[0, 1] > 0.8
    stable = valid & (truth == 0)
    assert stable.sum() > 500 and abs(np.median(downslope[stable])) < 2.0


def test_snaphu_round_trip__wrapped_interferogram_to_downslope_velocities(scene, tmp_path):
    scene, polygons = scene
    unwrapped = tmp_path / "20070716_20070831_unw.tif"
    out = processing.run(
        "rockglacier:unwrap",
        {
            "INPUT": str(scene.wrapped),
            "COHERENCE": str(scene.coherence),
            "LOOKS": 10,
            "OUTPUT": str(unwrapped),
            "COMPONENTS": str(tmp_path / "cc.tif"),
        },
    )
    assert os.path.exists(out["OUTPUT"]) and gdal.Open(out["COMPONENTS"]).ReadAsArray().max() >= 1
    assert gdal.Open(out["OUTPUT"]).GetProjection() == gdal.Open(str(scene.wrapped)).GetProjection()
    feedback = RecordingFeedback()
    result = processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(polygons),
            "UNWRAPPED": [str(unwrapped)],
            "COHERENCE": [str(scene.coherence)],
            "DEM": str(scene.dem),
            "INCIDENCE_DEG": 38.7,
            "LOS_AZIMUTH_DEG": 102.0,
            "SENSOR": 0,
            **EXACT,
            "OUTPUT": str(tmp_path / "inventory.gpkg"),
            "REFERENCE_POINTS_OUTPUT": str(tmp_path / "inventory.gpkg"),
            "VELOCITY_DOWNSLOPE": str(tmp_path / "v_dslp.tif"),
            "VELOCITY_LOS": str(tmp_path / "v_los.tif"),
        },
        feedback=feedback,
    )
    rows = read_layer(tmp_path / "inventory.gpkg", "rock_glaciers")
    assert [r["rg_id"] for r in rows] == [f"wkl{i:03d}" for i in range(len(FACING_AWAY))]
    assert_recovered(rows, scene.velocity_dslp_cm_per_yr)
    assert all(r["vel_pair"] == "20070716-20070831" and r["kin_class"] != "undefined" for r in rows)
    references = read_layer(tmp_path / "inventory.gpkg", "reference_points")
    assert len(references) == len(rows) and {r["method"] for r in references} == {"auto"}
    assert_downslope_raster_matches_truth(result["VELOCITY_DOWNSLOPE"], scene)
    assert any("1 rad = 14.92 cm/yr" in m for m in feedback.infos)


def test_isce2_products__read_through_their_vrt_sidecars_with_bands_and_dates(scene, tmp_path):
    scene, polygons = scene
    products = isce_products(scene, tmp_path / "isce")
    feedback = RecordingFeedback()
    processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(polygons),
            "UNWRAPPED": [str(products["unw"]) + ".vrt"],
            "COHERENCE": [str(products["cor"])],
            "LOS": str(products["los"]) + ".vrt",
            "DEM": str(scene.dem),
            "SENSOR": 0,
            **EXACT,
            "OUTPUT": str(tmp_path / "isce.gpkg"),
        },
        feedback=feedback,
    )
    rows = read_layer(tmp_path / "isce.gpkg", "rock_glaciers")
    # Warping the phase to EPSG:4326 (bilinear) smooths it: allow 5 % beyond 3 sigma.
    for row, truth in zip(rows, scene.velocity_dslp_cm_per_yr):
        assert row["vel_ok"] == 1 and abs(row["vel_dslp_cm_yr"] - truth) < 0.05 * truth + 3 * row["vel_err_cm_yr"]
        assert row["vel_pair"] == "20070716-20070831"  # dates from the ISCE2 pair folder
    assert any("DEM" in m and "resampled" in m for m in feedback.infos)
    assert any("side-car" in m for m in feedback.infos)  # topophase.cor.geo -> its .vrt


def test_bad_input__coherence_count_dates_and_geometry(scene, tmp_path):
    scene, polygons = scene
    base = {
        "INPUT": str(polygons),
        "COHERENCE": [str(scene.coherence)],
        "DEM": str(scene.dem),
        "INCIDENCE_DEG": 38.7,
        "LOS_AZIMUTH_DEG": 102.0,
        "SENSOR": 0,
        "OUTPUT": "TEMPORARY_OUTPUT",
    }
    with pytest.raises(QgsProcessingException, match="2 interferogram.*3 coherence"):
        processing.run(
            "rockglacier:insarvelocity",
            {**base, "UNWRAPPED": [str(scene.unwrapped_true)] * 2, "COHERENCE": [str(scene.coherence)] * 3},
        )
    nameless = tmp_path / "phase.tif"
    shutil.copy(scene.unwrapped_true, nameless)
    with pytest.raises(QgsProcessingException, match="No acquisition dates found"):
        processing.run("rockglacier:insarvelocity", {**base, "UNWRAPPED": [str(nameless)]})
    with pytest.raises(QgsProcessingException, match="Give both REFERENCE_DATE and SECONDARY_DATE"):
        processing.run("rockglacier:insarvelocity", {**base, "UNWRAPPED": [str(nameless)], "REFERENCE_DATE": "2007-07-16"})
    with pytest.raises(QgsProcessingException, match="INCIDENCE_DEG and LOS_AZIMUTH_DEG"):
        processing.run(
            "rockglacier:insarvelocity",
            {**base, "UNWRAPPED": [str(scene.unwrapped_true)], "INCIDENCE_DEG": None, "LOS_AZIMUTH_DEG": None},
        )
    result = processing.run(
        "rockglacier:insarvelocity",
        {**base, "UNWRAPPED": [str(nameless)], "REFERENCE_DATE": "2007-07-16", "SECONDARY_DATE": "20070831"},
    )
    assert result["OUTPUT"].featureCount() == len(FACING_AWAY)


def test_heading_instead_of_los_azimuth__gives_the_same_result(scene):
    scene, polygons = scene
    base = {
        "INPUT": str(polygons),
        "UNWRAPPED": [str(scene.unwrapped_true)],
        "COHERENCE": [str(scene.coherence)],
        "DEM": str(scene.dem),
        "INCIDENCE_DEG": 38.7,
        "SENSOR": 0,
        **EXACT,
        "OUTPUT": "TEMPORARY_OUTPUT",
    }
    by_azimuth = [
        f["vel_dslp_cm_yr"]
        for f in processing.run("rockglacier:insarvelocity", {**base, "LOS_AZIMUTH_DEG": 102.0})["OUTPUT"].getFeatures()
    ]
    by_heading = [
        f["vel_dslp_cm_yr"]
        for f in processing.run("rockglacier:insarvelocity", {**base, "HEADING_DEG": -12.0})["OUTPUT"].getFeatures()
    ]
    assert by_heading == pytest.approx(by_azimuth)


def test_cancelled_run__leaves_no_velocity_raster(scene, tmp_path):
    scene, polygons = scene
    feedback = QgsProcessingFeedback()
    feedback.cancel()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run(
            "rockglacier:insarvelocity",
            {
                "INPUT": str(polygons),
                "UNWRAPPED": [str(scene.unwrapped_true)],
                "COHERENCE": [str(scene.coherence)],
                "DEM": str(scene.dem),
                "INCIDENCE_DEG": 38.7,
                "LOS_AZIMUTH_DEG": 102.0,
                "SENSOR": 0,
                "OUTPUT": str(tmp_path / "o.gpkg"),
                "VELOCITY_LOS": str(tmp_path / "los.tif"),
            },
            feedback=feedback,
        )
    assert not list(tmp_path.glob("los.tif*")) and not (tmp_path / "o.gpkg").exists()


@pytest.mark.shared_data
def test_real_sentinel1_stack__thirty_pairs_in_one_run_with_one_los_raster_each(shared_dataset, tmp_path):
    base = shared_dataset("pyrate-cropA-s1-mexicocity") / "geotiffs"
    unwrapped = sorted(glob.glob(str(base / "*_unw.tif")))
    coherence = [p.replace("_eqa_unw", "_flat_eqa_cc") for p in unwrapped]
    polygons = write_polygons(
        tmp_path / "zone.gpkg", ["POLYGON((-99.14 19.42,-99.12 19.42,-99.12 19.40,-99.14 19.40,-99.14 19.42))"], epsg=4326
    )
    feedback = RecordingFeedback()
    result = processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(polygons),
            "UNWRAPPED": unwrapped,
            "COHERENCE": coherence,
            "DEM": str(base / "cropA_T005A_dem.tif"),
            "INCIDENCE_DEG": 39.7,
            "HEADING_DEG": -12.27,
            "SENSOR": 1,
            "OUTPUT": "TEMPORARY_OUTPUT",
            "VELOCITY_LOS": str(tmp_path / "los.tif"),
        },
        feedback=feedback,
    )
    rasters = sorted(glob.glob(str(tmp_path / "los_*.tif")))
    assert len(rasters) == 30
    row = next(result["OUTPUT"].getFeatures())
    # Mexico City is flat: no slope reaches MIN_SLOPE_DEG, so no downslope velocity is claimed.
    assert row["vel_ok"] == 0 and "masks" in row["vel_reason"]
    spans, maps = [], []
    for path in rasters:
        ds = gdal.Open(path)
        assert ds.GetMetadata()["PAIR"] in os.path.basename(path)
        values = ds.ReadAsArray().astype(float)
        maps.append(np.where(values == -9999, np.nan, values))
        first, second = ds.GetMetadata()["PAIR"].split("-")
        spans.append(
            (
                np.datetime64(f"{second[:4]}-{second[4:6]}-{second[6:]}") - np.datetime64(f"{first[:4]}-{first[4:6]}-{first[6:]}")
            ).astype(int)
        )
    maps, spans = np.array(maps), np.array(spans)
    stack = np.nansum(np.nan_to_num(maps) * spans[:, None, None], axis=0) / spans.sum()
    high, low = stack > np.nanpercentile(stack, 95), stack < np.nanpercentile(stack, 5)
    differences = np.array([np.nanmean(m[high]) - np.nanmean(m[low]) for m in maps])
    assert (differences > 0).all() and differences[spans >= 48].std() < 0.35 * np.median(differences)


def test_qgis_process__insarvelocity_from_the_command_line(scene, tmp_path):
    scene, polygons = scene
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    completed = subprocess.run(
        [
            shutil.which("qgis_process") or "qgis_process",
            "run",
            "rockglacier:insarvelocity",
            "--",
            f"INPUT={polygons}",
            f"UNWRAPPED={scene.unwrapped_true}",
            f"COHERENCE={scene.coherence}",
            f"DEM={scene.dem}",
            "INCIDENCE_DEG=38.7",
            "LOS_AZIMUTH_DEG=102",
            "SENSOR=0",
            "NOISE_CORRELATION_PX=1",
            "OUTPUT=cli.gpkg",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    rows = read_layer(tmp_path / "cli.gpkg", "rock_glaciers")
    assert all(r["vel_ok"] == 1 for r in rows)
    assert rows[0]["vel_dslp_cm_yr"] == pytest.approx(scene.velocity_dslp_cm_per_yr[0], rel=0.1)


def test_insarvelocity__empty_layer_gives_an_empty_output_and_a_warning(scene, tmp_path):
    scene, _ = scene
    empty = write_polygons(tmp_path / "empty.gpkg", [], epsg=EPSG)
    feedback = RecordingFeedback()
    result = processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(empty),
            "UNWRAPPED": [str(scene.unwrapped_true)],
            "COHERENCE": [str(scene.coherence)],
            "DEM": str(scene.dem),
            "INCIDENCE_DEG": 38.7,
            "LOS_AZIMUTH_DEG": 102.0,
            "SENSOR": 0,
            "OUTPUT": str(tmp_path / "out.gpkg"),
        },
        feedback=feedback,
    )
    assert read_layer(tmp_path / "out.gpkg", "rock_glaciers") == [] and "OUTPUT" in result
    assert any("no features" in w for w in feedback.warnings)


def test_insarvelocity__both_azimuth_and_heading_is_an_error_naming_both(scene, tmp_path):
    scene, polygons = scene
    with pytest.raises(QgsProcessingException, match="Both LOS_AZIMUTH_DEG=102 and HEADING_DEG=-12"):
        processing.run(
            "rockglacier:insarvelocity",
            {
                "INPUT": str(polygons),
                "UNWRAPPED": [str(scene.unwrapped_true)],
                "COHERENCE": [str(scene.coherence)],
                "DEM": str(scene.dem),
                "INCIDENCE_DEG": 38.7,
                "LOS_AZIMUTH_DEG": 102.0,
                "HEADING_DEG": -12.0,
                "SENSOR": 0,
                "OUTPUT": str(tmp_path / "out.gpkg"),
            },
        )


def test_insarvelocity__left_looking_heading_gives_the_mirrored_azimuth(scene, tmp_path):
    scene, polygons = scene
    feedback = RecordingFeedback()
    processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(polygons),
            "UNWRAPPED": [str(scene.unwrapped_true)],
            "COHERENCE": [str(scene.coherence)],
            "DEM": str(scene.dem),
            "INCIDENCE_DEG": 38.7,
            "HEADING_DEG": 168.0,
            "LEFT_LOOKING": True,
            "SENSOR": 0,
            **EXACT,
            "OUTPUT": str(tmp_path / "out.gpkg"),
        },
        feedback=feedback,
    )
    # a left-looking radar flying south (heading 168) sees the ground as a right-looking one flying north (-12)
    assert any("LOS azimuth 102.0 deg" in m and "left-looking" in m for m in feedback.infos)
    assert_recovered(read_layer(tmp_path / "out.gpkg", "rock_glaciers"), scene.velocity_dslp_cm_per_yr)


def test_insarvelocity__zero_minimum_projection_factor_is_refused(scene, tmp_path):
    scene, polygons = scene
    with pytest.raises(QgsProcessingException):
        processing.run(
            "rockglacier:insarvelocity",
            {
                "INPUT": str(polygons),
                "UNWRAPPED": [str(scene.unwrapped_true)],
                "COHERENCE": [str(scene.coherence)],
                "DEM": str(scene.dem),
                "INCIDENCE_DEG": 38.7,
                "LOS_AZIMUTH_DEG": 102.0,
                "SENSOR": 0,
                "MIN_PROJECTION_FACTOR": 0.0,
                "OUTPUT": str(tmp_path / "out.gpkg"),
            },
        )


def test_insarvelocity__dem_band_picks_the_elevation_band_and_raster_writing_counts_in_progress(scene, tmp_path):
    scene, polygons = scene
    z = gdal.Open(str(scene.dem)).ReadAsArray()
    dataset = gdal.Open(str(scene.dem))
    two_bands = write_raster(tmp_path / "dem2.tif", np.stack([np.zeros_like(z), z]), dataset.GetGeoTransform(), epsg=EPSG)
    feedback = RecordingFeedback()
    progress = []
    feedback.progressChanged.connect(progress.append)
    processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(polygons),
            "UNWRAPPED": [str(scene.unwrapped_true)],
            "COHERENCE": [str(scene.coherence)],
            "DEM": str(two_bands),
            "DEM_BAND": 2,
            "INCIDENCE_DEG": 38.7,
            "LOS_AZIMUTH_DEG": 102.0,
            "SENSOR": 0,
            **EXACT,
            "OUTPUT": str(tmp_path / "out.gpkg"),
            "VELOCITY_DOWNSLOPE": str(tmp_path / "v.tif"),
        },
        feedback=feedback,
    )
    assert_recovered(read_layer(tmp_path / "out.gpkg", "rock_glaciers"), scene.velocity_dslp_cm_per_yr)
    # the raster writing is counted: progress only climbs and ends at 100 %
    assert progress and max(progress) == pytest.approx(100.0) and sorted(progress) == progress
    with pytest.raises(QgsProcessingException, match="DEM_BAND=3 does not exist"):
        processing.run(
            "rockglacier:insarvelocity",
            {
                "INPUT": str(polygons),
                "UNWRAPPED": [str(scene.unwrapped_true)],
                "COHERENCE": [str(scene.coherence)],
                "DEM": str(two_bands),
                "DEM_BAND": 3,
                "INCIDENCE_DEG": 38.7,
                "LOS_AZIMUTH_DEG": 102.0,
                "SENSOR": 0,
                "OUTPUT": str(tmp_path / "out3.gpkg"),
            },
        )
