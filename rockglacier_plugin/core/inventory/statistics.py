"""Per-class statistics of an inventory: the paper's Table 2 (geomorphology) and Table 3 (velocity).

Inputs are plain records (one dict per landform with the inventory's field names). Statistics of
a field use the landforms that have a finite value for it; the standard deviation is the sample
one (n - 1 in the denominator) and empty for fewer than two values. Classes are the upslope
connection (``upslope_con``); the row ``all`` holds every record, classified or not.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..numbers import finite
from .landform_kinematics import FEATURE_TRACKING, landform_velocity
from .schema import UpslopeConnection, field_spec

#: Rows of the tables: the four classes of the paper always, P and O only when present.
MAIN_CLASSES: tuple[str, ...] = ("G", "GF", "DMS", "T")
EXTRA_CLASSES: tuple[str, ...] = ("P", "O")
ALL_ROW = "all"

CLASS_TABLE_COLUMNS: tuple[str, ...] = (
    "class",
    "count",
    "elev_mean_m_mean",
    "elev_mean_m_sd",
    "slope_mean_deg_mean",
    "slope_mean_deg_sd",
    "area_km2_mean",
    "area_km2_sd",
    "area_km2_total",
)
VELOCITY_TABLE_COLUMNS: tuple[str, ...] = (
    "class",
    "count_with_velocity",
    "count_feature_tracking",
    "vel_mean_cm_yr",
    "vel_sd_cm_yr",
    "vel_median_cm_yr",
    "vel_max_cm_yr",
    "vel_max_err_cm_yr",
)

Record = Mapping[str, Any]


def mean_sd(values: Sequence[float]) -> tuple[Optional[float], Optional[float]]:
    """Mean and sample standard deviation (None when there are too few values).

    >>> mean_sd([1.0, 2.0, 3.0]), mean_sd([5.0]), mean_sd([])
    ((2.0, 1.0), (5.0, None), (None, None))
    """
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def median(values: Sequence[float]) -> Optional[float]:
    """The median of ``values``; None for none."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    return ordered[n // 2] if n % 2 else 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])


def class_of(record: Record) -> Optional[str]:
    """The record's upslope-connection class code, None when unclassified or not a known code."""
    value = record.get("upslope_con")
    text = str(value).strip().upper() if value is not None else ""
    known = {member.value.upper(): member.value for member in UpslopeConnection}
    return known.get(text)


def table_classes(records: Iterable[Record]) -> list[str]:
    """Row order: G, GF, DMS, T, then P and O when a record has them."""
    present = {class_of(r) for r in records}
    return list(MAIN_CLASSES) + [c for c in EXTRA_CLASSES if c in present]


def _rows_by_class(records: Sequence[Record]) -> list[tuple[str, list[Record]]]:
    groups = [(name, [r for r in records if class_of(r) == name]) for name in table_classes(records)]
    return groups + [(ALL_ROW, list(records))]


def _values(records: Iterable[Record], field: str) -> list[float]:
    return [v for v in (finite(r.get(field)) for r in records) if v is not None]


def class_table(records: Sequence[Record]) -> list[dict[str, Any]]:
    """Table 2: count, elevation, slope and area statistics per upslope-connection class."""
    rows = []
    for name, members in _rows_by_class(records):
        row: dict[str, Any] = {"class": name, "count": len(members)}
        for field in ("elev_mean_m", "slope_mean_deg", "area_km2"):
            row[f"{field}_mean"], row[f"{field}_sd"] = mean_sd(_values(members, field))
        areas = _values(members, "area_km2")
        row["area_km2_total"] = sum(areas) if areas else None
        rows.append(row)
    return rows


def has_velocity(record: Record) -> bool:
    """A landform counts for Table 3 when it has the inventory's velocity (``landform_kinematics``: InSAR with
    ``vel_ok`` = 1, else feature tracking above its level of detection)."""
    return landform_velocity(record) is not None


def velocity_table(records: Sequence[Record]) -> list[dict[str, Any]]:
    """Table 3: statistics of the landforms' velocity per class (``landform_kinematics.landform_velocity``), with
    how many of them come from feature tracking.

    ``vel_max_err_cm_yr`` is the error of the fastest landform (not the largest error).
    """
    rows = []
    for name, members in _rows_by_class(records):
        measured = [v for v in (landform_velocity(r) for r in members) if v is not None]
        velocities = [v.velocity_cm_per_yr for v in measured]
        mean, sd = mean_sd(velocities)
        fastest = max(measured, key=lambda v: v.velocity_cm_per_yr) if measured else None
        rows.append(
            {
                "class": name,
                "count_with_velocity": len(measured),
                "count_feature_tracking": sum(1 for v in measured if v.technique == FEATURE_TRACKING),
                "vel_mean_cm_yr": mean,
                "vel_sd_cm_yr": sd,
                "vel_median_cm_yr": median(velocities),
                "vel_max_cm_yr": fastest.velocity_cm_per_yr if fastest else None,
                "vel_max_err_cm_yr": fastest.error_cm_per_yr if fastest else None,
            }
        )
    return rows


def missing_counts(records: Sequence[Record], fields: Sequence[str]) -> dict[str, int]:
    """How many records lack each field: NULL, empty text, a non-finite number, or (for
    ``upslope_con``) no known class code."""
    counts = {}
    for field in fields:
        if field == "upslope_con":
            counts[field] = sum(1 for r in records if class_of(r) is None)
        elif field_spec(field).type in ("real", "integer"):
            counts[field] = sum(1 for r in records if finite(r.get(field)) is None)
        else:
            counts[field] = sum(1 for r in records if not str(r.get(field) or "").strip())
    return counts
