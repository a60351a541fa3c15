"""The torch datasets of training: patches and chips one by one (``SegmentationDataset``, augmented in training) and
composed canvases (``ComposedDataset``, from ``compose``)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from rockglacier_plugin.core.mapping.input_scaling import standardize, to_uint8_range
from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
from training.data.augment import augment
from training.data.compose import composed_sample, cut_by_raster_edges, raster_window
from training.data.samples import Sample, pad_to_multiple, read_sample


class SegmentationDataset:
    """A torch-style dataset: (input tensor, label tensor) with augmentation in training."""

    def __init__(self, samples: Sequence[Sample], spec: ModelSpec, train: bool, crop_px: Optional[int] = None, seed: int = 0):
        self.samples = list(samples)
        self.spec = spec
        self.train = train
        self.crop_px = crop_px
        self.rng = np.random.default_rng(seed)
        self.cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        import torch

        if index not in self.cache:
            raw, label = read_sample(self.samples[index], self.spec.in_channels)
            self.cache[index] = (to_uint8_range(raw, self.spec.input_scaling), label)
        image, label = self.cache[index]
        if self.crop_px and min(label.shape) > self.crop_px:
            r = self.rng.integers(0, label.shape[0] - self.crop_px + 1) if self.train else (label.shape[0] - self.crop_px) // 2
            c = self.rng.integers(0, label.shape[1] - self.crop_px + 1) if self.train else (label.shape[1] - self.crop_px) // 2
            image, label = image[:, r : r + self.crop_px, c : c + self.crop_px], label[r : r + self.crop_px, c : c + self.crop_px]
        if self.train:
            image, label = augment(image, label, self.rng)
        # validation chips keep their size (reflect-padding a chip to the crop size would mirror its rock glacier)
        image, label = pad_to_multiple(image, label, self.spec.size_multiple_px, self.crop_px if self.train else None)
        return torch.from_numpy(standardize(image, self.spec).copy()), torch.from_numpy(label.astype(np.float32).copy())


class ComposedDataset:
    """Composed canvases (``compose.composed_sample``): ``length`` new random samples per epoch,
    with the brightness/contrast/blur augmentation of single chips on top."""

    def __init__(self, pool: Any, settings: Any, spec: ModelSpec, length: int, seed: int = 0):
        self.pool, self.settings, self.spec, self.length = pool, settings, spec, length
        self.seed = seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        import torch

        rng = np.random.default_rng((self.seed, index))
        image, label = composed_sample(self.pool, self.settings, rng)
        image, label = augment(image, label, rng)
        image, label = pad_to_multiple(image, label, self.spec.size_multiple_px)
        image = standardize(image, self.spec)
        if rng.random() < self.settings.raster_edge_share:
            window = raster_window(label.shape, self.settings.cell_px // 2, rng)
            image, label = cut_by_raster_edges(image, label, window)
        return torch.from_numpy(np.ascontiguousarray(image)), torch.from_numpy(label.astype(np.float32).copy())
