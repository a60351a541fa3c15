"""RGIK kinematic classes of rock-glacier surface velocity (one table).

The boundaries are semi-orders of magnitude in cm/yr, a boundary value belonging to the upper
class. They are recalled from the RGIK guidelines (Kinematic attribute, 2023) and not yet
checked against the PDF: change them here only.
"""

from __future__ import annotations

import math
from typing import Optional

UNDEFINED = "undefined"

#: (lower bound inclusive, upper bound exclusive, label), cm/yr.
KINEMATIC_CLASSES: tuple[tuple[float, float, str], ...] = (
    (0.0, 1.0, "< 1 cm/yr"),
    (1.0, 3.0, "1-3 cm/yr"),
    (3.0, 10.0, "3-10 cm/yr"),
    (10.0, 30.0, "10-30 cm/yr"),
    (30.0, 100.0, "30-100 cm/yr"),
    (100.0, 300.0, "100-300 cm/yr"),
    (300.0, math.inf, "> 300 cm/yr"),
)


def kinematic_class(velocity_cm_per_yr: Optional[float], velocity_ok: bool = True) -> str:
    """The class of a downslope velocity; ``undefined`` when not usable or negative.

    >>> kinematic_class(10.0), kinematic_class(0.5), kinematic_class(45.0, velocity_ok=False)
    ('10-30 cm/yr', '< 1 cm/yr', 'undefined')
    """
    if not velocity_ok or velocity_cm_per_yr is None or not math.isfinite(velocity_cm_per_yr):
        return UNDEFINED
    if velocity_cm_per_yr < 0:
        return UNDEFINED  # upslope motion is not creep: flagged, never folded with abs()
    for lower, upper, label in KINEMATIC_CLASSES:
        if lower <= velocity_cm_per_yr < upper:
            return label
    return UNDEFINED
