"""Several pairs or velocity products per landform: the per-pair series (RGIK's Rock Glacier
Velocity) and the one value the inventory keeps, combining ascending and descending geometries.

* Every pair or product that covers a landform gives one row of ``velocity_pairs``.
* The inventory keeps, per landform, the best value of each geometry (the pair that passes with
  the smallest relative error, else the one with the largest kept share). When both an ascending
  and a descending value pass, they are combined by inverse-variance weighting if they agree within
  ``AGREEMENT_SIGMAS`` times their combined error (then ``vel_geometry`` = ascending+descending and
  ``vel_pair`` names both); if they disagree, nothing is averaged: the better one is kept with
  ``vel_ok`` = 0 and ``vel_reason`` stating both values, for the analyst to decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Optional, Sequence

from ..inventory.kinematic_classes import kinematic_class

AGREEMENT_SIGMAS = 2.0
ASCENDING, DESCENDING = "ascending", "descending"


@dataclass(frozen=True)
class PairCandidate:
    """One landform's value from one pair or product."""

    landform: Any  # LandformVelocity
    track: Optional[str]
    start: date
    end: date
    source: str


def rank(candidate: Any) -> tuple:
    """Sort key: passing values by relative error first, then the others by kept share."""
    rel = candidate.vel_rel_err if candidate.vel_rel_err is not None else math.inf
    return (0, rel) if candidate.vel_ok else (1, -candidate.vel_valid_frac, rel)


def pair_row(rg_id: str, candidate: PairCandidate) -> dict[str, Any]:
    """One row of the ``velocity_pairs`` table (field names of ``inventory.schema.VELOCITY_PAIR_FIELDS``)."""
    value = candidate.landform
    return {
        "rg_id": rg_id,
        "vel_pair": value.vel_pair,
        "date_start": candidate.start.isoformat(),
        "date_end": candidate.end.isoformat(),
        "days": (candidate.end - candidate.start).days,
        "vel_dslp_cm_yr": value.vel_dslp_cm_yr,
        "vel_err_cm_yr": value.vel_err_cm_yr,
        "vel_valid_frac": value.vel_valid_frac,
        "vel_ok": value.vel_ok,
        "kin_class": value.kin_class,
        "vel_reason": value.vel_reason,
        "vel_geometry": candidate.track,
        "source": candidate.source,
    }


def _best(candidates: Sequence[PairCandidate]) -> PairCandidate:
    return min(candidates, key=lambda c: rank(c.landform))


def _combined(ascending: PairCandidate, descending: PairCandidate) -> Any:
    a, d = ascending.landform, descending.landform
    weight_a, weight_d = 1.0 / a.vel_err_cm_yr**2, 1.0 / d.vel_err_cm_yr**2
    mean = (weight_a * a.vel_dslp_cm_yr + weight_d * d.vel_dslp_cm_yr) / (weight_a + weight_d)
    error = 1.0 / math.sqrt(weight_a + weight_d)
    return replace(
        a,
        vel_dslp_cm_yr=mean,
        vel_err_cm_yr=error,
        vel_rel_err=error / abs(mean) if mean else None,
        vel_valid_frac=max(a.vel_valid_frac, d.vel_valid_frac),
        vel_pair=f"{a.vel_pair}+{d.vel_pair}",
        vel_ok=1,
        kin_class=kinematic_class(mean, True),
        vel_reason=None,
        vel_geometry=f"{ASCENDING}+{DESCENDING}",
    )


def _disagreement(ascending: PairCandidate, descending: PairCandidate) -> Any:
    a, d = ascending.landform, descending.landform
    kept = _best([ascending, descending]).landform
    note = (
        f"ascending {a.vel_dslp_cm_yr:.1f} +- {a.vel_err_cm_yr:.1f} ({a.vel_pair}) and descending {d.vel_dslp_cm_yr:.1f} "
        f"+- {d.vel_err_cm_yr:.1f} cm/yr ({d.vel_pair}) disagree by more than {AGREEMENT_SIGMAS:g} sigma: check both "
        "geometries' references and masks"
    )
    return replace(kept, vel_ok=0, kin_class=kinematic_class(None, False), vel_reason=note)


def choose(candidates: Sequence[PairCandidate]) -> Optional[Any]:
    """The inventory's value of one landform from its candidates (None when no pair covers it)."""
    if not candidates:
        return None
    by_track: dict[Optional[str], PairCandidate] = {}
    for candidate in candidates:
        if candidate.track not in by_track or rank(candidate.landform) < rank(by_track[candidate.track].landform):
            by_track[candidate.track] = candidate
    ascending, descending = by_track.get(ASCENDING), by_track.get(DESCENDING)
    if ascending and descending and ascending.landform.vel_ok and descending.landform.vel_ok:
        a, d = ascending.landform, descending.landform
        if abs(a.vel_dslp_cm_yr - d.vel_dslp_cm_yr) <= AGREEMENT_SIGMAS * math.hypot(a.vel_err_cm_yr, d.vel_err_cm_yr):
            return _combined(ascending, descending)
        return _disagreement(ascending, descending)
    best = _best(candidates)
    return replace(best.landform, vel_geometry=best.track)
