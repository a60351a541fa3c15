"""How a raster's values become the model's input: the bands checked against the model, 8-bit imagery as is, and
L2A reflectance (or a true-colour display image) rendered as the model's training imagery was (``reflectance``,
``rendering``, ``true_colour``)."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import InputRasterError, ParameterError
from .model_metadata import ScalingKind
from .onnx_model import SegmentationModel
from .plausibility import check_offset
from .reflectance import Calibration, looks_like_8bit, raster_calibrations, stated_calibration
from .true_colour import true_colour_calibrations


def check_input(dataset: Any, bands: Sequence[int], model: SegmentationModel, log: Callable[[str], None]) -> None:
    """Refuse imagery the model cannot take (bands out of range, too few bands); log what will be fed to it."""
    if len(bands) != model.spec.in_channels:
        raise ParameterError(
            f"BANDS lists {len(bands)} band(s) but the model takes {model.spec.in_channels} channels "
            f"({', '.join(model.spec.bands)}); give {model.spec.in_channels} band numbers, e.g. "
            f"{','.join(str(i + 1) for i in range(model.spec.in_channels))}."
        )
    for band in bands:
        if not 1 <= band <= dataset.RasterCount:
            raise InputRasterError(
                f"The raster has {dataset.RasterCount} band(s); BANDS asks for band {band}. For Sentinel-2 give the "
                "bands holding B4, B3, B2 (red, green, blue) in that order."
            )


Converter = Callable[[np.ndarray], np.ndarray]


def is_8bit(dataset: Any, bands: Sequence[int]) -> bool:
    """Whether the chosen bands are 8-bit (Byte), taken as already rendered."""
    from osgeo import gdal

    return all(gdal.GetDataTypeName(dataset.GetRasterBand(b).DataType) == "Byte" for b in bands)


def input_converter(
    dataset: Any, path: str, bands: Sequence[int], spec: Any, given: Optional[Calibration], log: Callable[[str], None]
) -> Optional[Converter]:
    """How the raster's values become what the model takes: None for 8-bit imagery (as is) and models that
    scale raw values themselves; for L2A reflectance and a model that states its rendering, reflectance from
    the product's calibration (``reflectance``) rendered as the model's training imagery was (``rendering``)."""
    from osgeo import gdal

    kind = spec.input_scaling.kind
    if kind == ScalingKind.REFLECTANCE:
        if is_8bit(dataset, bands):
            log(
                "Warning: the model expects reflectance (e.g. Sentinel-2 L2A, 0-10000) but the raster is 8-bit; "
                "values are scaled as reflectance anyway."
            )
        return None
    true_colour = true_colour_calibrations(path, dataset, bands)  # a display image is never the model's rendering
    if true_colour is not None:
        if spec.rendering is None:
            raise InputRasterError(
                f"'{os.path.basename(path)}' is a true-colour display image, and the model does not say how its "
                "training imagery was made from reflectance (no rockglacier:rendering): give the imagery the "
                "model's author used, or use a model that states its rendering (the shipped model does)."
            )
        calibrations, note = true_colour
        log(note)
        return rendered(calibrations, spec.rendering)
    if is_8bit(dataset, bands):
        return None
    names = [spec.rendering.bands[i] if spec.rendering and i < len(spec.rendering.bands) else "" for i in range(len(bands))]
    stated = given is not None or any(stated_calibration(dataset, path, b, n) for b, n in zip(bands, names))
    if not stated and looks_like_8bit(dataset, bands):
        return None  # 0-255 values in a wider type: 8-bit imagery as before
    data_type = gdal.GetDataTypeName(dataset.GetRasterBand(bands[0]).DataType)
    if spec.rendering is None:
        raise InputRasterError(
            f"The raster is {data_type} (Sentinel-2 L2A reflectance?), but the model takes 8-bit imagery and does not say how "
            "its training imagery was made from reflectance (its metadata has no rockglacier:rendering). Give 8-bit imagery "
            "rendered as the model's author did, or a model that states its rendering (the shipped model does)."
        )
    calibrations = raster_calibrations(dataset, path, bands, names, given)
    rendering = spec.rendering
    log(
        f"{data_type} reflectance rendered to 8-bit as the model's training imagery was: rho = {calibrations[0].describe()}; "
        f"8-bit = {rendering.describe()} ({rendering.source}, the rendering in the model's metadata; its model card says where "
        "it "
        "comes from)."
    )
    warning = check_offset(dataset, bands, calibrations, user_given=given is not None)  # stops on an offset taken twice
    if warning:
        log(warning)
    return rendered(calibrations, rendering)


def rendered(calibrations: Sequence[Calibration], rendering: Any) -> Converter:
    """Stored values -> reflectance (one calibration per band) -> the model's 8-bit rendering."""

    def convert(raw: np.ndarray) -> np.ndarray:
        reflectance = np.stack([c.reflectance(raw[i]) for i, c in enumerate(calibrations)])
        return rendering.to_8bit(reflectance)

    return convert
