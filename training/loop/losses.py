"""Training losses on logits of one class (rock glacier), shape (batch, rows, cols), labels in {0, 1}
(and ``WEAK_LABEL_BASE`` and above: see ``with_image_level``).

``dice_bce`` is what the default model was trained with; ``lovasz_hinge`` (Berman et al. 2018, the
Lovász extension of the Jaccard loss) optimises the per-image IoU itself and is used to fine-tune,
added to ``dice_bce`` so that the probabilities stay calibrated for the plugin's 0.5 threshold and
its averaging of views and tiles.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from training.data.labels import IGNORE_LABEL, WEAK_LABEL_BASE


def dice_bce(logits: Any, target: Any, valid: Optional[Any] = None) -> Any:
    """BCE plus soft Dice: BCE alone under-weights a ~10 % positive class, Dice counters it.
    ``valid`` (0/1, the shape of ``target``) restricts both to the pixels that carry a label."""
    import torch

    if valid is None:
        valid = torch.ones_like(target)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, weight=valid, reduction="sum") / valid.sum().clamp(
        min=1.0
    )
    probability = torch.sigmoid(logits) * valid
    intersection = (probability * target).sum(dim=(1, 2))
    dice = 1.0 - (2.0 * intersection + 1.0) / (probability.sum(dim=(1, 2)) + (target * valid).sum(dim=(1, 2)) + 1.0)
    return bce + dice.mean()


def _jaccard_steps(truth_sorted: Any) -> Any:
    """Increments of the Jaccard loss as the pixels, sorted by descending error, become errors one by one."""
    positives = truth_sorted.sum()
    intersection = positives - truth_sorted.cumsum(0)
    union = positives + (1.0 - truth_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    return jaccard.diff(prepend=jaccard.new_zeros(1))


def lovasz_hinge(logits: Any, target: Any, valid: Optional[Any] = None) -> Any:
    """Mean over images of the Lovász extension of the Jaccard loss applied to the hinge errors
    ``max(0, 1 - logit * sign)``. With logits of +-1 it is exactly 2 x (1 - IoU) of the thresholded
    mask. ``valid`` (0/1) leaves out the pixels without a label."""
    import torch

    losses = []
    keep = valid.flatten(1) > 0.5 if valid is not None else [None] * len(logits)
    for image_logits, image_target, image_keep in zip(logits.flatten(1), target.flatten(1), keep):
        if image_keep is not None:
            image_logits, image_target = image_logits[image_keep], image_target[image_keep]
        signs = 2.0 * image_target - 1.0
        errors = 1.0 - image_logits * signs
        errors_sorted, order = torch.sort(errors, descending=True)
        losses.append(torch.dot(torch.relu(errors_sorted), _jaccard_steps(image_target[order])))
    return torch.stack(losses).mean()


def dice_bce_lovasz(logits: Any, target: Any, valid: Optional[Any] = None) -> Any:
    return dice_bce(logits, target, valid) + lovasz_hinge(logits, target, valid)


#: Config ``loss`` -> function(logits, target, valid=None) -> scalar.
LOSSES: dict[str, Callable[..., Any]] = {"dice_bce": dice_bce, "dice_bce+lovasz": dice_bce_lovasz}


def top_k_presence(logits: Any, k_px: int) -> Any:
    """Multiple-instance loss of a region known to hold a rock glacier: mean BCE against "rock
    glacier" of its ``k_px`` most confident pixels (all of them when fewer). Equal logits c give
    softplus(-c)."""
    import torch

    top = torch.topk(logits, min(k_px, logits.numel())).values
    return torch.nn.functional.binary_cross_entropy_with_logits(top, torch.ones_like(top))


def with_image_level(loss: Callable[..., Any], logits: Any, labels: Any, weight: float, k_px: int, min_visible_px: int) -> Any:
    """``loss`` over the pixels with a label, plus ``weight`` x the mean ``top_k_presence`` of every
    weak cell (``WEAK_LABEL_BASE`` and up) of which at least ``min_visible_px`` pixels are in the
    sample (a cell mostly cropped away may have lost its rock glacier)."""
    import torch

    weak = labels >= WEAK_LABEL_BASE  # weak cells and pixels without a label: no pixel loss
    if not bool(weak.any()):
        return loss(logits, labels)
    valid = (~weak).to(logits.dtype)
    total = loss(logits, labels * valid, valid)
    presence = []
    for image_logits, image_labels in zip(logits, labels):
        for value in torch.unique(image_labels[(image_labels >= WEAK_LABEL_BASE) & (image_labels != IGNORE_LABEL)]):
            region = image_labels == value
            if int(region.sum()) >= min_visible_px:
                presence.append(top_k_presence(image_logits[region], k_px))
    return total + weight * torch.stack(presence).mean() if presence else total
