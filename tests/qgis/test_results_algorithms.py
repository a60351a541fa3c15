"""rockglacier:report, rockglacier:evaluate and rockglacier:rgikexport through Processing, checked
against independent computations, and outputs that open styled."""

import csv
import sqlite3
from contextlib import closing

import numpy as np
import processing
import pytest
from osgeo import gdal
from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsProcessingException,
    QgsRuleBasedRenderer,
    QgsVectorLayer,
)

from rockglacier_plugin.core.inventory.rgik_export import output_paths
from tests.builders import plane_dem, read_layer, square_wkt, write_polygons, write_raster
from tests.conftest import require_module
from tests.rgik_reader import check_rgik_export

X0, Y0 = 600000.0, 5200000.0
CLASSES = ["G", "G", "DMS", "T", None, "GF", "DMS", "G"]


@pytest.fixture
def inventory(tmp_path):
    rng = np.random.default_rng(5)
    n = len(CLASSES)
    attributes = {
        "rg_id": [f"rg{i:03d}" for i in range(n)],
        "upslope_con": CLASSES,
        "review": ["accepted", "modified", "accepted", "rejected", "accepted", "accepted", "candidate", "accepted"],
        "source": ["deep_learning"] * n,
        "elev_mean_m": [float(v) for v in rng.normal(5000, 200, n)],
        "slope_mean_deg": [float(v) for v in rng.uniform(8, 30, n)],
        "area_km2": [0.04] * n,
        "aspect_deg": [float(v) for v in rng.uniform(0, 360, n)],
        "vel_dslp_cm_yr": [float(v) for v in rng.uniform(5, 90, n)],
        "vel_err_cm_yr": [float(v) for v in rng.uniform(1, 5, n)],
        "vel_ok": ["1", "1", "0", "1", "1", "1", "1", "0"],
    }
    wkts = [square_wkt(X0 + 500 * i, Y0, 200) for i in range(n)]
    return write_polygons(tmp_path / "inventory.gpkg", wkts, attributes=attributes), attributes


def _csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_report__default_filter_leaves_out_rejected_and_tables_match_pandas(inventory, tmp_path):
    pandas = require_module("pandas")
    path, attributes = inventory
    result = processing.run(
        "rockglacier:report",
        {
            "INPUT": str(path),
            "OUTPUT": str(tmp_path / "r.html"),
            "CLASS_TABLE": str(tmp_path / "t2.csv"),
            "VELOCITY_TABLE": str(tmp_path / "t3.csv"),
        },
    )
    frame = pandas.DataFrame(attributes)
    kept = frame[frame["review"] != "rejected"]
    table2 = {row["class"]: row for row in _csv(result["CLASS_TABLE"])}
    assert list(table2) == ["G", "GF", "DMS", "T", "all"]
    assert int(table2["T"]["count"]) == 0 and int(table2["all"]["count"]) == len(kept) == 7
    g = kept[kept["upslope_con"] == "G"]
    assert float(table2["G"]["elev_mean_m_sd"]) == pytest.approx(g["elev_mean_m"].std(ddof=1))
    moving = kept[kept["vel_ok"] == "1"]
    table3 = {row["class"]: row for row in _csv(result["VELOCITY_TABLE"])}
    assert int(table3["all"]["count_with_velocity"]) == len(moving)
    assert float(table3["all"]["vel_median_cm_yr"]) == pytest.approx(moving["vel_dslp_cm_yr"].median())
    fastest = moving.loc[moving["vel_dslp_cm_yr"].idxmax()]
    assert float(table3["all"]["vel_max_err_cm_yr"]) == pytest.approx(fastest["vel_err_cm_yr"])
    page = (tmp_path / "r.html").read_text()
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById("rockglacier:report")
    assert algorithm.outputDefinition("OUTPUT").type() == "outputHtml"  # shown in QGIS's Results Viewer
    assert "7 of 8" in page and all((tmp_path / f"r_{name}.png").exists() for name in ("map", "altitude", "aspect", "velocity"))


def test_report__a_filter_on_a_missing_field_is_refused_with_the_fields_listed(inventory, tmp_path):
    path, _ = inventory
    with pytest.raises(QgsProcessingException, match="does not have.*rg_id"):
        processing.run(
            "rockglacier:report", {"INPUT": str(path), "FILTER": "\"activty\" = 'active'", "OUTPUT": str(tmp_path / "r.html")}
        )


