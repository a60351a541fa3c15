"""Training losses against closed forms: the Lovász hinge of +-1 logits is 2 x (1 - IoU)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.losses import LOSSES, dice_bce, lovasz_hinge  # noqa: E402


def _iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    union = (predicted | truth).sum()
    return 1.0 if union == 0 else (predicted & truth).sum() / union


def test_lovasz_hinge__unit_logits_give_twice_the_jaccard_loss_of_the_thresholded_mask():
    rng = np.random.default_rng(3)
    truth = rng.random((4, 16, 16)) < 0.3
    truth[2] = False  # an image without rock glacier: any false positive is a Jaccard loss of 1
    predicted = np.where(rng.random((4, 16, 16)) < 0.8, truth, ~truth)
    predicted[3] = truth[3]  # a perfect image: no loss
    logits = torch.tensor(np.where(predicted, 1.0, -1.0), dtype=torch.float64)
    expected = np.mean([2.0 * (1.0 - _iou(p, t)) for p, t in zip(predicted, truth)])
    assert float(lovasz_hinge(logits, torch.tensor(truth, dtype=torch.float64))) == pytest.approx(expected, rel=1e-12)


def test_lovasz_hinge__confident_correct_logits_cost_nothing_and_a_gradient_step_lowers_it():
    truth = torch.zeros(2, 8, 8, dtype=torch.float64)
    truth[:, 2:5, 3:7] = 1
    assert float(lovasz_hinge(torch.where(truth > 0, 3.0, -3.0).double(), truth)) == 0.0
    logits = torch.randn(2, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).requires_grad_()
    before = lovasz_hinge(logits, truth)
    before.backward()
    after = lovasz_hinge((logits - 0.1 * logits.grad).detach(), truth)
    assert float(after) < float(before.detach())


def test_losses__the_mixed_loss_is_the_sum_of_its_parts():
    truth = (torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    logits = torch.randn(3, 8, 8, generator=torch.Generator().manual_seed(2))
    assert float(LOSSES["dice_bce+lovasz"](logits, truth)) == pytest.approx(float(dice_bce(logits, truth) + lovasz_hinge(logits, truth)))
