"""``rockglacier:evaluate``: candidates against a reference inventory, one-to-one optimal matching by IoU."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsFields,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)

from ..core.inventory.schema import FieldSpec
from ..qgis_shared.features import feature_record, feature_wkb, file_raster_path
from ..qgis_shared.fields import qgs_field
from .algorithm_base import RockGlacierAlgorithm, info, warn
from .layers import LayerSpec, layer_sink
from .output_styles import store_inventory_style

HELP = """
<p>Compares mapped candidates (e.g. <i>rockglacier:segment</i>'s output) with a reference inventory.</p>
<ul>
<li>A candidate and a reference polygon match when their intersection over union (IoU) is at least
<b>MIN_IOU</b>. Matching is one to one and optimal: the assignment with the largest total IoU among
eligible pairs (Hungarian method), so one big candidate never counts for two references.</li>
<li>Areas are computed in one equal-area projection centred on the data, whatever the layers' CRSs;
a spatial index (a sweep over bounding boxes) keeps a country-wide inventory fast.</li>
<li><b>OUTPUT</b>: the candidates with <i>eval_iou</i> (IoU with the match; for an unmatched candidate
its highest IoU with any reference), <i>eval_match_id</i> (the reference's rg_id, or its feature id)
and <i>eval_status</i> TP or FP. <b>REFERENCE_OUTPUT</b>: the reference with <i>eval_status</i>
matched or missed.</li>
<li><b>SUMMARY</b> (CSV, one row): tp, fp, fn, precision, recall, f1, the pixel IoU when
<b>MAPPED_RASTER</b> is given (a mask or probability raster; values &ge; 0.5 count as mapped, the
reference polygons are rasterised on its grid by pixel centre), and the paper's account of the
candidates' review: how many match an existing polygon (match_rg_id), how many are new, and how
many review accepted, modified or rejected (false positives once reviewed).</li>
</ul>
"""

EVAL_FIELDS = (
    FieldSpec("eval_iou", "real", "IoU with the match"),
    FieldSpec("eval_match_id", "text", "matched feature"),
    FieldSpec("eval_status", "text", "TP/FP or matched/missed"),
)
SUMMARY_COLUMNS = ("tp", "fp", "fn", "precision", "recall", "f1", "pixel_iou", "min_iou")


def _with_eval_fields(fields: QgsFields) -> QgsFields:
    out = QgsFields(fields)
    for spec in EVAL_FIELDS:
        if out.lookupField(spec.name) < 0:
            out.append(qgs_field(spec))
    return out


class EvaluateAlgorithm(RockGlacierAlgorithm):
    """``rockglacier:evaluate``: candidates matched one to one to a reference inventory (TP, FP, FN, IoU)."""

    ALGORITHM_ID = "evaluate"
    DISPLAY_NAME = "Evaluate candidates against a reference inventory"
    HELP = HELP
    REQUIRED_MODULES = RockGlacierAlgorithm.REQUIRED_MODULES + (("scipy.optimize", "scipy"),)

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        self.addParameter(QgsProcessingParameterFeatureSource("CANDIDATES", "Candidates", [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(
            QgsProcessingParameterFeatureSource("REFERENCE", "Reference inventory", [QgsProcessing.TypeVectorPolygon])
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "MIN_IOU", "Minimum IoU for a match", QgsProcessingParameterNumber.Double, 0.5, False, 0.01, 1.0
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterLayer(
                "MAPPED_RASTER", "Mapped raster for the pixel IoU (mask or probability)", optional=True
            )
        )
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Evaluated candidates", QgsProcessing.TypeVectorPolygon))
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                "REFERENCE_OUTPUT",
                "Reference, matched or missed",
                QgsProcessing.TypeVectorPolygon,
                optional=True,
                createByDefault=True,
            )
        )
        self.addParameter(QgsProcessingParameterFileDestination("SUMMARY", "Summary", "CSV files (*.csv)", optional=True))
        for name in ("TP", "FP", "FN", "PRECISION", "RECALL", "F1", "PIXEL_IOU"):
            self.addOutput(QgsProcessingOutputNumber(name, name.lower()))

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Read both layers, match them in the core (``inventory.evaluation``), write the candidates, the references and
        the summary."""
        from ..core.inventory.evaluation import evaluate

        candidates, cand_features = self.source_and_features(parameters, "CANDIDATES", context, needs_crs="candidates layer")
        reference, ref_features = self.source_and_features(parameters, "REFERENCE", context, needs_crs="reference layer")
        if not ref_features:
            warn(feedback, "The reference layer has no features: every candidate is a false positive and recall is undefined.")
        ref_wkb, ref_crs = [feature_wkb(f) for f in ref_features], reference.sourceCrs().toWkt()
        result = evaluate(
            [feature_wkb(f) for f in cand_features],
            candidates.sourceCrs().toWkt(),
            ref_wkb,
            ref_crs,
            self.parameterAsDouble(parameters, "MIN_IOU", context),
        )
        for message in result.warnings:
            warn(feedback, message)
        results: Dict[str, Any] = self._summary(parameters, context, feedback, result, ref_wkb, ref_crs, cand_features)
        ref_ids, cand_ids = _ids(ref_features), _ids(cand_features)
        results["OUTPUT"] = self._write(
            parameters,
            "OUTPUT",
            context,
            candidates,
            cand_features,
            result.candidate_iou,
            [ref_ids[j] if j is not None else None for j in result.candidate_match],
            result.candidate_status,
        )
        store_inventory_style(results["OUTPUT"], feedback)
        if parameters.get("REFERENCE_OUTPUT"):
            results["REFERENCE_OUTPUT"] = self._write(
                parameters,
                "REFERENCE_OUTPUT",
                context,
                reference,
                ref_features,
                result.reference_iou,
                [cand_ids[i] if i is not None else None for i in result.reference_match],
                result.reference_status,
            )
        return results

    def _summary(self, parameters, context, feedback, result, ref_wkb, ref_crs, cand_features) -> Dict[str, Any]:
        from ..core.inventory.pixel_agreement import pixel_agreement
        from ..core.inventory.review import ACCOUNTING_ROWS, review_accounting
        from ..core.report.html import write_table

        row = result.summary.as_row()
        row["min_iou"] = self.parameterAsDouble(parameters, "MIN_IOU", context)
        raster = self.parameterAsRasterLayer(parameters, "MAPPED_RASTER", context) if parameters.get("MAPPED_RASTER") else None
        row["pixel_iou"] = (
            pixel_agreement(file_raster_path(raster, "mapped raster"), ref_wkb, ref_crs).iou if raster is not None else None
        )
        row.update(review_accounting([feature_record(f) for f in cand_features]))
        info(feedback, ", ".join(f"{k} = {_format(row[k])}" for k in SUMMARY_COLUMNS + ACCOUNTING_ROWS))
        summary_path = self.parameterAsFileOutput(parameters, "SUMMARY", context) if parameters.get("SUMMARY") else None
        if summary_path:
            write_table(summary_path, [row], SUMMARY_COLUMNS + ACCOUNTING_ROWS)
        outputs = {name.upper(): row[name] for name in ("tp", "fp", "fn", "precision", "recall", "f1", "pixel_iou")}
        return {**outputs, "SUMMARY": summary_path}

    def _write(self, parameters, name, context, source, features: List[QgsFeature], ious, match_ids, statuses) -> str:
        from ..core.inventory.schema import ROCK_GLACIER_LAYER

        fields = _with_eval_fields(source.fields())
        # an inventory layer is rock_glaciers in its GeoPackage; the reference's copy beside the candidates in one file
        # gets its own name
        same_file = name == "REFERENCE_OUTPUT" and parameters.get("REFERENCE_OUTPUT") == parameters.get("OUTPUT")
        sink, dest_id = layer_sink(
            self,
            parameters,
            name,
            context,
            LayerSpec(fields, source.wkbType(), source.sourceCrs(), "reference_evaluated" if same_file else ROCK_GLACIER_LAYER),
        )
        positions = [fields.indexOf(spec.name) for spec in EVAL_FIELDS]
        for feature, iou, match_id, status in zip(features, ious, match_ids, statuses):
            attributes = list(feature.attributes()) + [None] * (fields.count() - len(feature.attributes()))
            for position, value in zip(positions, (iou, match_id, status)):
                attributes[position] = value
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            out.setAttributes(attributes)
            sink.addFeature(out, QgsFeatureSink.FastInsert)
        del sink
        return dest_id


def _ids(features: List[QgsFeature]) -> List[str]:
    """rg_id when the layer has it and it is set, else the feature id."""
    has_rg_id = bool(features) and features[0].fields().lookupField("rg_id") >= 0
    ids = []
    for feature in features:
        value = feature["rg_id"] if has_rg_id else None
        ids.append(str(value) if value not in (None, "") and not getattr(value, "isNull", lambda: False)() else str(feature.id()))
    return ids


def _format(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
