"""Averaging checkpoints (`python -m training average`, training/soup.py): the weighted mean of the
weights, a checkpoint that loads like a trained one, and clear refusals of what cannot be averaged."""

import json
import os

import numpy as np
import pytest

from training.config import TrainConfig


def _checkpoint(folder, seed: int, **config_values):
    """A checkpoint of a freshly initialised small DeepLabv3+ (seeded), as training writes it."""
    import torch

    from training.model.checkpoints import model_for

    config = TrainConfig(encoder="resnet18", pretrained=False, output=str(folder), **config_values)
    torch.manual_seed(seed)
    model = model_for(config, pretrained=False)
    with torch.no_grad():  # BatchNorm statistics as after training, different per ingredient
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.normal_(0.0, 0.1)
            elif name.endswith("running_var"):
                buffer.uniform_(0.5, 2.0)
            elif name.endswith("num_batches_tracked"):
                buffer.fill_(100 * seed)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(str(folder), "best.pt")
    torch.save(
        {
            "model": model.state_dict(),
            "config": config.__dict__,
            "history": [{"epoch": 1, "val_iou": 0.1 * seed}],
            "epoch": 1,
            "best_iou": 0.1 * seed,
        },
        path,
    )
    return path


def _output(checkpoint: str, image: np.ndarray) -> np.ndarray:
    import torch

    from training.model.checkpoints import load_trained

    model, _ = load_trained(checkpoint)
    with torch.no_grad():
        return model(torch.from_numpy(image)).numpy()


def test_average__every_weight_and_batchnorm_statistic_is_the_weighted_mean(tmp_path):
    import torch

    from training.loop.soup import average_checkpoints

    first, second = _checkpoint(tmp_path / "stage5", 1), _checkpoint(tmp_path / "stage7", 2)
    report = average_checkpoints([first, second], str(tmp_path / "soup" / "best.pt"), weights=[1, 3])
    a, b = (torch.load(p, map_location="cpu", weights_only=False) for p in (first, second))
    soup = torch.load(tmp_path / "soup" / "best.pt", map_location="cpu", weights_only=False)
    floats = [key for key, value in a["model"].items() if value.is_floating_point()]
    assert any("running_var" in key for key in floats) and len(floats) > 50
    for key in floats:
        torch.testing.assert_close(soup["model"][key], 0.25 * a["model"][key] + 0.75 * b["model"][key], rtol=1e-6, atol=1e-7)
    counters = [key for key in a["model"] if key.endswith("num_batches_tracked")]
    assert counters and all(int(soup["model"][key]) == 200 for key in counters)  # the last ingredient's
    assert [(item["run"], item["weight"]) for item in report["averaged_from"]] == [("stage5", 0.25), ("stage7", 0.75)]
    saved = json.loads((tmp_path / "soup" / "config.json").read_text())
    assert saved["averaged_from"] == report["averaged_from"] and saved["output"] == str(tmp_path / "stage7")
    assert soup["history"] == b["history"]
    # beside a training run's own config the average keeps it, and it never overwrites an ingredient
    run_config = tmp_path / "stage7" / "config.json"
    run_config.write_text('{"output": "stage7"}')
    assert average_checkpoints([first, second], str(tmp_path / "stage7" / "soup.pt"))["config"] is None
    assert run_config.read_text() == '{"output": "stage7"}'
    with pytest.raises(ValueError, match="new file"):
        average_checkpoints([first, second], second)


def test_average__a_weight_of_one_gives_back_that_checkpoints_answers_and_equal_inputs_give_themselves(tmp_path):
    from training.loop.soup import average_checkpoints

    first, second = _checkpoint(tmp_path / "a", 1), _checkpoint(tmp_path / "b", 2)
    image = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    average_checkpoints([first, second], str(tmp_path / "only_a.pt"), weights=[1, 0])
    np.testing.assert_allclose(_output(str(tmp_path / "only_a.pt"), image), _output(first, image), rtol=1e-5, atol=1e-5)
    average_checkpoints([second, second], str(tmp_path / "same.pt"))
    np.testing.assert_allclose(_output(str(tmp_path / "same.pt"), image), _output(second, image), rtol=1e-5, atol=1e-5)
    average_checkpoints([first, second], str(tmp_path / "half.pt"))
    half = _output(str(tmp_path / "half.pt"), image)
    assert np.abs(half - _output(first, image)).max() > 1e-3 and np.abs(half - _output(second, image)).max() > 1e-3


