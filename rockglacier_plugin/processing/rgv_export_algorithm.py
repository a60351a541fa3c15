"""``rockglacier:rgvexport``: RGIK's Rock Glacier Velocity series (annualised m/yr per unit) from the
per-pair velocities of ``rockglacier:insarvelocity``, only from windows the guidelines accept."""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)

from ..core.inventory.rgv import LEFT_OUT_FIELDS, RGV_FIELDS, WindowRule
from ..core.inventory.schema import FieldSpec
from ..qgis_shared.features import feature_record, feature_wkb
from ..qgis_shared.fields import qgs_fields
from .algorithm_base import RockGlacierAlgorithm, info, warn
from .layers import LayerSpec, layer_sink

RGV_LAYER, LEFT_OUT_LAYER = "rock_glacier_velocity", "rgv_left_out"
DEFAULT_RULE = WindowRule()

HELP = f"""
<p>RGIK's <b>Rock Glacier Velocity</b> (RGV, an associated parameter of the Permafrost ECV): per rock-glacier
unit, a time series of annualised surface velocities in m/yr, one row per unit and observation window.</p>
<p><b>Input</b>: the inventory (for each unit's PrimaryID, made as <i>rockglacier:rgikexport</i> makes it;
rejected landforms are left out) and the <i>VELOCITY_PAIRS</i> table of <i>rockglacier:insarvelocity</i> (one
row per landform and pair or velocity product), the <i>TRACKED</i> layers of <i>rockglacier:featuretracking</i>
(its LANDFORMS output, one layer per pair of dates: the landform's median horizontal rate, ft_vel_m_yr, over
ft_period; Method says feature tracking and on what), or both.</p>
<p><b>Which windows count</b>: an RGV value describes whole years of creep, so its window must span a whole
number of years, start and end in the same season: within SEASON_TOLERANCE_DAYS
(default {DEFAULT_RULE.season_tolerance_days:g}) of 1, 2, 3... years. Multi-annual windows (the mean annual rate
over them) only with ALLOW_MULTI_ANNUAL. A 46-day summer interferogram is a seasonal velocity and is left out,
as are values that failed the quality criteria (vel_ok = 0) or that move upslope. Every row left out is
written to LEFT_OUT with its reason and counted in the log.</p>
<p><b>Fields</b>: {', '.join(name for name, _ in RGV_FIELDS)}. RGV_m_yr = vel_dslp_cm_yr / 100 (the mean rate
over the window), RGV.Err_m_yr its propagated 1-sigma error; Rel.RGV: High below 10 % relative error, Medium
below 20 %, else Low; Method names the technique and geometry. The RGV guidelines' own field names could not
be read here: these are ours (docs/rgik.md).</p>
"""


def _specs(fields: tuple) -> list:
    return [FieldSpec(name, kind, name) for name, kind in fields]


