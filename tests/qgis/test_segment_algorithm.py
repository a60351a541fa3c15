"""rockglacier:segment through processing.run and qgis_process in a real headless QGIS."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import processing
import pytest
from osgeo import gdal
from qgis.core import (
    QgsProcessingException,
    QgsRasterLayer,
    QgsRuleBasedRenderer,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)

from tests.builders import read_layer, write_polygons, write_raster
from tests.onnx_builders import blob_image, threshold_model

UTM = (400000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0)


@pytest.fixture
def inputs(tmp_path):
    raster = write_raster(tmp_path / "scene.tif", blob_image(), UTM, epsg=32644, dtype=gdal.GDT_Byte)
    model = threshold_model(tmp_path / "threshold.onnx")
    existing = write_polygons(
        tmp_path / "inventory.gpkg",
        ["POLYGON((400600 3999400,401000 3999400,401000 3999000,400600 3999000,400600 3999400))"],
        epsg=32644,
        attributes={"rg_id": ["wkl007"]},
    )
    return tmp_path, raster, model, existing


def test_segment__writes_probability_mask_and_schema_candidates(inputs):
    tmp_path, raster, model, existing = inputs
    result = processing.run(
        "rockglacier:segment",
        {
            "INPUT": str(raster),
            "MODEL": str(model),
            "EXISTING": str(existing),
            "ID_PREFIX": "wkl",
            "TILE_SIZE_PX": 128,
            "PROBABILITY": str(tmp_path / "prob.tif"),
            "MASK": str(tmp_path / "mask.tif"),
            "OUTPUT": str(tmp_path / "candidates.gpkg"),
        },
    )
    probability = gdal.Open(result["PROBABILITY"])
    assert probability.GetGeoTransform() == UTM and probability.ReadAsArray().dtype == np.float32
    assert gdal.Open(result["MASK"]).ReadAsArray()[100, 100] == 1
    rows = sorted(read_layer(tmp_path / "candidates.gpkg", "rock_glaciers"), key=lambda r: r["area_km2"])
    assert [round(r["area_km2"], 2) for r in rows] == [0.18, 1.96]
    assert [r["match_rg_id"] for r in rows] == [None, "wkl007"]
    assert {r["source"] for r in rows} == {"deep_learning"} and {r["review"] for r in rows} == {"candidate"}
    assert {r["rg_id"] for r in rows} == {"wkl008", "wkl009"}  # continue after the existing wkl007
    assert all(r["dl_prob_mean"] > 0.99 for r in rows)
    # outputs open ready to read: the probability with its ramp, the candidates with the class style
    styled = QgsRasterLayer(result["PROBABILITY"], "probability", "gdal")
    assert isinstance(styled.renderer(), QgsSingleBandPseudoColorRenderer)
    candidates = QgsVectorLayer(f"{tmp_path / 'candidates.gpkg'}|layername=rock_glaciers", "candidates", "ogr")
    assert isinstance(candidates.renderer(), QgsRuleBasedRenderer)


def test_segment__geographic_raster_gives_metric_areas(inputs):
    tmp_path, raster, model, _ = inputs
    lonlat = tmp_path / "scene_wgs84.tif"
    gdal.Warp(str(lonlat), str(raster), dstSRS="EPSG:4326", resampleAlg="near")
    result = processing.run(
        "rockglacier:segment",
        {
            "INPUT": str(lonlat),
            "MODEL": str(model),
            "TILE_SIZE_PX": 128,
            "PROBABILITY": "TEMPORARY_OUTPUT",
            "MASK": "TEMPORARY_OUTPUT",
            "OUTPUT": "TEMPORARY_OUTPUT",
        },
    )
    areas = sorted(f["area_km2"] for f in result["OUTPUT"].getFeatures())
    assert areas == pytest.approx([0.18, 1.96], rel=0.03)


def test_segment__bands_by_description_in_a_sentinel2_like_stack(tmp_path):
    stack = np.zeros((5, 64, 64), dtype=np.float32)
    stack[3] = 200.0  # B4 (red) drives the threshold model's channel 0
    raster = write_raster(tmp_path / "s2.tif", stack, UTM, epsg=32644, dtype=gdal.GDT_Byte)
    ds = gdal.Open(str(raster), gdal.GA_Update)
    for index, name in enumerate(["B1", "B2", "B3", "B4", "B8"], start=1):
        ds.GetRasterBand(index).SetDescription(name)
    ds = None
    result = processing.run(
        "rockglacier:segment",
        {
            "INPUT": str(raster),
            "MODEL": str(threshold_model(tmp_path / "t.onnx")),
            "MIN_AREA_KM2": 0,
            "PROBABILITY": str(tmp_path / "p.tif"),
            "MASK": str(tmp_path / "m.tif"),
            "OUTPUT": "TEMPORARY_OUTPUT",
        },
    )
    assert gdal.Open(result["PROBABILITY"]).ReadAsArray().min() > 0.99  # band 4 was used for channel 0


def test_segment__missing_model_and_bad_bands_are_explained(inputs):
    tmp_path, raster, model, _ = inputs
    base = {"INPUT": str(raster), "PROBABILITY": "TEMPORARY_OUTPUT", "MASK": "TEMPORARY_OUTPUT", "OUTPUT": "TEMPORARY_OUTPUT"}
    with pytest.raises(QgsProcessingException, match="give MODEL"):
        processing.run("rockglacier:segment", {**base, "MODEL": str(tmp_path / "nothing.onnx")})
    with pytest.raises(QgsProcessingException, match="must list band numbers"):
        processing.run("rockglacier:segment", {**base, "MODEL": str(model), "BANDS": "red,green"})


def test_qgis_process__segment_from_the_command_line(inputs):
    tmp_path, raster, model, _ = inputs
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    completed = subprocess.run(
        [
            shutil.which("qgis_process") or "qgis_process",
            "run",
            "rockglacier:segment",
            "--",
            f"INPUT={raster}",
            f"MODEL={model}",
            "DEVICE=1",
            "PROBABILITY=p.tif",
            "MASK=m.tif",
            "OUTPUT=c.gpkg",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "execution provider: CPUExecutionProvider" in completed.stdout
    assert len(read_layer(tmp_path / "c.gpkg", "rock_glaciers")) == 2


def test_segment__empty_mask_layer_runs_no_tile_and_gives_empty_outputs_with_a_warning(inputs):
    from tests.qgis.feedback import RecordingFeedback

    tmp_path, raster, model, _ = inputs
    empty = write_polygons(tmp_path / "empty.gpkg", [], epsg=32644)
    feedback = RecordingFeedback()
    result = processing.run(
        "rockglacier:segment",
        {
            "INPUT": str(raster),
            "MODEL": str(model),
            "MASK_LAYER": str(empty),
            "TILE_SIZE_PX": 128,
            "PROBABILITY": str(tmp_path / "p.tif"),
            "MASK": str(tmp_path / "m.tif"),
            "OUTPUT": str(tmp_path / "c.gpkg"),
        },
        feedback=feedback,
    )
    assert read_layer(tmp_path / "c.gpkg", "rock_glaciers") == []
    assert (gdal.Open(result["MASK"]).ReadAsArray() == 255).all()  # no data where nothing ran
    assert any("MASK_LAYER has no polygon" in w for w in feedback.warnings)


def test_views__a_model_that_states_none_runs_one_view_the_shipped_model_its_eight(tmp_path):
    from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from tests.onnx_builders import asymmetric_model
    from tests.qgis.feedback import RecordingFeedback

    raster = write_raster(
        tmp_path / "noise.tif",
        np.random.default_rng(1).integers(1, 255, (3, 64, 64)).astype(float),
        UTM,
        epsg=32644,
        dtype=gdal.GDT_Byte,
    )
    plain = asymmetric_model(tmp_path / "plain.onnx")  # a user's model: no rockglacier:views; it sees direction
    eight = asymmetric_model(tmp_path / "eight.onnx", ModelSpec(margin_px=2, views=8))

    def probability(model, **extra):
        feedback = RecordingFeedback()
        out = tmp_path / f"p_{len(list(tmp_path.glob('p_*.tif')))}.tif"
        processing.run(
            "rockglacier:segment",
            {
                "INPUT": str(raster),
                "MODEL": str(model),
                "PROBABILITY": str(out),
                "MASK": "TEMPORARY_OUTPUT",
                "OUTPUT": "TEMPORARY_OUTPUT",
                **extra,
            },
            feedback=feedback,
        )
        return gdal.Open(str(out)).ReadAsArray(), feedback

    default, feedback = probability(plain)
    assert any(line.startswith("1 view(s) of each tile averaged: the model's default") for line in feedback.infos)
    one, _ = probability(plain, VIEWS=0)
    assert np.array_equal(default, one)  # no key: exactly one view
    eight_default, feedback = probability(eight)
    assert any(line.startswith("8 view(s)") for line in feedback.infos)
    assert np.array_equal(eight_default, probability(plain, VIEWS=2)[0]) and not np.array_equal(eight_default, one)
    models = os.path.join(os.path.dirname(__file__), "..", "..", "rockglacier_plugin", "models")
    assert load_model(os.path.join(models, "rockglacier_default_int8.onnx"), "cpu").spec.views == 8


def test_precision__a_users_model_runs_its_int8_copy_where_it_agrees_with_float32(tmp_path):
    from benchmarks.bench_models import conv_net
    from tests.qgis.feedback import RecordingFeedback

    model = conv_net(tmp_path / "user.onnx", width=16, blocks=2)  # a user's model: no int8 copy shipped
    image = np.random.default_rng(3).integers(0, 255, (3, 300, 300)).astype(float)
    raster = write_raster(tmp_path / "scene.tif", image, UTM, epsg=32644, dtype=gdal.GDT_Byte)

    def run(name, **extra):
        feedback = RecordingFeedback()
        processing.run(
            "rockglacier:segment",
            {
                "INPUT": str(raster),
                "MODEL": str(model),
                "DEVICE": 1,
                "TILE_SIZE_PX": 64,  # 25 tiles: a run large enough to make the copy (precision.MIN_TILES_FOR_COPY)
                "PROBABILITY": str(tmp_path / f"{name}.tif"),
                "MASK": "TEMPORARY_OUTPUT",
                "OUTPUT": "TEMPORARY_OUTPUT",
                **extra,
            },
            feedback=feedback,
        )
        return gdal.Open(str(tmp_path / f"{name}.tif")).ReadAsArray(), feedback.infos

    reference, infos = run("float", PRECISION=1)
    assert not any(line.startswith("Precision") for line in infos) and not list(tmp_path.glob("user.int8-*.onnx"))
    from tests.core.mapping.test_precision import _wait_for_preparation
    from tests.qgis.test_qgis_process import qgis_process

    # the first run with the defaults, from the command line: float32, the copy made after it in a process that
    # outlives qgis_process
    completed = qgis_process(
        "run", "rockglacier:segment", "--", f"INPUT={raster}", f"MODEL={model}", "TILE_SIZE_PX=64", "PROBABILITY=p.tif",
        "MASK=m.tif", "OUTPUT=c.gpkg", cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "Precision: float32: this model has no int8 copy yet" in completed.stdout, completed.stdout[-3000:]
    assert "background process (pid" in completed.stdout
    log = _wait_for_preparation(model)
    assert "done: int8 copy: agrees with float32" in log, log
    default, infos = run("default")
    said = [line for line in infos if line.startswith("Precision")]
    assert any(line.startswith("Precision: int8 copy: agrees with float32") for line in said), said
    assert len(list(tmp_path.glob("user.int8-*.onnx"))) == 1  # cached beside the model, named by its hash
    assert np.quantile(np.abs(default - reference), 0.99) <= 0.05 and not np.array_equal(default, reference)


def test_device__a_gpu_provider_this_onnxruntime_lacks_is_refused_with_what_to_install(tmp_path):
    raster = write_raster(tmp_path / "scene.tif", np.zeros((3, 64, 64)), UTM, epsg=32644, dtype=gdal.GDT_Byte)
    with pytest.raises(
        QgsProcessingException, match="DEVICE=directml but onnxruntime has no DmlExecutionProvider here.*onnxruntime-directml"
    ):
        processing.run(
            "rockglacier:segment",
            {
                "INPUT": str(raster),
                "MODEL": str(threshold_model(tmp_path / "m.onnx")),
                "DEVICE": 3,
                "PROBABILITY": "TEMPORARY_OUTPUT",
                "MASK": "TEMPORARY_OUTPUT",
                "OUTPUT": "TEMPORARY_OUTPUT",
            },
        )


def test_help__quotes_the_model_card_numbers_never_typed_twice():
    """The help's numbers about the shipped model come from models/model_card.json (core/mapping/card_facts.py)."""
    import json

    from qgis.core import QgsApplication

    from rockglacier_plugin.core.mapping.card_facts import read_card_facts

    algorithm = QgsApplication.processingRegistry().algorithmById("rockglacier:segment")
    text = algorithm.shortHelpString()
    card_path = Path(__file__).resolve().parents[2] / "rockglacier_plugin" / "models" / "model_card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    assert "{" not in text.split("<p>VIEWS")[1].split("PRECISION")[0]  # every placeholder filled
    assert (
        f"the shipped float32 model\n{card['thresholds']['float32']:g}" in text
        or f"{card['thresholds']['float32']:g}, its int8 copy" in text
    )
    facts = read_card_facts(str(card_path))
    gain = card["scene"]["float32, 8 views"]["scene_pixel_iou"] - card["scene"]["float32"]["scene_pixel_iou"]
    assert facts["views_gain_iou"] == f"{gain:.2f}" and f"gained {facts['views_gain_iou']} scene IoU" in text
    assert f"{facts['adaptive_time_ratio']}x the time of one view" in text


def test_dialog__the_imagery_box_starts_on_the_projects_imagery_not_its_dem(tmp_path):
    """QGIS's own choice put the first raster (a DEM, by name) in the Imagery box: the mapping dialogs start on a raster of
    3 or more bands when the project has one, and leave no default where it has none (qgis_process, batch)."""
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.core import QgsApplication, QgsProject, QgsRasterLayer

    from benchmarks.demo_scene import write_demo_scene

    write_demo_scene(tmp_path, size_px=400, n_lobes=2, seed=1)
    registry = QgsApplication.processingRegistry()
    assert registry.createAlgorithmById("rockglacier:segment").parameterDefinition("INPUT").defaultValue() is None
    dem, image = QgsRasterLayer(str(tmp_path / "dem.tif"), "a dem"), QgsRasterLayer(str(tmp_path / "image.tif"), "image")
    QgsProject.instance().addMapLayers([dem, image])
    try:
        for algorithm, name in (
            ("rockglacier:segment", "INPUT"),
            ("rockglacier:trainingpatches", "IMAGERY"),
            ("rockglacier:adaptmodel", "INPUT"),
        ):
            dialog = AlgorithmDialog(registry.createAlgorithmById(algorithm), False, None)
            value = dialog.mainWidget().wrappers[name].parameterValue()
            chosen = str(value)  # a layer id, or the layer's file for a list of layers
            assert (image.id() in chosen or image.source() in chosen) and dem.id() not in chosen and dem.source() not in chosen, (
                algorithm,
                value,
            )
            dialog.deleteLater()
    finally:
        QgsProject.instance().removeAllMapLayers()
