"""Hard-negative mining (the paper's iterative loop): run the current model over negative samples,
list those where it predicts rock glacier, and oversample them in the next training round.

Negatives are judged as a user meets them: inside composed scenes (``compose``), next to other
chips, rock glaciers included, not alone in a frame; a model that fires only where a negative
chip meets a rock-glacier chip is caught too. ``composed=False`` judges each chip alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
from rockglacier_plugin.core.mapping.model_metadata import InputScaling, ModelSpec
from training.data.compose import validation_scene
from training.data.samples import Sample, read_sample
from training.evaluation.evaluate import predict_probability


def _false_pixels_alone(predict: Callable, sample: Sample, spec: ModelSpec, threshold: float) -> int:
    raw, label = read_sample(sample, spec.in_channels)
    return int(((predict_probability(predict, raw, spec) >= threshold) & (label == 0)).sum())


def _false_pixels_in_scenes(
    predict: Callable,
    negatives: Sequence[Sample],
    positives: Sequence[Sample],
    spec: ModelSpec,
    threshold: float,
    cell_px: int,
    seed: int,
) -> dict[str, int]:
    """Each negative in a 2 x 2 scene with a positive and two other chips; false pixels per negative."""
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    for negative in negatives:
        neighbours = [positives[int(rng.integers(0, len(positives)))]] if positives else []
        neighbours += [negatives[int(rng.integers(0, len(negatives)))] for _ in range(3 - len(neighbours))]
        group = [negative] + neighbours
        scene = validation_scene(
            group,
            spec.in_channels,
            2,
            int(rng.integers(1 << 30)),
            cell_px,
            lambda raw: to_uint8_range(raw, spec.input_scaling),
            shuffle=False,
        )
        # the scene is already on the 0-255 scale; the negative is its first cell
        predicted = predict_probability(predict, scene.image, replace(spec, input_scaling=InputScaling("uint8"))) >= threshold
        cell_prediction = predicted[:cell_px, :cell_px]
        cell_truth = scene.label[:cell_px, :cell_px]
        counts[negative.image_path] = int((cell_prediction & (cell_truth == 0)).sum())
    return counts


@dataclass(frozen=True)
class MiningSettings:
    """A pixel counts as false above ``threshold``; a negative is hard with ``min_pixels`` of them; ``composed``: judged
    inside composed scenes of ``cell_px`` cells (seeded by ``seed``), else alone."""

    threshold: float = 0.5
    min_pixels: int = 20
    composed: bool = True
    cell_px: int = 128
    seed: int = 0


def mine_negatives(
    predict: Callable[[np.ndarray], np.ndarray],
    samples: Sequence[Sample],
    spec: ModelSpec,
    output_list: str,
    settings: MiningSettings = MiningSettings(),
) -> list[str]:
    """Write the image paths of negative training samples with at least ``settings.min_pixels``
    false-positive pixels to ``output_list`` (one per line; ``TrainConfig.hard_negatives`` reads it)."""
    threshold, min_pixels, cell_px, seed = settings.threshold, settings.min_pixels, settings.cell_px, settings.seed
    negatives = [s for s in samples if s.kind == "negative" and s.split == "train"]
    positives = [s for s in samples if s.kind == "positive" and s.split == "train"]
    if settings.composed:
        counts = _false_pixels_in_scenes(predict, negatives, positives, spec, threshold, cell_px, seed)
    else:
        counts = {s.image_path: _false_pixels_alone(predict, s, spec, threshold) for s in negatives}
    hard = [path for path, count in counts.items() if count >= min_pixels]
    with open(output_list, "w", encoding="utf-8") as handle:
        handle.write("\n".join(hard) + ("\n" if hard else ""))
    return hard
