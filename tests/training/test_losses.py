"""Training losses against closed forms: the Lovász hinge of +-1 logits is 2 x (1 - IoU)."""

import numpy as np
import pytest

from tests.conftest import require_module

torch = require_module("torch", "torch is not installed; run `make setup` (training extras)")

from training.loop.losses import LOSSES, dice_bce, lovasz_hinge  # noqa: E402


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
    assert float(LOSSES["dice_bce+lovasz"](logits, truth)) == pytest.approx(
        float(dice_bce(logits, truth) + lovasz_hinge(logits, truth))
    )


def _weak_block(value=None):
    """Labels of two 8 x 12 images: a rock glacier in columns 4-5, columns 8-11 a weak cell."""
    from training.data.labels import WEAK_LABEL_BASE

    labels = torch.zeros(2, 8, 12, dtype=torch.float64)
    labels[:, 2:6, 4:6] = 1
    labels[:, :, 8:] = WEAK_LABEL_BASE + (3 if value is None else value)
    return labels


def test_with_image_level__weak_pixels_carry_no_pixel_loss_and_equal_logits_cost_softplus():
    """Oracle: the pixel loss over the labelled columns alone, plus weight x softplus(-c) for a weak
    cell whose logits all equal c (its top pixels are then all c)."""
    from training.loop.losses import with_image_level

    labels = _weak_block()
    logits = torch.randn(2, 8, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    logits[:, :, 8:] = -0.7
    for name, loss in LOSSES.items():
        expected = float(loss(logits[:, :, :8], labels[:, :, :8])) + 0.5 * float(
            torch.nn.functional.softplus(torch.tensor(0.7, dtype=torch.float64))
        )
        got = float(with_image_level(loss, logits, labels, weight=0.5, k_px=10, min_visible_px=16))
        assert got == pytest.approx(expected, rel=1e-9), name


def test_with_image_level__without_weak_cells_it_is_the_plain_loss_and_too_little_of_a_cell_asks_nothing():
    from training.loop.losses import with_image_level

    labels = _weak_block()
    logits = torch.randn(2, 8, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    plain = labels[:, :, :8]
    assert float(with_image_level(dice_bce, logits[:, :, :8], plain, 0.5, 10, 16)) == pytest.approx(
        float(dice_bce(logits[:, :, :8], plain)), rel=1e-12
    )
    # 32 weak pixels per image, 40 needed: the cell may have lost its rock glacier to the crop
    assert float(with_image_level(dice_bce, logits, labels, 0.5, 10, 40)) == pytest.approx(
        float(dice_bce(logits[:, :, :8], plain)), rel=1e-12
    )


def test_with_image_level__only_the_k_most_confident_pixels_of_a_weak_cell_are_pushed_up():
    from training.loop.losses import with_image_level

    labels = _weak_block()
    logits = torch.randn(2, 8, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(6)).requires_grad_()
    with_image_level(dice_bce, logits, labels, weight=1.0, k_px=5, min_visible_px=1).backward()
    weak_grad = logits.grad[:, :, 8:]
    assert [int((g != 0).sum()) for g in weak_grad] == [5, 5]
    assert bool((weak_grad <= 0).all())  # gradient descent raises them
    top = torch.topk(logits.detach()[:, :, 8:].flatten(1), 5).values.min(dim=1).values
    assert bool((logits.detach()[:, :, 8:][weak_grad != 0].reshape(2, 5) >= top[:, None]).all())
