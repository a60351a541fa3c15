"""Composed scenes: labels follow their chips through turns and crops, crops cut through chips,
validation scenes hold each validation chip once, and the scene score runs the plugin's path."""

import numpy as np
import pytest
from osgeo import gdal

from tests.training.test_training import synthetic_chips
from training.data.compose import (
    ChipPool,
    CompositionSettings,
    compose_canvas,
    composed_sample,
    validation_scene,
)
from training.data.samples import chip_folder_samples
from training.evaluation.scene_eval import scene_scores, write_image


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return chip_folder_samples(str(synthetic_chips(tmp_path_factory.mktemp("chips"), size=64)), 0.25, 0)


def _marked(samples):
    """A pool whose image band 0 is 255 exactly where the label is 1 (so misalignment shows)."""
    pool = ChipPool(samples, 3)
    for group in (pool.positives, pool.negatives):
        for index, (image, label) in enumerate(group):
            marked = image.copy()
            marked[0] = np.where(label > 0, 255.0, np.minimum(image[0], 200.0))
            group[index] = (marked, label)
    return pool


def test_compose__labels_stay_on_their_pixels_through_turns_flips_and_crops(samples):
    pool = _marked(samples)
    settings = CompositionSettings(cells=3, cell_px=64, crop_px=128)
    rng = np.random.default_rng(1)
    for _ in range(20):
        image, label = composed_sample(pool, settings, rng)
        assert image.shape == (3, 128, 128) and label.shape == (128, 128)
        np.testing.assert_array_equal(image[0] == 255.0, label == 1)


def test_compose__canvases_mix_positive_and_negative_chips(samples):
    pool = _marked(samples)
    settings = CompositionSettings(cells=3, cell_px=64, crop_px=128, positive_share=0.5)
    canvas, label = compose_canvas(pool, settings, np.random.default_rng(2))
    cells = [label[r : r + 64, c : c + 64].any() for r in range(0, 192, 64) for c in range(0, 192, 64)]
    assert 0 < sum(cells) < 9


def test_compose__crop_borders_cut_through_chips():
    pool = ChipPool.__new__(ChipPool)  # uniform chips, each its own value: chip borders show as steps
    pool.positives = [(np.full((3, 64, 64), float(v), np.float32), np.ones((64, 64), np.uint8)) for v in range(1, 40)]
    pool.negatives = [(np.full((3, 64, 64), float(v), np.float32), np.zeros((64, 64), np.uint8)) for v in range(40, 80)]
    pool.negative_p, pool.weak_positives = None, []  # every negative equally likely; no weak positives
    settings = CompositionSettings(cells=3, cell_px=64, crop_px=128)
    rng = np.random.default_rng(3)
    first_steps = set()
    for _ in range(30):
        image, _ = composed_sample(pool, settings, rng)
        steps = np.flatnonzero(np.diff(image[0, 0]) != 0)
        assert steps.size >= 1  # a 128 px crop of 64 px chips always spans a border
        first_steps.add(int(steps[0]))
    assert len(first_steps) > 5  # borders fall anywhere, not on a fixed grid


def test_validation_scene__holds_every_validation_chip_once(samples):
    validation = [s for s in samples if s.split == "validation"]
    scene = validation_scene(validation, 3, cells_per_side=int(np.ceil(np.sqrt(len(validation)))), seed=0, cell_px=64)
    side = scene.label.shape[0] // 64
    sums = sorted(
        float(scene.image[:, r * 64 : (r + 1) * 64, c * 64 : (c + 1) * 64].sum()) for r in range(side) for c in range(side)
    )
    chips = sorted(float(gdal.Open(s.image_path).ReadAsArray()[:3].astype(np.float32).sum()) for s in validation)
    # every chip's pixel sum appears (turning a chip keeps its sum); extra cells repeat chips
    for value in chips:
        assert any(abs(value - s) < 1e-3 * max(value, 1.0) for s in sums)
    assert scene.negative_pixels.sum() == 64 * 64 * sum(
        1 for r in range(side) for c in range(side) if not scene.label[r * 64 : (r + 1) * 64, c * 64 : (c + 1) * 64].any()
    )


