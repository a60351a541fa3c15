"""Training losses on logits of one class (rock glacier), shape (batch, rows, cols), labels in {0, 1}.

``dice_bce`` is what the default model was trained with; ``lovasz_hinge`` (Berman et al. 2018, the
Lovász extension of the Jaccard loss) optimises the per-image IoU itself and is used to fine-tune,
added to ``dice_bce`` so that the probabilities stay calibrated for the plugin's 0.5 threshold and
its averaging of views and tiles.
"""

from __future__ import annotations

from typing import Any, Callable


def dice_bce(logits: Any, target: Any) -> Any:
    """BCE plus soft Dice: BCE alone under-weights a ~10 % positive class, Dice counters it."""
    import torch

    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    probability = torch.sigmoid(logits)
    intersection = (probability * target).sum(dim=(1, 2))
    dice = 1.0 - (2.0 * intersection + 1.0) / (probability.sum(dim=(1, 2)) + target.sum(dim=(1, 2)) + 1.0)
    return bce + dice.mean()


def _jaccard_steps(truth_sorted: Any) -> Any:
    """Increments of the Jaccard loss as the pixels, sorted by descending error, become errors one by one."""
    positives = truth_sorted.sum()
    intersection = positives - truth_sorted.cumsum(0)
    union = positives + (1.0 - truth_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    return jaccard.diff(prepend=jaccard.new_zeros(1))


def lovasz_hinge(logits: Any, target: Any) -> Any:
    """Mean over images of the Lovász extension of the Jaccard loss applied to the hinge errors
    ``max(0, 1 - logit * sign)``. With logits of +-1 it is exactly 2 x (1 - IoU) of the thresholded mask."""
    import torch

    losses = []
    for image_logits, image_target in zip(logits.flatten(1), target.flatten(1)):
        signs = 2.0 * image_target - 1.0
        errors = 1.0 - image_logits * signs
        errors_sorted, order = torch.sort(errors, descending=True)
        losses.append(torch.dot(torch.relu(errors_sorted), _jaccard_steps(image_target[order])))
    return torch.stack(losses).mean()


def dice_bce_lovasz(logits: Any, target: Any) -> Any:
    return dice_bce(logits, target) + lovasz_hinge(logits, target)


#: Config ``loss`` -> function(logits, target) -> scalar.
LOSSES: dict[str, Callable[[Any, Any], Any]] = {"dice_bce": dice_bce, "dice_bce+lovasz": dice_bce_lovasz}
