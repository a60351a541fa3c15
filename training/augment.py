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
