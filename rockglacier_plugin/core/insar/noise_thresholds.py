"""The minimum downslope velocity of a moving pixel, from the data's own noise, unless the user gives one.

* **An interferogram pair** (days to weeks): ``PAIR_MIN_VELOCITY_CM_YR``, 10 cm/yr. One pair's phase noise and
  turbulent atmosphere, divided by a period of weeks, are several cm/yr per pixel; below 10 cm/yr a 46-day pair
  proposes noise (the benchmark's scenes; the note on issue 31).
* **A velocity product** (a time series over months to years: MintPy ``velocityStd``, LiCSBAS ``vstd``, a GeoTIFF
  with its LOS_VELOCITY_SIGMA raster): ``min_snr`` times the median 1-sigma of the downslope velocity over the usable
  pixels. That 1-sigma (``candidate_field``) holds the product's own uncertainty and the spread of the local
  reference (the atmosphere and noise at the landform's scale that the product's formal sigma leaves out), both
  divided by |g|. Never below ``PRODUCT_FLOOR_CM_YR`` (1 cm/yr: RGIK's lowest kinematic class boundary, below which a
  landform counts as undefined/relict-like rather than moving). A product whose sigma is missing is measured by the
  local reference's spread alone, and the log says so.

Each pixel must also reach ``min_snr`` times its own 1-sigma (``candidate_regions.moving_pixels``), so a noisy
pixel needs more than the median. The log says which threshold was used and from what.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .candidate_field import CandidateField
from .candidate_regions import RegionSettings

PAIR_MIN_VELOCITY_CM_YR = 10.0
PRODUCT_FLOOR_CM_YR = 1.0


def resolved_thresholds(candidate: CandidateField, settings: RegionSettings) -> tuple[RegionSettings, str]:
    """``settings`` with its minimum velocity set (see the module docstring), and a line for the log."""
    label = candidate.pair_label
    if settings.min_velocity_cm_per_yr is not None:
        return settings, (
            f"{label}: moving pixels at >= {settings.min_velocity_cm_per_yr:g} cm/yr downslope (MIN_VELOCITY_CM_YR "
            f"as given) and >= {settings.min_snr:g} x their 1-sigma."
        )
    if candidate.cycle_cm_per_yr is not None:
        return replace(settings, min_velocity_cm_per_yr=PAIR_MIN_VELOCITY_CM_YR), (
            f"{label}: moving pixels at >= {PAIR_MIN_VELOCITY_CM_YR:g} cm/yr downslope (the default for one interferogram pair) "
            f"and >= {settings.min_snr:g} x their 1-sigma."
        )
    sigma = candidate.dslp_sigma_cm_per_yr[candidate.usable].astype(np.float64)
    sigma = sigma[np.isfinite(sigma)]
    if sigma.size == 0:
        return replace(settings, min_velocity_cm_per_yr=PRODUCT_FLOOR_CM_YR), (
            f"{label}: no usable pixel to measure the noise on; moving pixels at >= {PRODUCT_FLOOR_CM_YR:g} cm/yr downslope."
        )
    median_sigma = float(np.median(sigma))
    threshold = max(PRODUCT_FLOOR_CM_YR, settings.min_snr * median_sigma)
    product = candidate.noise_sigma_cm_per_yr[candidate.usable].astype(np.float64)
    reference = candidate.reference_sigma_cm_per_yr[candidate.usable].astype(np.float64)
    has_sigma = bool(np.nanmax(product, initial=0.0) > 0.0)
    source = (
        f"the product's LOS sigma (median {float(np.nanmedian(product)):.2f} cm/yr) and the local reference's spread "
        f"(median {float(np.nanmedian(reference)):.2f} cm/yr)"
        if has_sigma
        else f"the local reference's spread alone (median {float(np.nanmedian(reference)):.2f} cm/yr LOS): the product has no "
        "sigma (give LOS_VELOCITY_SIGMA for a GeoTIFF)"
    )
    floor = f", raised to the floor of {PRODUCT_FLOOR_CM_YR:g} cm/yr" if threshold > settings.min_snr * median_sigma else ""
    return replace(settings, min_velocity_cm_per_yr=threshold), (
        f"{label}: moving pixels at >= {threshold:.2f} cm/yr downslope = MIN_SNR {settings.min_snr:g} x the median downslope "
        f"1-sigma {median_sigma:.2f} cm/yr{floor}, from {source}; set MIN_VELOCITY_CM_YR to choose another."
    )
