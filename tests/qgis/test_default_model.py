"""The model shipped with the plugin: present, self-describing, documented, and as good on the
real validation chips as its model card says."""

import json
import os

import pytest

from rockglacier_plugin.processing.segment_algorithm import DEFAULT_MODEL

MODELS = os.path.dirname(DEFAULT_MODEL)


def test_default_model__ships_with_metadata_and_a_model_card_in_the_help():
    from qgis.core import QgsApplication

    from rockglacier_plugin.core.onnx_model import load_model

    model = load_model(DEFAULT_MODEL, "cpu")
    assert model.spec.input_scaling.kind == "uint8" and model.spec.resolution_cm_per_px == 1000.0
    assert model.spec.provenance.get("encoder") == "tu-tf_efficientnet_lite0"
    help_text = QgsApplication.processingRegistry().algorithmById("rockglacier:segment").shortHelpString()
    assert "model card" in help_text and "Known failure modes" in help_text and "Licence status" in help_text


@pytest.mark.shared_data
def test_default_model__validation_iou_matches_its_model_card(shared_dataset):
    pytest.importorskip("scipy")
    from training.config import TrainConfig
    from training.evaluate import evaluate_samples, onnx_predictor
    from training.train import load_samples, spec_for

    chips = shared_dataset("alcazar90-rockglacier-chile") / "chips_train_full"
    with open(os.path.join(MODELS, "model_card.json"), encoding="utf-8") as handle:
        card = json.load(handle)
    config = TrainConfig.load(os.path.join(os.path.dirname(__file__), "..", "..", "training", "configs", "default_chile.json"), data=str(chips))
    validation = [s for s in load_samples(config) if s.split == "validation"]
    scores = evaluate_samples(onnx_predictor(DEFAULT_MODEL), validation, spec_for(config))
    assert scores["pixel_iou"] == pytest.approx(card["scores"]["float32"]["pixel_iou"], abs=1e-3)
    assert scores["pixel_iou"] > 0.4  # well above chance (predicting all rock glacier: ~0.12)
