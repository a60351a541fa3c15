"""rockglacier:adaptmodel as users run it: qgis_process on a region the shipped model does not know (the demo
generator's scene), the adapted model then run by rockglacier:segment and scored against the generator's outlines;
the refusals (a Python without PyTorch, a review without an accepted rock glacier) and Cancel, which stops the
training process and leaves nothing behind."""

import json
import os
import shlex
import shutil
import sys
import time

import processing
import pytest
from osgeo import ogr
from qgis.core import QgsProcessingException, QgsSettings

from benchmarks.demo_scene import write_demo_scene
from rockglacier_plugin.processing.adapt_model_algorithm import SETTING_KEY
from tests.builders import read_layer, write_polygons
from tests.conftest import require_module
from tests.qgis.feedback import RecordingFeedback
from tests.qgis.test_qgis_process import qgis_process
from tests.qgis.test_readme_training import readme_commands


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapt")
    truth = write_demo_scene(folder, size_px=700, n_lobes=8, seed=11)
    return folder, truth


@pytest.fixture
def training_python():
    """This test session's QGIS profile names the Python running the tests (it has PyTorch), as make setup does."""
    require_module("torch", "PyTorch is not in this Python (make setup installs it in .venv; the QGIS chroots have none)")
    settings = QgsSettings()
    before = settings.value(SETTING_KEY, "")
    settings.setValue(SETTING_KEY, sys.executable)
    yield sys.executable
    settings.setValue(SETTING_KEY, before)


def _recall(candidates_path, outlines_path, min_iou=0.5):
    """Share of the generator's outlines matched by a candidate at IoU >= min_iou (the oracle: the generator)."""
    outlines = ogr.Open(str(outlines_path))
    truth = [f.GetGeometryRef().Clone() for f in outlines.GetLayer(0)]
    source = ogr.Open(str(candidates_path))
    found = [f.GetGeometryRef().Clone() for f in source.GetLayer(0)] if source else []
    hits = 0
    for outline in truth:
        for candidate in found:
            overlap = outline.Intersection(candidate).GetArea()
            if overlap and overlap / outline.Union(candidate).GetArea() >= min_iou:
                hits += 1
                break
    return hits / len(truth)


def _segment(folder, model, name):
    parameters = {
        "INPUT": str(folder / "image.tif"),
        "PROBABILITY": str(folder / f"{name}_p.tif"),
        "MASK": str(folder / f"{name}_m.tif"),
        "OUTPUT": str(folder / f"{name}.gpkg"),
    }
    if model:
        parameters["MODEL"] = str(model)
    processing.run("rockglacier:segment", parameters)
    return folder / f"{name}.gpkg"


@pytest.mark.slow
@pytest.mark.training_env
def test_readme__adapt_commands_adapt_the_model_to_a_new_region_and_segment_then_finds_its_rock_glaciers(scene):
    """The README's adapt lines as written (MAX_MINUTES=20 shortened to 1.5), on a reviewed layer named as there."""
    require_module("torch", "PyTorch is not installed here; make setup names .venv's Python (with PyTorch) in the QGIS profile")
    folder, truth = scene
    shutil.copy(folder / "outlines.gpkg", folder / "candidates.gpkg")  # the demo's outlines, all reviewed "accepted"
    commands = readme_commands("adapt")
    assert [c.split()[:3] for c in commands] == [
        ["qgis_process", "run", "rockglacier:adaptmodel"],
        ["qgis_process", "run", "rockglacier:segment"],
    ]
    for command in commands:
        arguments = [a.replace("MAX_MINUTES=20", "MAX_MINUTES=1.5") for a in shlex.split(command)]
        completed = qgis_process(*arguments[1:], cwd=folder)
        assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
        if "rockglacier:adaptmodel" in arguments:
            assert "Training in " in completed.stdout and "epoch 1:" in completed.stdout
    card = json.loads((folder / "adapted_card.json").read_text())
    assert card["provenance"]["rock_glaciers"] == len(truth)
    held_out = card["held_out"]
    assert held_out["adapted"]["rock_glaciers"] >= 2
    assert held_out["adapted_at_base_threshold"]["object_recall"] > held_out["base"]["object_recall"]
    assert card["threshold_source"] == "held-out"
    # the adapted model's candidates (the README's second line) and the base model's, scored on every outline
    reviewed_ids = {row["rg_id"] for row in read_layer(folder / "candidates.gpkg", "rock_glaciers")}
    new_rows = read_layer(folder / "candidates2.gpkg", "rock_glaciers")
    assert new_rows and not reviewed_ids & {row["rg_id"] for row in new_rows}  # EXISTING: ids never clash with reviewed ones
    assert any(row["match_rg_id"] in reviewed_ids for row in new_rows)
    adapted = _recall(folder / "candidates2.gpkg", folder / "outlines.gpkg")
    base = _recall(_segment(folder, None, "base"), folder / "outlines.gpkg")
    assert adapted >= 0.5 and adapted > base, (adapted, base)


