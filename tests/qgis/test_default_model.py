"""The model shipped with the plugin: present, self-describing, documented, as good on real
Sentinel-2 scenes as its model card says, and independent of the tile size."""

import json
import os

import pytest

from rockglacier_plugin.processing.segment_algorithm import DEFAULT_MODEL
from tests.conftest import require_module

MODELS = os.path.dirname(DEFAULT_MODEL)
CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "training", "configs", "default_chile.json")


def _card():
    with open(os.path.join(MODELS, "model_card.json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_default_model__ships_with_metadata_and_a_model_card_in_the_help():
    from qgis.core import QgsApplication

    from rockglacier_plugin.core.mapping.onnx_model import load_model

    model = load_model(DEFAULT_MODEL, "cpu")
    assert model.spec.input_scaling.kind == "uint8" and model.spec.resolution_cm_per_px == 1000.0
    assert model.spec.provenance.get("encoder") == "tu-tf_efficientnet_lite0"
    help_text = QgsApplication.processingRegistry().algorithmById("rockglacier:segment").shortHelpString()
    assert "model card" in help_text and "scene level" in help_text and "Known failure modes" in help_text
    assert "Licence status" in help_text


@pytest.fixture(scope="module")
def validation_scene(shared_dataset):
    require_module("scipy")
    from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
    from training.config import TrainConfig
    from training.data.compose import cells_for, validation_scene
    from training.data.samples import load_samples
    from training.model.checkpoints import spec_for

    chips = shared_dataset("alcazar90-rockglacier-chile") / "chips_train_full"
    config = TrainConfig.load(CONFIG, data=str(chips))
    spec = spec_for(config)
    validation = [s for s in load_samples(config) if s.split == "validation"]
    scene = validation_scene(
        validation,
        3,
        cells_for(len(validation)),
        config.seed,
        config.cell_px,
        lambda raw: to_uint8_range(raw, spec.input_scaling),
    )
    return scene, validation, spec


@pytest.mark.shared_data
def test_default_model__scene_and_chip_scores_match_its_model_card(validation_scene):
    from training.card.measure import chip_scores
    from training.evaluation.scene_eval import evaluate_scene, model_threshold

    scene, validation, spec = validation_scene
    card = _card()
    threshold = model_threshold(DEFAULT_MODEL)  # what rockglacier:segment applies with THRESHOLD empty
    assert threshold == card["thresholds"]["float32"]
    scores = evaluate_scene(DEFAULT_MODEL, scene, threads=2, threshold=threshold)
    assert scores["scene_pixel_iou"] == pytest.approx(card["scene"]["float32"]["scene_pixel_iou"], abs=2e-3)
    # the core's object scores (threshold, then the one-to-one assignment) give the card's counts
    assert [scores[k] for k in ("scene_tp", "scene_fp", "scene_fn")] == [
        card["scene"]["float32"][k] for k in ("scene_tp", "scene_fp", "scene_fn")
    ]
    # each chip alone through the plugin's path, 8 views (what the card's chip columns and the README quote)
    chips = chip_scores(DEFAULT_MODEL, validation, None, threshold)
    assert chips["pixel_iou"] == pytest.approx(card["chips"]["float32"]["pixel_iou"], abs=2e-3)
    assert abs(chips["tp"] - card["chips"]["float32"]["tp"]) <= 1 and abs(chips["fp"] - card["chips"]["float32"]["fp"]) <= 1
    assert card["chips"]["float32"]["pixel_iou"] == pytest.approx(card["chips_through_plugin"]["8 views"], abs=1e-9)
    from training.evaluation.scene_eval import chips_through_plugin

    alone = chips_through_plugin(DEFAULT_MODEL, validation, spec, views=1, threads=2, threshold=threshold)
    assert alone == pytest.approx(card["chips_through_plugin"]["1 view"], abs=2e-3)
    # far above chance: calling the whole scene rock glacier scores the positive share (~0.1)
    assert scores["scene_pixel_iou"] > 0.3 and scores["scene_false_pixels_on_negatives"] < 0.05


@pytest.mark.shared_data
def test_default_model__tile_size_is_a_speed_choice_only(validation_scene):
    """Tiles of 256, 512 and 1536 px, each read with the model's margin of context, give the same
    probabilities within 0.02 away from the scene's border (the compact receptive field fits in the
    margin; half-pixel upsampling and tiles on the model's 16 px grid leave no position effect)."""
    from training.card.measure import TILE_AGREEMENT, tile_difference
    from training.evaluation.scene_eval import model_threshold, scene_scores, segment_scene

    scene, _, _ = validation_scene
    threshold = model_threshold(DEFAULT_MODEL)
    maps = {tile: segment_scene(DEFAULT_MODEL, scene, tile, threads=2) for tile in (256, 512, 1536)}
    for tile in (256, 512):
        difference = tile_difference(maps[tile], maps[1536])
        assert difference.max() <= TILE_AGREEMENT, (tile, float(difference.max()))
    card = _card()["tile_sizes"]
    for tile, probability in maps.items():
        assert scene_scores(probability, scene, threshold)["scene_pixel_iou"] == pytest.approx(
            card[str(tile)]["scene_pixel_iou"], abs=2e-3
        )


@pytest.mark.shared_data
def test_default_model__shipped_int8_copy_keeps_the_scene_score(validation_scene):
    from rockglacier_plugin.core.mapping.onnx_model import DEFAULT_INT8_NAME
    from training.evaluation.scene_eval import evaluate_scene, model_threshold

    int8 = os.path.join(MODELS, DEFAULT_INT8_NAME)
    card = _card()
    assert os.path.exists(int8) == bool(card.get("int8_is_cpu_default")), "ship the int8 copy exactly when the card says so"
    if not os.path.exists(int8):
        return
    # the card's rule: within 0.02 at 1 view and at the algorithm's default 8 views
    assert card["int8_scene_iou_loss"] <= 0.02 and "int8, 8 views" in card["scene"]
    scene, _, _ = validation_scene
    float_iou = card["scene"]["float32"]["scene_pixel_iou"]
    assert model_threshold(int8) == card["thresholds"]["int8"]  # each copy at its own threshold, as the plugin runs it
    assert evaluate_scene(int8, scene, threads=2, threshold=card["thresholds"]["int8"])["scene_pixel_iou"] >= float_iou - 0.02


def test_default_model__shipped_int8_copy_runs_int8_from_convolution_to_convolution(tmp_path):
    """What makes int8 pay on a CPU: in onnxruntime's optimised graph every convolution but the
    first and the head is an int8 QLinearConv, no Pad or activation is left between them, and
    activations are dequantised only where the decoder's resizes and concatenations need floats."""
    import collections

    import onnx
    import onnxruntime as ort

    from rockglacier_plugin.core.mapping.onnx_model import DEFAULT_INT8_NAME

    int8 = os.path.join(MODELS, DEFAULT_INT8_NAME)
    if not os.path.exists(int8):
        pytest.skip("no int8 copy shipped (its model card says why)")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(int8, options, providers=["CPUExecutionProvider"])
    ops = collections.Counter(node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node)
    float_convs = ops["Conv"] + ops["FusedConv"]
    assert float_convs == 2 and ops["QLinearConv"] >= 50, ops
    assert ops["Pad"] == 0 and ops["Clip"] == 0 and ops["Add"] == 0, ops
    # weights are folded into the QLinearConvs: what is left dequantises activations for the decoder
    assert ops["DequantizeLinear"] <= 12, ops
