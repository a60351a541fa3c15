"""Rock-glacier ids: keep the ones a layer has, assign new ones that never collide."""

from __future__ import annotations

import re
from typing import Optional, Sequence

from ..errors import ParameterError

_PREFIX_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,15}$")
MIN_ID_DIGITS = 3


def validate_prefix(prefix: str) -> str:
    """Check an id prefix: a letter then up to 15 letters, digits, '_' or '-'.

    >>> validate_prefix("wkl")
    'wkl'
    """
    if not isinstance(prefix, str) or not _PREFIX_PATTERN.match(prefix):
        raise ParameterError(
            f"ID_PREFIX={prefix!r} is not usable: it must start with a letter and hold at most 16 "
            "letters, digits, '_' or '-' (e.g. 'rg' or 'wkl')."
        )
    return prefix


def _blank(value: Optional[str]) -> bool:
    return value is None or str(value).strip() == ""


def assign_ids(existing: Sequence[Optional[str]], prefix: str) -> list[str]:
    """Keep every non-empty id and give the empty ones ``prefix`` + a zero-padded number.

    New numbers continue after the highest number already used with the same prefix, so ids never
    collide with existing ones. The width is at least 3 digits and grows with the count.

    >>> assign_ids(["rg002", None, "", "x"], "rg")
    ['rg002', 'rg003', 'rg004', 'x']
    """
    validate_prefix(prefix)
    number_pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    highest = 0
    taken = set()
    for value in existing:
        if _blank(value):
            continue
        text = str(value).strip()
        taken.add(text)
        match = number_pattern.match(text)
        if match:
            highest = max(highest, int(match.group(1)))
    n_new = sum(1 for value in existing if _blank(value))
    width = max(MIN_ID_DIGITS, len(str(highest + n_new)))
    result: list[str] = []
    next_number = highest + 1
    for value in existing:
        if not _blank(value):
            result.append(str(value).strip())
            continue
        candidate = f"{prefix}{next_number:0{width}d}"
        while candidate in taken:  # e.g. 'rg7' and 'rg007' both exist
            next_number += 1
            candidate = f"{prefix}{next_number:0{width}d}"
        taken.add(candidate)
        result.append(candidate)
        next_number += 1
    return result


def ids_after(existing: Sequence[Optional[str]], count: int, prefix: str) -> list[str]:
    """``count`` new ids that continue after those of an existing inventory and never collide with them.

    Candidates of a new segmentation run get ids after the inventory they are compared with, so
    merging the two never gives two landforms one id.

    >>> ids_after(["wkl001", "wkl007", None], 2, "wkl")
    ['wkl008', 'wkl009']
    """
    named = [value for value in existing if not _blank(value)]  # unnamed landforms reserve nothing
    return assign_ids(named + [None] * count, prefix)[len(named) :]


def dominant_prefix(ids: Sequence[Optional[str]]) -> Optional[str]:
    """The prefix (the text before the trailing number) most ids of an inventory share; None without numbered ids.

    >>> dominant_prefix(["cand001", "cand002", "dl001", None])
    'cand'
    """
    from collections import Counter

    prefixes = Counter(
        found.group(1)
        for value in ids
        if not _blank(value)
        for found in [re.match(r"^(.*?[^\d])\d+$", str(value).strip())]
        if found
    )
    return prefixes.most_common(1)[0][0] if prefixes else None


def duplicated_ids(ids: Sequence[Optional[str]]) -> list[str]:
    """The non-empty ids that occur more than once, sorted."""
    seen: set[str] = set()
    duplicated: set[str] = set()
    for value in ids:
        if _blank(value):
            continue
        text = str(value).strip()
        if text in seen:
            duplicated.add(text)
        seen.add(text)
    return sorted(duplicated)
