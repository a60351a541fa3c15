"""``rockglacier:insarvelocity``: mean downslope velocity per rock glacier from interferograms."""

from __future__ import annotations

import os
import shutil
from typing import Any, Dict, List, Optional

from qgis.core import (
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsWkbTypes,
)

from .algorithm_base import RockGlacierAlgorithm, callbacks, warn
from .fields import inventory_fields, qgs_field
from .layers import feature_wkb, file_raster_path, gpkg_layer_destination, text_or_none

SENSORS = ["ALOS-1 PALSAR", "Sentinel-1", "custom"]

HELP = """
<p>Mean <b>downslope surface velocity</b> (cm/yr) of every rock glacier from unwrapped
interferograms, with a propagated 1-sigma error and the paper's quality criteria (Hu et al. 2023).</p>
<ol>
<li>Phase to LOS velocity towards the satellite: v = -lambda/(4 pi) phi x 365.25/dt (ISCE2 and
GAMMA sign: positive phase = away from the satellite when the reference date is the earlier;
reversed dates flip the sign). A planar ramp fitted on coherent ground outside the landforms is
removed first (REMOVE_RAMP).</li>
<li>Re-referencing to stable ground near each landform: REFERENCE_POINTS (the point with the same
rg_id, else the nearest within REFERENCE_RADIUS_M), or automatically the nearest flat (slope
&lt;= 10 deg), coherent (&gt;= 0.7) patch outside every landform within 300 m of its elevation.
The points used are written to REFERENCE_POINTS_OUTPUT.</li>
<li>Projection on the downslope direction from the DEM: v_dslp = v_los / g, with
g = sin(theta) cos(s) cos(alpha + A) - cos(theta) sin(s) (theta incidence, alpha ISCE2 LOS azimuth
anticlockwise from north, s slope, A aspect). Pixels with coherence &lt; MIN_COHERENCE,
|g| &lt; MIN_PROJECTION_FACTOR or slope &lt; MIN_SLOPE_DEG are masked.</li>
<li>Mean over the landform and its error: phase noise from coherence and LOOKS (distributed-scatterer
phase statistics), inflated by NOISE_CORRELATION_PX for correlated neighbours, plus the reference
patch's noise (common to all pixels) and the projection factor's error from SLOPE_ERROR_DEG and
ASPECT_ERROR_DEG.</li>
<li><b>vel_ok</b> = 1 when more than MIN_VALID_FRACTION of the landform survives the masks and
the relative error is below MAX_RELATIVE_ERROR (0.4 and 0.2 in the paper); otherwise
<b>vel_reason</b> says why. Negative (upslope) means are flagged, never folded.</li>
</ol>
<p>Several interferograms: each landform keeps the pair that passes with the smallest relative
error (vel_pair). Coherence, LOS geometry and DEM on other grids or CRSs are resampled to each
interferogram's grid (bilinear), and the log says so. ISCE2 products: give the .vrt (or the file
next to it); the phase is band 2 of .unw files, coherence band 2 of topophase.cor, LOS incidence and
azimuth bands 1 and 2 of los.rdr.geo. Dates come from REFERENCE_DATE/SECONDARY_DATE, the file's
metadata, or YYYYMMDD_YYYYMMDD in its name or folder.</p>
"""


