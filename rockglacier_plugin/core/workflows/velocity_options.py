"""The velocity run's options, written once: ``rockglacier:insarvelocity`` builds its Processing
parameters from these tables and the region command its flags (``--min-coherence`` for
MIN_COHERENCE...), so both offer the same options with the same defaults and ranges, and both turn
the values into ``VelocitySettings`` with ``velocity_settings``. Defaults are read from the settings'
dataclasses themselves, never typed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional

from ..insar.landform_velocity import VelocitySettings
from ..insar.scene import SceneSettings


class _Named:
    """Processing parameter ``name`` -> command-line flag ``--name-in-lower-case`` and argparse ``dest``."""

    name: str

    @property
    def flag(self) -> str:
        return "--" + self.name.lower().replace("_", "-")

    @property
    def dest(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class NumberOption(_Named):
    """A number the user may set: Processing parameter ``name``, command-line flag ``--name-in-lower-case``.

    ``field`` is the ``VelocitySettings`` (or, with ``scene``, ``SceneSettings``) attribute it sets, whose
    default is the option's; options outside the settings (``field`` None) have no default (optional).
    """

    name: str
    label: str
    field: Optional[str] = None
    minimum: float = 0.0
    maximum: Optional[float] = None
    scene: bool = False
    integer: bool = False
    advanced: bool = False

    @property
    def default(self) -> Optional[float]:
        """The default value (None: not given)."""
        if self.field is None:
            return None
        return getattr(SceneSettings() if self.scene else VelocitySettings(), self.field)


@dataclass(frozen=True)
class SwitchOption(_Named):
    """A yes/no option (``--name`` / ``--no-name`` on the command line)."""

    name: str
    label: str
    field: str
    scene: bool = False

    @property
    def default(self) -> bool:
        """The default value."""
        return bool(getattr(SceneSettings() if self.scene else VelocitySettings(), self.field))


#: The quality criteria and masks, then the advanced numbers of the error model and the reference search.
SETTINGS_NUMBERS: tuple[NumberOption, ...] = (
    NumberOption("MIN_COHERENCE", "Minimum coherence", "min_coherence", 0.0, 1.0),
    NumberOption("MIN_VALID_FRACTION", "Minimum share of the landform kept", "min_valid_fraction", 0.0, 1.0),
    NumberOption("MAX_RELATIVE_ERROR", "Maximum relative error", "max_relative_error", 0.0),
    NumberOption(
        "MIN_PROJECTION_FACTOR", "Minimum |projection factor g| (> 0: g = 0 divides by zero)", "min_projection_factor", 0.01, 1.0
    ),
    NumberOption("MIN_SLOPE_DEG", "Minimum slope, degrees", "min_slope_deg", 0.0, 90.0),
    NumberOption("LOOKS", "Effective number of looks (phase noise)", "looks", 1.0, scene=True, advanced=True),
    NumberOption(
        "NOISE_CORRELATION_PX",
        "Noise correlation length, pixels (1 = independent pixels)",
        "noise_correlation_px",
        1.0,
        advanced=True,
    ),
    NumberOption(
        "DEM_SMOOTHING_PX",
        "DEM Gaussian smoothing before slope/aspect, pixels (sigma)",
        "dem_smoothing_px",
        0.0,
        20.0,
        scene=True,
        advanced=True,
    ),
    NumberOption("SLOPE_ERROR_DEG", "DEM slope 1-sigma error, degrees", "slope_sigma_deg", 0.0, 45.0, scene=True, advanced=True),
    NumberOption(
        "ASPECT_ERROR_DEG", "DEM aspect 1-sigma error, degrees", "aspect_sigma_deg", 0.0, 180.0, scene=True, advanced=True
    ),
    NumberOption("REFERENCE_RADIUS_M", "Reference search radius, metres", "reference_radius_m", 1.0, advanced=True),
)
SWITCHES: tuple[SwitchOption, ...] = (
    SwitchOption("REMOVE_RAMP", "Remove a planar ramp fitted on stable ground", "remove_ramp", scene=True),
    SwitchOption(
        "REMOVE_STRATIFIED",
        "Remove the stratified atmosphere (phase-elevation slope on stable ground)",
        "remove_stratified",
        scene=True,
    ),
    SwitchOption(
        "VELOCITY_REMOVE_RAMP", "Also remove ramp and stratified atmosphere from velocity products", "velocity_map_remove_ramp"
    ),
)
#: Bands (0 = automatic) and the DEM's band.
PHASE_BAND = NumberOption("PHASE_BAND", "Phase band (0 = automatic: 2 for ISCE2 .unw, else 1)", integer=True)
COHERENCE_BAND = NumberOption("COHERENCE_BAND", "Coherence band (0 = automatic: 2 for ISCE2 topophase.cor, else 1)", integer=True)
DEM_BAND = NumberOption("DEM_BAND", "DEM band", "dem_band", 1.0, scene=True, integer=True, advanced=True)
#: The LOS geometry as constants (without a LOS raster) and the wavelength override: no default.
INCIDENCE_DEG = NumberOption("INCIDENCE_DEG", "Incidence angle, degrees (without a LOS raster)", None, 0.0, 90.0)
LOS_AZIMUTH_DEG = NumberOption(
    "LOS_AZIMUTH_DEG", "LOS azimuth, degrees anticlockwise from north, ground to satellite (ISCE2)", None, -360.0, 360.0
)
HEADING_DEG = NumberOption("HEADING_DEG", "...or the satellite heading, degrees clockwise from north", None, -360.0, 360.0)
WAVELENGTH_M = NumberOption(
    "WAVELENGTH_M", "Radar wavelength, metres (overrides SENSOR and the file's metadata)", None, 0.0, 1.0, advanced=True
)


def velocity_settings(values: Mapping[str, Any]) -> VelocitySettings:
    """``VelocitySettings`` from option values keyed by option name (missing ones keep their defaults)."""
    top: dict[str, Any] = {}
    scene: dict[str, Any] = {}
    options: tuple[NumberOption | SwitchOption, ...] = (*SETTINGS_NUMBERS, *SWITCHES, DEM_BAND)
    for option in options:
        value = values.get(option.name)
        if value is None or option.field is None:
            continue
        kind = int if getattr(option, "integer", False) else (bool if isinstance(option, SwitchOption) else float)
        (scene if option.scene else top)[option.field] = kind(value)
    return replace(VelocitySettings(), scene=replace(SceneSettings(), **scene), **top)
