"""The whole workflow of `make demo` on a smaller scene from the same seeded generator, with every
reported number checked against the generator's truth; then the result algorithms through qgis_process."""

import csv
import math
import shutil

import processing
import pytest
from osgeo import ogr
from qgis.core import QgsVectorLayer

from benchmarks.demo_scene import INCIDENCE_DEG, LOS_AZIMUTH_DEG, PAIR_NAME, write_demo_scene
from tests.builders import read_layer
from tests.conftest import require_module
from tests.qgis.test_qgis_process import qgis_process
from tests.rgik_reader import check_rgik_export


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workflow")
    truth = write_demo_scene(folder, size_px=700, n_lobes=8, seed=11)
    return folder, truth


def _csv(path):
    with open(path, newline="") as handle:
        return {row["class"]: row for row in csv.DictReader(handle)}


def _shifted_outlines(folder, shift_m, keep):
    """Candidates: the first ``keep`` true outlines shifted east, and one false polygon."""
    source = ogr.Open(str(folder / "outlines.gpkg"))
    layer = source.GetLayerByName("rock_glaciers")
    out = ogr.GetDriverByName("GPKG").CreateDataSource(str(folder / "candidates.gpkg"))
    target = out.CreateLayer("rock_glaciers", layer.GetSpatialRef(), ogr.wkbMultiPolygon)
    target.CreateField(ogr.FieldDefn("rg_id", ogr.OFTString))
    ious = []
    for index, feature in enumerate(layer):
        if index >= keep:
            break
        geometry = feature.GetGeometryRef().Clone()
        moved = ogr.CreateGeometryFromWkt(geometry.ExportToWkt())
        for p in range(moved.GetGeometryCount()):
            ring = moved.GetGeometryRef(p).GetGeometryRef(0)
            for v in range(ring.GetPointCount()):
                x, y = ring.GetX(v), ring.GetY(v)
                ring.SetPoint_2D(v, x + shift_m, y)
        inter = geometry.Intersection(moved).GetArea()
        ious.append(inter / (geometry.GetArea() + moved.GetArea() - inter))
        new = ogr.Feature(target.GetLayerDefn())
        new.SetField("rg_id", f"cand{index}")
        new.SetGeometry(moved)
        target.CreateFeature(new)
    x0, _, y0, _ = layer.GetExtent()
    false = ogr.Feature(target.GetLayerDefn())
    false.SetField("rg_id", "false")
    false.SetGeometry(
        ogr.ForceToMultiPolygon(
            ogr.CreateGeometryFromWkt(
                f"POLYGON(({x0 - 2000} {y0 - 2000},{x0 - 1800} {y0 - 2000},{x0 - 1800} {y0 - 1800},{x0 - 2000} "
                f"{y0 - 1800},{x0 - 2000} {y0 - 2000}))"
            )
        )
    )
    target.CreateFeature(false)
    out = None
    return ious


