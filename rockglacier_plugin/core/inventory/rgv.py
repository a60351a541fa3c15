"""Rock Glacier Velocity (RGV): per rock-glacier unit, a time series of annualised surface velocities
in m/yr (RGIK 2023b, as quoted in ``rgik_template.SOURCES``), from the per-pair rows of
``rockglacier:insarvelocity`` (``velocity_pairs``) and the per-landform rows of ``rockglacier:featuretracking``
(its LANDFORMS layers, one per pair of dates: ``tracking_rows`` puts them in the same form).

An RGV value describes a whole year of creep: its observation window spans a whole number of years
(start and end in the same season), one year by default. A 46-day summer interferogram is a
seasonal velocity, faster than the annual mean on most rock glaciers, and is left out with that
reason, as is any value that failed the quality criteria (``vel_ok`` = 0) or moves upslope. The
annualised velocity over an accepted window is the mean rate over it: our cm/yr divided by 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Optional, Sequence

from ..conventions import DAYS_PER_YEAR
from ..numbers import finite
from .kinematic_classes import kinematic_class
from .landform_kinematics import CM_PER_M
from .rgik import KINEMATIC_ATTRIBUTE, reliability


@dataclass(frozen=True)
class WindowRule:
    """Which observation windows give an RGV value."""

    season_tolerance_days: float = 45.0  # how far from a whole number of years a window may be
    allow_multi_annual: bool = True  # windows of 2, 3... years (the mean annual rate over them)


@dataclass(frozen=True)
class RgvSeries:
    """One landform's Rock Glacier Velocity series (RGIK RGV): its values per period."""

    rows: list[dict[str, Any]]  # RGV_FIELDS, one per accepted unit and window
    left_out: list[dict[str, Any]]  # LEFT_OUT_FIELDS: every pair row not used, with why


#: (name, kind) of an RGV row.
RGV_FIELDS: tuple[tuple[str, str], ...] = (
    ("PrimaryID", "text"),
    ("WorkingID", "text"),
    ("Period.Start", "text"),
    ("Period.End", "text"),
    ("Days", "integer"),
    ("Window", "text"),
    ("RGV_m_yr", "real"),
    ("RGV.Err_m_yr", "real"),
    ("Rel.RGV", "text"),
    ("Kin.Att.", "text"),
    ("Method", "text"),
    ("Valid.Frac", "real"),
    ("Pair", "text"),
    ("Source", "text"),
)
LEFT_OUT_FIELDS: tuple[tuple[str, str], ...] = (("WorkingID", "text"), ("Pair", "text"), ("Days", "integer"), ("Reason", "text"))


def window_years(days: int, rule: WindowRule) -> tuple[Optional[int], Optional[str]]:
    """(whole years of the window, None) when the rule accepts it, else (None, why not).

    >>> window_years(366, WindowRule())
    (1, None)
    >>> window_years(46, WindowRule())[1]
    '46-day window: shorter than one year (a seasonal velocity, not an annual one)'
    >>> window_years(540, WindowRule())[1]
    '540-day window: 1.48 years, start and end in different seasons (more than 45 days from a whole number of years)'
    """
    years = days / DAYS_PER_YEAR
    if days < DAYS_PER_YEAR - rule.season_tolerance_days:
        return None, f"{days}-day window: shorter than one year (a seasonal velocity, not an annual one)"
    whole = max(round(years), 1)
    if abs(days - whole * DAYS_PER_YEAR) > rule.season_tolerance_days:
        return None, (
            f"{days}-day window: {years:.2f} years, start and end in different seasons (more than "
            f"{rule.season_tolerance_days:g} days from a whole number of years)"
        )
    if whole > 1 and not rule.allow_multi_annual:
        return None, f"{days}-day window: {whole} years (multi-annual windows not allowed)"
    return whole, None


def _dates(row: Mapping[str, Any]) -> Optional[tuple[date, date]]:
    try:
        return date.fromisoformat(str(row.get("date_start"))), date.fromisoformat(str(row.get("date_end")))
    except ValueError:
        return None


