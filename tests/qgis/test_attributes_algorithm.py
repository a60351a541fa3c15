"""rockglacier:attributes through processing.run in a real headless QGIS: values, schema, errors."""

import math
from pathlib import Path

import numpy as np
import processing
import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsVectorLayer

from rockglacier_plugin.core.inventory.schema import ROCK_GLACIER_FIELDS
from tests.builders import plane_dem, read_layer, square_wkt, write_polygons, write_raster
from tests.qgis.feedback import RecordingFeedback

ORIGIN = (600000.0, 5200000.0)


@pytest.fixture
def scene(tmp_path):
    z, gt = plane_dem(300, 10.0, ORIGIN, 20.0, 180.0)  # falls to the south
    dem = write_raster(tmp_path / "dem.tif", z, gt, dtype=gdal.GDT_Float64)
    polygons = write_polygons(
        tmp_path / "input.gpkg",
        [square_wkt(ORIGIN[0] + 1500, ORIGIN[1] - 1500, 400), square_wkt(ORIGIN[0] + 800, ORIGIN[1] - 2200, 200), None],
        attributes={"rg_id": ["wkl010", None, None], "comment": ["keep me", None, "no geometry"]},
    )
    return tmp_path, dem, polygons


def run_attributes(params, feedback=None):
    return processing.run("rockglacier:attributes", params, feedback=feedback or QgsProcessingFeedback())


def test_attributes__writes_the_inventory_schema_with_values(scene):
    tmp_path, dem, polygons = scene
    feedback = RecordingFeedback()
    result = run_attributes(
        {"INPUT": str(polygons), "DEM": str(dem), "ID_PREFIX": "wkl", "OUTPUT": str(tmp_path / "inventory.gpkg")}, feedback
    )
    assert result["OUTPUT"].endswith("inventory.gpkg|layername=rock_glaciers")
    rows = read_layer(tmp_path / "inventory.gpkg", "rock_glaciers")
    assert [r["rg_id"] for r in rows] == ["wkl010", "wkl011", "wkl012"]
    assert [r["comment"] for r in rows] == ["keep me", None, "no geometry"]
    assert set(spec.name for spec in ROCK_GLACIER_FIELDS) <= set(rows[0])
    first = rows[0]
    assert first["slope_mean_deg"] == pytest.approx(20.0, abs=1e-6)
    assert first["aspect_deg"] == pytest.approx(180.0, abs=1e-6) and first["aspect_class"] == "S"
    assert first["elev_mean_m"] == pytest.approx(3000.0 - math.tan(math.radians(20.0)) * 1500.0, abs=1e-6)
    assert first["area_km2"] == pytest.approx(0.16, rel=2e-3)
    assert 10.0 < first["lon"] < 11.0 and 46.0 < first["lat"] < 47.0
    assert rows[2]["area_km2"] is None
    assert any("wkl012 has no geometry" in w for w in feedback.warnings)


def test_attributes__gpkg_output_keeps_the_files_other_layers(scene):
    tmp_path, dem, polygons = scene
    inventory = tmp_path / "inventory.gpkg"
    write_polygons(inventory, [square_wkt(ORIGIN[0], ORIGIN[1], 10)], layer="negatives")
    run_attributes({"INPUT": str(polygons), "DEM": str(dem), "OUTPUT": str(inventory)})
    run_attributes({"INPUT": str(polygons), "DEM": str(dem), "OUTPUT": str(inventory)})  # rerun replaces the layer
    assert len(read_layer(inventory, "negatives")) == 1
    assert len(read_layer(inventory, "rock_glaciers")) == 3


def test_attributes__input_in_wgs84_and_dem_in_utm_give_utm_values(scene):
    tmp_path, dem, polygons = scene
    reprojected = processing.run(
        "native:reprojectlayer", {"INPUT": str(polygons), "TARGET_CRS": "EPSG:4326", "OUTPUT": str(tmp_path / "wgs84.gpkg")}
    )["OUTPUT"]
    direct = read_layer(
        Path(
            run_attributes({"INPUT": str(polygons), "DEM": str(dem), "OUTPUT": str(tmp_path / "a.gpkg")})["OUTPUT"].split("|")[0]
        )
    )
    via_wgs84 = read_layer(
        Path(run_attributes({"INPUT": reprojected, "DEM": str(dem), "OUTPUT": str(tmp_path / "b.gpkg")})["OUTPUT"].split("|")[0])
    )
    # Straight edges reprojected vertex by vertex bend slightly; a metre of elevation covers it.
    assert via_wgs84[0]["elev_mean_m"] == pytest.approx(direct[0]["elev_mean_m"], abs=1.0)
    assert via_wgs84[0]["slope_mean_deg"] == pytest.approx(direct[0]["slope_mean_deg"], abs=1e-3)
    assert via_wgs84[0]["area_km2"] == pytest.approx(direct[0]["area_km2"], rel=1e-3)


def test_attributes__geographic_dem_gives_metric_slope(scene):
    tmp_path, dem, polygons = scene
    geographic_dem = tmp_path / "dem_wgs84.tif"
    gdal.Warp(str(geographic_dem), str(dem), dstSRS="EPSG:4326", resampleAlg="bilinear")
    rows = read_layer(
        Path(
            run_attributes({"INPUT": str(polygons), "DEM": str(geographic_dem), "OUTPUT": str(tmp_path / "g.gpkg")})[
                "OUTPUT"
            ].split("|")[0]
        )
    )
    assert rows[0]["slope_mean_deg"] == pytest.approx(20.0, abs=0.2)
    assert rows[0]["aspect_deg"] == pytest.approx(180.0, abs=1.0)


