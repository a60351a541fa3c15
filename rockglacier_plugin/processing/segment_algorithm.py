"""``rockglacier:segment``: ONNX DeepLabv3+ inference over whole scenes -> candidate polygons."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureRequest,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..core.mapping.adaptive_views import VIEWS_CHOICES
from ..core.mapping.onnx_model import DEFAULT_MODEL_NAME, SHIPPED_MODELS_DIR, Device
from ..core.mapping.polygons import DEFAULT_MIN_AREA_KM2
from ..core.mapping.precision import Precision
from ..core.workflows.mapping import DEFAULT_ID_PREFIX
from ..qgis_shared.features import feature_wkb, file_raster_path, likely_imagery_layer, text_or_none
from .algorithm_base import (
    RockGlacierAlgorithm,
    as_advanced,
    given,
    info,
    products_folder,
    removed_on_failure,
    run_hooks,
    stage,
    warn,
)
from .output_styles import store_inventory_style, write_raster_style

DEVICES = [device.value for device in Device]  # the core's choices, in their order: the enum index is the option
PRECISIONS = [precision.value for precision in Precision]
DEFAULT_MODEL = os.path.join(SHIPPED_MODELS_DIR, DEFAULT_MODEL_NAME)

VIEW_CHOICES = [choice.label for choice in VIEWS_CHOICES]  # the core's choices, in their order

HELP = """
<p>Applies an ONNX segmentation model (DeepLabv3+ exported by the training package) to a whole
raster and returns the rock-glacier <b>probability</b> (float32, same grid; -1 = no data), a
<b>mask</b> (uint8: 1 rock glacier, 0 background, 255 no data) and candidate <b>polygons</b>
(8-connected, holes kept, smaller than MIN_AREA_KM2 dropped; areas in metres whatever the CRS)
with source = deep_learning, review = candidate, dl_prob_mean and match_rg_id (the EXISTING
polygon a candidate overlaps most, empty when new).</p>
<p><b>Sentinel-2 L2A as downloaded</b>: INPUT may be the product itself (the .SAFE folder, its
MTD_MSIL2A.xml, the .zip, or a STAC item .json) or a uint16/float stack of its bands. Reflectance is
computed with the product's own offset (BOA_ADD_OFFSET: -1000 from processing baseline 04.00; read from
MTD_MSIL2A.xml, STAC raster:bands, or the bands' GDAL offset/scale; else give L2A_ADD_OFFSET) and rendered
to 8-bit exactly as the model's training imagery was (its rendering metadata; the model card below says
where the shipped model's comes from). The log states both.</p>
<p>The model's metadata decides how pixel values become its input (8-bit RGB as is; Sentinel-2
L2A reflectance rendered with its rendering, or stretched linearly), the band order, the tile size,
the threshold and the edge margin, so training and inference cannot disagree. BANDS lists the raster bands feeding the
model's channels in order (e.g. 4,3,2 for B4, B3, B2 of a Sentinel-2 stack); left empty, bands are
matched by their descriptions, or taken as 1..n when the raster has exactly the model's channels.</p>
<p>Each tile of TILE_SIZE_PX is read with the model's margin of context around it (from the raster;
beyond its edges the neutral input the model was trained to see there), so the model input is the tile plus twice the margin
and only the
tile's own pixels are kept: a model whose receptive field fits in the margin gives every pixel the
answer of one run over the whole scene, whatever the tile size (the shipped model: within 0.02 of
probability between 256, 512 and 1536 px tiles). The tile size is a speed and memory choice
only. Tiles overlap by OVERLAP_PX (default 16) and are blended with smooth weights, so no seam
shows; memory stays bounded (one row of tiles) whatever the raster's size. No-data (and the zero borders of Sentinel-2 tiles)
is filled
with the tile's mean before inference and masked after, so no candidate follows those borders.
MASK_LAYER polygons restrict the work to the tiles they touch; EXTENT to a rectangle.</p>
<p>VIEWS: every tile goes through the model in 1, 4 (mirrored left-right, up-down and both) or 8 (also
turned by quarter turns) views, and the probabilities, turned back, are averaged: a rock glacier is one
whichever way the image is turned, the model's small biases are not, so they average out. Each view is
one more model run per tile (8 views cost about 8 times the model time of 1). Left empty, the model's own
choice applies (its rockglacier:views metadata: the shipped model asks for 8, having gained {views_gain_iou} scene IoU
and fewer false candidates from them, see its card below); a model that states none runs 1 view, as
other tools do. The log says which.</p>
<p>THRESHOLD left empty applies the model's own (its seg_thresh metadata): the shipped float32 model
{threshold_float32}, its int8 copy {threshold_int8}, each chosen on training chips.</p>
<p>VIEWS left empty with a model that asks for several (the shipped model: 8) runs them <b>adaptively</b>:
every tile once, and the further views only on crops around what the first view finds (probability 0.2
or more, in 32 px cells), each crop read with 32 px of context; the crops' pixels get the average of all
views, the rest keeps its one view (nothing there is near a rock glacier). On the model card's validation
scene: scene IoU {adaptive_iou} adaptively against {everywhere_iou} with 8 views everywhere ({one_view_iou} with one), at
{adaptive_time_ratio}x the time of one view (8 views everywhere: {everywhere_time_ratio}x), the further views on
{adaptive_share_pct} % of the
input; a scene with few rock glaciers costs less (measured in make bench). The choice "8 ... adaptive" does the same for any
model; "8" runs every view
on every tile.</p>
<p>PRECISION: auto (default) runs, on the CPU, a static int8 copy of the model: the shipped model's own;
for any other model one made on the first run from tiles of the input scene and cached beside the model
(or in ~/.cache/rockglacier/int8 where that folder is read-only), named after the model's SHA-256. Each run
first segments a few tiles of the scene with both, and the int8 copy is used only when it agrees with
float32 (99th percentile of the probability difference at most 0.05, mask IoU at least 0.98, and faster);
otherwise float32, and the log says why with the numbers. Where the whole copy disagrees, the convolutions whose
int8 adds the most error stay in float (mixed precision, 4, 12 then 24 of them) until a copy agrees; where none
does, the refusal is remembered for the model (a .refused.json beside the copy: delete it to try again), so later
runs pay nothing for it. A model whose mask is clearly on its threshold (a probability shift of 0.005 moves it
below IoU 0.9) is refused before any copy is made, and a run of fewer than 16 tiles makes no copy (it could not
repay one). The run that first meets a model runs float32: after it, a background process (lower priority, its log
beside the copy as .preparing.log) makes and checks the copy, and later runs use it where it agrees.
float32: the model as given. int8: the copy whatever the
agreement. int8 needs the onnx package in QGIS's Python (make setup installs it).</p>
<p>DEVICE: auto uses a GPU execution provider when this onnxruntime has one (CUDA from onnxruntime-gpu,
DirectML from onnxruntime-directml on Windows, CoreML on macOS; in that order), else the CPU; on a GPU
the float model runs. The log states which provider actually ran, and why when onnxruntime fell back
to the CPU.</p>
"""


class SegmentAlgorithm(RockGlacierAlgorithm):
    """``rockglacier:segment``: rock-glacier probability, mask and candidate polygons from imagery with an ONNX DeepLabv3+
    model."""

    ALGORITHM_ID = "segment"
    DISPLAY_NAME = "Map rock-glacier candidates (ONNX segmentation)"
    HELP = HELP
    GROUP = ("Deep-learning mapping", "deeplearning")
    PRODUCT_PARAMETER = "INPUT"
    REQUIRED_MODULES = RockGlacierAlgorithm.REQUIRED_MODULES + (("onnxruntime", "onnxruntime"),)

    def shortHelpString(self) -> str:  # noqa: N802
        """``HELP`` with the model card's numbers, and the shipped model's card when there is one."""
        from ..core.mapping.card_facts import read_card_facts

        models = os.path.dirname(DEFAULT_MODEL)
        help_text = self.HELP.format_map(read_card_facts(os.path.join(models, "model_card.json")))  # numbers from the card
        card = os.path.join(models, "MODEL_CARD.html")
        if os.path.exists(card):
            with open(card, encoding="utf-8") as handle:
                return help_text + handle.read()
        return help_text + "<p><b>Default model:</b> none is shipped yet; give MODEL.</p>"

    def _advanced(self, parameter: QgsProcessingParameterDefinition) -> None:
        as_advanced(parameter)
        self.addParameter(parameter)

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The imagery and model, where and how to trace candidates, how to run the model, and the outputs."""
        self._add_imagery_and_model()
        self._add_candidate_rules()
        self._add_run_choices()
        self.addParameter(QgsProcessingParameterRasterDestination("PROBABILITY", "Rock-glacier probability"))
        self.addParameter(QgsProcessingParameterRasterDestination("MASK", "Rock-glacier mask"))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Rock-glacier candidates", QgsProcessing.TypeVectorPolygon))

    def _add_imagery_and_model(self) -> None:
        """INPUT, BANDS, MODEL, EXTENT and MASK_LAYER."""
        self.addParameter(
            QgsProcessingParameterRasterLayer(
                "INPUT",
                "Imagery: 8-bit RGB, a Sentinel-2 L2A stack, or the L2A product (SAFE folder, MTD_MSIL2A.xml, zip, STAC item)",
                likely_imagery_layer(),
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                "BANDS", "Bands for the model's channels, in order (e.g. 4,3,2; empty = automatic)", "", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                "MODEL",
                "ONNX model (empty = the model shipped with the plugin; on a CPU its int8 copy when one is shipped)",
                extension="onnx",
                optional=True,
            )
        )
        self.addParameter(QgsProcessingParameterExtent("EXTENT", "Extent", optional=True))
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "MASK_LAYER", "Only where these polygons are", [QgsProcessing.TypeVectorPolygon], optional=True
            )
        )

    def _add_candidate_rules(self) -> None:
        """THRESHOLD, MIN_AREA_KM2, EXISTING and ID_PREFIX: which pixels become which candidates."""
        self.addParameter(
            QgsProcessingParameterNumber(
                "THRESHOLD",
                "Probability threshold (empty = the model's)",
                QgsProcessingParameterNumber.Double,
                None,
                True,
                0.0,
                1.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "MIN_AREA_KM2", "Minimum polygon area, km2", QgsProcessingParameterNumber.Double, DEFAULT_MIN_AREA_KM2, False, 0.0
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "EXISTING", "Existing inventory (for match_rg_id)", [QgsProcessing.TypeVectorPolygon], optional=True
            )
        )
        self.addParameter(QgsProcessingParameterString("ID_PREFIX", "Prefix of candidate rg_id values", DEFAULT_ID_PREFIX))

    def _add_run_choices(self) -> None:
        """DEVICE, PRECISION, VIEWS and the advanced L2A scaling, tile and batch settings."""
        self.addParameter(QgsProcessingParameterEnum("DEVICE", "Device", DEVICES, defaultValue=0))
        self.addParameter(
            QgsProcessingParameterEnum(
                "PRECISION", "Precision (auto: an int8 copy on the CPU where it agrees with float32)", PRECISIONS, defaultValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                "VIEWS",
                "Views of each tile averaged (empty = the model's own; each view costs one model run per tile)",
                VIEW_CHOICES,
                optional=True,
            )
        )
        self._advanced(
            QgsProcessingParameterNumber(
                "L2A_ADD_OFFSET",
                "L2A offset in DN (BOA_ADD_OFFSET: -1000 from processing baseline 04.00; empty = the product's own)",
                QgsProcessingParameterNumber.Double,
                None,
                True,
                -100000.0,
                100000.0,
            )
        )
        self._advanced(
            QgsProcessingParameterNumber(
                "L2A_QUANTIFICATION",
                "L2A quantification value (BOA_QUANTIFICATION_VALUE; empty = 10000 with L2A_ADD_OFFSET)",
                QgsProcessingParameterNumber.Double,
                None,
                True,
                1.0,
                1e9,
            )
        )
        self._advanced(
            QgsProcessingParameterNumber(
                "TILE_SIZE_PX", "Tile size, pixels (0 = the model's)", QgsProcessingParameterNumber.Integer, 0, False, 0
            )
        )
        self._advanced(
            QgsProcessingParameterNumber(
                "OVERLAP_PX", "Tile overlap, pixels (empty = 16)", QgsProcessingParameterNumber.Integer, None, True, 0
            )
        )
        self._advanced(
            QgsProcessingParameterNumber(
                "BATCH_SIZE",
                "Tiles per model call (0 = automatic, about 2 million input pixels a call)",
                QgsProcessingParameterNumber.Integer,
                0,
                False,
                0,
                256,
            )
        )

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Resolve the imagery and the model, segment in the core (``mapping.segmentation``), trace candidates
        (``workflows.mapping``), write them."""
        from ..core.mapping.onnx_model import load_model
        from ..core.mapping.segmentation import MapArea, segment_raster
        from ..core.workflows.mapping import candidate_rows, describe_candidates, imagery_for_model

        options = self._options(parameters, context)
        model_path = self._model_path(parameters, context, feedback)
        model = load_model(model_path, options.device)
        if model.note:
            warn(feedback, model.note)
        raster_path, notes = imagery_for_model(
            next(iter(self.products(parameters)), None)
            or file_raster_path(self.parameterAsRasterLayer(parameters, "INPUT", context), "input raster"),
            model.spec,
            products_folder(),
            options,
        )
        for note in notes:
            info(feedback, note)
        crs = self._raster_crs(raster_path)
        probability_path = self.parameterAsOutputLayer(parameters, "PROBABILITY", context)
        mask_path = self.parameterAsOutputLayer(parameters, "MASK", context)
        with removed_on_failure([probability_path, mask_path]):  # a failed run leaves no raster that looks finished
            stage(feedback, "Running the model over the tiles")
            run = segment_raster(
                raster_path,
                model_path,
                probability_path,
                mask_path,
                options.segment_settings(),
                MapArea(self._extent(parameters, context, crs), self._mask_geometries(parameters, context, crs, feedback)),
                run_hooks(feedback, 0.0, 0.9),
                model=model,
            )
            more_views = (
                f"; further views on {run.tiles_with_more_views} tile(s)"
                if options.views is None and run.tiles_with_more_views
                else ""
            )
            info(
                feedback,
                f"{run.tiles_run} tile(s){more_views} of {run.layout.tile_px} px with {run.layout.context_px} px of context "
                "(model input "
                f"{run.layout.input_px} px, overlap {run.layout.overlap_px} px) on {run.provider}; "
                f"{run.tiles_skipped} skipped outside MASK_LAYER; model {run.model_seconds:.1f} s of {run.total_seconds:.1f} s; "
                f"threshold {run.threshold:g}.",
            )
            stage(feedback, "Tracing candidate polygons")
            tracing = run_hooks(feedback, 0.9, 0.1)
            candidates = candidate_rows(
                mask_path,
                probability_path,
                options,
                self._existing(parameters, context),
                tracing.on_progress,
                tracing.is_cancelled,
            )
            info(feedback, describe_candidates(candidates, options))
            dest_id = self.write_candidates(parameters, context, crs, candidates)
            store_inventory_style(dest_id, feedback)
            write_raster_style(probability_path, "probability")
            return {"OUTPUT": dest_id, "PROBABILITY": probability_path, "MASK": mask_path}

    @staticmethod
    def _raster_crs(path: str) -> QgsCoordinateReferenceSystem:
        from ..core.raster.io import open_raster

        return QgsCoordinateReferenceSystem.fromWkt(open_raster(path, "input raster").GetProjection())

    def _model_path(self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> str:
        from ..core.mapping.onnx_model import default_model_path

        model_path = self.parameterAsFile(parameters, "MODEL", context)
        if not model_path:
            device = Device(DEVICES[self.parameterAsEnum(parameters, "DEVICE", context)])
            if Precision(PRECISIONS[self.parameterAsEnum(parameters, "PRECISION", context)]) is Precision.FLOAT32:
                model_path, note = DEFAULT_MODEL, "Default model: float32 (PRECISION=float32)."
            else:
                model_path, note = default_model_path(os.path.dirname(DEFAULT_MODEL), device)
            info(feedback, note)
        if not os.path.exists(model_path):
            raise QgsProcessingException(
                f"No model at '{model_path}'. "
                + (
                    "No default model is shipped with this version; "
                    if os.path.dirname(model_path) == os.path.dirname(DEFAULT_MODEL)
                    else ""
                )
                + "give MODEL: an .onnx file exported with `python -m training export`."
            )
        return model_path

    def _options(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> Any:
        from ..core.mapping.bands import parse_band_list
        from ..core.workflows.mapping import MappingOptions

        text = self.parameterAsString(parameters, "BANDS", context)
        views = VIEWS_CHOICES[self.parameterAsEnum(parameters, "VIEWS", context)] if given(parameters, "VIEWS") else None
        return MappingOptions(
            bands=tuple(parse_band_list(text)) if text.strip() else None,  # None: matched to the model's bands
            threshold=self.parameterAsDouble(parameters, "THRESHOLD", context) if given(parameters, "THRESHOLD") else None,
            min_area_km2=self.parameterAsDouble(parameters, "MIN_AREA_KM2", context),
            id_prefix=self.parameterAsString(parameters, "ID_PREFIX", context),
            device=Device(DEVICES[self.parameterAsEnum(parameters, "DEVICE", context)]),
            views=views.views if views else None,
            adaptive_views=views.adaptive if views else None,
            precision=Precision(PRECISIONS[self.parameterAsEnum(parameters, "PRECISION", context)]),
            tile_px=self.parameterAsInt(parameters, "TILE_SIZE_PX", context) or None,
            overlap_px=self.parameterAsInt(parameters, "OVERLAP_PX", context) if given(parameters, "OVERLAP_PX") else None,
            batch_size=self.parameterAsInt(parameters, "BATCH_SIZE", context) or None,
            l2a_add_offset=self.parameterAsDouble(parameters, "L2A_ADD_OFFSET", context)
            if given(parameters, "L2A_ADD_OFFSET")
            else None,
            l2a_quantification=(
                self.parameterAsDouble(parameters, "L2A_QUANTIFICATION", context)
                if given(parameters, "L2A_QUANTIFICATION")
                else None
            ),
        )

    def _extent(self, parameters: Dict[str, Any], context: QgsProcessingContext, crs: Any) -> Optional[tuple]:
        if not given(parameters, "EXTENT"):
            return None
        rectangle = self.parameterAsExtent(parameters, "EXTENT", context, crs)
        return rectangle.xMinimum(), rectangle.yMinimum(), rectangle.xMaximum(), rectangle.yMaximum()

    def _mask_geometries(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, crs: Any, feedback: QgsProcessingFeedback
    ) -> Optional[list]:
        from ..core.raster.geometry import polygons_in_crs

        mask_source = self.parameterAsSource(parameters, "MASK_LAYER", context)
        if mask_source is None:
            return None
        geometries = polygons_in_crs(
            [feature_wkb(f) for f in mask_source.getFeatures()], mask_source.sourceCrs().toWkt(), crs.toWkt(), "MASK_LAYER"
        )
        if not geometries:  # as QGIS's own algorithms do with an empty layer: nothing to map, and a warning
            warn(feedback, "MASK_LAYER has no polygon (or none is selected): no tile is run and the outputs are empty.")
        return geometries

    def _existing(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> Any:
        from ..core.workflows.mapping import ExistingInventory

        existing = self.parameterAsSource(parameters, "EXISTING", context)
        if existing is None:
            return None
        features = list(existing.getFeatures(QgsFeatureRequest(), QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks))
        has_id = existing.fields().lookupField("rg_id") >= 0
        return ExistingInventory(
            [feature_wkb(f) for f in features],
            [text_or_none(f["rg_id"]) if has_id else None for f in features],
            existing.sourceCrs().toWkt(),
        )