def tracking_rows(landform_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Landforms with feature-tracking fields (``ft_vel_m_yr``, ``ft_vel_err_m_yr``, ``ft_period``, ``ft_method``,
    ``ft_reason``) as pair rows of ``rgv_series``: the rate in cm/yr, valid where it has one (it moved more than the
    level of detection), the period as dates. Rows without ``ft_period`` (not tracked) are skipped.

    >>> tracked = {"rg_id": "rg1", "ft_vel_m_yr": 1.25, "ft_vel_err_m_yr": 0.08, "ft_period": "2012-10-05/2017-10-05"}
    >>> row = tracking_rows([tracked])[0]
    >>> row["vel_dslp_cm_yr"], row["date_start"], row["days"], row["vel_ok"]
    (125.0, '2012-10-05', 1826, 1)
    """
    rows = []
    for record in landform_rows:
        period = str(record.get("ft_period") or "")
        if "/" not in period:
            continue
        start, end = period.split("/", 1)
        rate, error = finite(record.get("ft_vel_m_yr")), finite(record.get("ft_vel_err_m_yr"))
        try:
            days: Optional[int] = (date.fromisoformat(end) - date.fromisoformat(start)).days
        except ValueError:
            days = None
        rows.append(
            {
                "rg_id": record.get("rg_id"),
                "date_start": start,
                "date_end": end,
                "days": days,
                "vel_pair": period,
                "vel_dslp_cm_yr": None if rate is None else rate * CM_PER_M,
                "vel_err_cm_yr": None if error is None else error * CM_PER_M,
                "vel_ok": int(rate is not None),
                "vel_reason": record.get("ft_reason"),
                "vel_valid_frac": finite(record.get("ft_above_lod")),
                "method": record.get("ft_method") or "feature tracking (rockglacier:featuretracking)",
                "source": record.get("source"),
            }
        )
    return rows


def _method(row: Mapping[str, Any]) -> str:
    if row.get("method"):
        return str(row["method"])
    geometry = str(row.get("vel_geometry") or "").strip()
    return f"InSAR{f' ({geometry})' if geometry else ''}, LOS velocity projected downslope (rockglacier:insarvelocity)"


def _usable(row: Mapping[str, Any]) -> tuple[Optional[float], Optional[str]]:
    """(velocity cm/yr, None) or (None, why it is not usable)."""
    velocity = finite(row.get("vel_dslp_cm_yr"))
    if finite(row.get("vel_ok")) != 1.0:
        return None, f"failed the quality criteria: {row.get('vel_reason') or 'vel_ok = 0'}"
    if velocity is None or finite(row.get("vel_err_cm_yr")) is None:
        return None, "no velocity or no error"
    if velocity < 0:
        return None, f"moves upslope ({velocity:.1f} cm/yr): not creep; check the reference"
    return velocity, None


def _rgv_row(
    row: Mapping[str, Any], primary_id: Optional[str], period: tuple[date, date], years: int, velocity: float
) -> dict[str, Any]:
    error = float(row["vel_err_cm_yr"])
    return {
        "PrimaryID": primary_id,
        "WorkingID": row.get("rg_id"),
        "Period.Start": period[0].isoformat(),
        "Period.End": period[1].isoformat(),
        "Days": (period[1] - period[0]).days,
        "Window": "annual" if years == 1 else f"multi-annual ({years} years)",
        "RGV_m_yr": velocity / CM_PER_M,
        "RGV.Err_m_yr": error / CM_PER_M,
        "Rel.RGV": reliability(error / velocity if velocity > 0 else math.inf),
        "Kin.Att.": KINEMATIC_ATTRIBUTE.get(kinematic_class(velocity)),
        "Method": _method(row),
        "Valid.Frac": finite(row.get("vel_valid_frac")),
        "Pair": row.get("vel_pair"),
        "Source": row.get("source"),
    }


def rgv_series(
    pair_rows: Sequence[Mapping[str, Any]], primary_ids: Mapping[str, str], rule: WindowRule = WindowRule()
) -> RgvSeries:
    """The RGV rows of the pair rows whose window and quality qualify, sorted by unit and period; the rest with why."""
    rows, left_out = [], []
    for row in pair_rows:
        rg_id = str(row.get("rg_id") or "").strip()
        period = _dates(row)
        reason: Optional[str] = None
        years = velocity = None
        if not rg_id:
            reason = "no rg_id"
        elif rg_id not in primary_ids:
            reason = "not in the inventory (or rejected there)"
        elif period is None:
            reason = "no start or end date"
        else:
            years, reason = window_years((period[1] - period[0]).days, rule)
            if reason is None:
                velocity, reason = _usable(row)
        if reason is not None or period is None or years is None or velocity is None:
            left_out.append({"WorkingID": rg_id or None, "Pair": row.get("vel_pair"), "Days": row.get("days"), "Reason": reason})
            continue
        rows.append(_rgv_row(row, primary_ids[rg_id], period, years, velocity))
    rows.sort(key=lambda r: (str(r["WorkingID"]), r["Period.Start"], r["Period.End"], str(r["Method"])))
    return RgvSeries(rows, left_out)
