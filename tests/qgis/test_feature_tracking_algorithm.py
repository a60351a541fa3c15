"""``rockglacier:featuretracking`` through Processing and qgis_process on the Laurichard rock glacier's 2012 and 2017
DEMs (../shared/datasets/laurichard-dem-2012-2017), against the 265 landmarks matched there by hand: the landform's
velocity against the median of its hand-matched landmarks, and the refusals a user meets."""

import shutil

import numpy as np
import processing
import pytest
from osgeo import gdal, ogr, osr
from qgis.core import QgsProcessingException

from tests.core.tracking.test_feature_tracking import _landmarks, moving_hull, stable_squares
from tests.qgis.feedback import RecordingFeedback
from tests.qgis.test_qgis_process import qgis_process

DATASET = "laurichard-dem-2012-2017"
YEARS = 5.0


def _layer(path, name, geometries, crs_wkt):
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromWkt(crs_wkt)
    layer = source.CreateLayer(name, srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("rg_id", ogr.OFTString))
    for i, geometry in enumerate(geometries):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("rg_id", f"rg{i + 1:03d}")
        feature.SetGeometry(geometry)
        layer.CreateFeature(feature)
    source = None
    return str(path)


def _inputs(folder, tmp_path):
    """The stable landmarks (6 m squares) and the moving landmarks' convex hull, as a user would draw them."""
    x, y, east, north = _landmarks(folder)
    crs = gdal.Open(str(folder / "rock_glacier_dem_2012_50cm.tif")).GetProjection()
    stable = np.hypot(east, north) == 0
    stable_path = _layer(tmp_path / "stable.gpkg", "stable", stable_squares(x[stable], y[stable]), crs)
    hull = moving_hull(x[~stable], y[~stable])
    landform_path = _layer(tmp_path / "landform.gpkg", "rock_glaciers", [hull], crs)
    rates = np.hypot(east, north)[~stable] / YEARS
    direction = float(np.degrees(np.arctan2(np.median(east[~stable]), np.median(north[~stable]))) % 360.0)
    return stable_path, landform_path, float(np.median(rates)), direction


def _parameters(folder, tmp_path, **extra):
    stable, landform, _, _ = _inputs(folder, tmp_path)
    parameters = dict(
        IMAGE_1=str(folder / "rock_glacier_dem_2012_50cm.tif"),
        IMAGE_2=str(folder / "rock_glacier_dem_2017_50cm.tif"),
        DATE_1="2012-10-05",
        DATE_2="2017-10-05",
        KIND=1,
        INPUT=landform,
        STABLE=stable,
        MAX_VELOCITY_M_YR=2.5,
        OUTPUT=str(tmp_path / "points.gpkg"),
        LANDFORMS=str(tmp_path / "velocity.gpkg"),
    )
    parameters.update(extra)
    return parameters


def test_laurichard_dems__the_landforms_velocity_agrees_with_its_hand_matched_landmarks(shared_dataset, tmp_path):
    folder = shared_dataset(DATASET)
    _, _, landmark_rate, landmark_direction = _inputs(folder, tmp_path)
    feedback = RecordingFeedback()
    result = processing.run("rockglacier:featuretracking", _parameters(folder, tmp_path), feedback=feedback)
    log = feedback.text()
    assert "multidirectional" in log and "Co-registration on" in log and "Level of detection" in log
    assert 0.2 < result["LOD_M"] < 1.0
    written = ogr.Open(str(tmp_path / "velocity.gpkg"))
    landform = next(iter(written.GetLayer("rock_glaciers")))
    assert landform["ft_vel_m_yr"] == pytest.approx(landmark_rate, abs=0.25)  # measured: see docs/feature-tracking.md
    assert landform["ft_vel_err_m_yr"] < 0.2 and landform["ft_points"] > 100 and landform["ft_period"] == "2012-10-05/2017-10-05"
    turn = (landform["ft_dir_deg"] - landmark_direction + 180.0) % 360.0 - 180.0
    assert abs(turn) < 15.0  # the tongue creeps north, out of its north-facing cirque
    print(
        f"velocity {landform['ft_vel_m_yr']:.3f} +- {landform['ft_vel_err_m_yr']:.3f} m/yr towards {landform['ft_dir_deg']:.0f} "
        "deg "
        f"(landmarks: {landmark_rate:.3f} m/yr towards {landmark_direction:.0f} deg), LoD {result['LOD_M']:.2f} m"
    )
    points = ogr.Open(str(tmp_path / "points.gpkg"))
    layer = points.GetLayer("feature_tracking_points")
    assert layer.GetFeatureCount() > 1000
    fields = [layer.GetLayerDefn().GetFieldDefn(i).GetName() for i in range(layer.GetLayerDefn().GetFieldCount())]
    assert {"east_m", "north_m", "disp_m", "rate_m_yr", "dir_deg", "corr", "valid", "above_lod", "reason"} <= set(fields)