def test_average__the_soup_keeps_every_chip_an_ingredient_trained_on_out_of_its_check(tmp_path):
    from training.evaluation.image_level import trained_on
    from training.loop.soup import average_checkpoints
    from training.model.checkpoints import load_trained

    folder = str(tmp_path / "chips_ds1")
    first = _checkpoint(tmp_path / "a", 1, compose=True, image_level_data=folder, image_level_include=["train/*"])
    second = _checkpoint(tmp_path / "b", 2, compose=True, image_level_data=folder, image_level_include=["train/*", "extra/*"])
    plain = _checkpoint(tmp_path / "c", 3)
    average_checkpoints([plain, first, second], str(tmp_path / "soup.pt"))
    _, config = load_trained(str(tmp_path / "soup.pt"))
    assert trained_on(config, folder) == ["train/*", "extra/*"]
    with pytest.raises(ValueError, match="list a checkpoint trained on them last"):  # its config could not hold them
        average_checkpoints([second, plain], str(tmp_path / "soup2.pt"))
    other = _checkpoint(tmp_path / "d", 4, compose=True, image_level_data=str(tmp_path / "elsewhere"))
    with pytest.raises(ValueError, match="different image-level collections"):
        average_checkpoints([first, other], str(tmp_path / "no.pt"))


def test_average_command__says_what_cannot_be_averaged_without_a_traceback(tmp_path, capsys):
    import torch

    from training.__main__ import main

    first, second = _checkpoint(tmp_path / "a", 1), _checkpoint(tmp_path / "b", 2)
    state = torch.load(second, map_location="cpu", weights_only=False)
    state["config"]["encoder"] = "tu-tf_efficientnet_lite0"
    torch.save(state, tmp_path / "other.pt")
    cases = [
        (["--checkpoints", first, str(tmp_path / "other.pt")], "differ in encoder"),
        (["--checkpoints", first], "at least two checkpoints"),
        (["--checkpoints", first, second, "--weights", "1"], "one weight per checkpoint"),
        (["--checkpoints", first, second, "--weights", "1", "-1"], "must be >= 0"),
        (["--checkpoints", first, str(tmp_path / "missing.pt")], "does not exist"),
    ]
    for arguments, message in cases:
        assert main(["average", *arguments, "--output", str(tmp_path / "out.pt")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out.pt").exists()
    assert main(["average", "--checkpoints", first, second, "--output", str(tmp_path / "out.pt")]) == 0
    assert json.loads(capsys.readouterr().out)["averaged_from"][1]["weight"] == 0.5


def test_average__a_training_config_cannot_claim_averaged_weights(tmp_path):
    from training.loop.train import Trainer

    with pytest.raises(ValueError, match="init_checkpoint"):
        Trainer(TrainConfig(output=str(tmp_path), averaged_from=[{"checkpoint": "x", "run": "x", "weight": 1.0}]))


def test_model_card__names_the_averaged_stages_by_number():
    from training.card.render import _stages_text

    stages = [TrainConfig(output=f"runs/stage{i}", epochs=10, learning_rate=1e-4) for i in (1, 2)]
    stages[-1].averaged_from = [
        {"checkpoint": "runs/stage1/best.pt", "run": "stage1", "weight": 0.5},
        {"checkpoint": "runs/stage2/best.pt", "run": "stage2", "weight": 0.5},
    ]
    text = _stages_text(stages)
    assert "Trained in 2 stages" in text
    assert "average 0.50 &times; <code>stage1</code> (stage 1) + 0.50 &times; <code>stage2</code> (stage 2)" in text
    stages[-1].averaged_from = None
    assert "average" not in _stages_text(stages)
