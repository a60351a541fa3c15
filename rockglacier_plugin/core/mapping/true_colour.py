"""True-colour images are display products, never the model's rendering: found, and turned back into reflectance.

What users download first is often a true-colour image, whose 8-bit or float values are a display stretch of the
reflectance, not the rendering the model learnt (``rendering``): fed as they are, a model sees other numbers (on the
issue's scene the probability moved by up to 0.999). Each is recognised by what it says of itself and read back as
reflectance with its documented gain, then rendered as the model's training imagery was:

- **ESA TCI** (``*_TCI_10m.jp2`` of a SAFE, Earth Search's ``visual`` asset ``TCI.tif``): 8-bit, reflectance 0-0.2
  (0-2000 in L2A digital numbers) stretched to 1-255, 0 = no data (ESA, Sentinel-2 L2A product specification, TCI).
  rho = (v - 1) x 0.2 / 254; every reflectance of 0.2 or more is 255.
- **Copernicus Browser / EO Browser "True color" exports** (file names ``..._True_color.tiff``): Sentinel Hub's true-colour
  script, 2.5 x reflectance, saved as 8-bit (x 255), 16-bit (x 65535) or 32-bit float (as is), clipped at 1, often with
  an alpha band. rho = v / (2.5 x full scale); every reflectance of 0.4 or more is at full scale.

Saturated pixels (at full scale) hold only "at least" that reflectance. Their share is reported; above
``MAX_SATURATED_SHARE`` the image is refused with what to download instead (the L2A bands B02, B03, B04).
A plain 8-bit RGB that names itself as none of these is taken as the model's rendering, as before.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import InputRasterError
from .calibration import Calibration

#: Above this share of saturated valid pixels a true-colour image is refused; above WARN_SATURATED_SHARE it is said.
MAX_SATURATED_SHARE = 0.25
WARN_SATURATED_SHARE = 0.02
#: Sentinel Hub's true-colour gain (its "True color" script: 2.5 x B04, B03, B02).
SENTINEL_HUB_GAIN = 2.5
#: ESA's TCI: reflectance 0 to this value spread over 1-255.
TCI_MAX_REFLECTANCE = 0.2
DOWNLOAD_INSTEAD = (
    "download the Sentinel-2 L2A reflectance instead: the SAFE product (its zip, as the Copernicus Browser "
    "gives it), its B02, B03, B04 bands, or the STAC item (Earth Search, Planetary Computer, Copernicus Data "
    "Space), which rockglacier:segment reads directly"
)


@dataclass(frozen=True)
class TrueColour:
    """A recognised true-colour image: what it is, how its values map back to reflectance, and its full-scale value."""

    kind: str
    calibration: Calibration
    full_scale: float


def _full_scale(data_type: str) -> float:
    return {"Byte": 255.0, "UInt16": 65535.0}.get(data_type, 1.0)


def recognise(path: str, dataset: Any, bands: Sequence[int]) -> Optional[TrueColour]:
    """The true-colour kind of the raster at ``path`` from its name and tags (module docstring), or None."""
    from osgeo import gdal

    name = os.path.basename(path).lower()
    data_type = gdal.GetDataTypeName(dataset.GetRasterBand(bands[0]).DataType)
    tags = " ".join(str(v) for v in (dataset.GetMetadata() or {}).values()).lower()
    if re.search(r"(^|[_\-.])tci([_\-.]|$)", name) or ":tci:" in path.lower():
        if data_type != "Byte":
            return None
        scale = TCI_MAX_REFLECTANCE / 254.0
        return TrueColour(
            "ESA true-colour image (TCI: reflectance 0-0.2 as 1-255)", Calibration(scale, -scale, "ESA's TCI stretch"), 255.0
        )
    if re.search(r"true[ _-]?colou?r", name) or re.search(r"true[ _-]?colou?r", tags):
        full = _full_scale(data_type)
        gain = SENTINEL_HUB_GAIN * full
        return TrueColour(
            f"Copernicus Browser / EO Browser true-colour export ({data_type}: {SENTINEL_HUB_GAIN:g} x reflectance"
            f"{'' if full == 1.0 else f' x {full:g}'})",
            Calibration(1.0 / gain, 0.0, f"Sentinel Hub's true-colour gain {SENTINEL_HUB_GAIN:g}"),
            full,
        )
    return None


def saturated_share(dataset: Any, bands: Sequence[int], full_scale: float, sample_px: int = 1024) -> float:
    """Share of valid pixels (not 0 / no-data / alpha 0) at full scale in any band, on a subsample."""
    width, height = dataset.RasterXSize, dataset.RasterYSize
    step = max(1, -(-max(width, height) // sample_px))
    size = dict(buf_xsize=max(1, width // step), buf_ysize=max(1, height // step))
    values = np.stack([dataset.GetRasterBand(b).ReadAsArray(0, 0, width, height, **size).astype(np.float64) for b in bands])
    valid = np.all(np.isfinite(values), axis=0) & np.any(values > 0, axis=0)
    if dataset.RasterCount > len(bands):  # an alpha band: 0 where there is no image
        from osgeo import gdal

        for index in range(1, dataset.RasterCount + 1):
            if dataset.GetRasterBand(index).GetColorInterpretation() == gdal.GCI_AlphaBand:
                valid &= dataset.GetRasterBand(index).ReadAsArray(0, 0, width, height, **size) > 0
    if not valid.any():
        return 0.0
    saturated = np.any(values >= full_scale - 1e-6 * full_scale, axis=0) & valid
    return float(saturated.sum() / valid.sum())


def true_colour_calibrations(path: str, dataset: Any, bands: Sequence[int]) -> Optional[tuple[list[Calibration], str]]:
    """For a true-colour image: its bands' calibrations back to reflectance and the log line; refused (InputRasterError)
    when too much of it is saturated; None for any other raster."""
    found = recognise(path, dataset, bands)
    if found is None:
        return None
    share = saturated_share(dataset, bands, found.full_scale)
    ceiling = found.full_scale * found.calibration.scale + found.calibration.offset
    if share > MAX_SATURATED_SHARE:
        raise InputRasterError(
            f"'{os.path.basename(path)}' is a {found.kind}: a display image, not reflectance, and {100 * share:.0f} % of it is "
            f"saturated (reflectance {ceiling:.2f} or more, where rock glaciers and snow lie), above the "
            f"{100 * MAX_SATURATED_SHARE:g} % "
            f"this tool accepts. To map from it, {DOWNLOAD_INSTEAD}."
        )
    note = (
        f"'{os.path.basename(path)}' is a {found.kind}, not the model's rendering: read back as reflectance "
        f"(rho = {found.calibration.describe()}), then rendered as the model's training imagery was; {100 * share:.1f} % of "
        f"its pixels are saturated (reflectance {ceiling:.2f} or more, known only as at least that)"
    )
    if share > WARN_SATURATED_SHARE:
        note = "Warning: " + note + f". For results as on reflectance, {DOWNLOAD_INSTEAD}"
    return [found.calibration] * len(bands), note + "."
