"""Review decisions on inventory polygons (QGIS-free): what each decision writes, which features
a filter keeps, and what counts as reviewed. The dock is a thin adapter over these."""

from __future__ import annotations

import getpass
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from ..errors import ParameterError
from .schema import Review, UpslopeConnection

ACTIVITIES = ("active", "transitional", "relict", "uncertain")
REVIEWED = {Review.ACCEPTED.value, Review.MODIFIED.value, Review.REJECTED.value}
FILTERS = ("all", "not yet reviewed", "candidate", "accepted", "modified", "rejected")


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some sandboxes
        return "unknown"


def stamp(user: Optional[str] = None, now: Optional[datetime] = None) -> dict[str, str]:
    """``edited_at`` (ISO-8601, UTC, seconds) and ``edited_by`` for a decision."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    return {"edited_at": moment.isoformat(), "edited_by": user or current_user()}


def decision_values(action: str, value: Optional[str] = None, user: Optional[str] = None,
                    now: Optional[datetime] = None) -> dict[str, Any]:
    """Field values one decision writes.

    Actions: ``accept``, ``reject``, ``modified`` (outline edited), ``class`` (value: G, GF, DMS,
    T, P, O), ``activity`` (value: active, transitional, relict, uncertain), ``comment``.

    >>> decision_values("class", "DMS", user="ana", now=datetime(2026, 1, 2, tzinfo=timezone.utc))
    {'upslope_con': 'DMS', 'edited_at': '2026-01-02T00:00:00+00:00', 'edited_by': 'ana'}
    """
    if action == "accept":
        values: dict[str, Any] = {"review": Review.ACCEPTED.value}
    elif action == "reject":
        values = {"review": Review.REJECTED.value}
    elif action == "modified":
        values = {"review": Review.MODIFIED.value}
    elif action == "class":
        valid = [c.value for c in UpslopeConnection]
        if value not in valid:
            raise ParameterError(f"upslope class {value!r} is not one of {', '.join(valid)}.")
        values = {"upslope_con": value}
    elif action == "activity":
        if value not in ACTIVITIES:
            raise ParameterError(f"activity {value!r} is not one of {', '.join(ACTIVITIES)}.")
        values = {"activity": value}
    elif action == "comment":
        values = {"comment": value or None}
    else:
        raise ParameterError(f"review action {action!r} is unknown; use accept, reject, modified, class, activity or comment.")
    values.update(stamp(user, now))
    return values


def is_reviewed(review: Optional[str]) -> bool:
    return review in REVIEWED


def keeps(attributes: Mapping[str, Any], review_filter: str = "all", source: Optional[str] = None,
          upslope_con: Optional[str] = None) -> bool:
    """Whether a feature passes the dock's filters (None = no filter on that field)."""
    review = attributes.get("review")
    if review_filter == "not yet reviewed":
        if is_reviewed(review):
            return False
    elif review_filter != "all" and review != review_filter:
        return False
    if source and attributes.get("source") != source:
        return False
    if upslope_con and attributes.get("upslope_con") != upslope_con:
        return False
    return True
