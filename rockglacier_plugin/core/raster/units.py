"""Units of raster values: read from the file, parsed in one place, never assumed.

A GDAL band states its unit in its unit type (``band.GetUnitType()``, GeoTIFF ``UNITTYPE``, what
``gdal_edit.py -units`` writes and QGIS shows), or, in files from other tools, a ``UNITS``/``unit``
metadata item on the band or the dataset. ``band_unit`` reads the first of these that is set.

Two families are understood:

* **velocities** (``velocity_cm_per_yr_per_unit``): a length (m, cm, mm) per time (yr, year, a, y,
  or d/day for daily rates), written ``cm/yr``, ``m/a``, ``mm yr-1``, ``m yr^-1``, ``metres per
  year``... -> how many cm/yr one unit is;
* **elevations** (``elevation_metres_per_unit``): metres, international feet (0.3048 m) and US
  survey feet (1200/3937 m) -> metres per unit.

Every raster the plugin writes carries its unit (``UNIT_CM_PER_YR``, ``UNIT_PROBABILITY``...) so that
outputs fed back in are read right.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from ..conventions import DAYS_PER_YEAR

#: Units the plugin writes on its own rasters.
UNIT_CM_PER_YR = "cm/yr"
UNIT_RADIANS = "rad"
UNIT_PROBABILITY = "1"  # dimensionless, as CF and UDUNITS write it

_LENGTH_CM = {"m": 100.0, "cm": 1.0, "mm": 0.1}
_TIME_PER_YEAR = {"yr": 1.0, "a": 1.0, "y": 1.0, "d": DAYS_PER_YEAR}
_WORDS = (
    (r"millimet(?:er|re)s?", "mm"),
    (r"centimet(?:er|re)s?", "cm"),
    (r"met(?:er|re)s?", "m"),
    (r"years?", "yr"),
    (r"days?", "d"),
    (r"annum", "a"),
    (r"\bper\b", "/"),
    (r"⁻¹", "-1"),
)
_RATIO = re.compile(r"^(mm|cm|m)/(yr|a|y|d)$")
_POWER = re.compile(r"^(mm|cm|m)[.*]?(yr|a|y|d)\^?-1$")
US_SURVEY_FOOT_M = 1200.0 / 3937.0
INTERNATIONAL_FOOT_M = 0.3048


def band_unit(dataset: Any, band_index: int = 1) -> str:
    """The unit a raster states for band ``band_index`` (1-based), '' when it states none."""
    band = dataset.GetRasterBand(band_index)
    unit = (band.GetUnitType() or "").strip()
    if unit:
        return unit
    for metadata in (band.GetMetadata() or {}, dataset.GetMetadata() or {}):
        for key, value in metadata.items():
            if key.strip().lower() in ("units", "unit") and str(value).strip():
                return str(value).strip()
    return ""


def _compact(text: str) -> str:
    compact = text.strip().lower()
    for pattern, replacement in _WORDS:
        compact = re.sub(pattern, replacement, compact)
    return re.sub(r"[\s·_]+", "", compact).replace("/per/", "/")


def velocity_cm_per_yr_per_unit(text: str) -> Optional[float]:
    """cm/yr in one unit of ``text``, None when ``text`` is not a velocity unit.

    >>> [velocity_cm_per_yr_per_unit(t) for t in ("m/yr", "M/A", "mm yr-1", "cm·yr⁻¹", "metres per year", "m/d")]
    [100.0, 100.0, 0.1, 1.0, 100.0, 36525.0]
    >>> velocity_cm_per_yr_per_unit("rad") is None, velocity_cm_per_yr_per_unit("") is None
    (True, True)
    """
    compact = _compact(text)
    match = _RATIO.match(compact) or _POWER.match(compact)
    if not match:
        return None
    return _LENGTH_CM[match.group(1)] * _TIME_PER_YEAR[match.group(2)]


def elevation_metres_per_unit(text: str) -> Optional[float]:
    """Metres in one unit of ``text`` for elevations ('' or an unknown word: None).

    >>> [elevation_metres_per_unit(t) for t in ("m", "metre", "Meters", "ft", "feet", "foot")]
    [1.0, 1.0, 1.0, 0.3048, 0.3048, 0.3048]
    >>> round(elevation_metres_per_unit("US survey foot"), 7), round(elevation_metres_per_unit("ftUS"), 7)
    (0.3048006, 0.3048006)
    """
    compact = re.sub(r"[\s_\-().]+", "", text.strip().lower())
    if not compact:
        return None
    if "us" in compact and ("ft" in compact or "foot" in compact or "feet" in compact):
        return US_SURVEY_FOOT_M
    if compact in ("ft", "foot", "feet", "intlfoot", "internationalfoot", "ftintl", "ftinternational"):
        return INTERNATIONAL_FOOT_M
    if compact in ("m", "metre", "metres", "meter", "meters", "masl", "metresasl", "metersasl"):
        return 1.0
    return {"cm": 0.01, "dm": 0.1, "km": 1000.0, "mm": 0.001}.get(compact)


def describe_unit(text: str) -> str:
    """How a unit tag is quoted in messages ('no unit tag' when empty)."""
    return f"unit tag {text!r}" if text else "no unit tag"
