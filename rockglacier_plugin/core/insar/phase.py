"""From unwrapped phase to line-of-sight velocity, and the noise of both.

Sign convention (ISCE2, GAMMA, and PyRate's geotiffs): the interferogram is reference x
conj(secondary), so positive phase is motion **away** from the satellite when the reference
acquisition is the earlier one. This module returns ``velocity_los_cm_per_yr`` positive
**towards** the satellite:

    v_los = -lambda / (4 pi) * phi * 100 cm/m * 365.25 / dt_days

and flips the sign when the reference date is the later one. For a 46-day ALOS-1 pair
(lambda = 0.2360571 m) 1 rad is 14.92 cm/yr and one fringe (2 pi) 93.7 cm/yr.

Noise: the standard deviation of multilook interferometric phase for coherence gamma and L
looks from its distributed-scatterer probability density (Lee et al. 1994, Tough et al. 1995;
MintPy ``phase_variance_ds``), integrated numerically once per L into a table over gamma. The
density needs SciPy's hypergeometric function; without SciPy the Cramer-Rao bound
sqrt(1 - gamma^2) / (gamma sqrt(2 L)) is used instead, which underestimates the noise (by 15 % at
gamma = 0.6, L = 10; by half at gamma = 0.3, L = 1). ``LOOKS`` is the *effective* number of
independent looks.
"""

from __future__ import annotations

import logging
import math
from datetime import date
from functools import lru_cache

import numpy as np

from ..conventions import DAYS_PER_YEAR
from ..errors import ParameterError

LOGGER = logging.getLogger(__name__)
CM_PER_M = 100.0


def interval_days(reference: date, secondary: date) -> int:
    """Signed days from reference to secondary acquisition; refuses equal dates."""
    days = (secondary - reference).days
    if days == 0:
        raise ParameterError(
            f"REFERENCE_DATE and SECONDARY_DATE are both {reference.isoformat()}: an interferogram needs two acquisition dates."
        )
    return days


def phase_to_cm_per_yr_factor(wavelength_m: float, reference: date, secondary: date) -> float:
    """Factor k so that velocity_los_cm_per_yr (towards the satellite) = k * phase_rad.

    Handles the date order: when the reference is the later acquisition the sign flips.

    >>> round(phase_to_cm_per_yr_factor(0.2360571, date(2007, 7, 16), date(2007, 8, 31)), 2)
    -14.92
    """
    if not wavelength_m > 0:
        raise ParameterError(f"WAVELENGTH_M={wavelength_m} must be positive.")
    days = interval_days(reference, secondary)
    # Phase accumulated from reference to secondary; with a later reference the pair runs
    # backwards in time, which flips the sign of the rate.
    return -wavelength_m / (4.0 * math.pi) * CM_PER_M * DAYS_PER_YEAR / days


def cramer_rao_phase_sigma_rad(coherence: np.ndarray, looks: float) -> np.ndarray:
    """Cramer-Rao phase standard deviation (rad); inf where coherence <= 0.

    >>> round(float(cramer_rao_phase_sigma_rad(np.array(0.5), 10.0)), 4)
    0.3873
    """
    gamma = np.clip(np.asarray(coherence, dtype=np.float64), 0.0, 0.9999)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.sqrt(1.0 - gamma**2) / (gamma * math.sqrt(2.0 * looks))
    return np.where(gamma > 0, sigma, np.inf)


_TABLE_COHERENCE = np.linspace(0.01, 0.99, 197)
#: NumPy 2 renamed ``trapz`` to ``trapezoid`` and NumPy 2.4 removed ``trapz`` (newer QGIS builds ship it);
#: NumPy 1.x (Debian's QGIS) has only ``trapz``.
_trapezoid = getattr(np, "trapezoid", None) or getattr(np, "trapz")


@lru_cache(maxsize=16)
def _distributed_sigma_table(looks: float) -> np.ndarray:
    from scipy.special import gammaln, hyp2f1

    phi = np.linspace(-math.pi, math.pi, 4001)
    sigmas = []
    for gamma in _TABLE_COHERENCE:
        beta = gamma * np.cos(phi)
        first = (
            math.exp(gammaln(looks + 0.5) - gammaln(looks))
            * (1 - gamma**2) ** looks
            * beta
            / (2.0 * math.sqrt(math.pi) * (1 - beta**2) ** (looks + 0.5))
        )
        second = (1 - gamma**2) ** looks / (2.0 * math.pi) * hyp2f1(looks, 1.0, 0.5, beta**2)
        pdf = first + second
        sigmas.append(math.sqrt(_trapezoid(phi**2 * pdf, phi) / _trapezoid(pdf, phi)))
    return np.array(sigmas)


def exact_noise_available() -> bool:
    """Whether SciPy is there for the distributed-scatterer phase statistics (else Cramer-Rao)."""
    try:
        import scipy.special  # noqa: F401
    except ImportError:
        return False
    return True


def phase_sigma_rad(coherence: np.ndarray, looks: float) -> np.ndarray:
    """Standard deviation (rad) of multilook interferometric phase; inf where coherence is 0.

    >>> round(float(phase_sigma_rad(np.array(0.6), 10.0)), 3)  # Cramer-Rao would say 0.298
    0.342
    """
    if not looks >= 1:
        raise ParameterError(f"LOOKS={looks} must be at least 1 (the effective number of looks).")
    gamma = np.asarray(coherence, dtype=np.float64)
    try:
        table = _distributed_sigma_table(float(looks))
    except ImportError:
        LOGGER.warning("SciPy is missing: phase noise uses the Cramer-Rao bound, which underestimates it.")
        return cramer_rao_phase_sigma_rad(gamma, looks)
    # Beyond the table, the Cramer-Rao bound is close to the exact value at high coherence.
    sigma = np.interp(np.clip(gamma, _TABLE_COHERENCE[0], _TABLE_COHERENCE[-1]), _TABLE_COHERENCE, table)
    sigma = np.where(gamma > _TABLE_COHERENCE[-1], cramer_rao_phase_sigma_rad(gamma, looks), sigma)
    return np.where(gamma >= _TABLE_COHERENCE[0], sigma, np.inf)