def test_laurichard__the_velocity_raster_holds_the_points_above_the_lod_and_the_points_open_as_arrows(shared_dataset, tmp_path):
    """VELOCITY: one cell per grid point (cell = the 5 m spacing), band 1 the rate of the valid points above the LoD,
    band 2 their direction, NaN elsewhere; its .qml beside it; the points layer's default style draws arrows."""
    from qgis.core import QgsVectorLayer

    folder = shared_dataset(DATASET)
    velocity = tmp_path / "velocity.tif"
    result = processing.run("rockglacier:featuretracking", _parameters(folder, tmp_path, VELOCITY=str(velocity)))
    raster = gdal.Open(str(velocity))
    assert raster.RasterCount == 2 and abs(raster.GetGeoTransform()[1]) == pytest.approx(5.0)
    assert raster.GetRasterBand(1).GetUnitType() == "m/yr" and raster.GetRasterBand(2).GetDescription() == "direction_deg"
    rate, direction = (raster.GetRasterBand(i).ReadAsArray() for i in (1, 2))
    points = ogr.Open(str(tmp_path / "points.gpkg"))
    layer = points.GetLayer("feature_tracking_points")
    shown = [(f["rate_m_yr"], f["dir_deg"]) for f in layer if f["above_lod"] == 1]
    assert np.isfinite(rate).sum() == len(shown) > 300
    assert np.sort(rate[np.isfinite(rate)]) == pytest.approx(np.sort([r for r, _ in shown]), rel=1e-5)
    assert np.isfinite(direction).sum() == len(shown) and (velocity.with_suffix(".qml")).exists()
    assert float(np.nanmin(rate)) * 5.0 > result["LOD_M"] * 0.99  # only displacements above the LoD (5 years)
    opened = QgsVectorLayer(f"{tmp_path / 'points.gpkg'}|layername=feature_tracking_points", "points", "ogr")
    assert opened.renderer().type() == "categorizedSymbol" and opened.renderer().classAttribute() == "above_lod"


