"""float32 or int8 for a run: the int8 copy of any model, made once, cached, used only where it agrees."""

import os

import numpy as np
import pytest

from benchmarks.bench_models import conv_net
from rockglacier_plugin.core.mapping import int8_cache
from rockglacier_plugin.core.mapping import precision as precision_module
from rockglacier_plugin.core.mapping.onnx_model import load_model
from rockglacier_plugin.core.mapping.precision import Precision, RunScene, agreement, choose_precision, int8_cache_path


def _inputs(low: float, high: float, size: int = 64):
    def sample(count: int, seed: int) -> list:
        rng = np.random.default_rng(seed)
        return [rng.uniform(low, high, (3, size, size)).astype(np.float32) for _ in range(count)]

    return sample


def _flat_calibration(count: int, seed: int) -> list:
    """Calibration tiles (seed 0) of flat ground, check tiles (seed 1) of relief: a copy calibrated so disagrees."""
    return _inputs(0.0, 0.1)(count, seed) if seed == 0 else _inputs(0.0, 2.0)(count, seed)


def _choose(path, precision, sample, messages, threshold=0.5):
    model = load_model(str(path), "cpu", 1)
    return choose_precision(
        model, str(path), precision, sample, threshold, lambda p: load_model(p, "cpu", 1), messages.append, RunScene("scene-a")
    )


def test_agreement__closed_forms():
    p = np.linspace(0, 1, 10001)
    same = agreement(p, p.copy(), 0.5)
    assert (same.p99_difference, same.mask_iou, same.passes) == (0.0, 1.0, True)
    shifted = agreement(p, np.clip(p + 0.1, 0, 1), 0.5)
    assert shifted.p99_difference == pytest.approx(0.1) and not shifted.passes
    assert shifted.mask_iou == pytest.approx(5000 / 6000, abs=1e-3)  # [0.4, 1] against [0.5, 1]
    few = agreement(np.zeros(1000), np.zeros(1000), 0.5)
    assert few.mask_iou is None and few.passes  # nothing to judge a mask on: the probabilities decide


def test_auto__any_model_gets_an_int8_copy_made_once_beside_it_and_used_where_it_agrees(tmp_path):
    path = conv_net(tmp_path / "user.onnx", width=16, blocks=2)
    messages = []
    choice = _choose(path, Precision.AUTO, _inputs(-2, 2), messages)
    cached = int8_cache_path(str(path))
    assert choice.precision == "int8" and choice.path == cached and os.path.dirname(cached) == str(tmp_path)
    assert os.path.basename(cached).startswith("user.int8-") and choice.agreement.passes
    assert "int8 copy of the model made" in messages[0] and "agrees with float32" in choice.note
    made = os.path.getmtime(cached)
    again = []
    assert _choose(path, Precision.AUTO, _inputs(-2, 2), again).precision == "int8"
    assert again == [] and os.path.getmtime(cached) == made  # made once
    x = np.random.default_rng(9).uniform(-2, 2, (1, 3, 64, 64)).astype(np.float32)
    float_p, int8_p = load_model(str(path), "cpu", 1).rock_glacier_probability(x), choice.model.rock_glacier_probability(x)
    assert np.quantile(np.abs(float_p - int8_p), 0.99) <= 0.05


def test_auto__an_int8_copy_that_disagrees_is_not_used_and_the_log_says_why(tmp_path):
    from tests.onnx_builders import three_conv_model

    path = three_conv_model(tmp_path / "user.onnx")
    # calibrated on flat ground, checked on the scene's real contrast: the copy clips the middle activations
    calibrated_on_flat_ground = _flat_calibration
    choice = _choose(path, Precision.AUTO, calibrated_on_flat_ground, [])
    assert choice.precision == "float32" and "does not agree" in choice.note and "99th percentile" in choice.note
    forced = _choose(path, Precision.INT8, calibrated_on_flat_ground, [])
    assert forced.precision == "int8" and "used although it does not agree" in forced.note


def test_float32_and_int8_models_and_a_missing_onnx_package_keep_the_model_as_given(tmp_path, monkeypatch):
    path = conv_net(tmp_path / "user.onnx", width=16, blocks=2)
    assert _choose(path, Precision.FLOAT32, _inputs(-2, 2), []).precision == "float32"
    assert not os.path.exists(int8_cache_path(str(path)))
    int8 = _choose(path, Precision.AUTO, _inputs(-2, 2), []).path
    assert _choose(int8, Precision.AUTO, _inputs(-2, 2), []).note == "int8: the model is an int8 model already."
    other = conv_net(tmp_path / "other.onnx", width=16, blocks=2, seed=3)
    monkeypatch.setattr(precision_module, "_quantization_missing", lambda: "int8 needs the 'onnx' package")
    choice = _choose(other, Precision.AUTO, _inputs(-2, 2), [])
    assert choice.precision == "float32" and "int8 needs the 'onnx' package" in choice.note