def test_attributes__glacier_layer_fills_upslope_suggestion(scene):
    tmp_path, dem, polygons = scene
    # The first landform spans y = -1700..-1300 m below the origin; north is upslope.
    glaciers = write_polygons(
        tmp_path / "glaciers.gpkg", [square_wkt(ORIGIN[0] + 1500, ORIGIN[1] - 1300 + 150 + 20, 300)], layer="glims"
    )
    result = run_attributes(
        {"INPUT": str(polygons), "DEM": str(dem), "GLACIERS": str(glaciers), "OUTPUT": str(tmp_path / "c.gpkg")}
    )
    rows = read_layer(Path(result["OUTPUT"].split("|")[0]))
    assert [r["upslope_suggested"] for r in rows] == ["G", None, None]


def test_attributes__invalid_geometry_is_repaired_for_computation_and_kept_in_output(tmp_path, scene):
    _, dem, _ = scene
    x, y = ORIGIN[0] + 500, ORIGIN[1] - 500
    bowtie = f"POLYGON(({x} {y},{x + 200} {y - 200},{x + 200} {y},{x} {y - 200},{x} {y}))"
    polygons = write_polygons(tmp_path / "bad.gpkg", [bowtie])
    feedback = RecordingFeedback()
    result = run_attributes({"INPUT": str(polygons), "DEM": str(dem), "OUTPUT": str(tmp_path / "o.gpkg")}, feedback)
    rows = read_layer(Path(result["OUTPUT"].split("|")[0]))
    assert rows[0]["area_km2"] == pytest.approx(0.02, rel=2e-3)
    assert rows[0]["_wkt"].startswith("MULTIPOLYGON") and "600700 5199300" in rows[0]["_wkt"]
    assert any("invalid geometry" in w for w in feedback.warnings)


def test_attributes__empty_layer_gives_an_empty_output_and_a_warning_as_qgis_does(tmp_path, scene):
    _, dem, _ = scene
    empty = write_polygons(tmp_path / "empty.gpkg", [])
    feedback = RecordingFeedback()
    result = run_attributes({"INPUT": str(empty), "DEM": str(dem), "OUTPUT": str(tmp_path / "o.gpkg")}, feedback)
    layer = QgsVectorLayer(result["OUTPUT"], "out", "ogr")
    assert layer.isValid() and layer.featureCount() == 0
    assert {"rg_id", "area_km2", "slope_mean_deg"} <= set(layer.fields().names())
    assert any("no features" in w for w in feedback.warnings)


def test_attributes__dem_without_crs_gets_a_clear_error(tmp_path, scene):
    _, _, polygons = scene
    no_crs = write_raster(tmp_path / "nocrs.tif", np.zeros((10, 10)), (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10), epsg=None)
    with pytest.raises(QgsProcessingException, match="has no CRS"):
        run_attributes({"INPUT": str(polygons), "DEM": str(no_crs), "OUTPUT": str(tmp_path / "o.gpkg")})


def test_attributes__bad_id_prefix_gets_a_clear_error(scene):
    tmp_path, dem, polygons = scene
    with pytest.raises(QgsProcessingException, match="ID_PREFIX='1 x' is not usable"):
        run_attributes({"INPUT": str(polygons), "DEM": str(dem), "ID_PREFIX": "1 x", "OUTPUT": str(tmp_path / "o.gpkg")})


def test_attributes__cancelled_run_writes_no_output(scene):
    tmp_path, dem, polygons = scene
    feedback = QgsProcessingFeedback()
    feedback.cancel()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run_attributes({"INPUT": str(polygons), "DEM": str(dem), "OUTPUT": str(tmp_path / "cancelled.gpkg")}, feedback)
    assert not (tmp_path / "cancelled.gpkg").exists()


def test_attributes__input_field_with_wrong_type_is_converted_and_reported(tmp_path, scene):
    _, dem, _ = scene
    polygons = write_polygons(
        tmp_path / "typed.gpkg", [square_wkt(ORIGIN[0] + 500, ORIGIN[1] - 500, 100)], attributes={"area_km2": ["big"]}
    )
    feedback = RecordingFeedback()
    result = run_attributes({"INPUT": str(polygons), "DEM": str(dem), "OUTPUT": str(tmp_path / "o.gpkg")}, feedback)
    layer = QgsVectorLayer(result["OUTPUT"], "out", "ogr")
    assert layer.fields().field("area_km2").typeName().lower() in ("real", "double")
    assert next(layer.getFeatures())["area_km2"] == pytest.approx(0.01, rel=2e-3)
    assert any("Field 'area_km2' was" in w for w in feedback.warnings)


def test_attributes__memory_output_works_for_model_builder_chains(scene):
    _, dem, polygons = scene
    result = run_attributes({"INPUT": str(polygons), "DEM": str(dem), "OUTPUT": "TEMPORARY_OUTPUT"})
    layer = result["OUTPUT"]
    assert isinstance(layer, QgsVectorLayer) and layer.featureCount() == 3
    chained = processing.run(
        "native:extractbyexpression", {"INPUT": layer, "EXPRESSION": '"slope_mean_deg" > 19', "OUTPUT": "TEMPORARY_OUTPUT"}
    )["OUTPUT"]
    assert chained.featureCount() == 2
