"""The training package: patches from a georeferenced scene, real training steps, metrics with
known answers, ONNX export parity, and the plugin running the exported model."""

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr

from rockglacier_plugin.core.mapping.patches import PatchSettings, plan_patches, split_window, write_patches
from rockglacier_plugin.core.raster.windows import Window
from tests.builders import square_wkt, write_raster
from training.config import TrainConfig
from training.evaluation.metrics import object_scores, pixel_iou

ORIGIN = (400000.0, 4000000.0)


def synthetic_chips(folder: Path, n_positive: int = 24, n_negative: int = 12, size: int = 64, seed: int = 0) -> Path:
    """Bright rough ellipses (rock glaciers) on a darker textured background, as chip folders."""
    rng = np.random.default_rng(seed)
    for sub in ("rock_glacier", "masks", "no_rock_glacier"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    rows, cols = np.mgrid[0:size, 0:size]
    for i in range(n_positive + n_negative):
        background = 60 + 25 * rng.random((3, size, size))
        if i < n_positive:
            r0, c0 = rng.integers(16, size - 16, 2)
            a, b = rng.uniform(6, 14, 2)
            inside = ((rows - r0) / a) ** 2 + ((cols - c0) / b) ** 2 <= 1
            background[:, inside] = 170 + 40 * rng.random((3, inside.sum()))
            gdal.GetDriverByName("PNG").CreateCopy(
                str(folder / "masks" / f"mask_{i:03d}.png"), _mem((inside * 255).astype(np.uint8)[None])
            )
            target = folder / "rock_glacier" / f"glaciar_{i:03d}.png"
        else:
            target = folder / "no_rock_glacier" / f"cordillera_{i:03d}.png"
        gdal.GetDriverByName("PNG").CreateCopy(str(target), _mem(background.astype(np.uint8)))
    return folder


def _mem(array):
    ds = gdal.GetDriverByName("MEM").Create("", array.shape[2], array.shape[1], array.shape[0], gdal.GDT_Byte)
    for index, band in enumerate(array, start=1):
        ds.GetRasterBand(index).WriteArray(band)
    return ds


def test_split_window__as_few_equal_patches_as_needed():
    windows = split_window(Window(10, 20, 1000, 481), 480)
    assert len(windows) == 3 * 2 and {w.width_px for w in windows} <= {333, 334} and {w.height_px for w in windows} == {240, 241}
    assert sum(w.width_px * w.height_px for w in windows) == 1000 * 481


def test_prepare__patch_counts_labels_and_an_honest_split(tmp_path):
    image = np.full((3, 1000, 1000), 80, dtype=np.uint8)
    raster = write_raster(tmp_path / "scene.tif", image, (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10), epsg=32644, dtype=gdal.GDT_Byte)
    # Three rock glaciers far apart and one near the first (its context overlaps): 3 spatial groups.
    centres = [(1500, -1500), (1700, -1700), (8000, -2000), (5000, -8000)]
    wkts = [square_wkt(ORIGIN[0] + x, ORIGIN[1] + y, 200) for x, y in centres]
    wkb = [ogr.CreateGeometryFromWkt(w).ExportToWkb() for w in wkts]
    negative = [ogr.CreateGeometryFromWkt(square_wkt(ORIGIN[0] + 8000, ORIGIN[1] - 8000, 100)).ExportToWkb()]
    settings = PatchSettings(context_m=500.0, max_patch_px=80, validation_fraction=0.3, seed=1)
    plan = plan_patches(str(raster), wkb, "EPSG:32644", negative, "EPSG:32644", settings)
    patches = plan.patches
    # each positive window: 20 px + 2 x 50 px context = 120 px -> 2 x 2 patches of 60 px; negative 110 px -> 2 x 2
    assert len(patches) == 5 * 4
    summary = write_patches(str(raster), plan, str(tmp_path / "patches"), settings)
    assert summary["positive"] == 16 and summary["negative"] == 4
    # no overlap between the two sets
    train = [p.window for p in patches if p.split == "train"]
    validation = [p.window for p in patches if p.split == "validation"]
    assert validation and all(a.intersection(b) is None for a in train for b in validation)
    # labels: 200 m squares at 10 m = 400 labelled pixels per rock glacier, summed over its patches
    total = sum(
        gdal.Open(str(tmp_path / "patches" / "labels" / f"{p.name}.tif")).ReadAsArray().sum()
        for p in patches
        if p.group == patches[-8].group
    )
    assert total == 400
    georeferenced = gdal.Open(str(tmp_path / "patches" / "images" / f"{patches[0].name}.tif"))
    assert georeferenced.GetProjection() and georeferenced.GetGeoTransform()[1] == 10


def test_metrics__pixel_iou_and_one_to_one_object_matching_with_known_answers():
    truth = np.zeros((40, 40), bool)
    truth[2:10, 2:10] = True  # A
    truth[20:30, 20:30] = True  # B
    prediction = np.zeros_like(truth)
    prediction[2:10, 2:9] = True  # matches A (IoU 0.875)
    prediction[20:30, 20:24] = True  # B split in two predictions: only one may match B
    prediction[20:30, 26:30] = True
    prediction[35:38, 35:38] = True  # a false positive
    scores = object_scores(prediction, truth, iou_threshold=0.3)
    assert (scores.tp, scores.fp, scores.fn) == (2, 2, 0)
    assert scores.tp + scores.fn == 2 and scores.tp + scores.fp == 4  # never a negative count
    strict = object_scores(prediction, truth, iou_threshold=0.5)
    assert (strict.tp, strict.fp, strict.fn) == (1, 3, 1)
    assert pixel_iou(prediction, truth) == pytest.approx((56 + 80) / (64 + 100 + 9))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A few real training steps of DeepLabv3+ on synthetic chips (CPU, seconds)."""
    from training.loop.train import Trainer

    folder = synthetic_chips(tmp_path_factory.mktemp("chips"))
    output = tmp_path_factory.mktemp("run")
    config = TrainConfig(
        data=str(folder),
        output=str(output),
        encoder="resnet18",
        pretrained=False,
        batch_size=8,
        epochs=6,
        learning_rate=3e-3,
        validation_fraction=0.25,
        target_iou=0.99,
        patience=10,
        seed=0,
        threads=2,
    )
    trainer = Trainer(config)
    before = trainer._run("validation")
    result = trainer.fit()
    return trainer, result, before, output


def test_training__loss_falls_and_validation_iou_beats_chance(trained):
    trainer, result, before, output = trained
    history = result["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    # chance: predicting everything positive gives IoU = positive share (~10 %)
    assert result["best_val_iou"] > 0.3
    assert (output / "best.pt").exists() and json.loads((output / "config.json").read_text())["encoder"] == "resnet18"


def test_training__eval_mode_output_is_not_all_background_after_short_training(trained):
    import torch

    trainer, _, _, _ = trained
    trainer.model.eval()
    predicted, truth = [], []
    with torch.no_grad():
        for images, labels in trainer._loader("validation"):
            predicted.append((trainer.model(images)[:, 0] > 0).numpy())
            truth.append(labels.numpy().reshape(predicted[-1].shape) > 0.5)
    predicted, truth = np.concatenate(predicted), np.concatenate(truth)
    iou = (predicted & truth).sum() / max(1, (predicted | truth).sum())
    # eval-mode output that had collapsed to background (or to all foreground) scores near 0 (or ~0.1)
    assert iou > 0.3, iou
    assert 0.5 < predicted.mean() / truth.mean() < 2.0


def test_training__resume_continues_from_the_checkpoint(trained, tmp_path):
    from training.loop.train import Trainer

    trainer, _, _, output = trained
    config = TrainConfig(**{**trainer.config.__dict__, "output": str(tmp_path), "epochs": trainer.epoch + 1})
    again = Trainer(config)
    again.resume(str(output / "last.pt"))
    assert again.epoch == trainer.epoch and again.best_iou == trainer.best_iou
    again.fit()
    assert again.epoch == trainer.epoch + 1


def test_export__onnx_matches_torch_and_runs_in_the_plugin(trained, tmp_path):
    from training.evaluation.evaluate import evaluate_samples, onnx_predictor, torch_predictor
    from training.export.onnx_export import export_onnx, parity
    from training.model.checkpoints import spec_for

    trainer, _, _, _ = trained
    spec = spec_for(trainer.config)
    path = export_onnx(trainer.model, spec, str(tmp_path / "model.onnx"))
    rng = np.random.default_rng(0)
    inputs = [trainer._loader("validation").dataset[0][0].numpy(), rng.standard_normal((3, 48, 80)).astype(np.float32)]
    assert parity(trainer.model, path, inputs) < 1e-4
    torch_scores = evaluate_samples(torch_predictor(trainer.model), trainer.validation_samples, spec)
    onnx_scores = evaluate_samples(onnx_predictor(path), trainer.validation_samples, spec)
    assert onnx_scores["pixel_iou"] == pytest.approx(torch_scores["pixel_iou"], abs=1e-3)
    # the plugin reads the exported metadata and runs the model on a georeferenced scene
    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from rockglacier_plugin.core.mapping.segmentation import SegmentSettings, segment_raster

    model = load_model(path, "cpu")
    assert model.spec.output == "logits" and model.spec.input_scaling.kind == "uint8"
    positive = next(s for s in trainer.validation_samples if s.kind == "positive")
    chip = gdal.Open(positive.image_path).ReadAsArray()[:3]
    raster = write_raster(tmp_path / "chip.tif", chip, (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10), epsg=32644, dtype=gdal.GDT_Byte)
    run = segment_raster(str(raster), path, str(tmp_path / "p.tif"), str(tmp_path / "m.tif"), SegmentSettings())
    probability = gdal.Open(str(tmp_path / "p.tif")).ReadAsArray()
    assert run.tiles_run == 1
    # oracle: torch's own sigmoid on the same chip, scaled by the plugin's input convention, with the
    # neutral context (0) the plugin puts around a tile beyond the raster
    import torch

    from rockglacier_plugin.core.mapping.input_scaling import model_input

    tensor, _ = model_input(chip.astype(np.float32), spec)
    context = run.layout.context_px
    assert context == spec.margin_px > 0
    tensor = np.pad(tensor, ((0, 0), (context, context), (context, context)))
    trainer.model.eval()
    with torch.no_grad():
        expected = torch.sigmoid(trainer.model(torch.from_numpy(tensor[None]))[0, 0]).numpy()[context:-context, context:-context]
    assert np.abs(probability - expected).max() < 1e-3
    assert 0.01 < (probability >= 0.5).mean() < 0.5  # a rock glacier is found: not two blank maps compared


def _reach_px(model, size_px=768):
    """Chebyshev radius of the input pixels that move the centre pixel's output (its receptive field)."""
    import torch

    model.eval()
    torch.manual_seed(0)
    image = torch.randn(1, 3, size_px, size_px, requires_grad=True)
    centre = size_px // 2
    model(image)[0, 0, centre, centre].backward()
    rows, cols = np.nonzero(image.grad[0].abs().sum(0).numpy())
    return int(max(np.abs(rows - centre).max(), np.abs(cols - centre).max()))


def test_build_model__compact_receptive_field_reaches_less_than_half_as_far_as_the_papers():
    """The paper's rates 6/12/18 with dilated last stages reach past 384 px (the whole 768 px input);
    the compact model (rates 1/2/3, undilated stages, the same weights' shapes) stays well inside."""
    from training.model.architecture import build_model

    wide = build_model(pretrained=False, image_pooling="none", receptive_field="wide")
    compact = build_model(pretrained=False, image_pooling="none", receptive_field="compact")
    assert set(wide.state_dict()) == set(compact.state_dict())  # a wide checkpoint fine-tunes into a compact model
    assert _reach_px(wide) == 384
    assert 200 < _reach_px(compact) < 384


def test_build_model__half_pixel_upsampling_exports_as_such():
    """Every bilinear upsampling maps pixel centres the same way everywhere (align_corners=False),
    in torch and in the exported ONNX graph (smp's default stretches about the tile's centre)."""
    import onnx
    import torch

    from training.model.architecture import build_model

    model = build_model(pretrained=False, image_pooling="none", upsampling="half_pixel")
    upsamplers = [m for m in model.modules() if isinstance(m, torch.nn.Upsample)]
    assert len(upsamplers) == 2 and not any(m.align_corners for m in upsamplers)
    from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
    from training.export.onnx_export import export_onnx

    with tempfile.TemporaryDirectory() as work:
        path = export_onnx(model, ModelSpec(), os.path.join(work, "m.onnx"), sample_size_px=64)
        modes = [
            onnx.helper.get_attribute_value(a)
            for n in onnx.load(path).graph.node
            if n.op_type == "Resize"
            for a in n.attribute
            if a.name == "coordinate_transformation_mode"
        ]
    assert len(modes) == 2 and all(m in (b"half_pixel", b"pytorch_half_pixel") for m in modes), modes


def test_build_model__unknown_encoder_names_the_valid_ones():
    from training.model.architecture import ModelConfigError, build_model

    with pytest.raises(ModelConfigError, match="choose one of .*tu-xception71"):
        build_model(encoder="resnet999")


def test_training__scene_and_chips_selection_keeps_the_epoch_with_the_best_mean(tmp_path):
    """select_on "scene+chips": every epoch scores the validation scene and each chip alone through
    the plugin's path; best.pt is the epoch with the best mean of the two. Samples cut by raster
    edges go through the same loop."""
    import torch

    from training.config import SELECTION
    from training.loop.train import Trainer

    folder = synthetic_chips(tmp_path / "chips")
    config = TrainConfig(
        data=str(folder),
        output=str(tmp_path / "run"),
        encoder="resnet18",
        pretrained=False,
        batch_size=4,
        epochs=2,
        learning_rate=3e-3,
        validation_fraction=0.25,
        seed=0,
        threads=2,
        compose=True,
        cell_px=64,
        crop_px=128,
        samples_per_epoch=8,
        raster_edge_share=0.5,
        scene_validation=True,
        select_on="scene+chips",
        inference_tile_px=256,
        inference_margin_px=32,
        target_iou=2.0,
    )
    result = Trainer(config).fit()
    history = result["history"]
    assert all(0.0 <= h["chips_pixel_iou"] <= 1.0 and 0.0 <= h["scene_pixel_iou"] <= 1.0 for h in history)
    means = [0.5 * (h["scene_pixel_iou"] + h["chips_pixel_iou"]) for h in history]
    assert result["best_val_iou"] == pytest.approx(max(means))
    best = torch.load(tmp_path / "run" / "best.pt", map_location="cpu", weights_only=False)
    assert best["epoch"] == 1 + int(np.argmax(means)) and SELECTION["scene+chips"](history[best["epoch"] - 1]) == max(means)


def test_training__scene_selection_without_scene_validation_says_what_to_set(tmp_path):
    from training.loop.train import check_config

    config = TrainConfig(select_on="scene+chips", scene_validation=False, encoder="resnet18", pretrained=False)
    with pytest.raises(ValueError, match="scene_validation=true"):
        check_config(config)


def test_evaluate_command__measures_chips_and_scene_through_the_plugins_path(trained, tmp_path, capsys):
    """`python -m training evaluate` measures a model as the plugin runs it: each chip alone through the plugin's path
    (its pixel IoU equal to the plugin path's own, computed apart), the validation scene, the image-level chips."""
    from training.__main__ import main
    from training.evaluation.scene_eval import chips_through_plugin
    from training.export.onnx_export import export_onnx
    from training.model.checkpoints import spec_for

    trainer, _, _, output = trained
    path = export_onnx(trainer.model, spec_for(trainer.config), str(tmp_path / "model.onnx"))
    _chip_png(tmp_path / "other" / "rock_glacier" / "a.png", 400)
    _chip_png(tmp_path / "other" / "no_rock_glacier" / "b.png", 0)
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                str(output / "best.pt"),
                "--onnx",
                path,
                "--split",
                "validation",
                "--views",
                "1",
                "--image-level",
                str(tmp_path / "other"),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert {"chips", "scene"} <= set(report) and report["chips"]["views"] == 1
    assert report["image_level"]["rock_glacier_chips"] == 1 and report["image_level"]["chips_without_rock_glacier"] == 1
    assert report["chips"]["pixel_iou"] == pytest.approx(
        chips_through_plugin(path, trainer.validation_samples, spec_for(trainer.config), views=1, threshold=report["threshold"]),
        abs=1e-9,
    )
    chips = report["chips"]
    assert chips["tp"] + chips["fn"] >= 1 and chips["samples"] == len(trainer.validation_samples)


def test_sensitive_convolutions__first_and_last_stay_float_depthwise_goes_int8(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from training.export.onnx_export import sensitive_convolutions

    def conv(name, source, target, channels_in, group=1):
        weight = numpy_helper.from_array(np.ones((4, channels_in // group, 3, 3), np.float32), f"{name}_w")
        return helper.make_node("Conv", [source, weight.name], [target], name=name, group=group, pads=[1, 1, 1, 1]), weight

    layers = [
        conv("stem", "input", "a", 3),
        conv("pointwise", "a", "b", 4),
        conv("depthwise", "b", "c", 4, group=4),
        conv("head", "c", "output", 4),
    ]
    graph = helper.make_graph(
        [node for node, _ in layers],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 8, 8])],
        initializer=[weight for _, weight in layers],
    )
    path = str(tmp_path / "m.onnx")
    onnx.save(helper.make_model(graph), path)
    assert sensitive_convolutions(path) == ["stem", "head"]


def test_training__ema_saves_the_moving_average_of_the_weights_and_resumes_it(tmp_path):
    """ema_decay: the checkpoint's "model" (validated, selected, exported) is the exponential moving
    average of the weights after each optimizer step, recomputed here from the trajectory."""
    import torch

    from training.loop.train import Trainer

    decay = 0.9
    folder = synthetic_chips(tmp_path / "chips")
    config = TrainConfig(
        data=str(folder),
        output=str(tmp_path / "run"),
        encoder="resnet18",
        pretrained=False,
        batch_size=8,
        epochs=1,
        learning_rate=3e-3,
        validation_fraction=0.25,
        seed=0,
        threads=2,
        ema_decay=decay,
        loss="dice_bce+lovasz",
        target_iou=2.0,
    )
    trainer = Trainer(config)
    names = [name for name, _ in trainer.model.named_parameters()]
    trajectory = []
    trainer.optimizer.register_step_post_hook(
        lambda *_: trajectory.append({name: p.detach().clone() for name, p in trainer.model.named_parameters()})
    )
    trainer.fit()
    assert len(trajectory) >= 3
    expected = dict(trajectory[0])
    for weights in trajectory[1:]:
        expected = {name: decay * expected[name] + (1 - decay) * weights[name] for name in names}
    saved = torch.load(tmp_path / "run" / "last.pt", map_location="cpu", weights_only=False)
    for name in names:
        torch.testing.assert_close(saved["model"][name], expected[name], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(saved["trained_model"][name], trajectory[-1][name])
    assert any(not torch.equal(saved["model"][n], saved["trained_model"][n]) for n in names)
    again = Trainer(TrainConfig(**{**config.__dict__, "output": str(tmp_path / "again")}))
    again.resume(str(tmp_path / "run" / "last.pt"))
    for name, p in again.evaluated.named_parameters():
        torch.testing.assert_close(p.detach(), saved["model"][name])


def test_training__unknown_loss_and_impossible_decay_say_what_to_choose():
    from training.loop.train import check_config

    with pytest.raises(ValueError, match="dice_bce\\+lovasz"):
        check_config(TrainConfig(loss="focal", encoder="resnet18", pretrained=False))
    with pytest.raises(ValueError, match="decay below 1"):
        check_config(TrainConfig(ema_decay=1.0, encoder="resnet18", pretrained=False))
    with pytest.raises(ValueError, match="needs image_level_data"):
        check_config(TrainConfig(weak_positive_share=0.3, encoder="resnet18", pretrained=False))
    with pytest.raises(ValueError, match="at least 1 px"):
        check_config(TrainConfig(presence_top_px=0, encoder="resnet18", pretrained=False))


def _chip_png(path: Path, blob_px: int) -> None:
    """A dark 64 px chip with a bright square of about ``blob_px`` pixels in band 1."""
    image = np.full((3, 64, 64), 30, dtype=np.uint8)
    side = int(round(blob_px**0.5))
    image[0, 10 : 10 + side, 12 : 12 + side] = 230
    path.parent.mkdir(parents=True, exist_ok=True)
    gdal.GetDriverByName("PNG").CreateCopy(str(path), _mem(image))


def test_image_level__detection_and_false_alarms_follow_the_minimum_candidate_area(tmp_path):
    """A threshold model (probability = band 1 above mid-grey) makes each chip's candidate exactly
    its bright square: chips count as detected when that square reaches 300 px (0.03 km2 at 10 m)."""
    from tests.onnx_builders import threshold_model
    from training.evaluation.image_level import image_level_scores, labelled_chips

    folder = tmp_path / "chips"
    _chip_png(folder / "rock_glacier" / "a.png", 400)  # detected
    _chip_png(folder / "rock_glacier" / "b.png", 100)  # too small: missed
    _chip_png(folder / "test" / "glaciarRoca_site_1.png", 900)  # named like chips_ds1: detected
    _chip_png(folder / "no_rock_glacier" / "c.png", 0)  # clean
    _chip_png(folder / "test" / "cordillera_2.png", 324)  # a false alarm
    _chip_png(folder / "test" / "cordillera_3.png", 144)  # too small to be a candidate
    _chip_png(folder / "other" / "unknown.png", 900)  # no class: skipped
    assert len(labelled_chips(str(folder))) == 6
    scores = image_level_scores(str(threshold_model(tmp_path / "t.onnx")), str(folder), views=8)
    assert scores["min_area_px"] == 300 and scores["rock_glacier_chips"] == 3 and scores["chips_without_rock_glacier"] == 3
    assert scores["detected_share"] == pytest.approx(2 / 3) and scores["false_alarm_share"] == pytest.approx(1 / 3)


def test_image_level__a_folder_without_labelled_chips_says_how_to_lay_them_out(tmp_path):
    from training.evaluation.image_level import labelled_chips

    _chip_png(tmp_path / "x" / "scene.png", 10)
    with pytest.raises(ValueError, match="rock_glacier/ and no_rock_glacier/"):
        labelled_chips(str(tmp_path))


def test_colour_jitter__per_band_gain_and_offset_within_the_strength_and_off_by_default():
    from training.data.augment import colour_jitter
    from training.data.compose import CompositionSettings

    image = np.full((3, 8, 8), 100.0, dtype=np.float32)
    image[:, :4] = 50.0
    jittered = colour_jitter(image, np.random.default_rng(5), 0.2)
    for band in range(3):  # each band an affine map of the original: gain from the two levels, then the offset
        gain = (jittered[band, 4, 0] - jittered[band, 0, 0]) / 50.0
        offset = jittered[band, 0, 0] - 50.0 * gain
        assert 0.8 <= gain <= 1.2 and -20.0 <= offset <= 20.0
        np.testing.assert_allclose(jittered[band], np.clip(image[band] * gain + offset, 0, 255), rtol=1e-5)
    assert len({round(float(jittered[b, 0, 0]), 4) for b in range(3)}) == 3  # bands move independently
    assert CompositionSettings().colour_jitter == 0.0 and TrainConfig().colour_jitter == 0.0


def test_model_card__reports_the_other_collection_beside_the_validation_chips():
    from training.card.render import _image_level_text

    text = _image_level_text(
        {
            "image_level": {
                "folder": "chips_ds1",
                "rock_glacier_chips": 183,
                "chips_without_rock_glacier": 210,
                "detected_share": 121 / 183,
                "false_alarm_share": 62 / 210,
                "views": 8,
                "min_area_px": 300,
                "validation_detected_share": 0.975,
                "validation_false_alarm_share": 1 / 55,
            }
        }
    )
    assert "66 % of the rock-glacier chips detected, 30 % of the others with a false candidate" in text
    assert "against 98 % and 2 % on the validation chips" in text and "chips_ds1" in text
    assert _image_level_text({}) == ""


def test_training__chips_labelled_per_chip_train_as_composed_cells_and_need_compose(tmp_path):
    """A few steps with a second collection labelled per chip: its included negatives and weak
    positives join the pool, held-out ones do not; without compose it says what to set."""
    from training.loop.train import Trainer

    folder = synthetic_chips(tmp_path / "chips")
    other = synthetic_chips(tmp_path / "other", n_positive=6, n_negative=6, seed=3)
    config = TrainConfig(
        data=str(folder),
        output=str(tmp_path / "run"),
        encoder="resnet18",
        pretrained=False,
        batch_size=4,
        epochs=1,
        learning_rate=1e-3,
        validation_fraction=0.25,
        compose=True,
        cell_px=64,
        crop_px=128,
        samples_per_epoch=8,
        image_level_data=str(other),
        image_level_include=["rock_glacier/*", "no_rock_glacier/cordillera_00*"],
        weak_positive_share=0.5,
        threads=2,
    )
    trainer = Trainer(config)
    pool = trainer.chip_pool()
    assert len(pool.weak_positives) == 6 and len(pool.negatives) == 9 + 4  # 4 of the 6 other negatives (006-009 of 006-011)
    history = trainer.fit()["history"]
    assert len(history) == 1 and np.isfinite(history[0]["train_loss"])
    with pytest.raises(ValueError, match="compose=true"):
        Trainer(TrainConfig(**{**config.__dict__, "compose": False, "output": str(tmp_path / "run2")})).chip_pool()


def test_image_level__chips_a_model_trained_on_are_left_out_of_its_check(tmp_path):
    """A model whose config trained on part of a collection (image_level_include) is checked on the
    rest only; on another folder, or trained without one, on everything."""
    from tests.onnx_builders import threshold_model
    from training.evaluation.image_level import image_level_scores, labelled_chips, trained_on

    folder = tmp_path / "chips_ds1"
    for name, blob in [
        ("train/glaciarRoca_a_1_1.png", 400),
        ("train/cordillera_1.png", 0),
        ("test/glaciarRoca_b_1_1.png", 0),
        ("test/cordillera_2.png", 400),
        ("test/cordillera_3.png", 0),
    ]:
        _chip_png(folder / name, blob)
    config = TrainConfig(image_level_data=str(folder), image_level_include=["train/*"])
    patterns = trained_on(config, str(folder))
    assert patterns == ["train/*"] and trained_on(TrainConfig(), str(folder)) is None
    assert trained_on(config, str(tmp_path / "other")) is None
    assert trained_on(TrainConfig(image_level_data=str(folder)), str(folder)) == ["*"]
    assert sorted(os.path.basename(s.image_path) for s in labelled_chips(str(folder), exclude=patterns)) == [
        "cordillera_2.png",
        "cordillera_3.png",
        "glaciarRoca_b_1_1.png",
    ]
    scores = image_level_scores(str(threshold_model(tmp_path / "t.onnx")), str(folder), views=1, exclude=patterns)
    assert scores["excluded_as_trained_on"] == ["train/*"]
    assert (scores["rock_glacier_chips"], scores["detected_share"]) == (1, 0.0)
    assert (scores["chips_without_rock_glacier"], scores["false_alarm_share"]) == (2, 0.5)
