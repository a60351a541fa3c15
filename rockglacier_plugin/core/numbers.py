"""Reading numbers from loosely typed values: attribute tables (NULL, text), HDF5 and ROI_PAC
attributes (strings, NaN). Shared by the InSAR readers, the inventory and the report."""

from __future__ import annotations

import math
from typing import Any, Optional


def finite(value: Any) -> Optional[float]:
    """``value`` as a float when it is a finite number, else None (NULL, text, NaN, booleans).

    >>> finite("3.5"), finite(None), finite(float("nan")), finite(True), finite("left")
    (3.5, None, None, None, None)
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
