"""``rockglacier:insarvelocity``: mean downslope velocity per rock glacier from interferograms."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterRasterDestination,
    QgsWkbTypes,
)

from ..qgis_shared.features import feature_wkb, file_raster_path, text_or_none
from ..qgis_shared.fields import inventory_fields, qgs_field, qgs_fields
from .algorithm_base import RockGlacierAlgorithm, info, products_folder, run_hooks, warn
from .insar_inputs import InsarInputs
from .layers import LayerSpec, layer_sink
from .output_styles import store_inventory_style, write_raster_style

HELP = """
<p>Mean <b>downslope surface velocity</b> (cm/yr) of every rock glacier from unwrapped
interferograms, with a propagated 1-sigma error and the paper's quality criteria (Hu et al. 2023).</p>
<ol>
<li>Phase to LOS velocity towards the satellite: v = -lambda/(4 pi) phi x 365.25/dt (ISCE2 and
GAMMA sign: positive phase = away from the satellite when the reference date is the earlier;
reversed dates flip the sign). A planar ramp fitted on coherent ground outside the landforms is
removed first (REMOVE_RAMP), together with the stratified atmosphere: a phase-elevation slope
fitted on the same stable ground (REMOVE_STRATIFIED; the log gives it in rad/km).</li>
<li>Re-referencing to stable ground near each landform: REFERENCE_POINTS (the point with the same
rg_id, else the nearest within REFERENCE_RADIUS_M; a point outside the data or on incoherent pixels
falls back to the automatic reference), or automatically a ladder from the paper's ideal (flat
&lt;= 10 deg, coherent &gt;= 0.7, within REFERENCE_RADIUS_M of the outline and 300 m of its
elevation) through steeper and less coherent stable ground, the stable surroundings (robust median
within 0.3 x the radius) and a wider radius, to a robust median of all stable ground within twice
the radius: the candidate with the smallest error (its noise and the atmosphere's change over the
distance) wins. The references used, with their rung, distance and noise, are written to
REFERENCE_POINTS_OUTPUT. COMPONENTS (SNAPHU connected components, ISCE2 .conncomp found
automatically) keep each landform and its reference in one unwrapping component.</li>
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
<p><b>Products instead of interferograms</b> (formats detected from the files; conventions converted
in one place each, docs/insar.md):</p>
<ul>
<li><b>LOS_VELOCITY</b>: MintPy <i>velocity.h5</i> (m/year towards the satellite, velocityStd as the
pixel noise; GEOMETRY = <i>geometryGeo.h5</i>, else the file's incidence and HEADING), LiCSBAS
<i>cum.h5</i> (vel in mm/yr towards the satellite; GEOMETRY = LiCSAR's <i>*.geo.E.tif</i> with N and U
beside it, else INCIDENCE_DEG/LOS_AZIMUTH_DEG), or a plain GeoTIFF with VELOCITY_UNIT and
VELOCITY_SIGN and the geometry as parameters (dates from REFERENCE_DATE/SECONDARY_DATE or the name).
A velocity map skips the phase steps: no ramp or stratified atmosphere is removed unless
VELOCITY_REMOVE_RAMP is set.</li>
<li><b>HYP3</b>: ASF HyP3 InSAR products (GAMMA or ISCE2 burst), as the folder or the zip:
_unw_phase, _corr, _conncomp when present, and the look vectors _lv_theta/_lv_phi (incidence =
90 - theta, LOS azimuth = phi - 90); dates from the product name; Sentinel-1 wavelength.</li>
</ul>
<p><b>Several pairs or products</b>: every one gives a row per landform in <b>VELOCITY_PAIRS</b>
(rg_id, pair, dates, days, velocity, error, kept share, vel_ok, reason, geometry, source: the
Rock Glacier Velocity series). The inventory keeps per landform the value that passes with the
smallest relative error; when an ascending and a descending value both pass and agree within
2 sigma, they are combined by inverse-variance weighting (vel_geometry = ascending+descending); when
they disagree, the better one is kept with vel_ok = 0 and the reason gives both. Velocity rasters:
VELOCITY_LOS/VELOCITY_DOWNSLOPE hold the first pair's; every pair's is written as
&lt;name&gt;_&lt;YYYYMMDD-YYYYMMDD&gt;.tif and returned in VELOCITY_LOS_ALL/VELOCITY_DOWNSLOPE_ALL
(and loaded into the project with the first).</p>
<p>Several interferograms: each landform keeps the pair that passes with the smallest relative
error (vel_pair). Coherence, LOS geometry and DEM on other grids or CRSs are resampled to each
interferogram's grid (bilinear), and the log says so. ISCE2 products: give the .vrt (or the file
next to it); the phase is band 2 of .unw files, coherence band 2 of topophase.cor, LOS incidence and
azimuth bands 1 and 2 of los.rdr.geo. Dates come from REFERENCE_DATE/SECONDARY_DATE, the file's
metadata, or YYYYMMDD_YYYYMMDD in its name or folder.</p>
"""


class InsarVelocityAlgorithm(InsarInputs, RockGlacierAlgorithm):
    """``rockglacier:insarvelocity``: the mean downslope velocity of every landform from interferograms or velocity products."""

    ALGORITHM_ID = "insarvelocity"
    DISPLAY_NAME = "Downslope velocity from interferograms or velocity products (InSAR)"
    HELP = HELP
    GROUP = ("InSAR kinematics", "insar")

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        from ..core.workflows import velocity_options as options

        self.addParameter(
            QgsProcessingParameterFeatureSource("INPUT", "Rock-glacier polygons", [QgsProcessing.TypeVectorPolygon])
        )
        self.add_pair_parameters()
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "REFERENCE_POINTS", "Reference points (stable ground)", [QgsProcessing.TypeVectorPoint], optional=True
            )
        )
        self.add_settings_parameters(options.SETTINGS_NUMBERS)
        self.addParameter(
            QgsProcessingParameterFeatureSink("OUTPUT", "Rock glaciers with velocities", QgsProcessing.TypeVectorPolygon)
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                "REFERENCE_POINTS_OUTPUT",
                "Reference points used",
                QgsProcessing.TypeVectorPoint,
                optional=True,
                createByDefault=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                "VELOCITY_DOWNSLOPE", "Downslope velocity raster (cm/yr)", optional=True, createByDefault=False
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                "VELOCITY_LOS", "LOS velocity raster (cm/yr)", optional=True, createByDefault=False
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                "VELOCITY_PAIRS",
                "Velocity per landform and pair (RGIK series)",
                QgsProcessing.TypeVector,
                optional=True,
                createByDefault=True,
            )
        )
        self.addOutput(QgsProcessingOutputMultipleLayers("VELOCITY_DOWNSLOPE_ALL", "Downslope velocity rasters, one per pair"))
        self.addOutput(QgsProcessingOutputMultipleLayers("VELOCITY_LOS_ALL", "LOS velocity rasters, one per pair"))

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Read the layer, then the core's one velocity run (``core.workflows.velocity_run``), then write."""
        from ..core.insar.landform_velocity import VelocityResult, combine_pairs
        from ..core.inventory.schema import REFERENCE_POINT_LAYER, ROCK_GLACIER_LAYER
        from ..core.raster.geometry import Polygons
        from ..core.workflows.velocity_run import RasterRequest, VelocityRun, landform_ids, measure_run

        source, features = self.source_and_features(parameters, "INPUT", context, needs_crs="input layer")
        geometry = self._los_geometry(parameters, context, feedback)
        inputs = self._inputs(parameters, context)
        if not features:  # as QGIS's own algorithms do: an empty output, so a batch or model goes on
            inputs.check()
            warn(feedback, "The input layer has no features (or none is selected): the output is empty.")
            empty = VelocityResult([])
            outputs = self._write_polygons(parameters, context, feedback, source, [], [], empty, ROCK_GLACIER_LAYER)
            outputs.update(self._write_reference_points(parameters, context, source, empty, REFERENCE_POINT_LAYER))
            return outputs
        has_ids = source.fields().lookupField("rg_id") >= 0
        rg_ids = landform_ids([text_or_none(f["rg_id"]) if has_ids else None for f in features])
        run = VelocityRun(
            Polygons([feature_wkb(f) for f in features], source.sourceCrs().toWkt(), rg_ids),
            inputs,
            file_raster_path(self.parameterAsRasterLayer(parameters, "DEM", context), "DEM"),
            geometry,
            self._settings(parameters, context),
            products_folder(),
            self._reference_points(parameters, context),
            RasterRequest(
                self._raster_destination(parameters, "VELOCITY_LOS", context),
                self._raster_destination(parameters, "VELOCITY_DOWNSLOPE", context),
            ),
        )
        measured = measure_run(run, run_hooks(feedback))
        result = combine_pairs(measured.pairs, rg_ids)
        outputs = self._write_polygons(parameters, context, feedback, source, features, rg_ids, result, ROCK_GLACIER_LAYER)
        outputs.update(self._write_reference_points(parameters, context, source, result, REFERENCE_POINT_LAYER))
        store_inventory_style(outputs["OUTPUT"], feedback)
        outputs.update(self._write_pairs(parameters, context, result))
        for name, index in (("VELOCITY_LOS", 0), ("VELOCITY_DOWNSLOPE", 1)):
            outputs.update(
                self._raster_outputs(name, [p[index] for p in measured.raster_paths if p[index]], measured.labels, context)
            )
        self._report(feedback, rg_ids, result)
        return outputs

    def _raster_outputs(self, name: str, paths: List[str], labels: List[str], context: QgsProcessingContext) -> Dict[str, Any]:
        """The first pair's raster as ``name`` (one loadable file), every pair's as ``name``_ALL, each with its colour
        ramp; with several pairs the others are loaded too when the first is."""
        if not paths:
            return {}
        for path in paths:
            write_raster_style(path, "velocity_los" if name == "VELOCITY_LOS" else "velocity_downslope")
        if len(paths) > 1 and context.willLoadLayerOnCompletion(paths[0]):
            for path, label in zip(paths[1:], labels[1:]):
                details = QgsProcessingContext.LayerDetails(f"{name.lower()} {label}", context.project(), name)
                context.addLayerToLoadOnCompletion(path, details)
        return {name: paths[0], f"{name}_ALL": paths}

    def _write_pairs(self, parameters: Dict[str, Any], context: QgsProcessingContext, result: Any) -> Dict[str, Any]:
        from ..core.inventory.schema import VELOCITY_PAIR_FIELDS, VELOCITY_PAIR_LAYER

        if not parameters.get("VELOCITY_PAIRS"):
            return {}
        fields = qgs_fields(VELOCITY_PAIR_FIELDS)
        sink, dest_id = layer_sink(
            self,
            parameters,
            "VELOCITY_PAIRS",
            context,
            LayerSpec(fields, QgsWkbTypes.NoGeometry, None, VELOCITY_PAIR_LAYER),
            optional=True,
        )
        if sink is None:
            return {}
        for row in result.pair_rows:
            feature = QgsFeature(fields)
            feature.setAttributes([row.get(spec.name) for spec in VELOCITY_PAIR_FIELDS])
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
        return {"VELOCITY_PAIRS": dest_id}

    @staticmethod
    def _report(feedback: QgsProcessingFeedback, rg_ids: List[str], result: Any) -> None:
        n_ok = sum(1 for lf in result.landforms if lf.vel_ok)
        info(feedback, f"{n_ok} of {len(rg_ids)} landform(s) have a velocity that passes the criteria (vel_ok = 1).")
        for rg_id, landform in zip(rg_ids, result.landforms):
            if not landform.vel_ok and landform.vel_reason:
                warn(feedback, f"{rg_id}: vel_ok = 0 — {landform.vel_reason}")

    def _raster_destination(self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext) -> Optional[str]:
        return self.parameterAsOutputLayer(parameters, name, context) if parameters.get(name) else None

    def _reference_points(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> Any:
        from ..core.insar.landform_velocity import ReferencePoints

        points_source = self.parameterAsSource(parameters, "REFERENCE_POINTS", context)
        if points_source is None:
            return None
        has_id = points_source.fields().lookupField("rg_id") >= 0
        points = list(points_source.getFeatures())
        return ReferencePoints.from_wkb(
            [feature_wkb(p) for p in points],
            [text_or_none(p["rg_id"]) if has_id else None for p in points],
            points_source.sourceCrs().toWkt(),
        )

    def _write_polygons(self, parameters, context, feedback, source, features, rg_ids, result, layer_name) -> Dict[str, Any]:
        from ..core.insar.landform_velocity import LandformVelocity
        from ..core.inventory.schema import field_spec

        written = ("rg_id",) + tuple(LandformVelocity().fields())
        fields, notes = inventory_fields(source.fields(), written)
        for note in notes:
            warn(feedback, note)
        if fields.lookupField("vel_reason") < 0:
            fields.append(qgs_field(field_spec("vel_reason")))
        sink, dest_id = layer_sink(
            self, parameters, "OUTPUT", context, LayerSpec(fields, source.wkbType(), source.sourceCrs(), layer_name)
        )
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
        from ..core.inventory.schema import REFERENCE_POINT_FIELDS
        from ..core.workflows.velocity_run import used_references

        if not parameters.get("REFERENCE_POINTS_OUTPUT"):
            return {}
        fields = qgs_fields(REFERENCE_POINT_FIELDS)
        sink, dest_id = layer_sink(
            self,
            parameters,
            "REFERENCE_POINTS_OUTPUT",
            context,
            LayerSpec(fields, QgsWkbTypes.Point, source.sourceCrs(), layer_name),
            optional=True,
        )
        if sink is None:
            return {}
        for reference in used_references(result.landforms):
            point = QgsFeature(fields)
            point.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(reference["x"], reference["y"])))
            for spec in REFERENCE_POINT_FIELDS:
                point[spec.name] = reference.get(spec.name)
            sink.addFeature(point, QgsFeatureSink.FastInsert)
        return {"REFERENCE_POINTS_OUTPUT": dest_id}
