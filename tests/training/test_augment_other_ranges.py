"""Augmentations that mimic other mountain ranges and sensors, each against what it claims physically."""

import numpy as np
import pytest

from training.data.augment import OTHER_RANGES, haze, other_ranges, pixel_size, shadow, snow
from training.data.compose import CompositionSettings


def _square(size=128, side=40):
    label = np.zeros((size, size), np.uint8)
    start = (size - side) // 2
    label[start : start + side, start : start + side] = 1
    image = np.full((3, size, size), 90.0, np.float32)
    image[:, label == 1] = 160.0
    return image, label


@pytest.mark.parametrize("seed", range(6))
def test_pixel_size__a_landform_covers_the_area_the_new_pixel_size_gives(seed):
    image, label = _square()
    rng = np.random.default_rng(seed)
    factor = 10.0 / np.random.default_rng(seed).uniform(8.0, 15.0)  # the draw pixel_size makes first
    scaled_image, scaled_label = pixel_size(image, label, rng)
    assert scaled_image.shape == image.shape and scaled_label.shape == label.shape
    assert set(np.unique(scaled_label)) <= {0, 1}
    # a 40 px square seen with pixels 10/factor m wide covers (40 factor)^2 pixels (mirror padding repeats it only
    # beyond the 128 px frame when zoomed out by more than 40/128: never within 8-15 m)
    expected = (40 * factor) ** 2
    assert abs(int((scaled_label == 1).sum()) - expected) <= 4 * 40 * factor + 4
    # the image followed the label: the bright pixels are the landform's
    assert abs(int((scaled_image[0] > 125).sum()) - int((scaled_label == 1).sum())) <= 4 * 40 * factor


def test_haze__every_pixel_moves_towards_the_airlight_and_none_leaves_0_255():
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, (3, 64, 64)).astype(np.float32)
    hazy = haze(image, np.random.default_rng(2))
    assert hazy.min() >= 0 and hazy.max() <= 255
    # I = J (1 - t) + A t with A >= 190: a pixel darker than the airlight never darkens, and the mean rises
    dark = image < 150
    assert np.all(hazy[dark] >= image[dark] - 1e-4)
    assert hazy.mean() > image.mean()


def test_snow__covers_the_share_it_draws_with_white_and_leaves_the_rest():
    image = np.full((3, 128, 128), 80.0, np.float32)
    snowy = snow(image, np.random.default_rng(3))
    white = (snowy.min(axis=0) >= 220).mean()
    assert 0.03 <= white <= 0.37
    untouched = (np.abs(snowy - image).max(axis=0) < 1e-4).mean()
    assert untouched >= 0.5


def test_shadow__darkens_one_side_of_an_edge_and_never_brightens():
    image = np.full((3, 128, 128), 200.0, np.float32)
    shaded = shadow(image, np.random.default_rng(4))
    assert np.all(shaded <= image + 1e-4)
    darkened = (shaded[0] < 0.7 * 200).mean()
    assert 0.05 < darkened < 0.95
    assert np.all(shaded[2][shaded[0] < 0.7 * 200] >= shaded[0][shaded[0] < 0.7 * 200])  # sky light: bluer in shadow


def test_other_ranges__unknown_names_are_refused_and_known_ones_keep_shapes():
    with pytest.raises(ValueError, match="unknown fog"):
        CompositionSettings(other_ranges=("fog",))
    image, label = _square()
    out, out_label = other_ranges(image, label, np.random.default_rng(0), OTHER_RANGES, probability=1.0)
    assert out.shape == image.shape and out_label.shape == label.shape and out.dtype == np.float32
