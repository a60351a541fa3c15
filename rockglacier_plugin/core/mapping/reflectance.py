"""Surface reflectance from a Sentinel-2 L2A raster's stored values, as the product says, never guessed.

L2A products store ``DN = (rho x BOA_QUANTIFICATION_VALUE) - BOA_ADD_OFFSET``: ``rho = (DN + BOA_ADD_OFFSET) /
BOA_QUANTIFICATION_VALUE`` (ESA, Sentinel-2 L2A product format; the quantification value is 10000, the
offset -1000 from processing baseline 04.00, January 2022, and in every reprocessed product; 0 before).
Written as ``rho = DN x scale + offset`` (GDAL's and STAC ``raster:bands``' convention), a ``Calibration``
per band, taken in this order:

1. the user's ``L2A_ADD_OFFSET`` (and ``L2A_QUANTIFICATION``, default 10000), which must agree with any
   metadata the file has;
2. the band's GDAL offset/scale (``gdal_edit.py -offset -0.1 -scale 0.0001``, COGs that carry them, the VRT
   ``sentinel2_product`` builds from a SAFE folder or STAC item);
3. ``BOA_ADD_OFFSET``/``BOA_QUANTIFICATION_VALUE`` metadata items on the band or the dataset;
4. the product's ``MTD_MSIL2A.xml`` in the raster's folder or above it (bands kept inside the SAFE structure);
5. a float raster whose values lie within 0-2 is reflectance already (scale 1, offset 0), and says so.

Anything else (a uint16 stack without metadata) stops with what to give.
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import InputRasterError, ParameterError
from .calibration import L2A_QUANTIFICATION, Calibration

__all__ = ["L2A_QUANTIFICATION", "Calibration"]  # (their home is calibration.py; re-exported for callers)

#: Largest value a float raster may hold to be taken as reflectance (0-1, snow and glint a little above).
MAX_FLOAT_REFLECTANCE = 2.0


def _number(text: Any) -> Optional[float]:
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _from_gdal_offset_scale(band: Any) -> Optional[Calibration]:
    scale, offset = band.GetScale(), band.GetOffset()
    if scale in (None, 1.0) and offset in (None, 0.0):
        return None
    source = band.GetMetadataItem("REFLECTANCE_SOURCE") or "the band's GDAL offset/scale"
    return Calibration(float(scale if scale is not None else 1.0), float(offset or 0.0), source)


def _from_metadata_items(band: Any, dataset: Any) -> Optional[Calibration]:
    for where, metadata in (("band", band.GetMetadata() or {}), ("dataset", dataset.GetMetadata() or {})):
        items = {k.upper(): v for k, v in metadata.items()}
        offset = _number(items.get("BOA_ADD_OFFSET"))
        if offset is not None:
            quantification = _number(items.get("BOA_QUANTIFICATION_VALUE")) or L2A_QUANTIFICATION
            return Calibration.from_l2a(offset, quantification, f"the {where}'s BOA_ADD_OFFSET metadata")
    return None


def _from_product_metadata(path: str, band_name: str) -> Optional[Calibration]:
    from .sentinel2_product import read_product_metadata

    folder = os.path.dirname(os.path.abspath(path))
    for _ in range(7):  # IMG_DATA/R10m -> IMG_DATA -> granule -> GRANULE -> SAFE root
        candidate = os.path.join(folder, "MTD_MSIL2A.xml")
        if os.path.isfile(candidate):
            return read_product_metadata(candidate).calibration(band_name)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return None


def _sample_max(dataset: Any, band_index: int) -> float:
    band = dataset.GetRasterBand(band_index)
    step = max(1, max(dataset.RasterXSize, dataset.RasterYSize) // 256)
    values = band.ReadAsArray(
        0,
        0,
        dataset.RasterXSize,
        dataset.RasterYSize,
        buf_xsize=max(1, dataset.RasterXSize // step),
        buf_ysize=max(1, dataset.RasterYSize // step),
    ).astype(np.float64)
    nodata = band.GetNoDataValue()
    if nodata is not None:
        values = values[values != nodata]
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else 0.0


def stated_calibration(dataset: Any, path: str, band_index: int, band_name: str) -> Optional[Calibration]:
    """The calibration the raster or its product states for one band (2-4 of the module docstring), None when none."""
    band = dataset.GetRasterBand(band_index)
    return _from_gdal_offset_scale(band) or _from_metadata_items(band, dataset) or _from_product_metadata(path, band_name)


def looks_like_8bit(dataset: Any, bands: Sequence[int]) -> bool:
    """Imagery of 0-255 values stored in a wider type (a float export of an RGB image): no calibration stated and no
    value above 255, but not a float raster of reflectance (0-2)."""
    from osgeo import gdal

    maxima = [_sample_max(dataset, b) for b in bands]
    floats = all(gdal.GetDataTypeName(dataset.GetRasterBand(b).DataType).startswith("Float") for b in bands)
    return max(maxima) <= 255.0 and not (floats and max(maxima) <= MAX_FLOAT_REFLECTANCE)


def band_calibration(dataset: Any, path: str, band_index: int, band_name: str, given: Optional[Calibration]) -> Calibration:
    """The calibration of one band (see the module docstring for the order)."""
    from osgeo import gdal

    band = dataset.GetRasterBand(band_index)
    found = stated_calibration(dataset, path, band_index, band_name)
    if given is not None:
        if found is not None and not found.agrees(given):
            raise ParameterError(
                f"L2A_ADD_OFFSET={given.add_offset_dn:g} contradicts {found.source} (offset {found.add_offset_dn:g} DN, "
                f"quantification {1 / found.scale:g}) of band {band_index}: leave L2A_ADD_OFFSET empty to use the product's own."
            )
        return given
    if found is not None:
        return found
    is_float = gdal.GetDataTypeName(band.DataType).startswith("Float")
    if is_float and _sample_max(dataset, band_index) <= MAX_FLOAT_REFLECTANCE:
        return Calibration(1.0, 0.0, "float values within 0-2, read as reflectance")
    raise InputRasterError(
        f"'{os.path.basename(path)}' holds Sentinel-2 L2A digital numbers without saying their offset: give L2A_ADD_OFFSET "
        "(BOA_ADD_OFFSET of the product's MTD_MSIL2A.xml: -1000 for processing baseline 04.00 and later, i.e. acquisitions "
        "since 25 January 2022 and all reprocessed products; 0 for older baselines), or give the SAFE folder, its "
        "MTD_MSIL2A.xml or its STAC item as INPUT, which say it."
    )


def raster_calibrations(
    dataset: Any, path: str, bands: Sequence[int], band_names: Sequence[str], given: Optional[Calibration]
) -> list[Calibration]:
    """One calibration per band used, in ``bands``' order."""
    return [band_calibration(dataset, path, band, name, given) for band, name in zip(bands, band_names)]


def given_calibration(add_offset_dn: Optional[float], quantification: Optional[float]) -> Optional[Calibration]:
    """The user's L2A_ADD_OFFSET/L2A_QUANTIFICATION as a calibration (None when no offset is given)."""
    if add_offset_dn is None:
        if quantification is not None:
            raise ParameterError("L2A_QUANTIFICATION goes with L2A_ADD_OFFSET: give both, or neither.")
        return None
    quantification = L2A_QUANTIFICATION if quantification is None else quantification
    if quantification <= 0:
        raise ParameterError(f"L2A_QUANTIFICATION={quantification:g}: give the product's BOA_QUANTIFICATION_VALUE (10000).")
    return Calibration.from_l2a(add_offset_dn, quantification, "L2A_ADD_OFFSET")