def test_scene_scores__perfect_and_empty_maps(samples, tmp_path):
    validation = [s for s in samples if s.split == "validation"]
    scene = validation_scene(validation, 3, cells_per_side=3, seed=0, cell_px=64)
    perfect = scene_scores(scene.label.astype(np.float32), scene)
    assert (
        perfect["scene_pixel_iou"] == 1.0 and perfect["scene_recall"] == 1.0 and perfect["scene_false_pixels_on_negatives"] == 0.0
    )
    everything = scene_scores(np.ones_like(scene.label, dtype=np.float32), scene)
    assert (
        everything["scene_pixel_iou"] == pytest.approx(scene.label.mean())
        and everything["scene_false_pixels_on_negatives"] == 1.0
    )
    path = write_image(scene.image, str(tmp_path / "scene.tif"))
    written = gdal.Open(path)
    assert written.RasterCount == 3 and written.GetProjection() and written.GetGeoTransform()[1] == 10.0


def test_compose__takes_georeferenced_patches_from_trainingpatches(tmp_path):
    """Patches (rockglacier:trainingpatches / prepare) go through the same path: cells are random crops of them."""
    from osgeo import ogr

    from rockglacier_plugin.core.mapping.patches import PatchSettings, plan_patches, write_patches
    from tests.builders import square_wkt, write_raster
    from training.data.samples import patch_folder_samples

    origin = (400000.0, 4000000.0)
    image = np.full((3, 600, 600), 60, dtype=np.uint8)
    image[:, 140:160, 140:160] = 255  # the rock glacier is bright (its label is 1 exactly there)
    raster = write_raster(tmp_path / "scene.tif", image, (origin[0], 10, 0, origin[1], 0, -10), epsg=32644, dtype=gdal.GDT_Byte)
    wkb = [ogr.CreateGeometryFromWkt(square_wkt(origin[0] + 1500, origin[1] - 1500, 200)).ExportToWkb()]
    negative = [ogr.CreateGeometryFromWkt(square_wkt(origin[0] + 4500, origin[1] - 4500, 100)).ExportToWkb()]
    settings = PatchSettings(context_m=300.0, max_patch_px=480, validation_fraction=0.0, seed=1)
    plan = plan_patches(str(raster), wkb, "EPSG:32644", negative, "EPSG:32644", settings)
    write_patches(str(raster), plan, str(tmp_path / "patches"), settings)
    pool = ChipPool(patch_folder_samples(str(tmp_path / "patches")), 3)
    assert pool.positives and pool.negatives
    rng = np.random.default_rng(0)
    for _ in range(10):
        crop, label = composed_sample(pool, CompositionSettings(cells=2, cell_px=48, crop_px=64), rng)
        np.testing.assert_array_equal(crop[0] == 255, label == 1)


def test_raster_window__no_one_or_two_edges_per_axis_and_chips_alone():
    from training.data.compose import raster_window

    rng = np.random.default_rng(4)
    kinds = set()
    for _ in range(300):
        rows, cols = raster_window((256, 256), 64, rng)
        for axis in (rows, cols):
            assert 0 <= axis.start < axis.stop <= 256 and axis.stop - axis.start >= 64
        kinds.add(tuple(int(a.start > 0) + int(a.stop < 256) for a in (rows, cols)))
    assert (0, 0) in kinds and (1, 0) in kinds and (2, 2) in kinds  # whole sample, a scene border, a clip run alone


