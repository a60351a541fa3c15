"""SAR sensors and their radar wavelengths."""

from __future__ import annotations

from enum import Enum
from typing import Optional

from ..errors import ParameterError


class Sensor(str, Enum):
    """A SAR sensor by name; ``WAVELENGTH_M`` gives its wavelength."""

    ALOS1_PALSAR = "ALOS-1 PALSAR"
    SENTINEL1 = "Sentinel-1"
    CUSTOM = "custom"


#: Radar wavelengths in metres (ALOS-1 PALSAR L-band; Sentinel-1 C-band).
WAVELENGTH_M = {
    Sensor.ALOS1_PALSAR: 0.2360571,
    Sensor.SENTINEL1: 0.05546576,
}


def sensor_from_name(name: str) -> Sensor:
    """The ``Sensor`` named ``name`` (case-insensitive), or an error listing the known ones."""
    for sensor in Sensor:
        if sensor.value.lower() == str(name).strip().lower():
            return sensor
    valid = ", ".join(s.value for s in Sensor)
    raise ParameterError(f"SENSOR={name!r} is not known; valid sensors: {valid}.")


def choose_wavelength_m(
    sensor_wavelength_m: Optional[float],
    override_m: Optional[float] = None,
    from_metadata_m: Optional[float] = None,
    what: str = "the interferogram",
) -> float:
    """The wavelength to use: an explicit override, else the file's metadata, else the sensor's; never a
    default (a wrong wavelength scales every velocity: ALOS-1 and Sentinel-1 differ 4.3 times).

    Args:
        sensor_wavelength_m: ``WAVELENGTH_M`` of the chosen sensor (None for ``custom`` or no SENSOR).
        override_m: WAVELENGTH_M typed by the user.
        from_metadata_m: what the product's metadata says.

    >>> choose_wavelength_m(WAVELENGTH_M[Sensor.ALOS1_PALSAR]), choose_wavelength_m(0.236, from_metadata_m=0.0555)
    (0.2360571, 0.0555)
    """
    for candidate in (override_m, from_metadata_m, sensor_wavelength_m):
        if candidate is not None and candidate > 0:
            return float(candidate)
    raise ParameterError(
        f"The radar wavelength of {what} is not in its metadata: set SENSOR (ALOS-1 PALSAR, L-band, "
        f"{WAVELENGTH_M[Sensor.ALOS1_PALSAR]} m; Sentinel-1, C-band, {WAVELENGTH_M[Sensor.SENTINEL1]} m) or WAVELENGTH_M."
    )