def test_evaluate__counts_and_pixel_iou_agree_with_hand_computation(tmp_path):
    require_module("scipy")
    references = [square_wkt(X0, Y0, 200), square_wkt(X0 + 1000, Y0, 200), square_wkt(X0 + 3000, Y0, 200)]
    candidates = [square_wkt(X0 + 20, Y0, 200), square_wkt(X0 + 1000, Y0 + 150, 200), square_wkt(X0 + 6000, Y0, 100)]
    cand = write_polygons(
        tmp_path / "cand.gpkg",
        candidates,
        attributes={"rg_id": ["c1", "c2", "c3"], "review": ["accepted", "rejected", None], "match_rg_id": ["r1", None, None]},
    )
    ref = write_polygons(tmp_path / "ref.gpkg", references, epsg=32632, attributes={"rg_id": ["r1", "r2", "r3"]})
    mask = np.zeros((100, 800), dtype=np.uint8)  # 10 m pixels from (X0 - 500, Y0 + 500)
    mask[40:60, 42:62] = 1  # candidate c1's square, 20 x 20 px, shifted 2 px east of r1
    raster = write_raster(tmp_path / "mask.tif", mask, (X0 - 500, 10.0, 0, Y0 + 500, 0, -10.0), epsg=32632, dtype=gdal.GDT_Byte)
    result = processing.run(
        "rockglacier:evaluate",
        {
            "CANDIDATES": str(cand),
            "REFERENCE": str(ref),
            "MAPPED_RASTER": str(raster),
            "OUTPUT": str(tmp_path / "eval.gpkg"),
            "REFERENCE_OUTPUT": str(tmp_path / "ref_eval.gpkg"),
            "SUMMARY": str(tmp_path / "summary.csv"),
        },
    )
    assert (result["TP"], result["FP"], result["FN"]) == (1, 2, 2)
    rows = read_layer(result["OUTPUT"].split("|")[0])
    assert [(r["rg_id"], r["eval_status"], r["eval_match_id"]) for r in rows] == [
        ("c1", "TP", "r1"),
        ("c2", "FP", None),
        ("c3", "FP", None),
    ]
    assert rows[0]["eval_iou"] == pytest.approx(180 * 200 / (80000 - 180 * 200), rel=1e-6)
    assert rows[1]["eval_iou"] == pytest.approx(50 * 200 / (80000 - 50 * 200), rel=1e-6)  # the near miss is shown
    assert [r["eval_status"] for r in read_layer(tmp_path / "ref_eval.gpkg")] == ["matched", "missed", "missed"]
    summary = _csv(tmp_path / "summary.csv")[0]
    # pixels: mapped 400, reference r1+r2+r3 = 1200, overlap 18 x 20 = 360
    assert float(summary["pixel_iou"]) == pytest.approx(360 / (400 + 1200 - 360))
    assert (summary["matching_existing"], summary["new"], summary["rejected"], summary["not_yet_reviewed"]) == (
        "1",
        "2",
        "1",
        "1",
    )


def test_rgikexport__writes_markers_outlines_and_moving_areas_from_a_velocity_raster(inventory, tmp_path):
    path, attributes = inventory
    velocity = np.zeros((60, 60), dtype=np.float32)
    velocity[10:40, 5:35] = 40.0  # 0.09 km2 in class 30-100 cm/yr over rg000 (less 4 corner pixels: median filter)
    velocity[45:55, 45:55] = 40.0  # touches no landform: not a moving area of the inventory
    raster = write_raster(
        tmp_path / "v.tif", velocity, (X0, 10.0, 0, Y0 + 300, 0, -10.0), epsg=32632, nodata=-9999.0, unit="cm/yr"
    )
    result = processing.run(
        "rockglacier:rgikexport", {"INPUT": str(path), "VELOCITY_RASTERS": [str(raster)], "OUTPUT": str(tmp_path / "rgik.gpkg")}
    )
    rows, problems = check_rgik_export(output_paths(result["OUTPUT"], "single"))  # the independent reader of docs/rgik.md
    assert problems == []
    markers = rows["PM"]
    assert len(markers) == 7 and "rg003" not in [m["WorkingID"] for m in markers]  # rg003 was rejected
    by_id = {m["WorkingID"]: m for m in markers}
    assert by_id["rg000"]["Upsl.Con."] == "Glacier" and by_id["rg002"]["Kin.Att."] == "Undefined"  # vel_ok 0
    assert [(m["Vel.Class"], m["Vel.Label"], round(m["Area_km2"], 6)) for m in rows["MA"]] == [(5, "dm/y to m/y", 0.0896)]
    with closing(sqlite3.connect(result["OUTPUT"])) as connection:  # (sqlite3's own "with" does not close)
        styled = connection.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault").fetchall()
    assert sorted(styled) == [("geomorphological_outlines",), ("moving_areas",), ("primary_markers",)]
    markers_layer = QgsVectorLayer(f"{result['OUTPUT']}|layername=primary_markers", "pm", "ogr")
    assert markers_layer.isValid() and isinstance(markers_layer.renderer(), QgsCategorizedSymbolRenderer)
    assert markers_layer.renderer().classAttribute() == "Acti.Cl."


def test_attributes__the_inventory_geopackage_opens_with_the_class_style(tmp_path):
    z, gt = plane_dem(100, 10.0, (X0, Y0), 20.0, 180.0)
    dem = write_raster(tmp_path / "dem.tif", z, gt, epsg=32632, dtype=gdal.GDT_Float64)
    polygons = write_polygons(tmp_path / "rg.gpkg", [square_wkt(X0 + 500, Y0 - 500, 200)])
    processing.run("rockglacier:attributes", {"INPUT": str(polygons), "DEM": str(dem), "OUTPUT": str(tmp_path / "inv.gpkg")})
    with closing(sqlite3.connect(tmp_path / "inv.gpkg")) as connection:
        styles = connection.execute("SELECT f_table_name, useAsDefault FROM layer_styles").fetchall()
    assert styles == [("rock_glaciers", 1)]
    layer = QgsVectorLayer(f"{tmp_path / 'inv.gpkg'}|layername=rock_glaciers", "inventory", "ogr")
    assert isinstance(layer.renderer(), QgsRuleBasedRenderer)
    labels = [rule.label() for rule in layer.renderer().rootRule().children()]
    assert "DMS debris-mantled slope" in labels and "rejected" in labels
