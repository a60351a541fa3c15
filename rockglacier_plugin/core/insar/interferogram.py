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

from ..errors import InputRasterError, ParameterError
from .sensors import choose_wavelength_m

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


_DATE_FORMATS = (
    (re.compile(r"^\d{8}$"), "%Y%m%d"),
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{6}$"), "%y%m%d"),  # MintPy's and ISCE2's DATE12 ("081114-081230")
)


def parse_date(text: str, what: str) -> date:
    """A date from 'YYYYMMDD', 'YYYY-MM-DD' or 'YYMMDD' (as MintPy's and ISCE2's DATE12 write it).

    The format is chosen by the text's shape, never by trial: 'YYMMDD' tried as 'YYYYMMDD' would
    read 081114 as the year 811.

    >>> parse_date("081114", "DATE12"), parse_date("20081114", "d"), parse_date("2008-11-14", "d")
    (datetime.date(2008, 11, 14), datetime.date(2008, 11, 14), datetime.date(2008, 11, 14))
    """
    cleaned = str(text).strip()
    for pattern, date_format in _DATE_FORMATS:
        if pattern.match(cleaned):
            try:
                return datetime.strptime(cleaned, date_format).date()
            except ValueError:
                break
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


def resolve_isce_path(path: str) -> str:
    """ISCE2 rasters are georeferenced by their ``.vrt`` side-car: prefer it when it exists."""
    if not path.lower().endswith(".vrt") and os.path.exists(path + ".vrt"):
        return path + ".vrt"
    return path


def isce_components_path(unwrapped_path: str) -> Optional[str]:
    """ISCE2's SNAPHU connected components beside an unwrapped product, when present:
    ``filt_topophase.unw.geo(.vrt)`` -> ``filt_topophase.unw.conncomp.geo(.vrt)``."""
    base = unwrapped_path[:-4] if unwrapped_path.lower().endswith(".vrt") else unwrapped_path
    folder, name = os.path.split(base)
    if ".unw" not in name:
        return None
    stem, _, rest = name.partition(".unw")
    for candidate in (f"{stem}.unw.conncomp{rest}", f"{stem}.unw{rest}.conncomp", f"{stem}.conncomp{rest}"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path + ".vrt"):
            return path + ".vrt"
        if os.path.exists(path):
            return path
    return None


def default_coherence_band(dataset: Any, path: str) -> int:
    """2 for ISCE2's two-band ``topophase.cor`` (amplitude, coherence), else 1."""
    if ".cor" in os.path.basename(path).lower() and dataset.RasterCount == 2:
        return 2
    return 1


def describe_interferogram(
    path: str,
    phase_band: int,
    sensor_wavelength_m: Optional[float],
    wavelength_override_m: Optional[float],
    reference_date: Optional[date],
    secondary_date: Optional[date],
) -> tuple[Interferogram, list[str]]:
    """Build an ``Interferogram`` from a file and the user's parameters; returns notes to log.

    Args:
        phase_band: 1-based band, 0 = automatic (2 for ISCE2 .unw, else 1).
        sensor_wavelength_m: the chosen sensor's wavelength (None for 'custom').
        wavelength_override_m: WAVELENGTH_M when given (wins over metadata and sensor).
        reference_date, secondary_date: the parameters, used when both are given.
    """
    from ..raster.io import open_raster

    notes: list[str] = []
    resolved = resolve_isce_path(path)
    if resolved != path:
        notes.append(f"Reading '{resolved}' (the ISCE2 side-car that georeferences '{path}').")
    dataset = open_raster(resolved, "interferogram")
    band = phase_band or default_phase_band(dataset, resolved)
    if band > dataset.RasterCount:
        raise InputRasterError(f"'{resolved}' has {dataset.RasterCount} band(s); PHASE_BAND={band} does not exist.")
    first: Optional[date]
    second: Optional[date]
    if reference_date is not None and secondary_date is not None:
        first, second = reference_date, secondary_date
    else:
        first, second = dates_from_metadata(dataset, resolved)
        if first is None or second is None:
            raise ParameterError(
                f"No acquisition dates found for '{resolved}' (metadata FIRST_DATE/SECOND_DATE, DATE12, or "
                "YYYYMMDD_YYYYMMDD in the file or folder name). Give REFERENCE_DATE and SECONDARY_DATE, "
                "or rename the file so it holds the pair's dates."
            )
    if first == second:
        raise ParameterError(f"'{resolved}': reference and secondary dates are both {first}; an interferogram needs two dates.")
    if first > second:
        notes.append(
            f"'{os.path.basename(resolved)}': the reference date {first} is after the secondary date {second}; "
            "the velocity sign is flipped accordingly."
        )
    metadata_wavelength = wavelength_from_metadata(dataset)
    wavelength = choose_wavelength_m(
        sensor_wavelength_m, wavelength_override_m, metadata_wavelength, f"'{os.path.basename(resolved)}'"
    )
    if (
        metadata_wavelength
        and sensor_wavelength_m
        and not wavelength_override_m
        and abs(metadata_wavelength - sensor_wavelength_m) > 0.01
    ):
        notes.append(
            f"'{os.path.basename(resolved)}' says its wavelength is {metadata_wavelength} m; using it, not the SENSOR's "
            f"{sensor_wavelength_m} m."
        )
    return Interferogram(resolved, band, first, second, float(wavelength)), notes
