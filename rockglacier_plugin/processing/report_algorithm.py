"""``rockglacier:report``: the paper's tables and figures from an inventory, as HTML, PNG and CSV."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

from qgis.core import (
    QgsExpression,
    QgsFeatureRequest,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingParameterExpression,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterLayer,
)

from ..qgis_shared.features import feature_record, feature_wkb
from .algorithm_base import RockGlacierAlgorithm, info, warn

DEFAULT_FILTER = "\"review\" IS NULL OR \"review\" <> 'rejected'"

HELP = f"""
<p>Writes the inventory's results as the paper presents them:</p>
<ul>
<li><b>CLASS_TABLE</b> (CSV, the paper's Table 2): one row per upslope-connection class G, GF, DMS, T
(then P and O when present) and a row <i>all</i> (every landform the filter keeps, classified or
not): count, mean and sample standard deviation of elev_mean_m, slope_mean_deg and area_km2, and the
total area.</li>
<li><b>VELOCITY_TABLE</b> (CSV, Table 3): over landforms with vel_ok = 1, count, mean, standard
deviation, median and maximum of vel_dslp_cm_yr, and the error of the fastest landform.</li>
<li><b>OUTPUT</b> (HTML): both tables, how many landforms lack each attribute, the review account of
the deep-learning candidates, and four figures saved as PNG beside it: a map overview in the class
colours, the altitude distribution per class, an aspect rose per class and the velocity distribution
per class (cf. the paper's Figures 8, 9 and 12). It opens in a browser and in the Results Viewer.</li>
</ul>
<p><b>DEM</b> (optional): the map is drawn over its shaded relief (GDAL's hillshade, light from the north-west,
warped onto the inventory's CRS); without it the map shows the outlines alone.</p>
<p><b>FILTER</b> is a QGIS expression; the default <code>{DEFAULT_FILTER}</code> keeps every landform
that review did not reject (on a layer without a <i>review</i> field, every landform).</p>
"""


class ReportAlgorithm(RockGlacierAlgorithm):
    """``rockglacier:report``: statistics per upslope-connection class and kinematic class, as tables and a figure."""

    ALGORITHM_ID = "report"
    DISPLAY_NAME = "Inventory report (tables and figures per class)"
    HELP = HELP
    REQUIRED_MODULES = RockGlacierAlgorithm.REQUIRED_MODULES + (("matplotlib", "matplotlib"),)

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        self.addParameter(
            QgsProcessingParameterFeatureSource("INPUT", "Inventory (rock_glaciers layer)", [QgsProcessing.TypeVectorPolygon])
        )
        self.addParameter(
            QgsProcessingParameterExpression("FILTER", "Landforms to report (expression)", DEFAULT_FILTER, "INPUT", optional=True)
        )
        self.addParameter(QgsProcessingParameterRasterLayer("DEM", "DEM for the map's shaded-relief background", optional=True))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", "Report", "HTML files (*.html)"))
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "CLASS_TABLE", "Table 2: landforms per class", "CSV files (*.csv)", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "VELOCITY_TABLE", "Table 3: velocities per class", "CSV files (*.csv)", optional=True
            )
        )

    def _filter(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, source: Any, feedback: QgsProcessingFeedback
    ) -> str:
        text = self.parameterAsExpression(parameters, "FILTER", context).strip()
        if text == DEFAULT_FILTER and source.fields().lookupField("review") < 0:
            info(feedback, "The layer has no 'review' field: every landform is reported.")
            return ""
        expression = QgsExpression(text)
        if text and expression.hasParserError():
            raise QgsProcessingException(f"The filter '{text}' is not a valid expression: {expression.parserErrorString()}")
        missing = [
            name
            for name in expression.referencedColumns()
            if name and source.fields().lookupField(name) < 0 and name != QgsFeatureRequest.ALL_ATTRIBUTES
        ]
        if text and missing:
            raise QgsProcessingException(
                f"The filter '{text}' uses field(s) {', '.join(sorted(missing))} that the layer does not have. "
                f"Its fields: {', '.join(source.fields().names())}."
            )
        return text

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Read the inventory, compute the tables in the core (``inventory.statistics``), write them and the figure."""
        from ..core.raster.geometry import prepare_polygon
        from ..core.report.html import REPORTED_FIELDS, ReportInputs, write_report
        from ..core.version import plugin_version

        source, everything = self.source_and_features(parameters, "INPUT", context)
        names = set(source.fields().names())
        absent = [name for name in REPORTED_FIELDS if name not in names]
        if len(absent) == len(REPORTED_FIELDS):
            raise QgsProcessingException(
                f"'{source.sourceName()}' has none of the fields the report reads ({', '.join(REPORTED_FIELDS)}): it is not an "
                "inventory yet. Run rockglacier:attributes (elevation, slope, aspect, area), classify the landforms "
                "(upslope_con, "
                "in the review dock) and run rockglacier:insarvelocity for velocities, then report."
            )
        if absent:
            warn(feedback, f"The layer has no {', '.join(absent)} field(s): the tables and figures leave them empty.")
        filter_text = self._filter(parameters, context, source, feedback)
        kept = (
            list(
                source.getFeatures(
                    QgsFeatureRequest(QgsExpression(filter_text)), QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks
                )
            )
            if filter_text
            else everything
        )
        if not kept:
            warn(
                feedback,
                f"No landform passes the filter ({filter_text or 'none'}) out of {len(everything)}: the report is empty.",
            )
        every_record = {f.id(): feature_record(f) for f in everything}  # built once, shared by both uses
        records = [every_record[f.id()] for f in kept]
        inputs = ReportInputs(
            records=records,
            geometries=[prepare_polygon(feature_wkb(f)).geometry for f in kept],
            inventory_name=self._name(parameters, source),
            filter_expression=filter_text,
            crs_name=source.sourceCrs().authid() or source.sourceCrs().description(),
            crs_wkt=source.sourceCrs().toWkt(),
            plugin_version=plugin_version(),
            total_features=len(everything),
            candidates=[r for r in every_record.values() if r.get("source") == "deep_learning"],
            dem_path=self._dem(parameters, context),
        )
        outputs = write_report(
            inputs,
            self.parameterAsFileOutput(parameters, "OUTPUT", context),
            self._optional_file(parameters, "CLASS_TABLE", context),
            self._optional_file(parameters, "VELOCITY_TABLE", context),
        )
        info(feedback, f"{len(records)} landform(s) reported; figures: {', '.join(map(os.path.basename, outputs.figure_paths))}")
        return {
            "OUTPUT": outputs.html_path,
            "CLASS_TABLE": outputs.class_table_path,
            "VELOCITY_TABLE": outputs.velocity_table_path,
        }

    def _dem(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> Optional[str]:
        from ..qgis_shared.features import file_raster_path

        layer = self.parameterAsRasterLayer(parameters, "DEM", context) if parameters.get("DEM") else None
        return file_raster_path(layer, "DEM") if layer is not None else None

    def _optional_file(self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext) -> Optional[str]:
        return self.parameterAsFileOutput(parameters, name, context) or None if parameters.get(name) else None

    @staticmethod
    def _name(parameters: Dict[str, Any], source: Any) -> str:
        """The inventory as the user gave it (a path or layer id), else the layer's name."""
        value = parameters.get("INPUT")
        return value if isinstance(value, str) and value else source.sourceName()