def test_adapt__a_python_without_pytorch_is_refused_with_the_fix(scene):
    folder, _ = scene
    settings = QgsSettings()
    before = settings.value(SETTING_KEY, "")
    settings.setValue(SETTING_KEY, "/usr/bin/python3")  # Debian's: QGIS's own, no PyTorch
    try:
        with pytest.raises(
            QgsProcessingException, match=r"has no PyTorch.*Processing > Options > Providers > Rock glacier inventory"
        ):
            processing.run(
                "rockglacier:adaptmodel",
                {
                    "INPUT": [str(folder / "image.tif")],
                    "INVENTORY": str(folder / "outlines.gpkg"),
                    "OUTPUT_MODEL": str(folder / "never.onnx"),
                },
            )
    finally:
        settings.setValue(SETTING_KEY, before)
    assert not (folder / "never.onnx").exists()


@pytest.mark.training_env
def test_adapt__a_review_without_accepted_rock_glaciers_is_refused(scene, training_python, tmp_path):
    folder, _ = scene
    dataset = ogr.Open(str(folder / "outlines.gpkg"))
    wkts = [f.GetGeometryRef().ExportToWkt() for f in dataset.GetLayer(0)]
    epsg = int(dataset.GetLayer(0).GetSpatialRef().GetAuthorityCode(None))
    review = write_polygons(
        tmp_path / "review.gpkg", wkts, epsg=epsg, attributes={"review": ["rejected"] + [None] * (len(wkts) - 1)}
    )
    with pytest.raises(QgsProcessingException, match=r"no rock glacier to learn from: accept or modify candidates"):
        processing.run(
            "rockglacier:adaptmodel",
            {"INPUT": [str(folder / "image.tif")], "INVENTORY": str(review), "OUTPUT_MODEL": str(tmp_path / "never.onnx")},
        )
    assert not (tmp_path / "never.onnx").exists()


class _CancelDuringTraining(RecordingFeedback):
    def pushInfo(self, text):  # noqa: N802
        super().pushInfo(text)
        if "patches cut from" in text:
            self.cancel()


def _training_processes(marker):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if marker in handle.read().decode(errors="replace"):
                    found.append(pid)
        except OSError:
            continue
    return found


@pytest.mark.training_env
def test_adapt__cancel_stops_the_training_process_and_writes_nothing(scene, training_python, tmp_path):
    folder, _ = scene
    output = tmp_path / "cancelled.onnx"
    feedback = _CancelDuringTraining()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run(
            "rockglacier:adaptmodel",
            {
                "INPUT": [str(folder / "image.tif")],
                "INVENTORY": str(folder / "outlines.gpkg"),
                "MAX_MINUTES": 5,
                "OUTPUT_MODEL": str(output),
            },
            feedback=feedback,
        )
    time.sleep(0.5)
    assert not _training_processes(str(output))
    assert sorted(os.listdir(tmp_path)) == []
