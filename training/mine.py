"""Hard-negative mining (the paper's iterative loop): run the current model over negative samples,
list those where it predicts rock glacier, and oversample them in the next training round."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from rockglacier_plugin.core.model_metadata import ModelSpec

from .data import Sample, read_sample
from .evaluate import predict_probability


def mine_negatives(predict: Callable[[np.ndarray], np.ndarray], samples: Sequence[Sample], spec: ModelSpec,
                   output_list: str, threshold: float = 0.5, min_pixels: int = 20) -> list[str]:
    """Write the image paths of negative samples with at least ``min_pixels`` false-positive
    pixels to ``output_list`` (one per line; ``TrainConfig.hard_negatives`` reads it)."""
    hard = []
    for sample in samples:
        if sample.kind != "negative" or sample.split != "train":
            continue
        raw, label = read_sample(sample, spec.in_channels)
        false_positive = (predict_probability(predict, raw, spec) >= threshold) & (label == 0)
        if int(false_positive.sum()) >= min_pixels:
            hard.append(sample.image_path)
    with open(output_list, "w", encoding="utf-8") as handle:
        handle.write("\n".join(hard) + ("\n" if hard else ""))
    return hard
