"""One landform's surface velocity for the inventory, whichever technique measured it.

Two techniques write velocities into an inventory record:

* InSAR (``rockglacier:insarvelocity``): ``vel_dslp_cm_yr`` (downslope), its 1-sigma ``vel_err_cm_yr``, the
  quality flag ``vel_ok`` and the pair ``vel_pair`` (``YYYYMMDD-YYYYMMDD``);
* feature tracking (``rockglacier:featuretracking``): ``ft_vel_m_yr`` (horizontal surface rate, the median of the
  landform's valid points), its error ``ft_vel_err_m_yr``, ``ft_period`` (``YYYY-MM-DD/YYYY-MM-DD``) and
  ``ft_method``; no rate (NULL) when the landform moved less than the level of detection.

The inventory's velocity (the kinematic attribute, Table 3, the velocity figure, the review dock) is InSAR's when
it passed its criteria (``vel_ok`` = 1), else feature tracking's: InSAR is the reference workflow's technique, and
feature tracking is there for the landforms it cannot see (too fast, no SAR). Both are rates of the same creep;
RGIK's kinematic attribute accepts either (the method is said where the value is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ..numbers import finite

CM_PER_M = 100.0
INSAR, FEATURE_TRACKING = "InSAR", "feature tracking"


@dataclass(frozen=True)
class LandformVelocity:
    """A landform's velocity (cm/yr), its 1-sigma, the technique and the period it covers."""

    velocity_cm_per_yr: float
    error_cm_per_yr: Optional[float]
    technique: str  # INSAR or FEATURE_TRACKING
    period: Optional[str]  # YYYY-MM-DD/YYYY-MM-DD or the pair label
    relative_error: Optional[float]  # error / |velocity| (InSAR's own vel_rel_err where it wrote one)
    method: Optional[str] = None  # how it was measured, in words (feature tracking's ft_method)


def _relative(velocity: float, error: Optional[float]) -> Optional[float]:
    return None if error is None or velocity == 0 else error / abs(velocity)


def _insar(record: Mapping[str, Any]) -> Optional[LandformVelocity]:
    velocity = finite(record.get("vel_dslp_cm_yr"))
    if finite(record.get("vel_ok")) != 1.0 or velocity is None:
        return None
    period, error = record.get("vel_pair"), finite(record.get("vel_err_cm_yr"))
    relative = finite(record.get("vel_rel_err"))
    return LandformVelocity(
        velocity, error, INSAR, str(period) if period else None, relative if relative is not None else _relative(velocity, error)
    )


def _tracking(record: Mapping[str, Any]) -> Optional[LandformVelocity]:
    rate = finite(record.get("ft_vel_m_yr"))
    if rate is None:
        return None
    error = finite(record.get("ft_vel_err_m_yr"))
    period, method = record.get("ft_period"), record.get("ft_method")
    return LandformVelocity(
        rate * CM_PER_M,
        None if error is None else error * CM_PER_M,
        FEATURE_TRACKING,
        str(period) if period else None,
        _relative(rate, error),
        str(method) if method else None,
    )


def landform_velocity(record: Mapping[str, Any]) -> Optional[LandformVelocity]:
    """The inventory's velocity of one landform (module docstring: InSAR when vel_ok = 1, else feature tracking);
    None when neither measured it.

    >>> landform_velocity({"vel_dslp_cm_yr": 40.0, "vel_ok": 0, "ft_vel_m_yr": 1.25, "ft_vel_err_m_yr": 0.08}).velocity_cm_per_yr
    125.0
    >>> landform_velocity({"vel_dslp_cm_yr": 40.0, "vel_ok": 1, "ft_vel_m_yr": 1.25}).technique
    'InSAR'
    """
    return _insar(record) or _tracking(record)
