"""The inputs every InSAR algorithm takes, as Processing parameters: interferograms with coherence
and components, HyP3 products or LOS velocity products, the DEM, the LOS geometry, the sensor and
dates, and the velocity settings' options (``core.workflows.velocity_options``). ``rockglacier:insarvelocity``
and ``rockglacier:movingareas`` both add them with ``add_pair_parameters`` and read them back with
``_inputs``, ``_los_geometry`` and ``_settings``, so both take the same files the same way."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..core.insar.sensors import Sensor
from ..core.insar.velocity_map import AWAY, TOWARDS, VELOCITY_UNITS
from ..qgis_shared.features import file_raster_path
from .algorithm_base import as_advanced, given, info

SENSORS = [sensor.value for sensor in Sensor]  # the core's choices, in their order
VELOCITY_SIGNS = [TOWARDS, AWAY]


class InsarInputs:
    """Mixin of a ``RockGlacierAlgorithm`` that measures interferograms or velocity products."""

    def _number(self, option: Any, optional: bool = False) -> None:
        kind = QgsProcessingParameterNumber.Integer if option.integer else QgsProcessingParameterNumber.Double
        maximum = option.maximum if option.maximum is not None else 1e12
        parameter = QgsProcessingParameterNumber(
            option.name, option.label, kind, option.default, optional or option.default is None, option.minimum, maximum
        )
        if option.advanced:
            as_advanced(parameter)
        self.addParameter(parameter)

    def add_pair_parameters(self) -> None:
        """The pairs, DEM, geometry, sensor and dates (without the settings' numbers and switches)."""
        self._add_interferograms_and_products()
        self._add_hyp3_dem_and_geometry()

    def _add_interferograms_and_products(self) -> None:
        """UNWRAPPED and COHERENCE, or LOS velocity products with their sigma, geometry, unit and sign."""
        from ..core.workflows import velocity_options as options

        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "UNWRAPPED", "Unwrapped interferograms (radians)", QgsProcessing.TypeRaster, optional=True
            )
        )
        self._number(options.PHASE_BAND)
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "COHERENCE", "Coherence (one per interferogram, or one for all)", QgsProcessing.TypeRaster, optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "LOS_VELOCITY",
                "...or LOS velocity products (MintPy velocity.h5, LiCSBAS cum.h5, GeoTIFF)",
                QgsProcessing.TypeFile,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "LOS_VELOCITY_SIGMA",
                "1-sigma of each GeoTIFF LOS velocity (same order; its unit tag, else the velocity's unit)",
                QgsProcessing.TypeFile,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                "GEOMETRY",
                "Geometry of the velocity products (MintPy geometryGeo.h5, LiCSAR E raster, or incidence/azimuth raster)",
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                "VELOCITY_UNIT",
                "Unit of a GeoTIFF LOS velocity (empty = the file's unit tag)",
                list(VELOCITY_UNITS),
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum("VELOCITY_SIGN", "Sign of a GeoTIFF LOS velocity", VELOCITY_SIGNS, defaultValue=0)
        )

    def _add_hyp3_dem_and_geometry(self) -> None:
        """HyP3 products, the coherence band and components, the DEM, the LOS geometry, the sensor and the dates."""
        from ..core.workflows import velocity_options as options

        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "HYP3", "...or ASF HyP3 InSAR products (folders or zips)", QgsProcessing.TypeFile, optional=True
            )
        )
        self._number(options.COHERENCE_BAND)
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "COMPONENTS",
                "SNAPHU connected components (one per interferogram; ISCE2 .conncomp found automatically)",
                QgsProcessing.TypeRaster,
                optional=True,
            )
        )
        self.addParameter(QgsProcessingParameterRasterLayer("DEM", "DEM (metres, or feet with a unit tag)"))
        self._number(options.DEM_BAND)
        self.addParameter(
            QgsProcessingParameterRasterLayer("LOS", "LOS geometry raster (ISCE2 los.rdr.geo: incidence, azimuth)", optional=True)
        )
        for option in (options.INCIDENCE_DEG, options.LOS_AZIMUTH_DEG, options.HEADING_DEG):
            self._number(option)
        left = QgsProcessingParameterBoolean("LEFT_LOOKING", "The radar looks left of its track (with HEADING_DEG)", False)
        as_advanced(left)
        self.addParameter(left)
        self.addParameter(
            QgsProcessingParameterEnum(
                "SENSOR", "Sensor of the interferograms (empty = the wavelength in their metadata)", SENSORS, optional=True
            )
        )
        self._number(options.WAVELENGTH_M)
        self.addParameter(
            QgsProcessingParameterString("REFERENCE_DATE", "Reference date (YYYY-MM-DD; when not in the file)", optional=True)
        )
        self.addParameter(
            QgsProcessingParameterString("SECONDARY_DATE", "Secondary date (YYYY-MM-DD; when not in the file)", optional=True)
        )

    def add_settings_parameters(self, numbers: Any) -> None:
        """The settings' numbers given (``velocity_options`` entries) and every switch, as advanced parameters."""
        from ..core.workflows import velocity_options as options

        for option in numbers:
            self._number(option)
        for switch in options.SWITCHES:
            flag = QgsProcessingParameterBoolean(switch.name, switch.label, switch.default)
            as_advanced(flag)
            self.addParameter(flag)

    def _optional_number(self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext) -> Optional[float]:
        return self.parameterAsDouble(parameters, name, context) if given(parameters, name) else None

    def _inputs(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> Any:
        """The run's inputs as the core's workflow takes them (``core.workflows.velocity``)."""
        from ..core.workflows.velocity import VelocityInputs, dates_from_text

        def rasters(name: str, what: str) -> tuple:
            return tuple(file_raster_path(layer, what) for layer in self.parameterAsLayerList(parameters, name, context))

        unit = (
            VELOCITY_UNITS[self.parameterAsEnum(parameters, "VELOCITY_UNIT", context)]
            if given(parameters, "VELOCITY_UNIT")
            else None
        )
        sensor = SENSORS[self.parameterAsEnum(parameters, "SENSOR", context)] if given(parameters, "SENSOR") else None
        return VelocityInputs(
            unwrapped=rasters("UNWRAPPED", "interferogram"),
            coherence=rasters("COHERENCE", "coherence"),
            components=rasters("COMPONENTS", "connected components"),
            hyp3=tuple(self._paths(parameters, "HYP3", context)),
            los_velocity=tuple(self._paths(parameters, "LOS_VELOCITY", context)),
            los_velocity_sigma=tuple(self._paths(parameters, "LOS_VELOCITY_SIGMA", context)),
            product_geometry=self.parameterAsFile(parameters, "GEOMETRY", context) or None,
            velocity_unit=unit,
            velocity_sign=VELOCITY_SIGNS[self.parameterAsEnum(parameters, "VELOCITY_SIGN", context)],
            phase_band=self.parameterAsInt(parameters, "PHASE_BAND", context),
            coherence_band=self.parameterAsInt(parameters, "COHERENCE_BAND", context),
            sensor=sensor,
            wavelength_m=self._optional_number(parameters, "WAVELENGTH_M", context),
            **dict(
                zip(
                    ("reference_date", "secondary_date"),
                    dates_from_text(
                        self.parameterAsString(parameters, "REFERENCE_DATE", context),
                        self.parameterAsString(parameters, "SECONDARY_DATE", context),
                    ),
                )
            ),
        )

    def _los_geometry(self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> Any:
        from ..core.workflows.velocity import los_geometry

        los_layer = self.parameterAsRasterLayer(parameters, "LOS", context)
        geometry, notes = los_geometry(
            file_raster_path(los_layer, "LOS geometry") if los_layer is not None else None,
            self._optional_number(parameters, "INCIDENCE_DEG", context),
            self._optional_number(parameters, "LOS_AZIMUTH_DEG", context),
            self._optional_number(parameters, "HEADING_DEG", context),
            self.parameterAsBool(parameters, "LEFT_LOOKING", context),
        )
        for note in notes:
            info(feedback, note)
        return geometry

    def _settings(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> Any:
        from ..core.workflows import velocity_options as options

        values: Dict[str, Any] = {
            o.name: self.parameterAsDouble(parameters, o.name, context)
            for o in options.SETTINGS_NUMBERS
            if self.parameterDefinition(o.name) is not None
        }
        values.update({s.name: self.parameterAsBool(parameters, s.name, context) for s in options.SWITCHES})
        values["DEM_BAND"] = self.parameterAsInt(parameters, "DEM_BAND", context) or 1
        return options.velocity_settings(values)

    def _paths(self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext) -> List[str]:
        value = parameters.get(name)
        if not value:
            return []
        values = value if isinstance(value, (list, tuple)) else [value]
        paths = []
        for item in values:
            text = item if isinstance(item, str) else getattr(item, "source", lambda: str(item))()
            paths.extend(p for p in str(text).split(";") if p)
        return paths
