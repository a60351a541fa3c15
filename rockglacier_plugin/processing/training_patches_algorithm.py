"""``rockglacier:trainingpatches``: image/label patches for training, from an inventory and imagery."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import (
    QgsFeatureRequest,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from .algorithm_base import RockGlacierAlgorithm, callbacks, info, warn
from .layers import feature_wkb, file_raster_path

HELP = """
<p>Cuts training patches for the deep-learning model (the first step of <code>python -m training</code>,
the same code): around every rock-glacier polygon, its bounding box grown by CONTEXT_M (1,500 m in the
paper) is cut into as few equal patches of at most MAX_PATCH_PX (480) pixels as cover it; NEGATIVES
polygons (debris-covered glaciers, landslides, false positives...) add patches of their own. Each
patch is a georeferenced GeoTIFF pair in OUTPUT_FOLDER/images and /labels (label 1 = pixel centre in
a rock glacier), listed in patches.csv with its split.</p>
<p>The split is spatially honest: overlapping patches form groups and whole groups go to the
validation set (VALIDATION_FRACTION, seeded), so no pixel is in both sets. Then run
<code>python -m training train --config ... --data OUTPUT_FOLDER</code>.</p>
"""


class TrainingPatchesAlgorithm(RockGlacierAlgorithm):
    ALGORITHM_ID = "trainingpatches"
    DISPLAY_NAME = "Training patches for the segmentation model"
    HELP = HELP

    def group(self) -> str:
        return "Deep-learning mapping"

    def groupId(self) -> str:  # noqa: N802
        return "deeplearning"

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("IMAGERY", "Imagery (Sentinel-2 L2A or 8-bit RGB)"))
        self.addParameter(QgsProcessingParameterString("BANDS", "Bands in the model's channel order (e.g. 4,3,2)", "1,2,3"))
        self.addParameter(QgsProcessingParameterFeatureSource("INPUT", "Rock-glacier polygons", [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterFeatureSource("NEGATIVES", "Negative polygons", [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterNumber("CONTEXT_M", "Context buffer, metres", QgsProcessingParameterNumber.Double, 1500.0, False, 0.0))
        self.addParameter(QgsProcessingParameterNumber("MAX_PATCH_PX", "Largest patch side, pixels", QgsProcessingParameterNumber.Integer, 480, False, 32, 4096))
        self.addParameter(QgsProcessingParameterNumber("VALIDATION_FRACTION", "Share of patches for validation", QgsProcessingParameterNumber.Double, 0.1, False, 0.0, 0.9))
        self.addParameter(QgsProcessingParameterNumber("SEED", "Random seed of the split", QgsProcessingParameterNumber.Integer, 0))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Patch folder"))
        self.addOutput(QgsProcessingOutputNumber("PATCHES", "Number of patches"))
        self.addOutput(QgsProcessingOutputNumber("VALIDATION_PATCHES", "Validation patches"))

    def run_algorithm(self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> Dict[str, Any]:
        from ..core.mapping.bands import parse_band_list
        from ..core.mapping.patches import PatchSettings, plan_patches, write_patches

        imagery = file_raster_path(self.parameterAsRasterLayer(parameters, "IMAGERY", context), "imagery")
        bands = tuple(parse_band_list(self.parameterAsString(parameters, "BANDS", context)))
        skip = QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks
        positives = self.parameterAsSource(parameters, "INPUT", context)
        if positives is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, "INPUT"))
        negatives = self.parameterAsSource(parameters, "NEGATIVES", context)
        folder = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        if positives.featureCount() == 0:  # as QGIS's own algorithms do: an empty output
            warn(feedback, "The rock-glacier layer has no features (or none is selected): no patches written.")
            return {"OUTPUT_FOLDER": folder, "PATCHES": 0, "VALIDATION_PATCHES": 0}
        settings = PatchSettings(
            self.parameterAsDouble(parameters, "CONTEXT_M", context), self.parameterAsInt(parameters, "MAX_PATCH_PX", context),
            self.parameterAsDouble(parameters, "VALIDATION_FRACTION", context), self.parameterAsInt(parameters, "SEED", context), bands,
        )
        patches, polygons = plan_patches(
            imagery, [feature_wkb(f) for f in positives.getFeatures(QgsFeatureRequest(), skip)], positives.sourceCrs().toWkt(),
            [feature_wkb(f) for f in negatives.getFeatures(QgsFeatureRequest(), skip)] if negatives else [],
            negatives.sourceCrs().toWkt() if negatives else None, settings,
        )
        on_progress, is_cancelled = callbacks(feedback)
        summary = write_patches(imagery, patches, polygons, folder, settings, on_progress, is_cancelled)
        info(feedback, f"{summary['patches']} patches ({summary['positive']} around rock glaciers, {summary['negative']} negative): "
                          f"{summary['train']} train, {summary['validation']} validation, in {folder}.")
        return {"OUTPUT_FOLDER": folder, "PATCHES": summary["patches"], "VALIDATION_PATCHES": summary["validation"]}
