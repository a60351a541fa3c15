"""SAR sensors and their radar wavelengths."""

from __future__ import annotations

from enum import Enum
from typing import Optional

from .errors import ParameterError


class Sensor(str, Enum):
    ALOS1_PALSAR = "ALOS-1 PALSAR"
    SENTINEL1 = "Sentinel-1"
    CUSTOM = "custom"


#: Radar wavelengths in metres (ALOS-1 PALSAR L-band; Sentinel-1 C-band).
WAVELENGTH_M = {
    Sensor.ALOS1_PALSAR: 0.2360571,
    Sensor.SENTINEL1: 0.05546576,
}


def sensor_from_name(name: str) -> Sensor:
    for sensor in Sensor:
        if sensor.value.lower() == str(name).strip().lower():
            return sensor
    valid = ", ".join(s.value for s in Sensor)
    raise ParameterError(f"SENSOR={name!r} is not known; valid sensors: {valid}.")


def wavelength_m(sensor: Sensor, override_m: Optional[float] = None, from_metadata_m: Optional[float] = None) -> float:
    """The wavelength to use: an explicit override, else the file's metadata, else the sensor's.

    >>> wavelength_m(Sensor.ALOS1_PALSAR)
    0.2360571
    """
    if override_m is not None and override_m > 0:
        return float(override_m)
    if from_metadata_m is not None and from_metadata_m > 0:
        return float(from_metadata_m)
    if sensor in WAVELENGTH_M:
        return WAVELENGTH_M[sensor]
    raise ParameterError(
        "SENSOR=custom needs WAVELENGTH_M (e.g. 0.2360571 for L-band, 0.05546576 for C-band)."
    )
