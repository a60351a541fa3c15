"""Our inventory in RGIK's words: the primary marker's and outline's values of one landform.

The template (layers, fields, value domains, sources) is ``rgik_template``; this module maps our
fields onto it: upslope class codes to ``Upsl.Con.``, activity to ``Acti.Cl.``, the downslope
velocity to ``Kin.Att.``/``Rel.Kin.``/``Kin.Period``, and the marker's WGS84 position to the
``PrimaryID`` of published RGIK inventories (``RGU`` + WGS84 latitude and longitude in decimal degrees x 10^4,
truncated). Our ``rg_id`` goes to ``WorkingID`` (the operator's own id).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

from ..numbers import finite
from .kinematic_classes import KINEMATIC_CLASSES, kinematic_class
from .landform_kinematics import INSAR, landform_velocity
from .rgik_template import (
    ACTIVITY_CLASSES,
    KINEMATIC_ATTRIBUTES,
    KINEMATIC_UNDEFINED,
    RELIABILITY,
)
from .statistics import class_of

#: Our upslope-connection code -> RGIK's upslope connection.
UPSLOPE_CONNECTION: dict[str, str] = {
    "G": "Glacier",
    "GF": "Glacier forefield",
    "DMS": "Debris-mantled slope",
    "T": "Talus",
    "P": "Poly",
    "O": "Other",
}
#: Upsl.Con. of a landform without a class.
UPSLOPE_UNDEFINED = "Unknown"

#: Our activity values (lower case, spaces or underscores) -> RGIK's activity classes.
ACTIVITY: dict[str, str] = {word.lower(): word for word in ACTIVITY_CLASSES}
#: Acti.Cl. of a landform without an activity value.
ACTIVITY_UNDEFINED = "Uncertain"

#: Our kinematic class label -> RGIK's Kin.Att. word (same order: KINEMATIC_CLASSES and KINEMATIC_ATTRIBUTES).
KINEMATIC_ATTRIBUTE: dict[str, str] = {label: word for (_, _, label), word in zip(KINEMATIC_CLASSES, KINEMATIC_ATTRIBUTES)}
#: Rel.Kin. from the propagated relative error: High below 10 %, Medium below 20 % (the paper's criterion), else Low.
RELIABILITY_BY_REL_ERR: tuple[tuple[float, str], ...] = ((0.1, RELIABILITY[0]), (0.2, RELIABILITY[1]), (math.inf, RELIABILITY[2]))
#: Out.Type of our polygons: a footprint of the whole landform, front to rooting zone.
OUTLINE_TYPE = "Extended"
#: PrimaryID prefix of a rock-glacier unit (RGS: a rock-glacier system, which we do not delineate).
UNIT_PREFIX = "RGU"


def _text(record: Mapping[str, Any], name: str) -> str:
    return str(record.get(name) or "").strip()


#: PrimaryID digits per degree: WGS84 decimal degrees x 10^4 (about 11 m of latitude).
PRIMARY_ID_SCALE = 10_000


def _scaled_digits(value_deg: float, degree_digits: int) -> str:
    """|value| x 10^4, truncated (never rounded up into the next 10^-4 degree), zero-padded to the whole-degree width + 4."""
    return f"{int(math.floor(abs(value_deg) * PRIMARY_ID_SCALE + 1e-6)):0{degree_digits + 4}d}"


def primary_id(longitude_deg: float, latitude_deg: float, prefix: str = UNIT_PREFIX) -> str:
    """RGIK's PrimaryID of a marker at WGS84 (lon, lat): prefix, latitude x 10^4 (6 digits) + N/S, longitude x 10^4
    (7 digits) + E/W, each truncated.

    The convention is the one published with an RGIK-following inventory (Kluetmeier, Handwerger and Munroe 2026, La Sal
    Mountains; github.com/ckluetmeier/InSAR_RoGI_LaSals_Utah, commit 0d25c25, README "IPA_id": "RGU384455N1092526W =
    rock glacier unit at 38.4455 N, 109.2526 W"); its CSV bears out truncation (38.44685929 N gives 384468, not 384469).

    >>> primary_id(-109.2526045, 38.44553171)
    'RGU384455N1092526W'
    >>> primary_id(-109.2589608, 38.44660664)
    'RGU384466N1092589W'
    >>> primary_id(79.5, -33.25)
    'RGU332500S0795000E'
    """
    if not (math.isfinite(longitude_deg) and math.isfinite(latitude_deg)) or abs(latitude_deg) > 90 or abs(longitude_deg) > 180:
        raise ValueError(f"not a WGS84 position: lon {longitude_deg}, lat {latitude_deg}")
    north = "N" if latitude_deg >= 0 else "S"
    east = "E" if longitude_deg >= 0 else "W"
    return f"{prefix}{_scaled_digits(latitude_deg, 2)}{north}{_scaled_digits(longitude_deg, 3)}{east}"


def primary_id_position(identifier: str) -> tuple[float, float]:
    """The WGS84 (lon, lat) in degrees that a PrimaryID names (the corner of its 10^-4 degree cell nearest
    the equator and the prime meridian); ValueError for another form.

    >>> primary_id_position("RGU384455N1092526W")
    (-109.2526, 38.4455)
    """
    import re

    found = re.fullmatch(r"RG[US](\d{6})([NS])(\d{7})([EW])", identifier.strip())
    if found is None:
        raise ValueError(f"{identifier!r} is not a PrimaryID (RGU/RGS + 6 digits N/S + 7 digits E/W)")
    latitude = int(found.group(1)) / PRIMARY_ID_SCALE * (1 if found.group(2) == "N" else -1)
    longitude = int(found.group(3)) / PRIMARY_ID_SCALE * (1 if found.group(4) == "E" else -1)
    return longitude, latitude


def kinematic_attribute(record: Mapping[str, Any]) -> str:
    """RGIK's Kin.Att. from the landform's velocity (``landform_kinematics``: InSAR with ``vel_ok`` = 1, else feature
    tracking); Undefined without one (and for upslope motion)."""
    measured = landform_velocity(record)
    label = kinematic_class(measured.velocity_cm_per_yr if measured else None, measured is not None)
    return KINEMATIC_ATTRIBUTE.get(label, KINEMATIC_UNDEFINED)


def reliability(relative_error: Optional[float]) -> Optional[str]:
    """Rel.Kin. of a relative error (error / velocity); None when unknown.

    >>> reliability(0.05), reliability(0.15), reliability(0.5), reliability(None)
    ('High', 'Medium', 'Low', None)
    """
    if relative_error is None or not math.isfinite(relative_error):
        return None
    return next(label for bound, label in RELIABILITY_BY_REL_ERR if abs(relative_error) < bound)


def kinematic_period(pair: Optional[str]) -> Optional[str]:
    """Kin.Period from our pair label ``YYYYMMDD-YYYYMMDD``: ``YYYY-MM-DD/YYYY-MM-DD``.

    >>> kinematic_period("20070716-20070831")
    '2007-07-16/2007-08-31'
    """
    parts = (pair or "").strip().split("-")
    if len(parts) != 2 or not all(len(p) == 8 and p.isdigit() for p in parts):
        return pair or None
    return "/".join(f"{p[:4]}-{p[4:6]}-{p[6:]}" for p in parts)


def activity_class(record: Mapping[str, Any]) -> str:
    """Acti.Cl. of our ``activity`` ("active", "relict_uncertain", "Relict uncertain"...); Uncertain when empty."""
    word = _text(record, "activity").lower().replace("_", " ")
    return ACTIVITY.get(word, ACTIVITY_UNDEFINED)


def primary_marker_values(record: Mapping[str, Any], marker_primary_id: Optional[str]) -> dict[str, Any]:
    """The primary marker's attributes of one landform (template fields, then ours); absent keys are NULL."""
    code = class_of(record)
    kinematic = kinematic_attribute(record)
    measured = landform_velocity(record) if kinematic != KINEMATIC_UNDEFINED else None
    return {
        "PrimaryID": marker_primary_id,
        "WorkingID": _text(record, "rg_id") or None,
        "Upsl.Con.": UPSLOPE_CONNECTION[code] if code else UPSLOPE_UNDEFINED,
        "Acti.Cl.": activity_class(record),
        "Comment": _text(record, "comment") or None,
        "Kin.Att.": kinematic,
        "Rel.Kin.": reliability(measured.relative_error) if measured else None,
        "Kin.Period": (kinematic_period(measured.period) if measured.technique == INSAR else measured.period)
        if measured
        else None,
        "Area_km2": finite(record.get("area_km2")),
        "Elev.Mean_m": finite(record.get("elev_mean_m")),
        "Elev.Min_m": finite(record.get("elev_min_m")),
        "Elev.Max_m": finite(record.get("elev_max_m")),
        "Slope_deg": finite(record.get("slope_mean_deg")),
        "Aspect_deg": finite(record.get("aspect_deg")),
        "Vel_cm_yr": measured.velocity_cm_per_yr if measured else None,
        "Vel.Err_cm_yr": measured.error_cm_per_yr if measured else None,
        "Kin.Method": measured.technique if measured else None,
    }


def outline_values(marker: Mapping[str, Any]) -> dict[str, Any]:
    """The extended outline's attributes, keyed to its primary marker (reliability fields NULL: not assessed)."""
    return {
        "PrimaryID": marker["PrimaryID"],
        "WorkingID": marker["WorkingID"],
        "Out.Type": OUTLINE_TYPE,
        "Comment": marker["Comment"],
    }


def exported(record: Mapping[str, Any]) -> bool:
    """Every landform goes to the RGIK export except those review rejected."""
    return _text(record, "review").lower() != "rejected"
