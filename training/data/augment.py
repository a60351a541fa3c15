"""Augmentation on 0-255 images (bands, rows, cols): rotations, flips, blur, and brightness and
contrast jitter (snow and illumination differ between scenes). Labels follow the geometry."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def blur_image(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur of every band of an image (bands, rows, cols), edges mirrored.

    An image filter, not the DEM smoothing of ``core.terrain`` (which propagates no-data): images
    have no NaN and need no renormalisation at the border.
    """
    return gaussian_filter(image.astype(np.float32), sigma=(0.0, sigma_px, sigma_px), mode="reflect", truncate=3.0)


def colour_jitter(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Each band scaled by a gain in [1 - strength, 1 + strength] and shifted by an offset in
    +-100 x strength (0-255 scale), clipped to 0-255: white balance, haze and stretch differ
    between processing chains (the chips of two collections of the same Andes differ by about
    20 in red minus blue), and per chip it stops brightness alone telling rock glaciers apart."""
    bands = image.shape[0]
    gains = rng.uniform(1.0 - strength, 1.0 + strength, bands).astype(np.float32)[:, None, None]
    offsets = rng.uniform(-100.0 * strength, 100.0 * strength, bands).astype(np.float32)[:, None, None]
    return np.clip(image * gains + offsets, 0.0, 255.0)


def augment(image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    k = int(rng.integers(0, 4))
    image, label = np.rot90(image, k, axes=(1, 2)), np.rot90(label, k)
    if rng.random() < 0.5:
        image, label = image[:, :, ::-1], label[:, ::-1]
    if rng.random() < 0.5:
        image, label = image[:, ::-1, :], label[::-1, :]
    image = np.ascontiguousarray(image, dtype=np.float32)
    if rng.random() < 0.3:
        sigma = float(rng.uniform(0.5, 1.5))
        image = blur_image(image, sigma)
    if rng.random() < 0.8:
        contrast = float(rng.uniform(0.75, 1.25))
        brightness = float(rng.uniform(-25.0, 25.0))
        mean = image.mean()
        image = np.clip((image - mean) * contrast + mean + brightness, 0.0, 255.0)
    return image, np.ascontiguousarray(label)


# -- other mountains and sensors (``TrainConfig.other_ranges``; docs/training.md "Robust to other mountains") -------------------
#: What each augmentation mimics; the names a config lists in ``other_ranges``.
OTHER_RANGES = ("pixel_size", "haze", "snow", "shadow")


def _smooth_field(shape: tuple[int, int], rng: np.random.Generator, sigma_px: float) -> np.ndarray:
    """A smooth random field in [0, 1] (Gaussian-filtered white noise, stretched)."""
    field = gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_px, mode="wrap")
    low, high = float(field.min()), float(field.max())
    return (field - low) / (high - low) if high > low else np.zeros(shape, np.float32)


def pixel_size(
    image: np.ndarray,
    label: np.ndarray,
    rng: np.random.Generator,
    metres: tuple[float, float] = (8.0, 15.0),
    native_m: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The scene as a sensor of another pixel size (8-15 m for 10 m chips: SPOT, Landsat pan-sharpened, resampled
    products) would show it: zoomed by native_m / metres (bilinear image, nearest label), cropped or mirror-padded
    back to the same shape, so a landform covers fewer or more pixels."""
    from scipy.ndimage import zoom

    factor = native_m / float(rng.uniform(*metres))
    rows, cols = label.shape
    scaled = zoom(image, (1.0, factor, factor), order=1, mode="reflect")
    scaled_label = zoom(label, factor, order=0, mode="nearest")
    if factor >= 1.0:
        r0, c0 = (scaled_label.shape[0] - rows) // 2, (scaled_label.shape[1] - cols) // 2
        return scaled[:, r0 : r0 + rows, c0 : c0 + cols], scaled_label[r0 : r0 + rows, c0 : c0 + cols]
    pad_r, pad_c = rows - scaled_label.shape[0], cols - scaled_label.shape[1]
    pads = ((pad_r // 2, pad_r - pad_r // 2), (pad_c // 2, pad_c - pad_c // 2))
    return (np.pad(scaled, ((0, 0),) + pads, mode="reflect"), np.pad(scaled_label, pads, mode="reflect"))


def haze(image: np.ndarray, rng: np.random.Generator, max_share: float = 0.45) -> np.ndarray:
    """Thin cloud, haze or a low sun's glare: each pixel mixed with a bluish-white airlight by a smoothly varying share
    (up to ``max_share``), the atmospheric-scattering model I = J (1 - t) + A t."""
    share = max_share * float(rng.uniform(0.3, 1.0)) * _smooth_field(image.shape[1:], rng, image.shape[1] / 4.0)
    airlight = np.array([rng.uniform(190, 235), rng.uniform(200, 240), rng.uniform(215, 255)], np.float32)[
        : image.shape[0], None, None
    ]
    return np.clip(image * (1.0 - share) + airlight * share, 0.0, 255.0)


def snow(image: np.ndarray, rng: np.random.Generator, cover: tuple[float, float] = (0.05, 0.35)) -> np.ndarray:
    """Seasonal snow patches: the brightest share (``cover``) of a smooth random field turned to snow (230-255, slightly
    blue), with soft edges; the landform stays where it is (the label does not change)."""
    field = _smooth_field(image.shape[1:], rng, float(rng.uniform(3.0, 10.0)))
    level = np.quantile(field, 1.0 - float(rng.uniform(*cover)))
    weight = np.clip((field - level) / 0.05, 0.0, 1.0)[None]
    white = np.array([rng.uniform(225, 245), rng.uniform(230, 250), rng.uniform(238, 255)], np.float32)[
        : image.shape[0], None, None
    ]
    return np.clip(image * (1.0 - weight) + white * weight, 0.0, 255.0)


def shadow(image: np.ndarray, rng: np.random.Generator, darkest: tuple[float, float] = (0.25, 0.6)) -> np.ndarray:
    """Cast shadow of a ridge under a low sun: the image beyond a random straight edge (any direction, soft over a few
    pixels) darkened to ``darkest`` of its brightness, slightly blue (sky light)."""
    rows, cols = image.shape[1:]
    angle = float(rng.uniform(0, 2 * np.pi))
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    distance = (
        (xx - cols / 2.0) * np.cos(angle) + (yy - rows / 2.0) * np.sin(angle) - float(rng.uniform(-0.4, 0.4)) * min(rows, cols)
    )
    inside = np.clip(0.5 + distance / float(rng.uniform(2.0, 8.0)), 0.0, 1.0)
    factor = float(rng.uniform(*darkest))
    gains = np.array([factor, factor * 1.05, factor * 1.15], np.float32)[: image.shape[0], None, None]
    return np.clip(image * (1.0 - inside * (1.0 - gains)), 0.0, 255.0)


def other_ranges(
    image: np.ndarray, label: np.ndarray, rng: np.random.Generator, names: tuple[str, ...], probability: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """Each augmentation of ``names`` (``OTHER_RANGES``) applied with ``probability``, in that order."""
    if "pixel_size" in names and rng.random() < probability:
        image, label = pixel_size(image, label, rng)
    for name, apply in (("haze", haze), ("snow", snow), ("shadow", shadow)):
        if name in names and rng.random() < probability:
            image = apply(image, rng)
    return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(label)
