"""The acquisition date of one image, from its metadata or its file name, or a clear request for it.

Read, in order: GDAL metadata ``ACQUISITION_DATE``, ``DATE_ACQUIRED``, ``SENSING_DATE``; then a single date in the
file name (YYYYMMDD or YYYY-MM-DD, e.g. Sentinel-2's ``..._20220815T...``); last ``DATETIME`` / ``TIFFTAG_DATETIME``
(TIFF's "YYYY:MM:DD HH:MM:SS", often the processing date, so used only when nothing else says). The log says where
the date came from. A date the user gives always wins.
"""

from __future__ import annotations

import os
import re
from datetime import date
from typing import Any, Optional

from ..errors import ParameterError

_KEYS = ("ACQUISITION_DATE", "DATE_ACQUIRED", "SENSING_DATE")
_LAST_RESORT_KEYS = ("DATETIME", "TIFFTAG_DATETIME")
_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")


def _parse(text: str) -> Optional[date]:
    found = re.search(r"((?:19|20)\d{2})[-:/]?(0[1-9]|1[0-2])[-:/]?(0[1-9]|[12]\d|3[01])", text)
    if not found:
        return None
    try:
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None


def image_date(dataset: Any, path: str, given: Optional[date], what: str) -> tuple[date, str]:
    """(date, where it came from) for one image; ``ParameterError`` naming the parameter when nothing says.

    >>> image_date(None, "/data/S2B_MSIL2A_20220815T101559_N0400.tif", None, "DATE_1")
    (datetime.date(2022, 8, 15), 'from the file name')
    """
    if given is not None:
        return given, "as given"
    metadata = {k.upper(): v for k, v in ((dataset.GetMetadata() or {}) if dataset is not None else {}).items()}
    for key in _KEYS:
        found = _parse(str(metadata[key])) if key in metadata else None
        if found:
            return found, f"from its metadata ({key})"
    dates = {date(int(y), int(m), int(d)) for y, m, d in _IN_NAME.findall(os.path.basename(path))}
    if len(dates) == 1:
        return dates.pop(), "from the file name"
    for key in _LAST_RESORT_KEYS:
        found = _parse(str(metadata[key])) if key in metadata else None
        if found:
            return found, f"from its metadata ({key}: may be the processing date; give {what} if not)"
    raise ParameterError(f"The date of '{os.path.basename(path)}' is not in its metadata or name: give {what} (YYYY-MM-DD).")
