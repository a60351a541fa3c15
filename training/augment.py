"""Augmentation on 0-255 images (bands, rows, cols): rotations, flips, blur, and brightness and
contrast jitter (snow and illumination differ between scenes). Labels follow the geometry."""

from __future__ import annotations

import numpy as np

from rockglacier_plugin.core.terrain import smooth_gaussian


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
        image = np.stack([smooth_gaussian(band.astype(np.float64), sigma) for band in image]).astype(np.float32)
    if rng.random() < 0.8:
        contrast = float(rng.uniform(0.75, 1.25))
        brightness = float(rng.uniform(-25.0, 25.0))
        mean = image.mean()
        image = np.clip((image - mean) * contrast + mean + brightness, 0.0, 255.0)
    return image, np.ascontiguousarray(label)