def test_int8_cache_path__a_read_only_model_folder_caches_in_the_user_cache(tmp_path, monkeypatch):
    folder = tmp_path / "readonly"
    folder.mkdir()
    path = conv_net(folder / "m.onnx", width=8, blocks=1)
    monkeypatch.setenv(int8_cache.CACHE_ENV, str(tmp_path / "cache"))
    assert os.path.dirname(int8_cache_path(str(path))) == str(tmp_path / "cache")
    monkeypatch.delenv(int8_cache.CACHE_ENV)
    monkeypatch.setattr(precision_module.os, "access", lambda path, mode: False)  # a read-only folder (root can write anywhere)
    assert os.path.dirname(int8_cache_path(str(path))) == os.path.join(os.path.expanduser("~"), ".cache", "rockglacier", "int8")


def test_auto__a_deepness_style_model_with_a_fixed_size_and_batch_gets_its_copy_too(tmp_path):
    import onnx

    path = conv_net(tmp_path / "fixed.onnx", width=16, blocks=2)
    model = onnx.load(str(path))
    for dim, value in zip(model.graph.input[0].type.tensor_type.shape.dim, (1, 3, 64, 64)):
        dim.ClearField("dim_param")
        dim.dim_value = value
    onnx.save(model, str(path))
    loaded = load_model(str(path), "cpu", 1)
    assert (loaded.fixed_size_px, loaded.fixed_batch) == ((64, 64), 1)
    choice = _choose(path, Precision.AUTO, _inputs(-2, 2), [])
    assert choice.precision == "int8" and choice.model.fixed_size_px == (64, 64)


def _counting(sample):
    calls = []

    def counted(count: int, seed: int) -> list:
        calls.append((count, seed))
        return sample(count, seed)

    return counted, calls


def test_auto__a_copy_broken_by_one_convolution_keeps_that_one_in_float_and_the_rest_in_int8(tmp_path):
    """Mixed precision: the fragile convolution (weights over five orders of magnitude in a channel) is found by the
    error it adds and kept in float; conv3 stays int8; the copy agrees and replaces the cached whole-int8 one."""
    import onnx

    from rockglacier_plugin.core.mapping.int8 import quantized_convolutions
    from tests.onnx_builders import fragile_conv_model

    path = fragile_conv_model(tmp_path / "user.onnx")
    messages = []
    choice = _choose(path, Precision.AUTO, _inputs(0, 2), messages)
    assert choice.precision == "int8" and "mixed precision" in choice.note and choice.path == int8_cache_path(str(path))
    assert any("does not agree" in m or "1 more convolution(s) in float (fragile)" in m for m in messages)
    graph = onnx.load(choice.path).graph
    dequantized = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    weights_int8 = {n.name: n.input[1] in dequantized for n in graph.node if n.op_type == "Conv"}
    assert weights_int8 == {"conv1": False, "fragile": False, "conv3": True, "head": False}
    assert quantized_convolutions(choice.path) == 1
    again = []
    assert _choose(path, Precision.AUTO, _inputs(0, 2), again).precision == "int8" and again == []  # the mixed copy is kept


def test_auto__a_refusal_is_remembered_for_the_model_so_later_runs_pay_nothing(tmp_path):
    from tests.onnx_builders import three_conv_model

    path = three_conv_model(tmp_path / "user.onnx")
    calibrated_on_flat_ground = _flat_calibration
    first = _choose(path, Precision.AUTO, calibrated_on_flat_ground, [])
    assert first.precision == "float32" and os.path.exists(int8_cache_path(str(path)) + ".refused.json")
    sampler, calls = _counting(calibrated_on_flat_ground)
    messages = []
    later = _choose(path, Precision.AUTO, sampler, messages)
    assert later.precision == "float32" and "refused for this model before" in later.note and "delete" in later.note
    assert calls == [] and messages == []  # no tile read, no copy made or loaded
    assert _choose(path, Precision.INT8, calibrated_on_flat_ground, []).precision == "int8"  # the user may still insist


def test_auto__a_mask_on_the_threshold_is_refused_before_any_copy_is_made(tmp_path):
    """A model whose probabilities sit on its threshold (the low-confidence model of issue 43): a shift of 0.01 alone
    moves the mask, so no int8 copy could keep it; the float check tiles are all it costs."""
    from tests.onnx_builders import three_conv_model

    path = three_conv_model(tmp_path / "user.onnx", gain=0.002)
    sampler, calls = _counting(_inputs(0.0, 2.0))
    probability = load_model(str(path), "cpu", 1).rock_glacier_probability(np.stack(_inputs(0.0, 2.0)(4, 1)))
    choice = _choose(path, Precision.AUTO, sampler, [], threshold=float(np.median(probability)))
    assert choice.precision == "float32" and "none was made" in choice.note and "IoU" in choice.note
    assert calls == [(precision_module.CHECK_TILES, 1)] and not os.path.exists(int8_cache_path(str(path)))