@pytest.mark.slow
def test_workflow__attributes_velocities_report_evaluation_and_export_agree_with_the_generator(scene):
    require_module("scipy")
    require_module("matplotlib")
    folder, truth = scene
    n = len(truth)
    processing.run(
        "rockglacier:attributes",
        {
            "INPUT": str(folder / "outlines.gpkg"),
            "DEM": str(folder / "dem.tif"),
            "GLACIERS": str(folder / "glaciers.gpkg"),
            "OUTPUT": str(folder / "attributes.gpkg"),
        },
    )
    attributes = read_layer(folder / "attributes.gpkg", "rock_glaciers")
    for row in attributes:  # the connection rule finds the generator's glaciers
        expected = truth[row["rg_id"]]["upslope_con"]
        assert row["upslope_suggested"] == (expected if expected in ("G", "GF") else None), row["rg_id"]
    processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": f"{folder / 'attributes.gpkg'}|layername=rock_glaciers",
            "UNWRAPPED": [str(folder / f"{PAIR_NAME}_unw.tif")],
            "COHERENCE": [str(folder / "coherence.tif")],
            "DEM": str(folder / "dem.tif"),
            "INCIDENCE_DEG": INCIDENCE_DEG,
            "LOS_AZIMUTH_DEG": LOS_AZIMUTH_DEG,
            "SENSOR": 0,
            "OUTPUT": str(folder / "inventory.gpkg"),
            "VELOCITY_DOWNSLOPE": str(folder / "v_dslp.tif"),
        },
    )
    inventory = read_layer(folder / "inventory.gpkg", "rock_glaciers")
    moving = [row for row in inventory if row["vel_ok"] == 1]
    assert len(moving) >= n // 3
    for row in moving:
        true_speed = truth[row["rg_id"]]["speed_cm_per_yr"]
        assert abs(row["vel_dslp_cm_yr"] - true_speed) <= 2.5 * row["vel_err_cm_yr"] + 0.1 * true_speed, row

    inventory_uri = f"{folder / 'inventory.gpkg'}|layername=rock_glaciers"
    processing.run(
        "rockglacier:report",
        {
            "INPUT": inventory_uri,
            "OUTPUT": str(folder / "report" / "report.html"),
            "CLASS_TABLE": str(folder / "t2.csv"),
            "VELOCITY_TABLE": str(folder / "t3.csv"),
        },
    )
    table2, table3 = _csv(folder / "t2.csv"), _csv(folder / "t3.csv")
    for code in ("G", "GF", "DMS", "T"):
        assert int(table2[code]["count"]) == sum(1 for t in truth.values() if t["upslope_con"] == code)
    # ellipsoidal areas against the planimetric UTM areas of the truth (UTM scale error < 0.2 % here)
    assert float(table2["all"]["area_km2_total"]) == pytest.approx(sum(t["area_km2"] for t in truth.values()), rel=2e-3)
    assert int(table3["all"]["count_with_velocity"]) == len(moving)
    measured_mean = sum(r["vel_dslp_cm_yr"] for r in moving) / len(moving)
    true_mean = sum(truth[r["rg_id"]]["speed_cm_per_yr"] for r in moving) / len(moving)
    assert float(table3["all"]["vel_mean_cm_yr"]) == pytest.approx(measured_mean)
    assert measured_mean == pytest.approx(true_mean, rel=0.15)

    ious = _shifted_outlines(folder, 40.0, keep=5)
    result = processing.run(
        "rockglacier:evaluate",
        {
            "CANDIDATES": str(folder / "candidates.gpkg"),
            "REFERENCE": str(folder / "outlines.gpkg"),
            "OUTPUT": str(folder / "evaluated.gpkg"),
        },
    )
    assert (result["TP"], result["FP"], result["FN"]) == (5, 1, n - 5)
    evaluated = read_layer(folder / "evaluated.gpkg")
    assert [r["eval_iou"] for r in evaluated[:5]] == pytest.approx(ious, rel=1e-3)

    processing.run(
        "rockglacier:rgikexport",
        {"INPUT": inventory_uri, "VELOCITY_RASTERS": [str(folder / "v_dslp.tif")], "OUTPUT": str(folder / "rgik.gpkg")},
    )
    rows, problems = check_rgik_export({short: str(folder / "rgik.gpkg") for short in ("PM", "MA", "GO")})
    assert problems == []  # the demo inventory's export is valid by the reader written from docs/rgik.md ...
    for name in ("primary_markers", "moving_areas", "geomorphological_outlines"):  # ... and opens in QGIS, styled
        layer = QgsVectorLayer(f"{folder / 'rgik.gpkg'}|layername={name}", name, "ogr")
        assert layer.isValid() and layer.renderer().type() == "categorizedSymbol"
    markers = {m["WorkingID"]: m for m in read_layer(folder / "rgik.gpkg", "primary_markers")}
    words = {"G": "Glacier", "GF": "Glacier forefield", "DMS": "Debris-mantled slope", "T": "Talus"}
    assert {k: m["Upsl.Con."] for k, m in markers.items()} == {k: words[t["upslope_con"]] for k, t in truth.items()}
    moving_areas = read_layer(folder / "rgik.gpkg", "moving_areas")
    assert moving_areas and all(math.isfinite(a["Area_km2"]) for a in moving_areas)
    assert {a["Kin.Period"] for a in moving_areas} == {"2007-07-16/2007-08-31"}


@pytest.mark.slow
def test_qgis_process__report_evaluate_and_rgikexport_from_the_command_line(scene, tmp_path):
    folder, truth = scene
    for name in ("outlines.gpkg",):
        shutil.copy(folder / name, tmp_path / name)
    completed = qgis_process(
        "run", "rockglacier:report", "--", "INPUT=outlines.gpkg", "OUTPUT=report.html", "CLASS_TABLE=t2.csv", cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert int(_csv(tmp_path / "t2.csv")["all"]["count"]) == len(truth)
    completed = qgis_process(
        "run",
        "rockglacier:evaluate",
        "--",
        "CANDIDATES=outlines.gpkg",
        "REFERENCE=outlines.gpkg",
        "OUTPUT=evaluated.gpkg",
        "SUMMARY=summary.csv",
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with open(tmp_path / "summary.csv", newline="") as handle:
        summary = next(csv.DictReader(handle))
    assert (summary["tp"], summary["fp"], summary["fn"], float(summary["f1"])) == (str(len(truth)), "0", "0", 1.0)
    completed = qgis_process(
        "run", "rockglacier:rgikexport", "--", "INPUT=outlines.gpkg", "LAYOUT=1", "OUTPUT=rgik.gpkg", cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    rows, problems = check_rgik_export({short: str(tmp_path / f"rgik_{short}.gpkg") for short in ("PM", "MA", "GO")})
    assert problems == [] and len(rows["PM"]) == len(truth) and not (tmp_path / "rgik.gpkg").exists()
