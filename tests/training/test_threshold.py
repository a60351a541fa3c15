"""The threshold an exported model ships with: chosen on training chips by the checkpoint-selection
rule, written into its metadata, and what rockglacier:segment then applies."""

import json

import numpy as np
import onnx
import pytest

from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
from rockglacier_plugin.core.mapping.onnx_model import load_model
from tests.onnx_builders import threshold_model
from tests.training.test_training import synthetic_chips
from training.data.samples import chip_folder_samples
from training.evaluation.threshold import (
    THRESHOLDS,
    best_threshold,
    threshold_scores,
    training_subset,
    write_threshold,
)


def test_best_threshold__highest_mean_of_scene_and_chips_ties_nearest_half():
    assert best_threshold({0.45: (0.70, 0.74), 0.5: (0.71, 0.70), 0.55: (0.72, 0.73)}) == 0.55
    assert best_threshold({0.4: (0.8, 0.8), 0.5: (0.8, 0.8), 0.65: (0.8, 0.8)}) == 0.5
    with pytest.raises(ValueError):
        best_threshold({})


def test_threshold_scores__find_the_gap_between_rock_glacier_and_background_probabilities(tmp_path):
    # Synthetic chips: rock glaciers 170-210 on a background of 60-85 (0-255). The model maps
    # 170/255 to p = 0.720 and 85/255 to p = 0.680, so only a threshold in (0.680, 0.720] separates
    # them: of the candidates, 0.70 alone gives IoU 1 on the scene and on the chips run alone.
    samples = chip_folder_samples(str(synthetic_chips(tmp_path / "chips", 8, 4, size=64)), 0.0, 0)
    sharpness = (np.log(0.72 / 0.28) - np.log(0.68 / 0.32)) / (170 / 255 - 85 / 255)
    level = 170 / 255 - np.log(0.72 / 0.28) / sharpness
    model = threshold_model(tmp_path / "m.onnx", ModelSpec(margin_px=0, tile_size_px=256), float(level), float(sharpness))
    scores = threshold_scores(str(model), samples, ModelSpec(), cell_px=64, views=1)
    assert set(scores) == set(THRESHOLDS)
    assert scores[0.7] == pytest.approx((1.0, 1.0))
    assert max(scores[0.65]) < 1.0 and max(scores[0.75]) < 1.0
    assert best_threshold(scores) == 0.7


def test_write_threshold__sets_seg_thresh_and_keeps_the_rest(tmp_path):
    model = threshold_model(tmp_path / "m.onnx", ModelSpec(margin_px=0, tile_size_px=256, seg_thresh=0.5))
    before = {e.key: e.value for e in onnx.load(str(model)).metadata_props}
    write_threshold(str(model), 0.55)
    after = {e.key: e.value for e in onnx.load(str(model)).metadata_props}
    assert json.loads(after.pop("seg_thresh")) == 0.55 and before.pop("seg_thresh") is not None
    assert after == before
    assert load_model(str(model), "cpu").spec.seg_thresh == 0.55


def test_training_subset__only_training_chips_seeded_and_in_order(tmp_path):
    samples = chip_folder_samples(str(synthetic_chips(tmp_path / "chips", 8, 4, size=64)), 0.25, 0)
    chosen = training_subset(samples, 5)
    assert len(chosen) == 5 and all(s.split == "train" for s in chosen)
    assert chosen == training_subset(samples, 5) and chosen == [s for s in samples if s in chosen]
    assert training_subset(samples, 0) == [s for s in samples if s.split == "train"]


def test_threshold_command__a_missing_model_is_refused_before_any_work(tmp_path, capsys):
    from training.__main__ import main

    assert main(["threshold", "--checkpoint", str(tmp_path / "none.pt"), "--onnx", str(tmp_path / "absent.onnx")]) == 2
    assert "absent.onnx not found" in capsys.readouterr().err
