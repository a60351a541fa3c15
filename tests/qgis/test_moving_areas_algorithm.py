"""``rockglacier:movingareas`` through qgis_process and processing.run, on interferograms and on a LOS
velocity product made from the same scene (oracle: the generator's landforms; the two routes must
find the same landforms), scored by ``rockglacier:evaluate`` and filtered as the dock filters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import processing
import pytest
from osgeo import gdal, ogr

from rockglacier_plugin.core.insar.phase import phase_to_cm_per_yr_factor
from rockglacier_plugin.core.inventory.review import keeps
from tests.builders import read_layer, write_polygons, write_raster
from tests.insar_builders import ALOS_WAVELENGTH_M, EPSG, REFERENCE_DATE, SECONDARY_DATE
from tests.qgis.test_qgis_process import qgis_process
from tests.steep_builders import steep_valley_scene

GEOMETRY_ARGS = ("INCIDENCE_DEG=38.7", "LOS_AZIMUTH_DEG=102")


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("moving")
    built = steep_valley_scene(folder, seed=1)
    write_polygons(
        folder / "truth.gpkg",
        built.landforms_wkt,
        epsg=EPSG,
        attributes={"rg_id": [f"rg{i:03d}" for i in range(len(built.landforms_wkt))]},
    )
    return built


def _found(path: Path, landforms_wkt: list[str]) -> list[bool]:
    candidates = [ogr.CreateGeometryFromWkt(row["_wkt"]) for row in read_layer(path, "rock_glaciers")]
    return [any(c.Intersects(ogr.CreateGeometryFromWkt(w)) for c in candidates) for w in landforms_wkt]


def test_qgis_process__interferogram_gives_reviewable_candidates_and_a_class_raster(scene):
    folder = Path(scene.dem).parent
    completed = qgis_process(
        "run",
        "rockglacier:movingareas",
        "--",
        f"UNWRAPPED={Path(scene.unwrapped).name}",
        "COHERENCE=coherence.tif",
        "DEM=dem.tif",
        *GEOMETRY_ARGS,
        "SENSOR=0",
        "OUTPUT=candidates.gpkg",
        "VELOCITY_CLASS=classes.tif",
        cwd=folder,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "Traceback" not in output
    rows = read_layer(folder / "candidates.gpkg", "rock_glaciers")
    found = _found(folder / "candidates.gpkg", scene.landforms_wkt)
    good = [f for f, g in zip(found, scene.good) if g]
    assert sum(good) >= 0.8 * len(good) and len(good) >= 3
    assert len(rows) == sum(found)  # every candidate is a landform: no false candidate on this scene
    for row in rows:
        assert row["source"] == "insar" and row["review"] == "candidate" and row["rg_id"].startswith("ma")
        assert row["kin_class"] in ("10-30 cm/yr", "30-100 cm/yr", "100-300 cm/yr", "undefined")
        assert row["vel_pair"] == "20070716-20070831" and row["area_km2"] > 0.01
    classes = gdal.Open(str(folder / "classes.tif"))
    assert "<Category>10-30 cm/yr</Category>" in (folder / "classes.tif.aux.xml").read_text()  # class names, for QGIS's legend
    assert set(np.unique(classes.ReadAsArray())) - {0} <= {4, 5, 6, 7}
    # the dock's source filter shows them as InSAR candidates
    assert all(keeps(row, "not yet reviewed", "insar") for row in rows)
    assert not any(keeps(row, "all", "deep_learning") for row in rows)


def test_qgis_process__a_los_velocity_product_in_mm_per_year_finds_the_same_landforms(scene):
    folder = Path(scene.dem).parent
    dataset = gdal.Open(str(scene.unwrapped))
    factor = phase_to_cm_per_yr_factor(ALOS_WAVELENGTH_M, REFERENCE_DATE, SECONDARY_DATE)
    velocity_mm = 10.0 * factor * dataset.ReadAsArray().astype(np.float64)
    product = write_raster(folder / "velocity_20070716_20070831.tif", velocity_mm, dataset.GetGeoTransform(), epsg=EPSG)
    tagged = gdal.Open(str(product), gdal.GA_Update)
    tagged.GetRasterBand(1).SetUnitType("mm/yr")
    tagged = None
    common = ("COHERENCE=coherence.tif", "DEM=dem.tif", *GEOMETRY_ARGS)
    assert (
        qgis_process(
            "run",
            "rockglacier:movingareas",
            "--",
            f"UNWRAPPED={Path(scene.unwrapped).name}",
            *common,
            "SENSOR=0",
            "OUTPUT=from_phase.gpkg",
            cwd=folder,
        ).returncode
        == 0
    )
    completed = qgis_process(
        "run",
        "rockglacier:movingareas",
        "--",
        f"LOS_VELOCITY={product.name}",
        *common,
        "VELOCITY_REMOVE_RAMP=true",
        "OUTPUT=from_product.gpkg",
        cwd=folder,
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-3000:]
    from_phase = _found(folder / "from_phase.gpkg", scene.landforms_wkt)
    from_product = _found(folder / "from_product.gpkg", scene.landforms_wkt)
    assert sum(from_product) >= 3
    assert sum(a == b for a, b in zip(from_phase, from_product)) >= len(from_phase) - 1


def test_processing_run__inventory_matches_ids_and_evaluate_scores_the_candidates(scene, tmp_path):
    folder = Path(scene.dem).parent
    result = processing.run(
        "rockglacier:movingareas",
        {
            "INPUT": str(folder / "truth.gpkg"),
            "UNWRAPPED": [str(scene.unwrapped)],
            "COHERENCE": [str(scene.coherence)],
            "DEM": str(scene.dem),
            "INCIDENCE_DEG": 38.7,
            "LOS_AZIMUTH_DEG": 102.0,
            "SENSOR": 0,
            "ID_PREFIX": "rg",
            "OUTPUT": str(tmp_path / "matched.gpkg"),
        },
    )
    rows = read_layer(result["OUTPUT"].split("|")[0], "rock_glaciers")
    assert rows and all(row["match_rg_id"] for row in rows)
    assert all(int(row["rg_id"][2:]) >= len(scene.landforms_wkt) for row in rows)  # ids continue after the inventory's
    evaluated = processing.run(
        "rockglacier:evaluate",
        {
            "CANDIDATES": result["OUTPUT"],
            "REFERENCE": str(folder / "truth.gpkg"),
            "MIN_IOU": 0.05,
            "OUTPUT": str(tmp_path / "evaluated.gpkg"),
            "SUMMARY": str(tmp_path / "summary.csv"),
        },
    )
    summary = (tmp_path / "summary.csv").read_text()
    assert evaluated["OUTPUT"] and "recall" in summary.lower()


def test_processing_run__wrong_slope_range_is_refused_with_a_message(scene, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="MAX_SLOPE_DEG"):
        processing.run(
            "rockglacier:movingareas",
            {
                "UNWRAPPED": [str(scene.unwrapped)],
                "COHERENCE": [str(scene.coherence)],
                "DEM": str(scene.dem),
                "INCIDENCE_DEG": 38.7,
                "LOS_AZIMUTH_DEG": 102.0,
                "SENSOR": 0,
                "MIN_SLOPE_DEG": 30.0,
                "MAX_SLOPE_DEG": 20.0,
                "OUTPUT": str(tmp_path / "x.gpkg"),
            },
        )
