"""The inventory in RGIK's vocabulary: one table of value mappings and the records of the export.

Source: RGIK (2022), *Towards standard guidelines for inventorying rock glaciers: baseline
concepts*, version 4.2.2, IPA Action Group Rock glacier inventories and kinematics, and RGIK (2023),
*Guidelines for inventorying rock glaciers: baseline and practical concepts* (version 1.0). The
attribute names of the primary markers (``PrimaryID``, ``Upsl.Con.``, ``Acti.Cl.``, ``Kin.Att.``,
``Rel.Kin.``, ``Kin.Period``, ``Comment``) and of the outlines (``PrimaryID``, ``Out.Type``) follow
the layer templates of those guidelines. The value labels below were written from the text of the
guidelines as we recall it; they have not been checked line by line against the PDFs on this
machine (no internet): change them here only, the export and its help read this table.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ..numbers import finite
from .kinematic_classes import UNDEFINED, kinematic_class
from .statistics import class_of

#: Our upslope-connection code -> RGIK's upslope connection.
UPSLOPE_CONNECTION: dict[str, str] = {
    "G": "Glacier connected",
    "GF": "Glacier forefield connected",
    "DMS": "Debris-mantled slope connected",
    "T": "Talus connected",
    "P": "Poly connected",
    "O": "Other",
}
UPSLOPE_UNDEFINED = "Undefined"

#: Our activity values -> RGIK's activity classes.
ACTIVITY: dict[str, str] = {
    "active": "Active",
    "transitional": "Transitional",
    "relict": "Relict",
    "uncertain": "Uncertain",
}
ACTIVITY_UNDEFINED = "Uncertain"

#: RGIK's kinematic attribute for a landform without a usable velocity.
KINEMATIC_UNDEFINED = "Undefined"
#: Out.Type of our polygons: a footprint of the whole landform, front to rooting zone.
OUTLINE_TYPE = "Extended"
#: Rel.Kin. (reliability of the kinematic attribute) from the propagated relative error.
RELIABILITY_BY_REL_ERR: tuple[tuple[float, str], ...] = ((0.1, "High"), (0.2, "Medium"), (float("inf"), "Low"))

PRIMARY_MARKER_FIELDS: tuple[tuple[str, str], ...] = (
    ("PrimaryID", "text"), ("Upsl.Con.", "text"), ("Acti.Cl.", "text"), ("Kin.Att.", "text"),
    ("Rel.Kin.", "text"), ("Kin.Period", "text"), ("Comment", "text"),
    ("Area_km2", "real"), ("Elev.Mean_m", "real"), ("Elev.Min_m", "real"), ("Elev.Max_m", "real"),
    ("Slope_deg", "real"), ("Aspect_deg", "real"), ("Vel_cm_yr", "real"), ("Vel.Err_cm_yr", "real"),
)
OUTLINE_FIELDS: tuple[tuple[str, str], ...] = (("PrimaryID", "text"), ("Out.Type", "text"), ("Comment", "text"))
MOVING_AREA_FIELDS: tuple[tuple[str, str], ...] = (
    ("MA.ID", "text"), ("Vel.Class", "text"), ("Kin.Period", "text"), ("Source", "text"), ("Area_km2", "real"),
)


def _text(record: Mapping[str, Any], name: str) -> str:
    return str(record.get(name) or "").strip()


def kinematic_attribute(record: Mapping[str, Any]) -> str:
    """RGIK's Kin.Att. from the downslope velocity; Undefined unless ``vel_ok`` = 1."""
    label = kinematic_class(finite(record.get("vel_dslp_cm_yr")), finite(record.get("vel_ok")) == 1.0)
    return KINEMATIC_UNDEFINED if label == UNDEFINED else label


def kinematic_reliability(record: Mapping[str, Any]) -> Optional[str]:
    """Rel.Kin.: High below 10 % relative error, Medium below 20 % (the paper's criterion), else Low."""
    if kinematic_attribute(record) == KINEMATIC_UNDEFINED:
        return None
    relative = finite(record.get("vel_rel_err"))
    if relative is None:
        return None
    return next(label for bound, label in RELIABILITY_BY_REL_ERR if relative < bound)


def kinematic_period(pair: Optional[str]) -> Optional[str]:
    """Kin.Period from our pair label ``YYYYMMDD-YYYYMMDD``: ``YYYY-MM-DD/YYYY-MM-DD``.

    >>> kinematic_period("20070716-20070831")
    '2007-07-16/2007-08-31'
    """
    parts = (pair or "").strip().split("-")
    if len(parts) != 2 or not all(len(p) == 8 and p.isdigit() for p in parts):
        return pair or None
    return "/".join(f"{p[:4]}-{p[4:6]}-{p[6:]}" for p in parts)


def primary_marker_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """The primary marker's attributes of one landform (``PRIMARY_MARKER_FIELDS`` order)."""
    code = class_of(record)
    kinematic = kinematic_attribute(record)
    usable = finite(record.get("vel_ok")) == 1.0
    return {
        "PrimaryID": _text(record, "rg_id") or None,
        "Upsl.Con.": UPSLOPE_CONNECTION[code] if code else UPSLOPE_UNDEFINED,
        "Acti.Cl.": ACTIVITY.get(_text(record, "activity").lower(), ACTIVITY_UNDEFINED),
        "Kin.Att.": kinematic,
        "Rel.Kin.": kinematic_reliability(record),
        "Kin.Period": kinematic_period(_text(record, "vel_pair")) if kinematic != KINEMATIC_UNDEFINED else None,
        "Comment": _text(record, "comment") or None,
        "Area_km2": finite(record.get("area_km2")),
        "Elev.Mean_m": finite(record.get("elev_mean_m")),
        "Elev.Min_m": finite(record.get("elev_min_m")),
        "Elev.Max_m": finite(record.get("elev_max_m")),
        "Slope_deg": finite(record.get("slope_mean_deg")),
        "Aspect_deg": finite(record.get("aspect_deg")),
        "Vel_cm_yr": finite(record.get("vel_dslp_cm_yr")) if usable else None,
        "Vel.Err_cm_yr": finite(record.get("vel_err_cm_yr")) if usable else None,
    }


def exported(record: Mapping[str, Any]) -> bool:
    """Every landform goes to the RGIK export except those review rejected."""
    return _text(record, "review").lower() != "rejected"
