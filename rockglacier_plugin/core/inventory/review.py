"""Review decisions on inventory polygons (QGIS-free): what each decision writes, which features
a filter keeps, and what counts as reviewed. The dock is a thin adapter over these."""

from __future__ import annotations

import getpass
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Sequence

from ..errors import ParameterError
from .schema import Review, UpslopeConnection

ACTIVITIES = ("active", "transitional", "relict", "uncertain")
REVIEWED = {Review.ACCEPTED.value, Review.MODIFIED.value, Review.REJECTED.value}
FILTERS = ("all", "not yet reviewed", "candidate", "accepted", "modified", "rejected")


def current_user() -> str:
    """The user name recorded with a review decision (the OS login, 'unknown' without one)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some sandboxes
        return "unknown"


def stamp(user: Optional[str] = None, now: Optional[datetime] = None) -> dict[str, str]:
    """``edited_at`` (ISO-8601, UTC, seconds) and ``edited_by`` for a decision."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    return {"edited_at": moment.isoformat(), "edited_by": user or current_user()}


def manual_landform_values(
    existing_ids: Sequence[Optional[str]], default_prefix: str, user: Optional[str] = None, now: Optional[datetime] = None
) -> dict[str, Any]:
    """Field values of a landform the analyst adds (drawn, or grown from a click): the next id after the inventory's own
    (its most common prefix, else ``default_prefix``), source ``manual``, review ``accepted``, stamped.

    >>> manual_landform_values(["cand001", "cand004"], "rg", user="ana", now=datetime(2026, 1, 2, tzinfo=timezone.utc))
    {'rg_id': 'cand005', 'source': 'manual', 'review': 'accepted', 'edited_at': '2026-01-02T00:00:00+00:00', 'edited_by': 'ana'}
    """
    from .identifiers import dominant_prefix, ids_after
    from .schema import Source

    prefix = dominant_prefix(existing_ids) or default_prefix
    return {
        "rg_id": ids_after(existing_ids, 1, prefix)[0],
        "source": Source.MANUAL.value,
        **decision_values("accept", user=user, now=now),
    }


def decision_values(
    action: str, value: Optional[str] = None, user: Optional[str] = None, now: Optional[datetime] = None
) -> dict[str, Any]:
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
    """Whether a review value is a decision (accepted or rejected), not a candidate still to review."""
    return review in REVIEWED


def keeps(
    attributes: Mapping[str, Any], review_filter: str = "all", source: Optional[str] = None, upslope_con: Optional[str] = None
) -> bool:
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


#: Names that mark a raster as a DEM when several single-band rasters are loaded.
_DEM_NAME = ("dem", "dsm", "dtm", "srtm", "elevation", "copernicus", "alos", "aster", "nasadem", "height")


def obvious_inventory(layers: list[tuple[str, list[str]]]) -> Optional[str]:
    """The id of the only polygon layer that carries inventory fields (rg_id or review), else None.

    ``layers``: (layer id, field names) of the project's polygon layers.

    >>> obvious_inventory([("a", ["name"]), ("b", ["rg_id", "area_km2"])])
    'b'
    """
    with_fields = [layer_id for layer_id, names in layers if {"rg_id", "review"} & set(names)]
    if len(with_fields) == 1:
        return with_fields[0]
    return layers[0][0] if len(layers) == 1 else None


def obvious_dem(rasters: list[tuple[str, str, int]]) -> Optional[str]:
    """The id of the only single-band raster, or of the only one named like a DEM, else None.

    ``rasters``: (layer id, layer name, band count) of the project's rasters.

    >>> obvious_dem([("s2", "S2 true colour", 3), ("z", "srtm_30m", 1)])
    'z'
    >>> obvious_dem([("p", "probability", 1), ("z", "Copernicus DEM", 1)])
    'z'
    """
    single = [(layer_id, name) for layer_id, name, bands in rasters if bands == 1]
    if len(single) == 1:
        return single[0][0]
    named = [layer_id for layer_id, name in single if any(word in name.lower() for word in _DEM_NAME)]
    return named[0] if len(named) == 1 else None


def obvious_probability(rasters: list[tuple[str, str, int]]) -> Optional[str]:
    """The id of the only single-band raster named like a model probability (rockglacier:segment's PROBABILITY), else None.

    >>> obvious_probability([("p", "prob.2024", 1), ("z", "Copernicus DEM", 1), ("s", "S2", 3)])
    'p'
    """
    named = [layer_id for layer_id, name, bands in rasters if bands == 1 and "prob" in name.lower()]
    return named[0] if len(named) == 1 else None


#: Rows of the review accounting (the paper's account of its deep-learning candidates).
ACCOUNTING_ROWS = ("candidates", "matching_existing", "new", "accepted", "modified", "rejected", "not_yet_reviewed")


def review_accounting(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Counts of candidates by what review made of them.

    ``matching_existing``: candidates that overlap an earlier inventory polygon (``match_rg_id``
    set by ``rockglacier:segment``); ``new``: the others; ``rejected``: false positives once
    reviewed; ``accepted`` and ``modified``: kept (modified = outline edited).

    >>> review_accounting([{"review": "rejected"}, {"review": "accepted", "match_rg_id": "wkl001"}])["new"]
    1
    """

    def value(record: Mapping[str, Any], name: str) -> str:
        return str(record.get(name) or "").strip()

    counts = {row: 0 for row in ACCOUNTING_ROWS}
    counts["candidates"] = len(records)
    for record in records:
        counts["matching_existing" if value(record, "match_rg_id") else "new"] += 1
        review = value(record, "review")
        counts[review if review in REVIEWED else "not_yet_reviewed"] += 1
    return counts


#: What a reviewed inventory teaches a model (``python -m training adapt``, ``rockglacier:adaptmodel``).
POSITIVE, NEGATIVE, IGNORED = "positive", "negative", "ignored"


def training_role(record: Mapping[str, Any], has_review: bool) -> str:
    """A landform's role in adapting a model from the review: accepted or modified landforms are rock glaciers
    (``positive``), rejected ones negative areas, the rest (not reviewed yet) ``ignored``: their pixels teach nothing.
    A layer without a ``review`` field is an inventory: every landform is a rock glacier.

    >>> [training_role({"review": r}, True) for r in ("accepted", "modified", "rejected", "candidate", None)]
    ['positive', 'positive', 'negative', 'ignored', 'ignored']
    >>> training_role({}, False)
    'positive'
    """
    if not has_review:
        return POSITIVE
    review = str(record.get("review") or "").strip().lower()
    if review in (Review.ACCEPTED.value, Review.MODIFIED.value):
        return POSITIVE
    return NEGATIVE if review == Review.REJECTED.value else IGNORED
