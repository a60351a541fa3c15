"""``rockglacier:segment``: ONNX DeepLabv3+ inference over whole scenes -> candidate polygons."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from qgis.core import (
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsGeometry,
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
    QgsWkbTypes,
)

from .algorithm_base import RockGlacierAlgorithm, callbacks
from .fields import inventory_fields
from .layers import feature_wkb, file_raster_path, gpkg_layer_destination, parse_bands, text_or_none

DEVICES = ["auto", "cpu", "cuda"]
DEFAULT_MODEL = os.path.join(os.path.dirname(os.path.dirname(__file__)), "models", "rockglacier_default.onnx")

HELP = """
<p>Applies an ONNX segmentation model (DeepLabv3+ exported by the training package) to a whole
raster and returns the rock-glacier <b>probability</b> (float32, same grid; -1 = no data), a
<b>mask</b> (uint8: 1 rock glacier, 0 background, 255 no data) and candidate <b>polygons</b>
(8-connected, holes kept, smaller than MIN_AREA_KM2 dropped; areas in metres whatever the CRS)
with source = deep_learning, review = candidate, dl_prob_mean and match_rg_id (the EXISTING
polygon a candidate overlaps most, empty when new).</p>
<p>The model's metadata decides how pixel values become its input (8-bit RGB as is; Sentinel-2
L2A reflectance stretched linearly), the band order, the tile size, the threshold and the edge
margin, so training and inference cannot disagree. BANDS lists the raster bands feeding the
model's channels in order (e.g. 4,3,2 for B4, B3, B2 of a Sentinel-2 stack); left empty, bands are
matched by their descriptions, or taken as 1..n when the raster has exactly the model's channels.</p>
<p>Tiles overlap by OVERLAP_PX (default: twice the model's edge margin + 16) and are blended with
smooth weights that ignore each tile's margin, so a fully convolutional model gives the same
probabilities as one run over the whole image, without seams; memory stays bounded (one row of
tiles) whatever the raster's size. No-data (and the zero borders of Sentinel-2 tiles) is filled
with the tile's mean before inference and masked after, so no candidate follows those borders.
MASK_LAYER polygons restrict the work to the tiles they touch; EXTENT to a rectangle.</p>
<p>DEVICE: auto uses onnxruntime's CUDA provider when onnxruntime-gpu is installed, else the CPU;
the log states which provider actually ran.</p>
"""


class SegmentAlgorithm(RockGlacierAlgorithm):
    ALGORITHM_ID = "segment"
    DISPLAY_NAME = "Map rock-glacier candidates (ONNX segmentation)"
    HELP = HELP
    REQUIRED_MODULES = RockGlacierAlgorithm.REQUIRED_MODULES + (("onnxruntime", "onnxruntime"),)

    def group(self) -> str:
        return "Deep-learning mapping"

    def groupId(self) -> str:  # noqa: N802
        return "deeplearning"

    def shortHelpString(self) -> str:  # noqa: N802
        card = os.path.join(os.path.dirname(DEFAULT_MODEL), "MODEL_CARD.html")
        if os.path.exists(card):
            with open(card, encoding="utf-8") as handle:
                return self.HELP + handle.read()
        return self.HELP + "<p><b>Default model:</b> none is shipped yet; give MODEL.</p>"

    def _advanced(self, parameter: QgsProcessingParameterDefinition) -> None:
        parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(parameter)

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Imagery (Sentinel-2 L2A, 8-bit RGB, VRT/JP2 mosaic)"))
        self.addParameter(QgsProcessingParameterString("BANDS", "Bands for the model's channels, in order (e.g. 4,3,2; empty = automatic)", "", optional=True))
        self.addParameter(QgsProcessingParameterFile("MODEL", "ONNX model (empty = the model shipped with the plugin)", extension="onnx", optional=True))
        self.addParameter(QgsProcessingParameterExtent("EXTENT", "Extent", optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource("MASK_LAYER", "Only where these polygons are", [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterNumber("THRESHOLD", "Probability threshold (empty = the model's)", QgsProcessingParameterNumber.Double, None, True, 0.0, 1.0))
        self.addParameter(QgsProcessingParameterNumber("MIN_AREA_KM2", "Minimum polygon area, km2", QgsProcessingParameterNumber.Double, 0.03, False, 0.0))
        self.addParameter(QgsProcessingParameterFeatureSource("EXISTING", "Existing inventory (for match_rg_id)", [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterString("ID_PREFIX", "Prefix of candidate rg_id values", "rg"))
        self.addParameter(QgsProcessingParameterEnum("DEVICE", "Device", DEVICES, defaultValue=0))
        self._advanced(QgsProcessingParameterNumber("TILE_SIZE_PX", "Tile size, pixels (0 = the model's)", QgsProcessingParameterNumber.Integer, 0, False, 0))
        self._advanced(QgsProcessingParameterNumber("OVERLAP_PX", "Tile overlap, pixels (empty = 2 x margin + 16)", QgsProcessingParameterNumber.Integer, None, True, 0))
        self._advanced(QgsProcessingParameterNumber("BATCH_SIZE", "Tiles per model call", QgsProcessingParameterNumber.Integer, 4, False, 1, 256))
        self.addParameter(QgsProcessingParameterRasterDestination("PROBABILITY", "Rock-glacier probability"))
        self.addParameter(QgsProcessingParameterRasterDestination("MASK", "Rock-glacier mask"))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Rock-glacier candidates", QgsProcessing.TypeVectorPolygon))

    def _optional(self, parameters: Dict[str, Any], name: str) -> bool:
        value = parameters.get(name)
        return value is not None and value != "" and not (hasattr(value, "isNull") and value.isNull())

    def run_algorithm(self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> Dict[str, Any]:
        from ..core.geometry import spatial_reference, transformed, transformer
        from ..core.identifiers import assign_ids
        from ..core.inventory import ROCK_GLACIER_LAYER
        from ..core.onnx_model import Device
        from ..core.polygons import candidates_from_mask
        from ..core.segmentation import SegmentSettings, segment_raster

        layer = self.parameterAsRasterLayer(parameters, "INPUT", context)
        raster_path = file_raster_path(layer, "input raster")
        model_path = self.parameterAsFile(parameters, "MODEL", context) or DEFAULT_MODEL
        if not os.path.exists(model_path):
            raise QgsProcessingException(
                f"No model at '{model_path}'. " + ("No default model is shipped with this version yet; " if model_path == DEFAULT_MODEL else "")
                + "give MODEL: an .onnx file exported with `python -m training export`."
            )
        bands = self._bands(self.parameterAsString(parameters, "BANDS", context), raster_path, model_path)
        extent = None
        if self._optional(parameters, "EXTENT"):
            rectangle = self.parameterAsExtent(parameters, "EXTENT", context, layer.crs())
            extent = (rectangle.xMinimum(), rectangle.yMinimum(), rectangle.xMaximum(), rectangle.yMaximum())
        mask_geometries = None
        mask_source = self.parameterAsSource(parameters, "MASK_LAYER", context)
        if mask_source is not None:
            to_raster = transformer(spatial_reference(mask_source.sourceCrs().toWkt(), "MASK_LAYER"), spatial_reference(layer.crs().toWkt(), "input raster"))
            from ..core.geometry import prepare_polygon

            mask_geometries = [g for g in (prepare_polygon(feature_wkb(f)).geometry for f in mask_source.getFeatures()) if g is not None]
            mask_geometries = [transformed(g, to_raster) for g in mask_geometries]
            if not mask_geometries:
                raise QgsProcessingException("MASK_LAYER has no polygon; draw the area to map or leave it empty.")
        settings = SegmentSettings(
            bands=tuple(bands),
            tile_px=self.parameterAsInt(parameters, "TILE_SIZE_PX", context) or None,
            overlap_px=self.parameterAsInt(parameters, "OVERLAP_PX", context) if self._optional(parameters, "OVERLAP_PX") else None,
            threshold=self.parameterAsDouble(parameters, "THRESHOLD", context) if self._optional(parameters, "THRESHOLD") else None,
            batch_size=self.parameterAsInt(parameters, "BATCH_SIZE", context),
            device=Device(DEVICES[self.parameterAsEnum(parameters, "DEVICE", context)]),
        )
        probability_path = self.parameterAsOutputLayer(parameters, "PROBABILITY", context)
        mask_path = self.parameterAsOutputLayer(parameters, "MASK", context)
        on_progress, is_cancelled = callbacks(feedback)
        feedback.setProgressText("Running the model over the tiles")
        run = segment_raster(raster_path, model_path, probability_path, mask_path, settings, extent, mask_geometries,
                             lambda f: on_progress(0.9 * f), is_cancelled, feedback.pushInfo)
        feedback.pushInfo(
            f"{run.tiles_run} tile(s) of {run.layout.tile_px} px (overlap {run.layout.overlap_px} px) on {run.provider}; "
            f"{run.tiles_skipped} skipped outside MASK_LAYER; model {run.model_seconds:.1f} s of {run.total_seconds:.1f} s; "
            f"threshold {run.threshold:g}."
        )
        existing = self.parameterAsSource(parameters, "EXISTING", context)
        existing_wkb = existing_ids = existing_crs = None
        if existing is not None:
            features = list(existing.getFeatures(QgsFeatureRequest(), QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks))
            has_id = existing.fields().lookupField("rg_id") >= 0
            existing_wkb = [feature_wkb(f) for f in features]
            existing_ids = [text_or_none(f["rg_id"]) if has_id else None for f in features]
            existing_crs = existing.sourceCrs().toWkt()
        feedback.setProgressText("Tracing candidate polygons")
        candidates, dropped = candidates_from_mask(
            mask_path, probability_path, self.parameterAsDouble(parameters, "MIN_AREA_KM2", context),
            existing_wkb, existing_ids, existing_crs, lambda f: on_progress(0.9 + 0.1 * f), is_cancelled,
        )
        feedback.pushInfo(f"{len(candidates)} candidate polygon(s); {dropped} smaller than MIN_AREA_KM2 dropped.")
        ids = assign_ids(list(existing_ids or []) + [None] * len(candidates), self.parameterAsString(parameters, "ID_PREFIX", context))[len(existing_ids or []):]
        from qgis.core import QgsFields

        fields, _ = inventory_fields(QgsFields(), ())
        parameters = gpkg_layer_destination(parameters, "OUTPUT", ROCK_GLACIER_LAYER)
        sink, dest_id = self.parameterAsSink(parameters, "OUTPUT", context, fields, QgsWkbTypes.MultiPolygon, layer.crs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        for rg_id, candidate in zip(ids, candidates):
            feature = QgsFeature(fields)
            geometry = QgsGeometry()
            geometry.fromWkb(candidate.geometry_wkb)
            geometry.convertToMultiType()
            feature.setGeometry(geometry)
            for name, value in (("rg_id", rg_id), ("source", "deep_learning"), ("review", "candidate"), ("area_km2", candidate.area_km2),
                                ("lon", candidate.lon), ("lat", candidate.lat), ("dl_prob_mean", candidate.dl_prob_mean),
                                ("match_rg_id", candidate.match_rg_id)):
                feature[name] = value
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
        return {"OUTPUT": dest_id, "PROBABILITY": probability_path, "MASK": mask_path}

    def _bands(self, text: str, raster_path: str, model_path: str) -> List[int]:
        from ..core.errors import ParameterError
        from ..core.onnx_model import load_model
        from ..core.rasters import open_raster

        if text.strip():
            return parse_bands(text)
        spec = load_model(model_path, "cpu").spec
        dataset = open_raster(raster_path, "input raster")
        descriptions = [dataset.GetRasterBand(i + 1).GetDescription().strip().upper() for i in range(dataset.RasterCount)]
        wanted = [name.upper() for name in spec.bands]
        if all(name in descriptions for name in wanted):
            return [descriptions.index(name) + 1 for name in wanted]
        if dataset.RasterCount == spec.in_channels:
            return list(range(1, spec.in_channels + 1))
        raise ParameterError(
            f"The raster has {dataset.RasterCount} bands and none is described as {', '.join(spec.bands)}; give BANDS, the "
            f"band numbers of {', '.join(spec.bands)} in that order (e.g. 4,3,2 in a Sentinel-2 stack of B1..B12)."
        )
