"""``python -m training adapt``: what a reviewed inventory teaches (accepted/modified = rock glacier, rejected =
negative, not reviewed = nothing), and the refusals and the no-held-out path of the command itself."""

import json
import os

import numpy as np
import pytest
from osgeo import gdal, ogr

from benchmarks.demo_scene import write_demo_scene
from rockglacier_plugin.core.errors import InputVectorError
from rockglacier_plugin.core.mapping.patches import IGNORE_LABEL
from tests.builders import square_wkt, write_polygons, write_raster
from training.data.samples import patch_folder_samples, read_sample, scored
from training.loop.adapt import AdaptRequest, Landforms, adapt, cut_patches, read_landforms
from training.loop.losses import LOSSES, with_image_level

ORIGIN = (500000.0, 5000000.0)
PIXEL_M = 10.0


class _Spec:
    """What cut_patches reads of the base model: 8-bit RGB needs no rendering."""

    rendering = None


def _scene(tmp_path, reviews):
    """A 600 x 600 px 8-bit image and 300 m squares 600 m apart (inside each other's 500 m context) with the given review
    values."""
    image = np.random.default_rng(0).integers(0, 255, (3, 600, 600)).astype(np.uint8)
    raster = write_raster(tmp_path / "image.tif", image, (ORIGIN[0], PIXEL_M, 0, ORIGIN[1], 0, -PIXEL_M), dtype=gdal.GDT_Byte)
    centres = [(ORIGIN[0] + 500 + 600 * (i % 3), ORIGIN[1] - 500 - 600 * (i // 3)) for i in range(len(reviews))]
    layer = write_polygons(
        tmp_path / "review.gpkg", [square_wkt(x, y, 300) for x, y in centres], attributes={"review": list(reviews)}
    )
    return str(raster), str(layer), centres


def _label_at(folder, x, y):
    """The label value of the pixel containing (x, y) in whichever patch covers it."""
    for sub in sorted(os.listdir(folder)):
        labels = os.path.join(folder, sub, "labels")
        for name in sorted(os.listdir(labels)) if os.path.isdir(labels) else []:
            dataset = gdal.Open(os.path.join(labels, name))
            x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
            col, row = int((x - x0) // dx), int((y - y0) // dy)
            if 0 <= col < dataset.RasterXSize and 0 <= row < dataset.RasterYSize:
                return int(dataset.ReadAsArray()[row, col])
    return None


def test_review__accepted_and_modified_are_rock_glacier_rejected_negative_and_unreviewed_unlabelled(tmp_path):
    raster, layer, centres = _scene(tmp_path, ["accepted", "modified", "rejected", None, "accepted"])
    request = AdaptRequest((raster,), layer, str(tmp_path / "out.onnx"))
    landforms = read_landforms(request)
    assert (len(landforms.positive), len(landforms.negative), len(landforms.ignored)) == (3, 1, 1)
    folder = tmp_path / "patches"
    folder.mkdir()
    cut = cut_patches(request, landforms, _Spec(), str(folder), lambda fraction, message: None)
    # the oracle: each square's centre pixel, by where the squares were drawn (the unreviewed one lies in its
    # neighbours' context: it gets no patch of its own)
    assert [_label_at(folder, x, y) for x, y in centres] == [1, 1, 0, IGNORE_LABEL, 1]
    kinds = {row["kind"] for row in cut["rows"]}
    assert {"positive", "negative", "background"} <= kinds
    assert cut["held_out"] is False  # 3 rock glaciers: fewer than 4, all train


def test_read_sample__unreviewed_pixels_stay_out_of_the_loss_and_the_scores(tmp_path):
    import torch

    raster, layer, centres = _scene(tmp_path, [None, "accepted"])
    request = AdaptRequest((raster,), layer, str(tmp_path / "out.onnx"))
    folder = tmp_path / "patches"
    folder.mkdir()
    cut_patches(request, read_landforms(request), _Spec(), str(folder), lambda fraction, message: None)
    labels = [read_sample(s)[1] for s in patch_folder_samples(str(folder))]
    values = set(np.unique(np.concatenate([label.ravel() for label in labels])).tolist())
    assert values == {0, 1, IGNORE_LABEL}
    label = next(label for label in labels if (label == IGNORE_LABEL).any())
    logits = torch.zeros((1,) + label.shape, requires_grad=True)
    loss = with_image_level(LOSSES["dice_bce"], logits, torch.from_numpy(label.astype(np.float32))[None], 0.5, 16, 8)
    loss.backward()
    gradient = logits.grad[0].numpy()
    assert np.all(gradient[label == IGNORE_LABEL] == 0.0)  # closed form: an ignored pixel has no gradient
    assert np.any(gradient[label != IGNORE_LABEL] != 0.0)
    predicted, truth = scored(np.ones(label.shape, bool), label)
    assert not predicted[label == IGNORE_LABEL].any() and truth.sum() == (label == 1).sum()


def test_adapt__refuses_a_review_without_an_accepted_rock_glacier(tmp_path):
    raster, layer, _ = _scene(tmp_path, ["rejected", None, "candidate"])
    with pytest.raises(InputVectorError, match=r"no rock glacier to learn from.*2 not reviewed, 1 rejected"):
        read_landforms(AdaptRequest((raster,), layer, str(tmp_path / "out.onnx")))


def test_adapt__refuses_an_inventory_that_no_image_covers(tmp_path):
    raster, _, _ = _scene(tmp_path, [])
    far = write_polygons(tmp_path / "far.gpkg", [square_wkt(ORIGIN[0] + 90_000, ORIGIN[1], 300)])
    request = AdaptRequest((raster,), str(far), str(tmp_path / "out.onnx"))
    landforms = read_landforms(request)
    with pytest.raises(InputVectorError, match="No image overlaps the inventory"):
        cut_patches(request, landforms, _Spec(), str(tmp_path), lambda fraction, message: None)


def test_adapt__refuses_a_model_that_does_not_state_its_architecture(tmp_path, capsys):
    from tests.onnx_builders import identity_model

    raster, layer, _ = _scene(tmp_path, ["accepted"])
    model = identity_model(tmp_path / "users_own.onnx")
    from training.__main__ import main as training_main

    code = training_main(
        ["adapt", "--images", raster, "--inventory", layer, "--base-model", str(model), "--output", str(tmp_path / "out.onnx")]
    )
    assert code == 2
    assert "does not say its architecture" in capsys.readouterr().err
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.slow
def test_adapt__one_reviewed_rock_glacier_trains_on_it_and_the_card_says_there_is_no_held_out_estimate(tmp_path):
    truth = write_demo_scene(tmp_path / "scene", size_px=400, n_lobes=3, seed=5)
    source = ogr.Open(str(tmp_path / "scene" / "outlines.gpkg"))
    first = next(iter(source.GetLayer(0)))
    layer = write_polygons(
        tmp_path / "one.gpkg",
        [first.GetGeometryRef().ExportToWkt()],
        epsg=int(source.GetLayer(0).GetSpatialRef().GetAuthorityCode(None)),
        attributes={"review": ["accepted"]},
    )
    messages = []
    card = adapt(
        AdaptRequest((str(tmp_path / "scene" / "image.tif"),), str(layer), str(tmp_path / "one.onnx"), max_minutes=0.1),
        lambda fraction, message: messages.append(message),
    )
    assert len(truth) == 3
    assert any("no held-out estimate" in m for m in messages)
    assert card["held_out"] == {"adapted": None, "adapted_at_base_threshold": None, "base": None}
    assert card["threshold"] == 0.55 and card["threshold_source"] == "base model"  # nothing to choose on: the base model's
    written = json.loads((tmp_path / "one_card.json").read_text())
    assert written["provenance"]["rock_glaciers"] == 1 and written["patches"]["validation"] == 0
    assert "no held-out estimate" in (tmp_path / "one_card.html").read_text().lower()
    assert not [p for p in os.listdir(tmp_path) if ".partial" in p]
    from rockglacier_plugin.core.mapping.onnx_model import load_model

    spec = load_model(str(tmp_path / "one.onnx"), "cpu").spec
    assert spec.seg_thresh == card["threshold"] and spec.provenance["adapted_from"] == "rockglacier_default.onnx"


def test_landforms__negatives_layer_in_another_crs_is_reprojected(tmp_path):
    raster, layer, centres = _scene(tmp_path, ["accepted"])
    from osgeo import osr

    utm, geographic = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(32632)
    geographic.ImportFromEPSG(4326)
    geographic.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    utm.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    square = ogr.CreateGeometryFromWkt(square_wkt(centres[0][0] + 1200, centres[0][1], 300))
    square.Transform(osr.CoordinateTransformation(utm, geographic))
    negatives = write_polygons(tmp_path / "negatives.gpkg", [square.ExportToWkt()], epsg=4326)
    landforms = read_landforms(AdaptRequest((raster,), layer, str(tmp_path / "o.onnx"), negatives=str(negatives)))
    assert isinstance(landforms, Landforms) and len(landforms.negative) == 1
    back = ogr.CreateGeometryFromWkb(landforms.negative[0])
    assert abs(back.Centroid().GetX() - (centres[0][0] + 1200)) < 0.5 and abs(back.GetArea() - 300**2) < 50


def test_threshold__strictest_keeping_the_base_recall_but_never_stricter_than_the_base_model():
    from training.loop.adapt_scores import pick_threshold

    recalls = {0.3: 0.9, 0.4: 0.8, 0.5: 0.7, 0.55: 0.6, 0.6: 0.6, 0.75: 0.6}
    # the base finds 0.6 of the held-out pixels at 0.55: 0.75 would keep it too, but the cap holds at 0.55
    assert pick_threshold(recalls, 0.6, 0.55) == 0.55
    assert pick_threshold(recalls, 0.75, 0.55) == 0.4  # the strictest reaching 0.75 below the cap
    assert pick_threshold(recalls, 0.95, 0.55) == 0.3  # none reaches it: the lowest
    assert pick_threshold(recalls, 0.6, 0.2) == 0.3  # a base threshold below every candidate: the lowest
