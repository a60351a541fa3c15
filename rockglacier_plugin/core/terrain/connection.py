"""Suggesting the upslope-connection class of a rock glacier from glacier outlines.

The rule (the analyst decides; this only suggests):

* A glacier is *upslope* of a rock glacier when the part of the glacier within the search
  distance of the rock glacier has a mean elevation above the rock glacier's mean elevation.
* ``G`` (glacier-connected) when an upslope glacier touches or nearly touches the rock glacier:
  the shortest distance between the outlines is at most ``touch_distance_m`` (default 50 m,
  about the outline uncertainty on 10 m imagery).
* ``GF`` (glacier forefield) when the nearest upslope glacier is farther than that but within
  ``search_distance_m`` (default 500 m).
* Otherwise no suggestion (NULL): debris-mantled slope (DMS) and talus (T) connections cannot be
  told from glacier outlines and stay the analyst's call.

Distances are measured in metres in a local equal-area projection of each rock glacier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from ..errors import ParameterError
from ..inventory.schema import UpslopeConnection


@dataclass(frozen=True)
class ConnectionRule:
    """Distances of the suggestion rule, in metres."""

    touch_distance_m: float = 50.0
    search_distance_m: float = 500.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.touch_distance_m <= self.search_distance_m:
            raise ParameterError(
                f"TOUCH_DISTANCE_M={self.touch_distance_m} and SEARCH_DISTANCE_M="
                f"{self.search_distance_m} must satisfy 0 <= touch <= search; e.g. 50 and 500."
            )


@dataclass(frozen=True)
class GlacierNeighbour:
    """One glacier near a rock glacier."""

    distance_m: float
    near_part_elev_mean_m: Optional[float]


def suggest_connection(
    landform_elev_mean_m: Optional[float],
    neighbours: Sequence[GlacierNeighbour],
    rule: ConnectionRule,
) -> Optional[str]:
    """Apply the rule of this module; returns "G", "GF" or None.

    >>> rule = ConnectionRule(50.0, 500.0)
    >>> suggest_connection(3000.0, [GlacierNeighbour(10.0, 3200.0)], rule)
    'G'
    >>> suggest_connection(3000.0, [GlacierNeighbour(10.0, 2800.0)], rule) is None  # downslope
    True
    """
    if landform_elev_mean_m is None:
        return None
    upslope = [
        n.distance_m for n in neighbours if n.near_part_elev_mean_m is not None and n.near_part_elev_mean_m > landform_elev_mean_m
    ]
    if not upslope:
        return None
    nearest_m = min(upslope)
    if nearest_m <= rule.touch_distance_m:
        return UpslopeConnection.GLACIER.value
    if nearest_m <= rule.search_distance_m:
        return UpslopeConnection.GLACIER_FOREFIELD.value
    return None
