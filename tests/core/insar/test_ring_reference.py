"""The error of a ring-median reference, measured by moving the ring onto stable ground (``ring_prediction_sigma``)."""

import numpy as np


def _ring_case(field, noise_sigma, seed=0):
    from rockglacier_plugin.core.insar.reference import distance_to_mask_m

    rng = np.random.default_rng(seed)
    shape = field.shape
    footprint = np.zeros(shape, dtype=bool)
    footprint[90:110, 85:115] = True  # a 20 x 30 px landform in the middle of a 200 x 200 px window
    pixel = (30.0, 30.0)
    reach = distance_to_mask_m(footprint, pixel)
    velocity = field + rng.normal(0.0, noise_sigma, shape)
    sigma = np.full(shape, noise_sigma)
    stable = ~footprint
    return velocity, sigma, stable, footprint, reach, pixel


def test_ring_prediction_sigma__white_noise_alone_gives_almost_nothing():
    from rockglacier_plugin.core.insar.reference import ring_prediction_sigma

    velocity, sigma, stable, footprint, reach, pixel = _ring_case(np.zeros((200, 200)), 1.0)
    assert ring_prediction_sigma(velocity, sigma, stable, footprint, reach, 300.0, pixel) < 0.15


def test_ring_prediction_sigma__measures_the_error_a_ring_median_makes_in_a_bumpy_field():
    """A field of bumps about a landform's size: the ring median misses the footprint's mean by an amount the
    moved copies measure; the estimate is of the same size as the miss at the true place (within 2x)."""
    from rockglacier_plugin.core.insar.reference import ring_prediction_sigma

    rows, cols = np.mgrid[0:200, 0:200]
    misses, estimates = [], []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        field = sum(
            rng.normal(0, 1.0)
            * np.cos(
                2 * np.pi * (rows * rng.uniform(-1, 1) + cols * rng.uniform(-1, 1)) / rng.uniform(25, 60)
                + rng.uniform(0, 2 * np.pi)
            )
            for _ in range(6)
        )
        velocity, sigma, stable, footprint, reach, pixel = _ring_case(field, 0.2, seed)
        ring = (reach <= 300.0) & ~footprint
        misses.append(np.median(field[ring]) - field[footprint].mean())
        estimates.append(ring_prediction_sigma(velocity, sigma, stable, footprint, reach, 300.0, pixel))
    rms_miss, rms_estimate = np.sqrt(np.mean(np.square(misses))), np.sqrt(np.mean(np.square(estimates)))
    assert 0.5 * rms_miss <= rms_estimate <= 2.0 * rms_miss, (rms_miss, rms_estimate)
    assert rms_miss > 0.1  # the field does make the ring median miss