def test_qgis_process__runs_the_readmes_line(shared_dataset, tmp_path):
    folder = shared_dataset(DATASET)
    parameters = _parameters(folder, tmp_path, LANDFORMS=str(tmp_path / "v.2017.gpkg"))
    completed = qgis_process(
        "run", "rockglacier:featuretracking", "--", *[f"{k}={v}" for k, v in parameters.items()], cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert (tmp_path / "v.2017.gpkg").exists()


def test_refusals__dates_in_the_wrong_order_a_geographic_grid_and_rasters_that_do_not_overlap(shared_dataset, tmp_path):
    folder = shared_dataset(DATASET)
    with pytest.raises(QgsProcessingException, match="must come after"):
        processing.run("rockglacier:featuretracking", _parameters(folder, tmp_path, DATE_1="2017-10-05", DATE_2="2012-10-05"))
    geographic = tmp_path / "geographic.tif"
    gdal.Warp(str(geographic), str(folder / "rock_glacier_dem_2012_50cm.tif"), dstSRS="EPSG:4326")
    with pytest.raises(QgsProcessingException, match="degrees of longitude and latitude"):
        processing.run("rockglacier:featuretracking", _parameters(folder, tmp_path, IMAGE_1=str(geographic)))
    elsewhere = tmp_path / "elsewhere.tif"
    shutil.copy(folder / "rock_glacier_dem_2017_50cm.tif", elsewhere)
    dataset = gdal.Open(str(elsewhere), gdal.GA_Update)
    gt = list(dataset.GetGeoTransform())
    gt[0] += 5000.0
    dataset.SetGeoTransform(gt)
    dataset = None
    with pytest.raises(QgsProcessingException, match="do not overlap"):
        processing.run("rockglacier:featuretracking", _parameters(folder, tmp_path, IMAGE_2=str(elsewhere)))


def _inventory_with_fields(path, geometry, crs_wkt):
    """The moving landmarks' hull as a reviewed inventory: a talus-connected landform without InSAR velocity."""
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromWkt(crs_wkt)
    layer = source.CreateLayer("rock_glaciers", srs, ogr.wkbPolygon)
    for name in ("rg_id", "upslope_con", "review"):
        layer.CreateField(ogr.FieldDefn(name, ogr.OFTString))
    feature = ogr.Feature(layer.GetLayerDefn())
    for name, value in (("rg_id", "rg001"), ("upslope_con", "T"), ("review", "accepted")):
        feature.SetField(name, value)
    feature.SetGeometry(geometry)
    layer.CreateFeature(feature)
    source = None
    return str(path)


def test_laurichard__the_tracked_velocity_reaches_the_dock_the_report_the_rgik_markers_and_the_rgv_series(
    shared_dataset, tmp_path
):
    """One chain a user runs: featuretracking's LANDFORMS (no InSAR velocity) -> the review dock's panel, report Table 3,
    rgikexport's Kin.Att. and rgvexport's TRACKED rows, each carrying the rate measured against the landmarks."""
    import csv

    from qgis.core import QgsVectorLayer

    from rockglacier_plugin.gui.review_dock import _describe

    folder = shared_dataset(DATASET)
    _, landform, landmark_rate, _ = _inputs(folder, tmp_path)
    landform_source = ogr.Open(landform)
    hull_feature = next(iter(landform_source.GetLayer(0)))
    hull = hull_feature.GetGeometryRef().Clone()
    crs = gdal.Open(str(folder / "rock_glacier_dem_2012_50cm.tif")).GetProjection()
    inventory = _inventory_with_fields(tmp_path / "inventory.gpkg", hull, crs)
    tracked = str(tmp_path / "tracked.gpkg")
    processing.run("rockglacier:featuretracking", _parameters(folder, tmp_path, INPUT=inventory, LANDFORMS=tracked))
    layer = QgsVectorLayer(f"{tracked}|layername=rock_glaciers", "tracked", "ogr")
    feature = next(layer.getFeatures())
    rate = feature["ft_vel_m_yr"]
    assert rate == pytest.approx(landmark_rate, abs=0.25) and 0.2 < feature["ft_lod_m"] < 1.0
    assert "NCC on multidirectional hillshades of DEMs" in feature["ft_method"]
    panel = _describe(feature)
    assert f"feature tracking {rate:.2f}" in panel and "2012-10-05/2017-10-05" in panel

    table3 = tmp_path / "table3.csv"
    processing.run(
        "rockglacier:report",
        {"INPUT": f"{tracked}|layername=rock_glaciers", "OUTPUT": str(tmp_path / "report.html"), "VELOCITY_TABLE": str(table3)},
    )
    with open(table3, newline="") as handle:
        talus = next(row for row in csv.DictReader(handle) if row["class"] == "T")
    assert (talus["count_with_velocity"], talus["count_feature_tracking"]) == ("1", "1")
    assert float(talus["vel_mean_cm_yr"]) == pytest.approx(100.0 * rate, rel=1e-6)

    rgik = tmp_path / "rgik.gpkg"
    processing.run("rockglacier:rgikexport", {"INPUT": f"{tracked}|layername=rock_glaciers", "OUTPUT": str(rgik)})
    rgik_source = ogr.Open(str(rgik))
    marker = next(iter(rgik_source.GetLayer(0)))
    assert marker["Kin.Method"] == "feature tracking" and marker["Kin.Period"] == "2012-10-05/2017-10-05"
    assert marker["Vel_cm_yr"] == pytest.approx(100.0 * rate) and marker["Kin.Att."] == ("m/y" if rate >= 1.0 else "dm/y to m/y")

    rgv = tmp_path / "rgv.gpkg"
    result = processing.run(
        "rockglacier:rgvexport", {"INPUT": inventory, "TRACKED": [f"{tracked}|layername=rock_glaciers"], "OUTPUT": str(rgv)}
    )
    assert result["VALUES"] == 1
    rgv_source = ogr.Open(str(rgv))
    row = next(iter(rgv_source.GetLayer(0)))
    assert row["RGV_m_yr"] == pytest.approx(rate) and row["Window"] == "multi-annual (5 years)"
    assert row["Method"].startswith("feature tracking") and row["Period.Start"] == "2012-10-05"
    with pytest.raises(QgsProcessingException, match="Give VELOCITY_PAIRS"):
        processing.run("rockglacier:rgvexport", {"INPUT": inventory, "OUTPUT": str(tmp_path / "none.gpkg")})
