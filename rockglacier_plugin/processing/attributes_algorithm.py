"""``rockglacier:attributes``: DEM attributes and upslope-connection suggestion per polygon."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from qgis.core import (
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingParameterBand,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..core.workflows.mapping import DEFAULT_ID_PREFIX
from ..qgis_shared.features import feature_wkb, file_raster_path, text_or_none
from ..qgis_shared.fields import inventory_fields
from .algorithm_base import RockGlacierAlgorithm, info, run_hooks, warn
from .layers import LayerSpec, layer_sink
from .output_styles import store_inventory_style

if TYPE_CHECKING:
    from ..core.raster.geometry import Polygons

HELP = """
<p>Computes the geomorphic attributes of rock-glacier polygons from a DEM and writes them with the
inventory's field names (docs/inputs-and-checks.md, <i>The inventory schema</i>):</p>
<ul>
<li><b>rg_id</b>: kept when present, otherwise ID_PREFIX + a zero-padded number that continues
after the highest existing one.</li>
<li><b>area_km2</b>: area on the WGS84 ellipsoid (local equal-area projection), whatever the CRS.</li>
<li><b>elev_min_m, elev_max_m, elev_mean_m</b>: the mean weights each DEM pixel by the share of it
the polygon covers, so polygons smaller than a pixel still get values; min/max use the pixels
whose centre is inside, as QGIS's zonal statistics (all touched pixels when there is none).</li>
<li><b>slope_mean_deg, aspect_deg, aspect_class</b>: Horn's method as gdaldem, with pixel sizes in
metres (on geographic DEMs from the ellipsoid at each row's latitude); aspect is the circular
mean of the downslope azimuth, clockwise from north.</li>
<li><b>lon, lat</b>: centroid in WGS84.</li>
<li><b>upslope_suggested</b> (with GLACIERS): <b>G</b> when a glacier lying upslope touches the
polygon or comes within TOUCH_DISTANCE_M; <b>GF</b> when the nearest upslope glacier is within
SEARCH_DISTANCE_M; empty otherwise (DMS and T remain the analyst's call). A glacier is upslope when
its part within SEARCH_DISTANCE_M has a mean elevation above the polygon's mean elevation.</li>
</ul>
<p>Polygons partly outside the DEM or on no-data are summarised on the part with data and listed
in the log; wholly outside ones get empty attributes. Invalid geometries are repaired for the
computation (the output keeps the original geometry). The DEM is read only around the polygons.</p>
<p>OUTPUT given as a .gpkg file writes (or replaces) the layer <i>rock_glaciers</i> in it and
keeps the file's other layers, so one GeoPackage holds the whole inventory.</p>
"""


class AttributesAlgorithm(RockGlacierAlgorithm):
    """``rockglacier:attributes``: elevation, slope, aspect and area of every polygon from a DEM."""

    ALGORITHM_ID = "attributes"
    DISPLAY_NAME = "Rock-glacier attributes from a DEM"
    HELP = HELP

    INPUT = "INPUT"
    DEM = "DEM"
    DEM_BAND = "DEM_BAND"
    GLACIERS = "GLACIERS"
    ID_PREFIX = "ID_PREFIX"
    TOUCH_DISTANCE_M = "TOUCH_DISTANCE_M"
    SEARCH_DISTANCE_M = "SEARCH_DISTANCE_M"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        self.addParameter(
            QgsProcessingParameterFeatureSource(self.INPUT, "Rock-glacier polygons", [QgsProcessing.TypeVectorPolygon])
        )
        self.addParameter(QgsProcessingParameterRasterLayer(self.DEM, "DEM (elevations in metres)"))
        self.addParameter(QgsProcessingParameterBand(self.DEM_BAND, "DEM band", 1, self.DEM, optional=True))
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                self.GLACIERS,
                "Glacier outlines (GLIMS/RGI) for the upslope-connection suggestion",
                [QgsProcessing.TypeVectorPolygon],
                optional=True,
            )
        )
        self.addParameter(QgsProcessingParameterString(self.ID_PREFIX, "Prefix of new rg_id values", DEFAULT_ID_PREFIX))
        self.addParameter(
            QgsProcessingParameterNumber(
                self.TOUCH_DISTANCE_M,
                "Touch distance for G, metres",
                QgsProcessingParameterNumber.Double,
                50.0,
                minValue=0.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.SEARCH_DISTANCE_M,
                "Search distance for GF, metres",
                QgsProcessingParameterNumber.Double,
                500.0,
                minValue=0.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT, "Rock glaciers with attributes", QgsProcessing.TypeVectorPolygon)
        )

    def run_algorithm(
        self,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> Dict[str, Any]:
        """Read the polygons and the DEM, compute the attributes in the core (``terrain.attributes``), write the layer with
        them."""
        from ..core.raster.geometry import Polygons
        from ..core.terrain.attributes import compute_attributes
        from ..core.terrain.connection import ConnectionRule

        source, features = self.source_and_features(parameters, self.INPUT, context, needs_crs="input layer")
        dem_path = file_raster_path(self.parameterAsRasterLayer(parameters, self.DEM, context), "DEM")
        if not features:  # as QGIS's own algorithms do: an empty output, so a batch or model goes on
            warn(feedback, "The input layer has no features (or none is selected): the output is empty.")
            return {self.OUTPUT: self._write(parameters, context, feedback, source, [], [])}
        has_ids = source.fields().lookupField("rg_id") >= 0
        result = compute_attributes(
            Polygons(
                [feature_wkb(f) for f in features],
                source.sourceCrs().toWkt(),
                [text_or_none(f["rg_id"]) if has_ids else None for f in features],
            ),
            dem_path,
            dem_band=self.parameterAsInt(parameters, self.DEM_BAND, context) or 1,
            id_prefix=self.parameterAsString(parameters, self.ID_PREFIX, context),
            glaciers=self._glaciers(parameters, context, feedback),
            rule=ConnectionRule(
                self.parameterAsDouble(parameters, self.TOUCH_DISTANCE_M, context),
                self.parameterAsDouble(parameters, self.SEARCH_DISTANCE_M, context),
            ),
            hooks=run_hooks(feedback),
        )
        for note in result.notes:
            info(feedback, note)
        for message in result.warnings:
            warn(feedback, message)
        # The sink is created only now, after the computation, so a cancelled or failed run
        # leaves no half-written output behind.
        dest_id = self._write(parameters, context, feedback, source, features, result.values)
        store_inventory_style(dest_id, feedback)
        n_empty = sum(1 for v in result.values if v["elev_mean_m"] is None)
        info(
            feedback,
            f"{len(features)} polygon(s) written; {len(features) - n_empty} with DEM attributes"
            + (f", {n_empty} without (the warnings above say why)." if n_empty else "."),
        )
        return {self.OUTPUT: dest_id}

    def _glaciers(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Optional[Polygons]:
        from ..core.raster.geometry import Polygons

        glaciers = self.parameterAsSource(parameters, self.GLACIERS, context)
        if glaciers is None:
            return None
        skip_checks = QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks
        glaciers_wkb = [feature_wkb(f) for f in glaciers.getFeatures(QgsFeatureRequest(), skip_checks)]
        info(feedback, f"{len(glaciers_wkb)} glacier outline(s) read for the connection rule.")
        return Polygons(glaciers_wkb, glaciers.sourceCrs().toWkt())

    def _write(
        self,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        source: Any,
        features: List[QgsFeature],
        values: List[Dict[str, Any]],
    ) -> str:
        from ..core.inventory.schema import ATTRIBUTE_FIELDS, ROCK_GLACIER_LAYER

        fields, notes = inventory_fields(source.fields(), ATTRIBUTE_FIELDS)
        for note in notes:
            warn(feedback, note)
        sink, dest_id = layer_sink(
            self, parameters, self.OUTPUT, context, LayerSpec(fields, source.wkbType(), source.sourceCrs(), ROCK_GLACIER_LAYER)
        )
        # Output attribute positions: input fields first (same order), then the schema's extras.
        input_positions = [fields.indexOf(field.name()) for field in source.fields()]
        value_positions = {name: fields.indexOf(name) for name in values[0]} if values else {}
        for feature, feature_values in zip(features, values):
            attributes = [None] * fields.count()
            for position, value in zip(input_positions, feature.attributes()):
                attributes[position] = value
            for name, value in feature_values.items():
                attributes[value_positions[name]] = value
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            out.setAttributes(attributes)
            if not sink.addFeature(out, QgsFeatureSink.FastInsert):
                raise QgsProcessingException(f"Writing {feature_values['rg_id']} to the output failed.")
        return dest_id
