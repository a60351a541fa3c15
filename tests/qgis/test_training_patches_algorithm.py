"""rockglacier:trainingpatches through processing.run: counts, georeferenced pairs, honest split."""

import csv

import numpy as np
import processing
import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException

from tests.builders import square_wkt, write_polygons, write_raster

ORIGIN = (400000.0, 4000000.0)


def test_training_patches__writes_pairs_and_the_split(tmp_path):
    raster = write_raster(
        tmp_path / "s2.tif",
        np.full((3, 600, 600), 90, np.float32),
        (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10),
        epsg=32644,
        dtype=gdal.GDT_Byte,
    )
    rock_glaciers = write_polygons(
        tmp_path / "rg.gpkg", [square_wkt(ORIGIN[0] + x, ORIGIN[1] - y, 300) for x, y in ((1000, 1000), (4500, 4500))], epsg=32644
    )
    result = processing.run(
        "rockglacier:trainingpatches",
        {
            "IMAGERY": str(raster),
            "INPUT": str(rock_glaciers),
            "CONTEXT_M": 400,
            "MAX_PATCH_PX": 64,
            "VALIDATION_FRACTION": 0.5,
            "SEED": 3,
            "OUTPUT_FOLDER": str(tmp_path / "patches"),
        },
    )
    with open(tmp_path / "patches" / "patches.csv") as handle:
        rows = list(csv.DictReader(handle))
    # (30 px + 2 x 40 px) = 110 px per landform -> 2 x 2 patches each
    assert result["PATCHES"] == len(rows) == 8 and result["VALIDATION_PATCHES"] == 4
    assert {r["split"] for r in rows if r["group"] == rows[0]["group"]} == {rows[0]["split"]}
    labels = sum(gdal.Open(str(tmp_path / "patches" / "labels" / f"{r['name']}.tif")).ReadAsArray().sum() for r in rows)
    assert labels == 2 * 30 * 30


def test_training_patches__polygons_outside_the_imagery_are_explained(tmp_path):
    raster = write_raster(
        tmp_path / "s2.tif",
        np.zeros((3, 50, 50), np.float32),
        (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10),
        epsg=32644,
        dtype=gdal.GDT_Byte,
    )
    far = write_polygons(tmp_path / "far.gpkg", [square_wkt(ORIGIN[0] + 90000, ORIGIN[1], 100)], epsg=32644)
    with pytest.raises(QgsProcessingException, match="No rock-glacier polygon overlaps the imagery"):
        processing.run(
            "rockglacier:trainingpatches", {"IMAGERY": str(raster), "INPUT": str(far), "OUTPUT_FOLDER": str(tmp_path / "p")}
        )


def test_trainingpatches__empty_layer_writes_nothing_and_warns(tmp_path):
    from tests.qgis.feedback import RecordingFeedback

    image = write_raster(
        tmp_path / "s2.tif", np.full((3, 50, 50), 90, np.uint8), (400000, 10, 0, 4000000, 0, -10), epsg=32644, dtype=gdal.GDT_Byte
    )
    empty = write_polygons(tmp_path / "empty.gpkg", [], epsg=32644)
    feedback = RecordingFeedback()
    result = processing.run(
        "rockglacier:trainingpatches",
        {"IMAGERY": str(image), "INPUT": str(empty), "OUTPUT_FOLDER": str(tmp_path / "patches")},
        feedback=feedback,
    )
    assert result["PATCHES"] == 0 and any("no features" in w for w in feedback.warnings)


def test_trainingpatches__a_split_that_would_leave_no_training_patch_keeps_all_for_training_and_says_what_to_change(tmp_path):
    """Two landforms whose 1,500 m contexts touch form one group: a spatially honest split cannot hold any out."""
    from tests.qgis.feedback import RecordingFeedback

    raster = write_raster(
        tmp_path / "s2.tif",
        np.full((3, 500, 500), 90, np.float32),
        (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10),
        epsg=32644,
        dtype=gdal.GDT_Byte,
    )
    rock_glaciers = write_polygons(
        tmp_path / "rg.gpkg", [square_wkt(ORIGIN[0] + x, ORIGIN[1] - 2500, 300) for x in (2000, 3000)], epsg=32644
    )
    feedback = RecordingFeedback()
    result = processing.run(
        "rockglacier:trainingpatches",
        {"IMAGERY": str(raster), "INPUT": str(rock_glaciers), "OUTPUT_FOLDER": str(tmp_path / "patches")},
        feedback=feedback,
    )
    assert result["PATCHES"] > 0 and result["VALIDATION_PATCHES"] == 0
    with open(tmp_path / "patches" / "patches.csv") as handle:
        assert {row["split"] for row in csv.DictReader(handle)} == {"train"}
    assert any("no training patch" in w and "Lower CONTEXT_M (now 1500 m" in w for w in feedback.warnings), feedback.warnings
