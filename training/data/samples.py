"""Training samples: georeferenced patch folders (``prepare``) or plain chip folders, read with
GDAL, scaled with the plugin's own ``input_scaling`` so training and inference agree."""

from __future__ import annotations

import csv
import glob
import os
import random
import re
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from training.data.labels import IGNORE_LABEL


@dataclass(frozen=True)
class Sample:
    image_path: str
    label_path: Optional[str]  # None = all background (a negative chip)
    split: str  # "train" or "validation"
    kind: str  # "positive" or "negative"
    # label values: chip masks are 0/255 (rock glacier > 127); patch labels (``core.mapping.patches``) are 0/1 and
    # ``IGNORE_LABEL`` (255) where nobody has reviewed the landform: ``labels_are_patches`` tells them apart
    labels_are_patches: bool = False


def scored(predicted: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(prediction, truth) on the labelled pixels only: pixels of ``IGNORE_LABEL`` count neither way.

    >>> p, t = scored(np.array([True, True, False]), np.array([1, IGNORE_LABEL, 0], dtype=np.uint8))
    >>> p.tolist(), t.tolist()
    ([True, False, False], [True, False, False])
    """
    known = label != IGNORE_LABEL
    return predicted & known, (label == 1) & known


def patch_folder_samples(folder: str) -> list[Sample]:
    """Samples of a folder written by ``prepare`` (images/, labels/, patches.csv with the split)."""
    with open(os.path.join(folder, "patches.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # a "folder" column names the sub-folder of each patch (patches of several images, ``training.adapt``)
    return [
        Sample(
            os.path.join(folder, r.get("folder") or "", "images", f"{r['name']}.tif"),
            os.path.join(folder, r.get("folder") or "", "labels", f"{r['name']}.tif"),
            r["split"],
            r["kind"],
            True,
        )
        for r in rows
    ]


def chip_folder_samples(folder: str, validation_fraction: float = 0.1, seed: int = 0) -> list[Sample]:
    """Chips as in the alcazar90 data set: rock_glacier/glaciar_N.png with masks/mask_N.png, and
    no_rock_glacier/*.png negatives. The chips carry no coordinates, so the split is by chip
    (seeded); chips may come from overlapping scenes, which this cannot rule out."""
    positives = []
    for image in sorted(glob.glob(os.path.join(folder, "rock_glacier", "*.png"))):
        number = re.search(r"(\d+)", os.path.basename(image))
        mask = os.path.join(folder, "masks", f"mask_{number.group(1)}.png") if number else None
        if mask and os.path.exists(mask):
            positives.append((image, mask, "positive"))
    negatives = [(image, None, "negative") for image in sorted(glob.glob(os.path.join(folder, "no_rock_glacier", "*.png")))]
    if not positives:
        raise FileNotFoundError(f"No rock_glacier/*.png with masks/mask_*.png under '{folder}'.")
    rng = random.Random(seed)
    samples = []
    for group in (positives, negatives):
        order = list(range(len(group)))
        rng.shuffle(order)
        n_validation = int(round(validation_fraction * len(group)))
        validation = set(order[:n_validation])
        samples += [
            Sample(image, mask, "validation" if i in validation else "train", kind) for i, (image, mask, kind) in enumerate(group)
        ]
    return samples


def read_sample(sample: Sample, channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(raw image (channels, rows, cols) float32, label (rows, cols) uint8: 0/1, and ``IGNORE_LABEL`` where a patch
    label says nobody reviewed the landform)."""
    from osgeo import gdal

    gdal.UseExceptions()
    image = gdal.Open(sample.image_path).ReadAsArray().astype(np.float32)
    image = image.reshape((-1,) + image.shape[-2:])[:channels]
    if sample.label_path is None:
        label = np.zeros(image.shape[1:], dtype=np.uint8)
    else:
        values = gdal.Open(sample.label_path).ReadAsArray()
        values = values.reshape((-1,) + values.shape[-2:])[0]
        if sample.labels_are_patches:
            label = np.where(values == IGNORE_LABEL, IGNORE_LABEL, values == 1).astype(np.uint8)
        else:
            label = (values > (127 if values.max() > 1 else 0)).astype(np.uint8)
    return image, label


def pad_to_multiple(
    image: np.ndarray, label: np.ndarray, multiple: int, size: Optional[int] = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pad (reflect image, zero label) to a multiple of ``multiple`` (or to ``size``)."""
    rows, cols = label.shape
    target_r = size or int(np.ceil(rows / multiple) * multiple)
    target_c = size or int(np.ceil(cols / multiple) * multiple)
    pad_r, pad_c = max(target_r - rows, 0), max(target_c - cols, 0)
    if pad_r or pad_c:
        image = np.pad(image, ((0, 0), (0, pad_r), (0, pad_c)), mode="reflect")
        label = np.pad(label, ((0, pad_r), (0, pad_c)))
    return image[:, :target_r, :target_c], label[:target_r, :target_c]


def load_samples(config: Any) -> list:
    kind = config.data_format
    if kind == "auto":
        kind = "patches" if os.path.exists(os.path.join(config.data, "patches.csv")) else "chips"
    if kind == "patches":
        return patch_folder_samples(config.data)
    return chip_folder_samples(config.data, config.validation_fraction, config.seed)
