"""The model's pixel size belongs to the model: an input at another pixel size is resampled to it for the model, and the
results come back on the input's grid.

A model learns landforms at one pixel size (the shipped one: Sentinel-2's 10 m, ``rockglacier:pixel_size_m``, or
Deepness's ``resolution`` in cm/px): a 20 m stack shows it landforms at half their size, a 6.8 m export at 1.5 times.
The rule, on the input's pixel size at its centre row (metres, also for a geographic CRS):

- within ``AS_IS_TOLERANCE`` of the model's (0.87-1.15 x): run as is;
- up to ``MAX_RATIO`` times finer or coarser: resampled on the fly to the model's pixel size (a GDAL warped VRT:
  ``average`` when the input is finer, ``bilinear`` when it is coarser), the model run there, and the probability
  warped back onto the input's grid (bilinear) and thresholded there, so every output lies on the input's grid;
- beyond: refused, with the pixel sizes and what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..errors import ParameterError
from ..raster.io import RasterGrid
from ..raster.pixel_size import row_pixel_sizes_m
from ..raster.windows import Window

#: Relative difference from the model's pixel size within which the input runs as is.
AS_IS_TOLERANCE = 0.15
#: Inputs more than this many times finer or coarser than the model's pixels are refused.
MAX_RATIO = 3.0


@dataclass(frozen=True)
class PixelPlan:
    """What to do with the input's pixel size: run ``as_is``, or resample by ``factor`` (model px / input px)."""

    input_m: float
    model_m: Optional[float]
    as_is: bool
    note: str

    @property
    def factor(self) -> float:
        """The model's pixel size over the input's (1 when the model states none)."""
        return (self.model_m or self.input_m) / self.input_m


def model_pixel_size_m(spec: Any) -> Optional[float]:
    """The model's pixel size in metres: ``rockglacier:pixel_size_m``, else Deepness's ``resolution`` (cm/px)."""
    if getattr(spec, "pixel_size_m", None):
        return float(spec.pixel_size_m)
    return float(spec.resolution_cm_per_px) / 100.0 if spec.resolution_cm_per_px else None


def pixel_plan(grid: RasterGrid, spec: Any) -> PixelPlan:
    """The plan for an input on ``grid`` and a model of ``spec`` (module docstring); ParameterError beyond MAX_RATIO."""
    dx_m, dy_m = row_pixel_sizes_m(grid, Window(0, grid.height_px // 2, 1, 1))
    input_m = float(np.sqrt(abs(dx_m[0] * dy_m[0])))
    model_m = model_pixel_size_m(spec)
    if model_m is None:
        return PixelPlan(input_m, None, True, f"Pixels of {input_m:.1f} m; the model does not state its pixel size: run as is.")
    ratio = input_m / model_m
    if abs(ratio - 1.0) <= AS_IS_TOLERANCE:
        return PixelPlan(input_m, model_m, True, f"Pixels of {input_m:.1f} m, the model's {model_m:g} m: run as is.")
    if ratio > MAX_RATIO or ratio < 1.0 / MAX_RATIO:
        raise ParameterError(
            f"The raster's pixels are {input_m:.1f} m, the model learnt landforms at {model_m:g} m ({ratio:.2f} times): beyond "
            f"{MAX_RATIO:g} times the landforms look too unlike what it saw. Give imagery at {model_m / MAX_RATIO:.1f}-"
            f"{model_m * MAX_RATIO:.0f} m (Sentinel-2's 10 m bands for the shipped model), or a model trained at this pixel size."
        )
    method = "average" if ratio < 1.0 else "bilinear"
    return PixelPlan(
        input_m,
        model_m,
        False,
        f"Pixels of {input_m:.1f} m, the model's {model_m:g} m ({ratio:.2f} times): the input is resampled to "
        f"{model_m:g} m for the model ({method}), and the probability brought back onto the input's grid (bilinear).",
    )


def resampled_input(raster_path: str, plan: PixelPlan, folder: str) -> str:
    """A warped VRT of the raster at the model's pixel size, in ``folder``, carrying each band's description, no-data,
    offset/scale and metadata (the calibration a product stated, ``reflectance``); its name keeps the input's."""
    from osgeo import gdal

    from .reflectance import stated_calibration

    source = gdal.Open(raster_path)
    g = source.GetGeoTransform()
    target = os.path.join(folder, os.path.basename(raster_path) + f".at_{plan.model_m:g}m.vrt")
    method = "average" if plan.factor > 1.0 else "bilinear"
    warped = gdal.Warp(
        target,
        source,
        format="VRT",
        xRes=abs(g[1]) * plan.factor,
        yRes=abs(g[5]) * plan.factor,
        resampleAlg=method,
        multithread=False,
    )
    for index in range(1, source.RasterCount + 1):
        band, out = source.GetRasterBand(index), warped.GetRasterBand(index)
        out.SetDescription(band.GetDescription())
        out.SetColorInterpretation(band.GetColorInterpretation())
        calibration = stated_calibration(source, raster_path, index, band.GetDescription())
        if calibration is not None:
            out.SetScale(calibration.scale)
            out.SetOffset(calibration.offset)
            out.SetMetadataItem("REFLECTANCE_SOURCE", calibration.source)
        for key, value in (band.GetMetadata() or {}).items():
            out.SetMetadataItem(key, value)
    warped.SetMetadata(source.GetMetadata() or {})
    warped = None
    return target


def probability_on_grid(probability_path: str, grid: RasterGrid, region: Window) -> np.ndarray:
    """The model-grid probability warped (bilinear) onto ``region`` of the input's grid; -1 where it has no data."""
    from osgeo import gdal

    g = grid.geotransform
    x0, y0 = g[0] + region.col_off * g[1], g[3] + region.row_off * g[5]
    bounds = (x0, y0 + region.height_px * g[5], x0 + region.width_px * g[1], y0)
    warped = gdal.Warp(
        "",
        probability_path,
        format="MEM",
        outputBounds=bounds,
        width=region.width_px,
        height=region.height_px,
        resampleAlg="bilinear",
        srcNodata=-1.0,
        dstNodata=-1.0,
    )
    return warped.GetRasterBand(1).ReadAsArray().astype(np.float32)