class RgvExportAlgorithm(RockGlacierAlgorithm):
    """``rockglacier:rgvexport``: the Rock Glacier Velocity series (RGIK RGV) from the per-pair velocities and tracked rates."""

    ALGORITHM_ID = "rgvexport"
    DISPLAY_NAME = "Export Rock Glacier Velocity (RGV) series"
    HELP = HELP

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        self.addParameter(
            QgsProcessingParameterFeatureSource("INPUT", "Inventory (rock_glaciers layer)", [QgsProcessing.TypeVectorPolygon])
        )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "VELOCITY_PAIRS",
                "Velocity per landform and pair (insarvelocity's VELOCITY_PAIRS)",
                [QgsProcessing.TypeVector],
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "TRACKED",
                "Feature-tracking velocities (featuretracking's LANDFORMS, one layer per pair of dates)",
                QgsProcessing.TypeVectorPolygon,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "SEASON_TOLERANCE_DAYS",
                "Largest distance of a window from whole years, days",
                QgsProcessingParameterNumber.Double,
                DEFAULT_RULE.season_tolerance_days,
                False,
                0.0,
                120.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean("ALLOW_MULTI_ANNUAL", "Accept multi-annual windows", DEFAULT_RULE.allow_multi_annual)
        )
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Rock Glacier Velocity series", QgsProcessing.TypeVector))
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                "LEFT_OUT", "Pairs left out, with why", QgsProcessing.TypeVector, optional=True, createByDefault=False
            )
        )
        self.addOutput(QgsProcessingOutputNumber("VALUES", "RGV values written"))
        self.addOutput(QgsProcessingOutputNumber("LEFT_OUT_COUNT", "Pair rows left out"))

    def _pair_rows(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> list:
        if not parameters.get("VELOCITY_PAIRS"):
            return []
        source = self.parameterAsSource(parameters, "VELOCITY_PAIRS", context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, "VELOCITY_PAIRS"))
        names = set(source.fields().names())
        missing = [n for n in ("rg_id", "date_start", "date_end", "vel_dslp_cm_yr", "vel_err_cm_yr", "vel_ok") if n not in names]
        if missing:
            raise QgsProcessingException(
                f"VELOCITY_PAIRS ('{source.sourceName()}') has no field(s) {', '.join(missing)}: give the VELOCITY_PAIRS table "
                "that "
                "rockglacier:insarvelocity writes (one row per landform and pair)."
            )
        return [feature_record(f) for f in source.getFeatures()]

    def _tracked_rows(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> list:
        from ..core.inventory.rgv import tracking_rows

        rows = []
        for layer in self.parameterAsLayerList(parameters, "TRACKED", context) or []:
            if layer.fields().lookupField("ft_period") < 0 or layer.fields().lookupField("ft_vel_m_yr") < 0:
                raise QgsProcessingException(
                    f"TRACKED layer '{layer.name()}' has no ft_vel_m_yr / ft_period fields: give the LANDFORMS layer that "
                    "rockglacier:featuretracking writes (the inventory with each landform's feature-tracking velocity)."
                )
            rows += tracking_rows([feature_record(f) for f in layer.getFeatures()])
        return rows

    def _write(
        self, parameters: Dict[str, Any], name: str, layer: str, fields: tuple, rows: list, context: QgsProcessingContext
    ) -> Optional[str]:
        qgs = qgs_fields(_specs(fields))
        sink, dest_id = layer_sink(
            self, parameters, name, context, LayerSpec(qgs, QgsWkbTypes.NoGeometry, None, layer), optional=True
        )
        if sink is None:
            return None
        for row in rows:
            feature = QgsFeature(qgs)
            feature.setAttributes([row.get(field_name) for field_name, _ in fields])
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
        return dest_id

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Read the velocity_pairs table and the inventory, build the series (``inventory.rgv``), write it."""
        from ..core.inventory.rgik_export import primary_ids
        from ..core.inventory.rgv import rgv_series

        source, features = self.source_and_features(parameters, "INPUT", context, needs_crs="inventory")
        ids = primary_ids([feature_record(f) for f in features], [feature_wkb(f) for f in features], source.sourceCrs().toWkt())
        rule = WindowRule(
            self.parameterAsDouble(parameters, "SEASON_TOLERANCE_DAYS", context),
            self.parameterAsBoolean(parameters, "ALLOW_MULTI_ANNUAL", context),
        )
        pair_rows = self._pair_rows(parameters, context) + self._tracked_rows(parameters, context)
        if not parameters.get("VELOCITY_PAIRS") and not parameters.get("TRACKED"):
            raise QgsProcessingException(
                "Give VELOCITY_PAIRS (rockglacier:insarvelocity's per-pair table), TRACKED "
                "(rockglacier:featuretracking's LANDFORMS layers), or both."
            )
        series = rgv_series(pair_rows, ids, rule)
        output = self._write(parameters, "OUTPUT", RGV_LAYER, RGV_FIELDS, series.rows, context)
        if output is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        results: Dict[str, Any] = {"OUTPUT": output, "VALUES": len(series.rows), "LEFT_OUT_COUNT": len(series.left_out)}
        if parameters.get("LEFT_OUT"):
            results["LEFT_OUT"] = self._write(parameters, "LEFT_OUT", LEFT_OUT_LAYER, LEFT_OUT_FIELDS, series.left_out, context)
        reasons: Dict[str, int] = {}
        for row in series.left_out:
            key = re.sub(r"^\d+-day window: (\d+\.\d+ years, )?", "window ", str(row["Reason"])).split(": ")[0]
            reasons[key] = reasons.get(key, 0) + 1
        units = len({r["WorkingID"] for r in series.rows})
        info(feedback, f"{len(series.rows)} RGV value(s) for {units} unit(s); {len(series.left_out)} pair row(s) left out.")
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            warn(feedback, f"left out {count} x: {reason}")
        if not series.rows and series.left_out:
            warn(
                feedback,
                "No pair gives an RGV value: RGV needs windows of whole years (e.g. a one-year interferogram or a "
                "velocity product over whole years); seasonal pairs describe a season, not a year.",
            )
        return results
