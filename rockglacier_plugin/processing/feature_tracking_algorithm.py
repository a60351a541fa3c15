"""``rockglacier:featuretracking``: surface velocity by feature tracking on two images or DEMs of two dates."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsWkbTypes,
)

from ..core.workflows.tracking import (
    ILLUMINATIONS,
    LANDFORM_FIELDS,
    LANDFORM_LAYER,
    NUMBERS,
    POINT_FIELDS,
    POINT_LAYER,
    TrackingOptions,
    point_rows,
)
from ..qgis_shared.features import file_raster_path
from ..qgis_shared.fields import qgs_field
from .algorithm_base import RockGlacierAlgorithm, info, run_hooks
from .layers import LayerSpec, layer_sink
from .output_styles import store_tracking_style, write_raster_style

KINDS = ("Images (orthophotos, satellite scenes, hillshades)", "DEMs (tracked as hillshades)")

HELP = """
<p>Surface displacement and velocity by <b>feature tracking</b> between two rasters of two dates, where InSAR
cannot see (fast landforms, no SAR): orthophotos, Sentinel-2 / PlanetScope scenes, hillshades, or DEMs
(tracked as hillshades whose illumination is stated: multidirectional by default, so that no light direction
biases the matches).</p>
<ol>
<li>The second raster is brought onto the first's grid (bilinear) when they differ; grids that do not overlap,
geographic (degree) grids and a second date before the first are refused. RGB images are tracked on their band
mean.</li>
<li>A grid of points every SPACING_M; around each, a TEMPLATE_M template of the first raster is searched in the
second by normalised cross-correlation within the distance the largest expected velocity (MAX_VELOCITY_M_YR)
covers over the period; the peak is refined to sub-pixel by parabola fits.</li>
<li>Co-registration on stable ground (STABLE polygons, else every point outside the landforms of INPUT): the
median shift is removed, or an affine correction where the stable matches ask for it; the residuals are logged.
The level of detection (LoD) is the 95th percentile of the stable points' residual displacement.</li>
<li>Filters: correlation below MIN_CORRELATION, an ambiguous peak, a vector unlike its neighbours' median (by
more than the LoD or half the median).</li>
</ol>
<p>VELOCITY (optional): a raster with one cell per grid point, band 1 the rate (m/yr) of the valid points above
the LoD, band 2 its direction (degrees clockwise from north), NaN elsewhere; styled. OUTPUT opens with arrows
(direction, size by rate) on the points above the LoD.</p>
<p>OUTPUT: one point per grid node with east_m, north_m (displacement, metres, north positive), disp_m,
rate_m_yr, dir_deg (azimuth it points to, clockwise from north), corr, stable, valid (0 with the reason),
above_lod. With INPUT, LANDFORMS gets the inventory with ft_vel_m_yr (median rate of its valid points),
ft_vel_err_m_yr (the LoD over the period and the points' spread), ft_spread_m_yr, ft_dir_deg, ft_points,
ft_above_lod, ft_lod_m, ft_period and ft_method; the review dock, rockglacier:report (Table 3, the velocity
figure), rockglacier:rgikexport (Kin.Att. where InSAR has no valid velocity) and rockglacier:rgvexport
(TRACKED) read them. A landform whose median displacement is below the LoD gets no rate and ft_reason says why.
Dates: DATE_1 / DATE_2, else the files' metadata or names (the log says which). Method and measurements on the
Laurichard rock glacier, and the published methods it follows (Kääb and Vollmer 2000; Debella-Gilo and Kääb 2011;
Heid and Kääb 2012): docs/feature-tracking.md.</p>
"""


class FeatureTrackingAlgorithm(RockGlacierAlgorithm):
    """``rockglacier:featuretracking``: surface displacement between two dates' images or DEMs by normalised cross-correlation."""

    ALGORITHM_ID = "featuretracking"
    DISPLAY_NAME = "Surface velocity by feature tracking (images or DEMs of two dates)"
    HELP = HELP
    GROUP = ("Feature tracking", "featuretracking")
    REQUIRED_MODULES = RockGlacierAlgorithm.REQUIRED_MODULES + (("scipy.spatial", "scipy"),)

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        self.addParameter(QgsProcessingParameterRasterLayer("IMAGE_1", "Raster of the first date"))
        self.addParameter(QgsProcessingParameterRasterLayer("IMAGE_2", "Raster of the second date"))
        self.addParameter(QgsProcessingParameterString("DATE_1", "First date (YYYY-MM-DD; empty: from the file)", optional=True))
        self.addParameter(QgsProcessingParameterString("DATE_2", "Second date (YYYY-MM-DD; empty: from the file)", optional=True))
        self.addParameter(QgsProcessingParameterEnum("KIND", "The rasters are", KINDS, defaultValue=0))
        self.addParameter(
            QgsProcessingParameterEnum(
                "ILLUMINATION", "Hillshade illumination (DEMs)", [label for label, _ in ILLUMINATIONS], defaultValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "INPUT", "Landforms (inventory; optional)", [QgsProcessing.TypeVectorPolygon], optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "STABLE",
                "Stable ground (optional; default: outside the landforms)",
                [QgsProcessing.TypeVectorPolygon],
                optional=True,
            )
        )
        defaults = TrackingOptions()
        for name, label, option, minimum, maximum in NUMBERS:
            self.addParameter(
                QgsProcessingParameterNumber(
                    name, label, QgsProcessingParameterNumber.Double, getattr(defaults, option), False, minimum, maximum
                )
            )
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Displacement points", QgsProcessing.TypeVectorPoint))
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                "LANDFORMS",
                "Landforms with their velocity",
                QgsProcessing.TypeVectorPolygon,
                optional=True,
                createByDefault=False,
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                "VELOCITY", "Velocity raster (rate m/yr, direction deg)", optional=True, createByDefault=False
            )
        )
        self.addOutput(QgsProcessingOutputNumber("LOD_M", "Level of detection, m"))

    def _polygons(
        self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext, crs: QgsCoordinateReferenceSystem
    ) -> tuple:
        from osgeo import ogr
        from qgis.core import QgsCoordinateTransform

        if parameters.get(name) in (None, ""):
            return None, []
        source, features = self.source_and_features(parameters, name, context, needs_crs=name)
        transform = QgsCoordinateTransform(source.sourceCrs(), crs, context.transformContext())
        polygons = []
        for feature in features:
            geometry = QgsGeometry(feature.geometry())
            if geometry.isEmpty():
                polygons.append(None)
                continue
            geometry.transform(transform)
            geometry = geometry.makeValid()
            polygons.append(ogr.CreateGeometryFromWkb(bytes(geometry.asWkb())))
        return source, list(zip(features, polygons))

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Read the pair and the areas, track in the core (``tracking.feature_tracking``), write the points, the velocity
        raster and the landforms' rates."""
        from ..core.insar.interferogram import parse_date
        from ..core.raster.io import open_raster, raster_grid
        from ..core.tracking.feature_tracking import Areas, track_features
        from ..core.workflows.tracking import tracking_setup

        paths = [file_raster_path(self.parameterAsRasterLayer(parameters, n, context), n) for n in ("IMAGE_1", "IMAGE_2")]
        texts = [self.parameterAsString(parameters, name, context).strip() for name in ("DATE_1", "DATE_2")]
        given = tuple(parse_date(text, name) if text else None for text, name in zip(texts, ("DATE_1", "DATE_2")))
        number = lambda name: self.parameterAsDouble(parameters, name, context)  # noqa: E731
        options = TrackingOptions(
            ("image", "dem")[self.parameterAsEnum(parameters, "KIND", context)],
            ILLUMINATIONS[self.parameterAsEnum(parameters, "ILLUMINATION", context)][1],
            **{option: number(name) for name, _, option, _, _ in NUMBERS},
        )
        inputs, settings, notes = tracking_setup(paths[0], paths[1], given, options)  # type: ignore[arg-type]
        for note in notes:
            info(feedback, note)
        crs = QgsCoordinateReferenceSystem.fromWkt(raster_grid(open_raster(paths[0], "IMAGE_1"), 1, "IMAGE_1").crs_wkt)
        source, landforms = self._polygons(parameters, "INPUT", context, crs)
        _, stable = self._polygons(parameters, "STABLE", context, crs)
        result = track_features(
            inputs, settings, Areas([p for _, p in landforms], [p for _, p in stable] or None), run_hooks(feedback)
        )
        for note in result.notes:
            info(feedback, note)
        outputs: Dict[str, Any] = {"OUTPUT": self._write_points(parameters, context, result, crs), "LOD_M": result.lod_m}
        store_tracking_style(outputs["OUTPUT"], feedback)
        if parameters.get("VELOCITY"):
            from ..core.tracking.velocity_raster import write_velocity_raster

            outputs["VELOCITY"] = write_velocity_raster(self.parameterAsOutputLayer(parameters, "VELOCITY", context), result)
            write_raster_style(outputs["VELOCITY"], "velocity_m_yr")
        if landforms and parameters.get("LANDFORMS"):
            outputs["LANDFORMS"] = self._write_landforms(parameters, context, source, landforms, result)
        return outputs

    def _write_points(self, parameters: Dict[str, Any], context: QgsProcessingContext, result: Any, crs: Any) -> str:
        fields = QgsFields()
        for spec in POINT_FIELDS:
            fields.append(qgs_field(spec))
        sink, dest_id = layer_sink(self, parameters, "OUTPUT", context, LayerSpec(fields, QgsWkbTypes.Point, crs, POINT_LAYER))
        for row, x, y in zip(point_rows(result), result.points.x, result.points.y):
            feature = QgsFeature(fields)
            feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(float(x), float(y))))
            feature.setAttributes([row[spec.name] for spec in POINT_FIELDS])
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
        return dest_id

    def _write_landforms(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, source: Any, landforms: list, result: Any
    ) -> str:
        fields = QgsFields(source.fields())
        for spec in LANDFORM_FIELDS:
            if fields.lookupField(spec.name) < 0:
                fields.append(qgs_field(spec))
        sink, dest_id = layer_sink(
            self, parameters, "LANDFORMS", context, LayerSpec(fields, source.wkbType(), source.sourceCrs(), LANDFORM_LAYER)
        )
        for (feature, _), row in zip(landforms, result.landforms):
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            for name in source.fields().names():
                out[name] = feature[name]
            for name, value in row.items():
                out[name] = value
            sink.addFeature(out, QgsFeatureSink.FastInsert)
        return dest_id