def _wait_for_preparation(model_path, timeout_s: float = 240.0) -> str:
    """Wait until the background preparation of the model's copy has ended; what it logged."""
    from rockglacier_plugin.core.mapping.int8_background import wait_for_preparation

    wait_for_preparation(str(model_path), timeout_s)
    assert not os.path.exists(int8_cache.lock_path(str(model_path))), "the background preparation did not end"
    with open(int8_cache.preparation_log_path(str(model_path)), encoding="utf-8") as log:
        return log.read()


class _CountingModel:
    """The float model, counting the tiles that go through it (a run's cost beyond reading)."""

    def __init__(self, model):
        self.model, self.tiles = model, 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def rock_glacier_probability(self, x):
        self.tiles += len(x)
        return self.model.rock_glacier_probability(x)


def _auto(model, path, sampler, scene):
    return choose_precision(model, str(path), Precision.AUTO, sampler, 0.5, lambda p: load_model(p, "cpu", 1), print, scene)


def test_auto__a_run_too_small_to_repay_a_copy_runs_float32_and_reads_no_check_tile(tmp_path):
    path = conv_net(tmp_path / "user.onnx", width=16, blocks=2)
    sampler, calls = _counting(_inputs(-2, 2))
    model = load_model(str(path), "cpu", 1)
    small = RunScene("scene-a", precision_module.MIN_TILES_FOR_COPY - 1)
    choice = _auto(model, path, sampler, small)
    assert choice.precision == "float32" and "too short to repay" in choice.note and choice.after_run is None
    assert calls == [] and not os.path.exists(int8_cache_path(str(path)))
    large = _auto(model, path, sampler, RunScene("scene-a", precision_module.MIN_TILES_FOR_COPY))
    assert large.precision == "float32" and large.after_run is not None
    large.after_run()
    _wait_for_preparation(path)
    # once the copy exists, a small run uses it too
    assert _auto(model, path, sampler, small).precision == "int8"


def test_auto__a_new_models_first_run_is_float32_and_its_copy_is_made_after_it_in_a_background_process(tmp_path):
    """The first run of a model with no copy reads the calibration and check tiles but runs none of them through a
    model; after it, a process of its own makes and checks the copy; the next run on that scene uses it at once."""
    path = conv_net(tmp_path / "user.onnx", width=16, blocks=2)
    sampler, calls = _counting(_inputs(-2, 2))
    model = _CountingModel(load_model(str(path), "cpu", 1))
    scene = RunScene("scene-a", precision_module.MIN_TILES_FOR_COPY)
    first = _auto(model, path, sampler, scene)
    assert first.precision == "float32" and "background process" in first.note and model.tiles == 0
    assert calls == [(precision_module.CALIBRATION_TILES, 0), (precision_module.CHECK_TILES, 1)]
    said = first.after_run()
    assert "background process (pid" in said and os.path.exists(int8_cache.lock_path(str(path)))
    meanwhile = _auto(model, path, sampler, scene)  # a run while the copy is being made: float32, nothing read
    assert meanwhile.precision == "float32" and meanwhile.after_run is None and len(calls) == 2
    assert "being made in a background process" in meanwhile.note
    log = _wait_for_preparation(path)
    assert "int8 copy of the model made" in log and "done: int8 copy: agrees with float32" in log, log
    assert os.path.isfile(int8_cache_path(str(path))) and not list(tmp_path.glob("*.npz"))
    later = _auto(model, path, sampler, scene)
    assert later.precision == "int8" and later.path == int8_cache_path(str(path)) and len(calls) == 2  # the verdict kept
    assert model.tiles == 0  # the float model never ran in these runs' choices


def test_auto__a_copy_refused_in_the_background_is_remembered_and_costs_later_runs_nothing(tmp_path):
    from tests.onnx_builders import three_conv_model

    path = three_conv_model(tmp_path / "user.onnx")
    calibrated_on_flat_ground = _flat_calibration
    model = load_model(str(path), "cpu", 1)
    first = _auto(model, path, calibrated_on_flat_ground, RunScene("scene-a", 20))
    assert first.precision == "float32"
    first.after_run()
    log = _wait_for_preparation(path)
    assert "done: float32" in log and os.path.exists(int8_cache.refusal_path(str(path))), log
    sampler, calls = _counting(calibrated_on_flat_ground)
    later = _auto(model, path, sampler, RunScene("scene-b", 20))
    assert later.precision == "float32" and "refused for this model before" in later.note and calls == []


def test_auto__a_cached_copy_on_a_new_scene_reads_only_the_check_tiles(tmp_path):
    path = conv_net(tmp_path / "user.onnx", width=16, blocks=2)
    assert _choose(path, Precision.AUTO, _inputs(-2, 2), []).precision == "int8"  # the copy made on scene-a
    sampler, calls = _counting(_inputs(-2, 2))
    model = load_model(str(path), "cpu", 1)
    other = RunScene("scene-b", precision_module.MIN_TILES_FOR_COPY)
    choice = _auto(model, path, sampler, other)
    assert choice.precision == "int8" and calls == [(precision_module.CHECK_TILES, 1)]  # no calibration tiles read
