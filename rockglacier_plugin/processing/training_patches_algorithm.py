"""``rockglacier:trainingpatches``: image/label patches for training, from an inventory and imagery."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from qgis.core import (
    QgsFeatureRequest,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..qgis_shared.features import feature_wkb, file_raster_path, likely_imagery_layer
from .algorithm_base import RockGlacierAlgorithm, as_advanced, info, products_folder, run_hooks, warn

HELP = """
<p>Cuts training patches for the deep-learning model (the first step of <code>python -m training</code>,
the same code): around every rock-glacier polygon, its bounding box grown by CONTEXT_M (1,500 m in the
paper) is cut into as few equal patches of at most MAX_PATCH_PX (480) pixels as cover it; NEGATIVES
polygons (debris-covered glaciers, landslides, false positives...) add patches of their own. Each
patch is a georeferenced GeoTIFF pair in OUTPUT_FOLDER/images and /labels (label 1 = pixel centre in
a rock glacier), listed in patches.csv with its split.</p>
<p>Sentinel-2 L2A imagery (a uint16 or float stack, or the product: SAFE folder, MTD_MSIL2A.xml, zip or
STAC item) is rendered to 8-bit patches exactly as MODEL's training imagery was (its rendering; empty =
the shipped model's), with the product's offset (or L2A_ADD_OFFSET), and summary.json records the
rendering, so the model trained on them states it and maps L2A imagery directly.</p>
<p>The split is spatially honest: overlapping patches form groups and whole groups go to the
validation set (VALIDATION_FRACTION, seeded), so no pixel is in both sets. Then run
<code>python -m training train --config ... --data OUTPUT_FOLDER</code>.</p>
"""


class TrainingPatchesAlgorithm(RockGlacierAlgorithm):
    """``rockglacier:trainingpatches``: image patches and label masks around reviewed landforms, for training."""

    ALGORITHM_ID = "trainingpatches"
    DISPLAY_NAME = "Training patches for the segmentation model"
    HELP = HELP
    GROUP = ("Deep-learning mapping", "deeplearning")
    PRODUCT_PARAMETER = "IMAGERY"

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        self.addParameter(
            QgsProcessingParameterRasterLayer(
                "IMAGERY",
                "Imagery: 8-bit RGB, a Sentinel-2 L2A stack, or the L2A product (SAFE folder, MTD_MSIL2A.xml, zip, STAC item)",
                likely_imagery_layer(),
            )
        )
        self.addParameter(QgsProcessingParameterString("BANDS", "Bands in the model's channel order (e.g. 4,3,2)", "1,2,3"))
        self.addParameter(
            QgsProcessingParameterFeatureSource("INPUT", "Rock-glacier polygons", [QgsProcessing.TypeVectorPolygon])
        )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "NEGATIVES", "Negative polygons", [QgsProcessing.TypeVectorPolygon], optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "CONTEXT_M", "Context buffer, metres", QgsProcessingParameterNumber.Double, 1500.0, False, 0.0
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "MAX_PATCH_PX", "Largest patch side, pixels", QgsProcessingParameterNumber.Integer, 480, False, 32, 4096
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "VALIDATION_FRACTION",
                "Share of patches for validation",
                QgsProcessingParameterNumber.Double,
                0.1,
                False,
                0.0,
                0.9,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber("SEED", "Random seed of the split", QgsProcessingParameterNumber.Integer, 0)
        )
        self.addParameter(
            QgsProcessingParameterFile(
                "MODEL",
                "Model whose rendering makes 8-bit patches of L2A imagery (empty = the shipped model)",
                extension="onnx",
                optional=True,
            )
        )
        for name, label in (
            ("L2A_ADD_OFFSET", "L2A offset in DN (BOA_ADD_OFFSET; empty = the product's own)"),
            ("L2A_QUANTIFICATION", "L2A quantification value (empty = 10000 with L2A_ADD_OFFSET)"),
        ):
            parameter = QgsProcessingParameterNumber(name, label, QgsProcessingParameterNumber.Double, None, True)
            as_advanced(parameter)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Patch folder"))
        self.addOutput(QgsProcessingOutputNumber("PATCHES", "Number of patches"))
        self.addOutput(QgsProcessingOutputNumber("VALIDATION_PATCHES", "Validation patches"))

    def _number(self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext) -> Optional[float]:
        value = parameters.get(name)
        return None if value is None or value == "" else self.parameterAsDouble(parameters, name, context)

    def _imagery(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Tuple[str, Any]:
        """The raster to cut and, when it is not 8-bit, the model's rendering (the shipped model's by default)."""
        from ..core.workflows.mapping import imagery_for_model

        product = next(iter(self.products(parameters)), None)
        path = product or file_raster_path(self.parameterAsRasterLayer(parameters, "IMAGERY", context), "imagery")
        if not product and self._is_8bit(path):
            return path, None
        spec = self._model_spec(parameters, context)
        if product:
            path, notes = imagery_for_model(product, spec, products_folder())
            for note in notes:
                info(feedback, note)
        if spec.rendering is not None:
            info(
                feedback,
                f"Reflectance rendered to 8-bit patches as the model's training imagery was: {spec.rendering.describe()}.",
            )
        return path, spec.rendering

    @staticmethod
    def _is_8bit(path: str) -> bool:
        from osgeo import gdal

        from ..core.raster.io import open_raster

        dataset = open_raster(path, "imagery")
        return all(gdal.GetDataTypeName(dataset.GetRasterBand(i + 1).DataType) == "Byte" for i in range(dataset.RasterCount))

    def _model_spec(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> Any:
        from ..core.dependencies import require
        from ..core.mapping.onnx_model import SHIPPED_MODELS_DIR, Device, default_model_path, load_model

        require("onnxruntime", "onnxruntime", "Reading the model's rendering for L2A imagery")
        model = self.parameterAsFile(parameters, "MODEL", context) or default_model_path(SHIPPED_MODELS_DIR, Device.CPU)[0]
        return load_model(model, Device.CPU, 1).spec

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Read the inventory and the imagery, cut the patches in the core (``mapping.patches``), write them with their index."""
        from ..core.mapping.bands import parse_band_list
        from ..core.mapping.patches import PatchSettings, plan_patches, write_patches
        from ..core.mapping.reflectance import given_calibration

        imagery, rendering = self._imagery(parameters, context, feedback)
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
            self.parameterAsDouble(parameters, "CONTEXT_M", context),
            self.parameterAsInt(parameters, "MAX_PATCH_PX", context),
            self.parameterAsDouble(parameters, "VALIDATION_FRACTION", context),
            self.parameterAsInt(parameters, "SEED", context),
            bands,
            rendering=rendering,
            calibration=given_calibration(
                self._number(parameters, "L2A_ADD_OFFSET", context), self._number(parameters, "L2A_QUANTIFICATION", context)
            ),
        )
        plan = plan_patches(
            imagery,
            [feature_wkb(f) for f in positives.getFeatures(QgsFeatureRequest(), skip)],
            positives.sourceCrs().toWkt(),
            [feature_wkb(f) for f in negatives.getFeatures(QgsFeatureRequest(), skip)] if negatives else [],
            negatives.sourceCrs().toWkt() if negatives else None,
            settings,
        )
        hooks = run_hooks(feedback)
        for message in plan.warnings:
            warn(feedback, message)
        summary = write_patches(imagery, plan, folder, settings, hooks.on_progress, hooks.is_cancelled)
        info(
            feedback,
            f"{summary['patches']} patches ({summary['positive']} around rock glaciers, {summary['negative']} negative): "
            f"{summary['train']} train, {summary['validation']} validation, in {folder}.",
        )
        return {"OUTPUT_FOLDER": folder, "PATCHES": summary["patches"], "VALIDATION_PATCHES": summary["validation"]}