def test_composed_dataset__beyond_a_raster_edge_is_the_plugins_neutral_input_and_background(samples):
    """Cut samples show the model what segment gives it beyond a raster's edge: exactly 0 after
    standardisation (``tile_io.read_tile``'s padding) in every band, labelled background."""
    from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
    from training.data.datasets import ComposedDataset

    spec = ModelSpec(size_multiple_px=16, standardization_mean=(0.5, 0.5, 0.5), standardization_std=(0.5, 0.5, 0.5))
    pool = ChipPool(samples, 3)
    cut = ComposedDataset(pool, CompositionSettings(cells=3, cell_px=64, crop_px=128, raster_edge_share=1.0), spec, 40, seed=5)
    whole = ComposedDataset(pool, CompositionSettings(cells=3, cell_px=64, crop_px=128, raster_edge_share=0.0), spec, 40, seed=5)
    n_cut = 0
    for index in range(40):
        image, label = (t.numpy() for t in cut[index])
        reference, _ = (t.numpy() for t in whole[index])
        neutral = (image == 0).all(axis=0)
        if neutral.any():
            n_cut += 1
            rows, cols = np.flatnonzero(~neutral.all(axis=1)), np.flatnonzero(~neutral.all(axis=0))
            inside = np.zeros_like(neutral)
            inside[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
            np.testing.assert_array_equal(neutral, ~inside)  # the raster is one rectangle
            assert not label[~inside].any()
        assert not (reference == 0).all(axis=0).any()  # uncut samples have no neutral pixel
    assert n_cut >= 20  # two thirds of the axes are cut


def test_compose__colour_jitter_changes_each_cell_on_its_own_and_keeps_labels(samples):
    """With colour_jitter every cell gets its own band gains and offsets (so brightness alone does
    not tell a rock-glacier chip from its neighbours), one colour over the whole cell."""
    pool = ChipPool(samples, 3)
    for group in (pool.positives, pool.negatives):  # uniform grey chips: any colour comes from the jitter
        for index, (image, label) in enumerate(group):
            group[index] = (np.full_like(image, 120.0), label)
    plain = compose_canvas(pool, CompositionSettings(cells=3, cell_px=64, crop_px=128), np.random.default_rng(3))
    canvas, label = compose_canvas(
        pool, CompositionSettings(cells=3, cell_px=64, crop_px=128, colour_jitter=0.2), np.random.default_rng(3)
    )
    np.testing.assert_array_equal(plain[0], 120.0)
    colours = {tuple(np.round(canvas[:, r, c], 3)) for r in range(0, 192, 64) for c in range(0, 192, 64)}
    assert len(colours) == 9  # nine cells, nine colours
    for r in range(0, 192, 64):
        for c in range(0, 192, 64):
            assert np.ptp(canvas[:, r : r + 64, c : c + 64], axis=(1, 2)).max() < 1e-4  # one colour per cell
    assert label.sum() > 0 and set(np.unique(label)) <= {0, 1}


def test_compose__chips_labelled_per_chip_join_as_negatives_and_weak_positive_cells(tmp_path, samples):
    """Chips of a collection without masks: its negatives are all-background cells, its positives
    fill whole cells labelled WEAK_LABEL_BASE + cell index; weak_positive_share sets how often."""
    from training.data.labels import WEAK_LABEL_BASE
    from training.evaluation.image_level import labelled_chips

    other = synthetic_chips(tmp_path / "other", n_positive=6, n_negative=5, size=64, seed=9)
    image_level = labelled_chips(str(other))
    pool = ChipPool(samples, 3, image_level=image_level, weak_positive_share=0.5)
    plain = ChipPool(samples, 3)
    assert len(pool.weak_positives) == 6 and len(pool.negatives) == len(plain.negatives) + 5
    assert len(pool.positives) == len(plain.positives)
    settings = CompositionSettings(cells=3, cell_px=64, crop_px=128, positive_share=1.0, weak_positive_share=0.5)
    rng = np.random.default_rng(4)
    weak_cells = 0
    for _ in range(10):
        _, label = compose_canvas(pool, settings, rng)
        for index in range(9):
            row, col = divmod(index, 3)
            cell = label[row * 64 : (row + 1) * 64, col * 64 : (col + 1) * 64]
            if cell.max() >= WEAK_LABEL_BASE:
                weak_cells += 1
                assert (cell == WEAK_LABEL_BASE + index).all()
            else:
                assert set(np.unique(cell)) <= {0, 1}
    assert 20 < weak_cells < 70  # about half of 90 positive cells
    _, label = compose_canvas(pool, CompositionSettings(cells=3, cell_px=64, crop_px=128), rng)
    assert label.max() <= 1 or pool.weak_positive_share > 0
    with pytest.raises(ValueError, match="weak_positive_share"):
        CompositionSettings(weak_positive_share=1.5)
