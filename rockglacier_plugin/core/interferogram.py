"""Unwrapped interferograms: which band holds the phase, acquisition dates, wavelength.

Reads ISCE2 products through their ``.vrt`` side-cars (``filt_topophase.unw.geo.vrt``: band 1
amplitude, band 2 unwrapped phase in radians) and GeoTIFFs from other processors (PyRate/GAMMA,
MintPy exports, HyP3, LiCSAR: one band of phase in radians). Dates come from, in order: the
algorithm's parameters, GeoTIFF metadata (PyRate's FIRST_DATE/SECOND_DATE, MintPy's DATE12), then
the first ``YYYYMMDD?YYYYMMDD`` in the file name or its folders (ISCE2 stacks name pairs so).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Optional

import numpy as np

from .errors import InputRasterError, ParameterError

_PAIR_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d{6})[-_]((?:19|20)\d{6})(?!\d)")


@dataclass(frozen=True)
class Interferogram:
    """One unwrapped interferogram ready to read."""

    path: str
    phase_band: int
    reference_date: date
    secondary_date: date
    wavelength_m: float

    @property
    def pair_label(self) -> str:
        """``YYYYMMDD-YYYYMMDD`` in the file's own order (reference first)."""
        return f"{self.reference_date:%Y%m%d}-{self.secondary_date:%Y%m%d}"


def parse_date(text: str, what: str) -> date:
    """A date from 'YYYYMMDD' or 'YYYY-MM-DD' (also 'YYMMDD' as MintPy's DATE12 writes)."""
    cleaned = str(text).strip()
    for pattern in ("%Y%m%d", "%Y-%m-%d", "%y%m%d"):
        try:
            return datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
    raise ParameterError(f"{what}={text!r} is not a date; write it as YYYY-MM-DD or YYYYMMDD.")


def default_phase_band(dataset: Any, path: str) -> int:
    """2 for ISCE2 two-band ``.unw`` products (amplitude, phase), else 1."""
    if ".unw" in os.path.basename(path).lower() and dataset.RasterCount == 2:
        return 2
    return 1


def dates_from_metadata(dataset: Any, path: str) -> tuple[Optional[date], Optional[date]]:
    """Acquisition dates from metadata tags or the file/folder names; (None, None) if absent."""
    metadata = {k.upper(): v for k, v in (dataset.GetMetadata() or {}).items()}
    if "FIRST_DATE" in metadata and "SECOND_DATE" in metadata:
        return parse_date(metadata["FIRST_DATE"], "FIRST_DATE"), parse_date(metadata["SECOND_DATE"], "SECOND_DATE")
    if "DATE12" in metadata:
        parts = re.split(r"[-_]", metadata["DATE12"])
        if len(parts) == 2:
            return parse_date(parts[0], "DATE12"), parse_date(parts[1], "DATE12")
    for part in reversed(os.path.abspath(path).split(os.sep)):
        match = _PAIR_IN_NAME.search(part)
        if match:
            return parse_date(match.group(1), "file name"), parse_date(match.group(2), "file name")
    return None, None


def wavelength_from_metadata(dataset: Any) -> Optional[float]:
    """The radar wavelength (m) from metadata tags, when a processor wrote it."""
    metadata = {k.upper(): v for k, v in (dataset.GetMetadata() or {}).items()}
    for key in ("WAVELENGTH_METRES", "WAVELENGTH", "RADAR_WAVELENGTH"):
        if key in metadata:
            try:
                value = float(metadata[key])
            except ValueError:
                continue
            if 0.001 < value < 1.0:
                return value
    return None


def check_phase_values(values: np.ndarray, band: int, path: str) -> None:
    """Refuse a band that looks like amplitude rather than unwrapped phase.

    Amplitude is never negative and is typically tens to thousands; unwrapped phase (radians)
    straddles an arbitrary offset with both signs common.
    """
    finite = values[np.isfinite(values) & (values != 0)]
    if finite.size < 100:
        return
    if finite.min() >= 0 and np.median(finite) > 50.0:
        raise InputRasterError(
            f"Band {band} of '{path}' looks like amplitude, not unwrapped phase (no negative value, "
            f"median {np.median(finite):.1f}). ISCE2 .unw files hold the phase in band 2: set "
            "PHASE_BAND=2."
        )
