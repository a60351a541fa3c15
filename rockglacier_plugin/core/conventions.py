"""Numerical conventions shared by several concept packages, each defined once, here.

* ``DAYS_PER_YEAR``: the Julian year, 365.25 days. Every rate "per year" in the product (InSAR velocities from a
  pair's days, feature-tracking rates, RGV's annualised windows, unit conversions of daily rates) divides days by it.
* ``MAD_TO_SIGMA``: 1.4826, the factor that turns a median absolute deviation into the standard deviation of a
  Gaussian (1 / Phi^-1(3/4)); ``robust_sigma`` applies it. Used wherever a spread must ignore a few outliers (stable
  ground, reference cells, tracked points).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DAYS_PER_YEAR = 365.25
MAD_TO_SIGMA = 1.4826


def robust_sigma(values: Any) -> float:
    """MAD_TO_SIGMA x the median absolute deviation from the median of the finite ``values``; NaN without any.

    >>> robust_sigma([1.0, 2.0, 3.0, 4.0, 100.0])  # the outlier does not inflate it
    1.4826
    """
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return float("nan")
    return MAD_TO_SIGMA * float(np.median(np.abs(array - np.median(array))))
