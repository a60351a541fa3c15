"""Every output of every algorithm under the file names users give: dots ('kaiserberg.2024.gpkg'), spaces, non-ASCII,
a folder that does not exist yet; a shapefile destination refused before any work, with what to give instead; a failed
segment run leaves no raster that looks finished.

QGIS's own ``ogr:dbname=… table=…`` destination takes the driver from everything after the file name's first dot
(issue #39: "OGR driver for '' not found"), so each file here is opened back with GDAL and its layer read."""

import os

import processing
import pytest
from osgeo import gdal, ogr
from qgis.core import QgsProcessingException

from benchmarks.demo_scene import INCIDENCE_DEG, LOS_AZIMUTH_DEG, PAIR_NAME, write_demo_scene
from tests.builders import read_layer
from tests.conftest import require_module
from tests.qgis.test_qgis_process import qgis_process

ODD_FOLDER = "new folder.v2 Kaiserjäger"  # made by the algorithms


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("names")
    truth = write_demo_scene(folder, size_px=400, n_lobes=4, seed=5)
    return folder, truth


def _layers(path):
    dataset = ogr.Open(str(path))
    assert dataset is not None, f"{path} does not open"
    return {dataset.GetLayer(i).GetName(): dataset.GetLayer(i).GetFeatureCount() for i in range(dataset.GetLayerCount())}


def _raster_ok(path):
    dataset = gdal.Open(str(path))
    return dataset is not None and dataset.RasterXSize > 0


@pytest.mark.slow
def test_every_output__written_under_names_with_dots_spaces_and_non_ascii_in_a_new_folder(scene):
    require_module("onnxruntime")
    require_module("scipy")
    require_module("matplotlib")
    folder, truth = scene
    out = folder / ODD_FOLDER
    dem, image = str(folder / "dem.tif"), str(folder / "image.tif")

    result = processing.run(
        "rockglacier:segment",
        {
            "INPUT": image,
            "MIN_AREA_KM2": 0.0,
            "PROBABILITY": str(out / "prob.2024.tif"),
            "MASK": str(out / "mask t0.5.tif"),
            "OUTPUT": str(out / "kaiserberg.2024.gpkg"),
        },
    )
    assert "rock_glaciers" in _layers(out / "kaiserberg.2024.gpkg")
    assert _raster_ok(out / "prob.2024.tif") and _raster_ok(out / "mask t0.5.tif")
    assert result["OUTPUT"].startswith(str(out / "kaiserberg.2024.gpkg"))

    processing.run(
        "rockglacier:attributes",
        {
            "INPUT": str(folder / "outlines.gpkg"),
            "DEM": dem,
            "GLACIERS": str(folder / "glaciers.gpkg"),
            "OUTPUT": str(out / "attr.v2.gpkg"),
        },
    )
    assert _layers(out / "attr.v2.gpkg")["rock_glaciers"] == len(truth)
    assert all(row["elev_mean_m"] is not None for row in read_layer(out / "attr.v2.gpkg", "rock_glaciers"))

    inventory = out / "Inventar Ötztal.2024.gpkg"
    processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": f"{out / 'attr.v2.gpkg'}|layername=rock_glaciers",
            "UNWRAPPED": [str(folder / f"{PAIR_NAME}_unw.tif")],
            "COHERENCE": [str(folder / "coherence.tif")],
            "DEM": dem,
            "INCIDENCE_DEG": INCIDENCE_DEG,
            "LOS_AZIMUTH_DEG": LOS_AZIMUTH_DEG,
            "SENSOR": 0,
            "OUTPUT": str(inventory),
            "REFERENCE_POINTS_OUTPUT": str(inventory),
            "VELOCITY_PAIRS": str(inventory),
            "VELOCITY_DOWNSLOPE": str(out / "v.dslp.tif"),
            "VELOCITY_LOS": str(out / "v.los.tif"),
        },
    )
    layers = _layers(inventory)
    assert layers["rock_glaciers"] == len(truth) and "velocity_pairs" in layers and "reference_points" in layers
    assert _raster_ok(out / "v.dslp.tif") and _raster_ok(out / "v.los.tif")

    inventory_uri = f"{inventory}|layername=rock_glaciers"
    processing.run(
        "rockglacier:report",
        {
            "INPUT": inventory_uri,
            "OUTPUT": str(out / "report.2024" / "report.v1.html"),
            "CLASS_TABLE": str(out / "t.2.csv"),
            "VELOCITY_TABLE": str(out / "t.3.csv"),
        },
    )
    assert (
        (out / "report.2024" / "report.v1.html").stat().st_size > 0 and (out / "t.2.csv").exists() and (out / "t.3.csv").exists()
    )

    processing.run(
        "rockglacier:evaluate",
        {
            "CANDIDATES": str(out / "kaiserberg.2024.gpkg"),
            "REFERENCE": str(folder / "outlines.gpkg"),
            "OUTPUT": str(out / "cand_t0.0002.gpkg"),
            "REFERENCE_OUTPUT": str(out / "ref.eval.gpkg"),
            "SUMMARY": str(out / "summary.v1.csv"),
        },
    )
    assert "rock_glaciers" in _layers(out / "cand_t0.0002.gpkg") and _layers(out / "ref.eval.gpkg")["rock_glaciers"] == len(truth)

    processing.run("rockglacier:rgikexport", {"INPUT": inventory_uri, "OUTPUT": str(out / "rgik.2024.gpkg")})
    assert {"primary_markers", "moving_areas", "geomorphological_outlines"} <= set(_layers(out / "rgik.2024.gpkg"))
    processing.run(
        "rockglacier:rgvexport",
        {
            "INPUT": inventory_uri,
            "VELOCITY_PAIRS": f"{inventory}|layername=velocity_pairs",
            "OUTPUT": str(out / "rgv.2024.gpkg"),
            "LEFT_OUT": str(out / "rgv.left out.gpkg"),
        },
    )
    assert _layers(out / "rgv.2024.gpkg") and _layers(out / "rgv.left out.gpkg")

    processing.run(
        "rockglacier:movingareas",
        {
            "UNWRAPPED": [str(folder / f"{PAIR_NAME}_unw.tif")],
            "COHERENCE": [str(folder / "coherence.tif")],
            "DEM": dem,
            "INCIDENCE_DEG": INCIDENCE_DEG,
            "LOS_AZIMUTH_DEG": LOS_AZIMUTH_DEG,
            "SENSOR": 0,
            "OUTPUT": str(out / "insar.cand.gpkg"),
            "VELOCITY_CLASS": str(out / "classes.v1.tif"),
        },
    )
    assert "rock_glaciers" in _layers(out / "insar.cand.gpkg") and _raster_ok(out / "classes.v1.tif")

    processing.run(
        "rockglacier:trainingpatches",
        {"IMAGERY": image, "INPUT": str(folder / "outlines.gpkg"), "OUTPUT_FOLDER": str(out / "patches.v1")},
    )
    assert any(name.endswith(".tif") for _, _, names in os.walk(out / "patches.v1") for name in names)