class InsarVelocityAlgorithm(RockGlacierAlgorithm):
    ALGORITHM_ID = "insarvelocity"
    DISPLAY_NAME = "Downslope velocity from interferograms (InSAR)"
    HELP = HELP

    def group(self) -> str:
        return "InSAR kinematics"

    def groupId(self) -> str:  # noqa: N802
        return "insar"

    def _number(self, name: str, label: str, default: Optional[float], minimum: float = 0.0,
                maximum: Optional[float] = None, optional: bool = False, advanced: bool = False,
                integer: bool = False) -> None:
        kind = QgsProcessingParameterNumber.Integer if integer else QgsProcessingParameterNumber.Double
        parameter = QgsProcessingParameterNumber(name, label, kind, default, optional, minimum, maximum if maximum is not None else 1e12)
        if advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(parameter)

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        self.addParameter(QgsProcessingParameterFeatureSource("INPUT", "Rock-glacier polygons", [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterMultipleLayers("UNWRAPPED", "Unwrapped interferograms (radians)", QgsProcessing.TypeRaster))
        self._number("PHASE_BAND", "Phase band (0 = automatic: 2 for ISCE2 .unw, else 1)", 0, integer=True)
        self.addParameter(QgsProcessingParameterMultipleLayers("COHERENCE", "Coherence (one per interferogram, or one for all)", QgsProcessing.TypeRaster))
        self._number("COHERENCE_BAND", "Coherence band (0 = automatic: 2 for ISCE2 topophase.cor, else 1)", 0, integer=True)
        self.addParameter(QgsProcessingParameterRasterLayer("DEM", "DEM (elevations in metres)"))
        self.addParameter(QgsProcessingParameterRasterLayer("LOS", "LOS geometry raster (ISCE2 los.rdr.geo: incidence, azimuth)", optional=True))
        self._number("INCIDENCE_DEG", "Incidence angle, degrees (without a LOS raster)", None, 0.0, 90.0, optional=True)
        self._number("LOS_AZIMUTH_DEG", "LOS azimuth, degrees anticlockwise from north, ground to satellite (ISCE2)", None, -360.0, 360.0, optional=True)
        self._number("HEADING_DEG", "...or the satellite heading, degrees clockwise from north (right-looking)", None, -360.0, 360.0, optional=True)
        self.addParameter(QgsProcessingParameterFeatureSource("REFERENCE_POINTS", "Reference points (stable ground)", [QgsProcessing.TypeVectorPoint], optional=True))
        self.addParameter(QgsProcessingParameterEnum("SENSOR", "Sensor", SENSORS, defaultValue=0))
        self._number("WAVELENGTH_M", "Wavelength override, metres", None, 0.0, 1.0, optional=True, advanced=True)
        self.addParameter(QgsProcessingParameterString("REFERENCE_DATE", "Reference date (YYYY-MM-DD; when not in the file)", optional=True))
        self.addParameter(QgsProcessingParameterString("SECONDARY_DATE", "Secondary date (YYYY-MM-DD; when not in the file)", optional=True))
        self._number("MIN_COHERENCE", "Minimum coherence", 0.3, 0.0, 1.0)
        self._number("MIN_VALID_FRACTION", "Minimum share of the landform kept", 0.4, 0.0, 1.0)
        self._number("MAX_RELATIVE_ERROR", "Maximum relative error", 0.2, 0.0)
        self._number("MIN_PROJECTION_FACTOR", "Minimum |projection factor g|", 0.3, 0.0, 1.0)
        self._number("MIN_SLOPE_DEG", "Minimum slope, degrees", 5.0, 0.0, 90.0)
        self._number("LOOKS", "Effective number of looks (phase noise)", 10.0, 1.0, advanced=True)
        self._number("NOISE_CORRELATION_PX", "Noise correlation length, pixels (1 = independent pixels)", 2.0, 1.0, advanced=True)
        self._number("DEM_SMOOTHING_PX", "DEM Gaussian smoothing before slope/aspect, pixels (sigma)", 1.0, 0.0, 20.0, advanced=True)
        self._number("SLOPE_ERROR_DEG", "DEM slope 1-sigma error, degrees", 2.0, 0.0, 45.0, advanced=True)
        self._number("ASPECT_ERROR_DEG", "DEM aspect 1-sigma error, degrees", 5.0, 0.0, 180.0, advanced=True)
        self._number("REFERENCE_RADIUS_M", "Reference search radius, metres", 1000.0, 1.0, advanced=True)
        remove_ramp = QgsProcessingParameterBoolean("REMOVE_RAMP", "Remove a planar ramp fitted on stable ground", True)
        remove_ramp.setFlags(remove_ramp.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(remove_ramp)
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Rock glaciers with velocities", QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink("REFERENCE_POINTS_OUTPUT", "Reference points used", QgsProcessing.TypeVectorPoint, optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterRasterDestination("VELOCITY_DOWNSLOPE", "Downslope velocity raster (cm/yr)", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterRasterDestination("VELOCITY_LOS", "LOS velocity raster (cm/yr)", optional=True, createByDefault=False))

    def _optional_number(self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext) -> Optional[float]:
        value = parameters.get(name)
        if value is None or value == "" or (hasattr(value, "isNull") and value.isNull()):
            return None
        return self.parameterAsDouble(parameters, name, context)

    def run_algorithm(self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> Dict[str, Any]:
        from ..core.identifiers import assign_ids
        from ..core.insar_scene import LosGeometry, SceneSettings
        from ..core.insar_velocity import PairInput, ReferencePoints, VelocitySettings, extract_velocities
        from ..core.interferogram import default_coherence_band, describe_interferogram, parse_date
        from ..core.inventory import ROCK_GLACIER_LAYER, REFERENCE_POINT_LAYER
        from ..core.los_geometry import los_azimuth_from_heading
        from ..core.rasters import open_raster
        from ..core.sensors import WAVELENGTH_M, sensor_from_name

        isce_apps = [app for app in ("stripmapApp.py", "topsApp.py") if shutil.which(app)]
        feedback.pushInfo(
            f"ISCE2 found on PATH ({', '.join(isce_apps)}); this algorithm reads its products, run the app itself to make them."
            if isce_apps else
            "ISCE2 (stripmapApp.py/topsApp.py) is not on PATH: it installs from conda-forge only. This algorithm reads "
            "ISCE2 products (and GeoTIFFs from other processors) with GDAL; it does not need ISCE2 itself."
        )

        source = self.parameterAsSource(parameters, "INPUT", context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, "INPUT"))
        features = list(source.getFeatures(QgsFeatureRequest(), QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks))
        if not features:
            raise QgsProcessingException("The input layer has no features; add rock-glacier polygons first.")
        unwrapped = [layer for layer in self.parameterAsLayerList(parameters, "UNWRAPPED", context)]
        coherence = [layer for layer in self.parameterAsLayerList(parameters, "COHERENCE", context)]
        if not unwrapped:
            raise QgsProcessingException("Give at least one unwrapped interferogram (UNWRAPPED).")
        if len(coherence) not in (1, len(unwrapped)):
            raise QgsProcessingException(
                f"{len(unwrapped)} interferogram(s) but {len(coherence)} coherence raster(s): give one coherence "
                "raster per interferogram (same order) or a single one for all."
            )
        sensor = sensor_from_name(SENSORS[self.parameterAsEnum(parameters, "SENSOR", context)])
        wavelength_override = self._optional_number(parameters, "WAVELENGTH_M", context)
        reference_text = self.parameterAsString(parameters, "REFERENCE_DATE", context).strip()
        secondary_text = self.parameterAsString(parameters, "SECONDARY_DATE", context).strip()
        if bool(reference_text) != bool(secondary_text):
            raise QgsProcessingException("Give both REFERENCE_DATE and SECONDARY_DATE, or neither (dates then come from the files).")
        if reference_text and len(unwrapped) > 1:
            raise QgsProcessingException(
                "REFERENCE_DATE/SECONDARY_DATE apply to a single interferogram; with several, put each pair's "
                "dates in its file name (YYYYMMDD_YYYYMMDD) or run them one at a time."
            )
        dates = (parse_date(reference_text, "REFERENCE_DATE"), parse_date(secondary_text, "SECONDARY_DATE")) if reference_text else (None, None)
        phase_band = self.parameterAsInt(parameters, "PHASE_BAND", context)
        coherence_band = self.parameterAsInt(parameters, "COHERENCE_BAND", context)
        pairs = []
        for index, layer in enumerate(unwrapped):
            path = file_raster_path(layer, "interferogram")
            interferogram, notes = describe_interferogram(path, phase_band, WAVELENGTH_M.get(sensor), wavelength_override, *dates)
            for note in notes:
                feedback.pushInfo(note)
            coherence_path = self._isce_path(file_raster_path(coherence[index if len(coherence) > 1 else 0], "coherence"), feedback)
            band = coherence_band or default_coherence_band(open_raster(coherence_path, "coherence"), coherence_path)
            pairs.append(PairInput(interferogram, coherence_path, band))

        los_layer = self.parameterAsRasterLayer(parameters, "LOS", context)
        heading = self._optional_number(parameters, "HEADING_DEG", context)
        azimuth = self._optional_number(parameters, "LOS_AZIMUTH_DEG", context)
        if azimuth is None and heading is not None:
            azimuth = float(los_azimuth_from_heading(heading))
            feedback.pushInfo(f"LOS azimuth {azimuth:.1f} deg (ISCE2 convention) from heading {heading:.1f} deg, right-looking.")
        geometry = LosGeometry(
            self._isce_path(file_raster_path(los_layer, "LOS geometry"), feedback) if los_layer is not None else None,
            self._optional_number(parameters, "INCIDENCE_DEG", context), azimuth,
        )
        settings = VelocitySettings(
            min_coherence=self.parameterAsDouble(parameters, "MIN_COHERENCE", context),
            min_valid_fraction=self.parameterAsDouble(parameters, "MIN_VALID_FRACTION", context),
            max_relative_error=self.parameterAsDouble(parameters, "MAX_RELATIVE_ERROR", context),
            min_projection_factor=self.parameterAsDouble(parameters, "MIN_PROJECTION_FACTOR", context),
            min_slope_deg=self.parameterAsDouble(parameters, "MIN_SLOPE_DEG", context),
            noise_correlation_px=self.parameterAsDouble(parameters, "NOISE_CORRELATION_PX", context),
            reference_radius_m=self.parameterAsDouble(parameters, "REFERENCE_RADIUS_M", context),
            scene=SceneSettings(
                looks=self.parameterAsDouble(parameters, "LOOKS", context),
                dem_smoothing_px=self.parameterAsDouble(parameters, "DEM_SMOOTHING_PX", context),
                slope_sigma_deg=self.parameterAsDouble(parameters, "SLOPE_ERROR_DEG", context),
                aspect_sigma_deg=self.parameterAsDouble(parameters, "ASPECT_ERROR_DEG", context),
                remove_ramp=self.parameterAsBool(parameters, "REMOVE_RAMP", context),
            ),
        )
        reference_points = None
        points_source = self.parameterAsSource(parameters, "REFERENCE_POINTS", context)
        if points_source is not None:
            has_id = points_source.fields().lookupField("rg_id") >= 0
            xy, ids = [], []
            for point in points_source.getFeatures():
                if not point.hasGeometry():
                    continue
                p = point.geometry().asPoint() if not point.geometry().isMultipart() else point.geometry().asMultiPoint()[0]
                xy.append((p.x(), p.y()))
                ids.append(text_or_none(point["rg_id"]) if has_id else None)
            if not xy:
                raise QgsProcessingException("REFERENCE_POINTS has no point; give points on stable ground or leave it empty for automatic references.")
            reference_points = ReferencePoints(xy, ids, points_source.sourceCrs().toWkt())

        has_ids = source.fields().lookupField("rg_id") >= 0
        rg_ids = assign_ids([text_or_none(f["rg_id"]) if has_ids else None for f in features], "rg")
        raster_outputs = self._raster_outputs(parameters, context, pairs, feedback)
        on_progress, is_cancelled = callbacks(feedback)
        result = extract_velocities(
            [feature_wkb(f) for f in features], source.sourceCrs().toWkt(), rg_ids, pairs,
            file_raster_path(self.parameterAsRasterLayer(parameters, "DEM", context), "DEM"), geometry, settings,
            reference_points, on_progress, is_cancelled, feedback.pushInfo, raster_outputs,
        )
        outputs = self._write_polygons(parameters, context, feedback, source, features, rg_ids, result, ROCK_GLACIER_LAYER)
        outputs.update(self._write_reference_points(parameters, context, source, result, REFERENCE_POINT_LAYER))
        if raster_outputs is not None:
            los_paths = [p[0] for p in raster_outputs if p[0]]
            dslp_paths = [p[1] for p in raster_outputs if p[1]]
            if los_paths:
                outputs["VELOCITY_LOS"] = los_paths[0] if len(los_paths) == 1 else ";".join(los_paths)
            if dslp_paths:
                outputs["VELOCITY_DOWNSLOPE"] = dslp_paths[0] if len(dslp_paths) == 1 else ";".join(dslp_paths)
        n_ok = sum(1 for lf in result.landforms if lf.vel_ok)
        feedback.pushInfo(f"{n_ok} of {len(features)} landform(s) have a velocity that passes the criteria (vel_ok = 1).")
        for rg_id, landform in zip(rg_ids, result.landforms):
            if not landform.vel_ok and landform.vel_reason:
                warn(feedback, f"{rg_id}: vel_ok = 0 — {landform.vel_reason}")
        return outputs

    @staticmethod
    def _isce_path(path: str, feedback: QgsProcessingFeedback) -> str:
        from ..core.interferogram import resolve_isce_path

        resolved = resolve_isce_path(path)
        if resolved != path:
            feedback.pushInfo(f"Reading '{resolved}' (the ISCE2 side-car that georeferences '{path}').")
        return resolved

    def _raster_outputs(self, parameters, context, pairs, feedback) -> Optional[List[tuple]]:
        los = self.parameterAsOutputLayer(parameters, "VELOCITY_LOS", context) if parameters.get("VELOCITY_LOS") else None
        dslp = self.parameterAsOutputLayer(parameters, "VELOCITY_DOWNSLOPE", context) if parameters.get("VELOCITY_DOWNSLOPE") else None
        if not los and not dslp:
            return None
        if len(pairs) == 1:
            return [(los, dslp)]

        def per_pair(path: Optional[str], label: str) -> Optional[str]:
            if not path:
                return None
            stem, extension = os.path.splitext(path)
            return f"{stem}_{label}{extension or '.tif'}"

        feedback.pushInfo("Several interferograms: one velocity raster per pair, named <output>_<YYYYMMDD-YYYYMMDD>.tif.")
        return [(per_pair(los, p.interferogram.pair_label), per_pair(dslp, p.interferogram.pair_label)) for p in pairs]

    def _write_polygons(self, parameters, context, feedback, source, features, rg_ids, result, layer_name) -> Dict[str, Any]:
        from ..core.inventory import field_spec

        written = ("rg_id",) + tuple(result.landforms[0].fields()) if result.landforms else ("rg_id",)
        fields, notes = inventory_fields(source.fields(), written)
        for note in notes:
            warn(feedback, note)
        if fields.lookupField("vel_reason") < 0:
            fields.append(qgs_field(field_spec("vel_reason")))
        parameters = gpkg_layer_destination(parameters, "OUTPUT", layer_name)
        sink, dest_id = self.parameterAsSink(parameters, "OUTPUT", context, fields, source.wkbType(), source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        for feature, rg_id, landform in zip(features, rg_ids, result.landforms):
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            for field in source.fields():
                out[field.name()] = feature[field.name()]
            out["rg_id"] = rg_id
            for name, value in landform.fields().items():
                out[name] = value
            sink.addFeature(out, QgsFeatureSink.FastInsert)
        return {"OUTPUT": dest_id}

    def _write_reference_points(self, parameters, context, source, result, layer_name) -> Dict[str, Any]:
        from ..core.inventory import REFERENCE_POINT_FIELDS

        if not parameters.get("REFERENCE_POINTS_OUTPUT"):
            return {}
        fields = QgsFields()
        for spec in REFERENCE_POINT_FIELDS:
            fields.append(qgs_field(spec))
        parameters = gpkg_layer_destination(parameters, "REFERENCE_POINTS_OUTPUT", layer_name)
        sink, dest_id = self.parameterAsSink(parameters, "REFERENCE_POINTS_OUTPUT", context, fields, QgsWkbTypes.Point, source.sourceCrs())
        if sink is None:
            return {}
        for landform in result.landforms:
            if landform.reference is None:
                continue
            point = QgsFeature(fields)
            point.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(landform.reference["x"], landform.reference["y"])))
            for spec in REFERENCE_POINT_FIELDS:
                point[spec.name] = landform.reference.get(spec.name)
            sink.addFeature(point, QgsFeatureSink.FastInsert)
        return {"REFERENCE_POINTS_OUTPUT": dest_id}