def test_qgis_process__segment_writes_a_dotted_geopackage_name(scene, tmp_path):
    """The issue's own line: qgis_process, OUTPUT=kaiserberg.2024.gpkg in a folder that does not exist yet."""
    folder, _ = scene
    completed = qgis_process(
        "run",
        "rockglacier:segment",
        "--",
        f"INPUT={folder / 'image.tif'}",
        "MIN_AREA_KM2=0",
        "PROBABILITY=run.1/prob.2024.tif",
        "MASK=run.1/mask.2024.tif",
        "OUTPUT=run.1/kaiserberg.2024.gpkg",
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "rock_glaciers" in _layers(tmp_path / "run.1" / "kaiserberg.2024.gpkg")


def test_shapefile_destination__refused_before_any_work_with_the_geopackage_to_give(scene, tmp_path):
    folder, _ = scene
    with pytest.raises(QgsProcessingException, match=r"shapefiles cut field names to 10 characters.*OUTPUT=.*attr\.gpkg"):
        processing.run(
            "rockglacier:attributes",
            {"INPUT": str(folder / "outlines.gpkg"), "DEM": str(folder / "dem.tif"), "OUTPUT": str(tmp_path / "attr.shp")},
        )
    assert not list(tmp_path.iterdir())


def test_segment__a_failed_run_removes_the_rasters_it_started(scene, tmp_path):
    """OUTPUT that cannot be written (a folder holds its name) fails the run after the model: no probability or mask is
    left that looks finished."""
    require_module("onnxruntime")
    folder, _ = scene
    (tmp_path / "candidates.gpkg").mkdir()
    with pytest.raises(QgsProcessingException, match="Could not write layer 'rock_glaciers'"):
        processing.run(
            "rockglacier:segment",
            {
                "INPUT": str(folder / "image.tif"),
                "PROBABILITY": str(tmp_path / "prob.tif"),
                "MASK": str(tmp_path / "mask.tif"),
                "OUTPUT": str(tmp_path / "candidates.gpkg"),
            },
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidates.gpkg"]


def test_qgis_process__tables_without_geometry_are_written_without_gdal_errors(scene, tmp_path):
    """The velocity pairs and the RGV series are tables: the demo printed GDAL's "ERROR 1: No geometry column" for them
    in steps that succeeded."""
    folder, _ = scene
    inventory = tmp_path / "inv.2024.gpkg"
    steps = [
        (
            "rockglacier:insarvelocity",
            f"INPUT={folder / 'outlines.gpkg'}",
            f"UNWRAPPED={folder / (PAIR_NAME + '_unw.tif')}",
            f"COHERENCE={folder / 'coherence.tif'}",
            f"DEM={folder / 'dem.tif'}",
            f"INCIDENCE_DEG={INCIDENCE_DEG}",
            f"LOS_AZIMUTH_DEG={LOS_AZIMUTH_DEG}",
            "SENSOR=0",
            f"OUTPUT={inventory}",
            f"VELOCITY_PAIRS={inventory}",
        ),
        (
            "rockglacier:rgvexport",
            f"INPUT={inventory}|layername=rock_glaciers",
            f"VELOCITY_PAIRS={inventory}|layername=velocity_pairs",
            f"OUTPUT={tmp_path / 'rgv.v1.gpkg'}",
            f"LEFT_OUT={tmp_path / 'rgv.left.gpkg'}",
        ),
    ]
    for algorithm, *arguments in steps:
        completed = qgis_process("run", algorithm, "--", *arguments, cwd=tmp_path)
        assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
        assert "ERROR 1" not in completed.stdout + completed.stderr, (algorithm, completed.stderr[-2000:])
    assert "velocity_pairs" in _layers(inventory) and _layers(tmp_path / "rgv.v1.gpkg")
