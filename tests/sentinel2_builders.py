"""Synthetic Sentinel-2 L2A data as users download it: stacks (uint16 DN with and without the processing
baseline 04.00 offset, float reflectance), SAFE folders (MTD_MSIL2A.xml with JPEG 2000 bands, zipped too) and
STAC items with COGs; and an "echo" ONNX model whose probability is one channel of the 8-bit values it is fed."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
from onnx import helper, numpy_helper
from osgeo import gdal

from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
from rockglacier_plugin.core.mapping.rendering import CHILE_CHIPS
from tests.builders import srs_from_epsg
from tests.onnx_builders import _save

EPSG = 32719  # UTM 19S, the training tile T19HDC
GT = (399960.0, 10.0, 0.0, 6900040.0, 0.0, -10.0)
BANDS = ("B02", "B03", "B04", "B08")
PRODUCT = "S2B_MSIL2A_20221010T144731_N0400_R082_T19HDC_20221010T190000"
GRANULE = "L2A_T19HDC_A038131_20221010T144648"


def l2a_reflectance(rows: int = 96, cols: int = 128, seed: int = 0) -> np.ndarray:
    """Bands B02, B03, B04, B08 of BOA reflectance: rock 0.1-0.3, dark shadow (blue a little negative, as Sen2Cor
    gives), snow 0.85-1.05 (clipped by the rendering), and a no-data border (NaN) as tile edges have."""
    rng = np.random.default_rng(seed)
    rho = np.empty((4, rows, cols))
    base = 0.12 + 0.15 * rng.random((rows, cols))
    for index, gain in enumerate((0.8, 0.95, 1.05, 1.4)):
        rho[index] = base * gain + 0.01 * rng.standard_normal((rows, cols))
    rho[:, : rows // 4, : cols // 4] = rng.uniform(0.85, 1.05, (4, rows // 4, cols // 4))  # snow
    rho[:, rows - rows // 5 :, cols - cols // 5 :] = rng.uniform(-0.02, 0.03, (4, rows // 5, cols // 5))  # shadow
    rho[:, :, :3] = np.nan  # no-data columns at the tile's edge
    return rho


def dn_from_reflectance(rho: np.ndarray, add_offset_dn: float) -> np.ndarray:
    """What an L2A file stores: DN = rho x 10000 - BOA_ADD_OFFSET (1 at least; 0 is no-data)."""
    dn = np.round(rho * 10000.0 - add_offset_dn)
    return np.where(np.isfinite(rho), np.clip(dn, 1, 65534), 0).astype(np.uint16)


def reflectance_from_dn(dn: np.ndarray, add_offset_dn: float) -> np.ndarray:
    return (dn.astype(np.float64) + add_offset_dn) / 10000.0


def expected_8bit(dn: np.ndarray, add_offset_dn: float) -> np.ndarray:
    """The shipped model's training rendering, written out independently: floor(255 clip(rho + 0.1, 0, 1))."""
    rho = reflectance_from_dn(dn, add_offset_dn)
    return np.floor(255.0 * np.clip(rho + 0.1, 0.0, 1.0)).astype(np.int64)


def write_stack(
    path: Path, bands: np.ndarray, dtype: int = gdal.GDT_UInt16, nodata: float = 0.0, descriptions=("B04", "B03", "B02")
) -> Path:
    """A stack (bands first) with band descriptions, as a user makes with gdal_merge or QGIS."""
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), bands.shape[2], bands.shape[1], bands.shape[0], dtype)
    dataset.SetGeoTransform(GT)
    dataset.SetProjection(srs_from_epsg(EPSG).ExportToWkt())
    for index, values in enumerate(bands, start=1):
        band = dataset.GetRasterBand(index)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        if descriptions:
            band.SetDescription(descriptions[index - 1])
        band.WriteArray(values)
    dataset = None
    return Path(path)


def _jp2(path: Path, values: np.ndarray) -> None:
    memory = gdal.GetDriverByName("MEM").Create("", values.shape[1], values.shape[0], 1, gdal.GDT_UInt16)
    memory.SetGeoTransform(GT)
    memory.SetProjection(srs_from_epsg(EPSG).ExportToWkt())
    memory.GetRasterBand(1).WriteArray(values)
    gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(str(path), memory, options=["QUALITY=100", "REVERSIBLE=YES"])


def _mtd(baseline: str, add_offset_dn: float, files: list[str]) -> str:
    offsets = (
        ""
        if float(baseline) < 4
        else (
            "<BOA_ADD_OFFSET_VALUES_LIST>"
            + "".join(f'<BOA_ADD_OFFSET band_id="{i}">{add_offset_dn:g}</BOA_ADD_OFFSET>' for i in range(13))
            + "</BOA_ADD_OFFSET_VALUES_LIST>"
        )
    )
    spectral = "".join(
        f'<Spectral_Information bandId="{i}" physicalBand="{name}"/>'
        for i, name in enumerate(["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"])
    )
    images = "".join(f"<IMAGE_FILE>{f}</IMAGE_FILE>" for f in files)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">'
        f"<n1:General_Info><Product_Info><PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE><PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>"
        f'<Product_Organisation><Granule_List><Granule imageFormat="JPEG2000">{images}</Granule></Granule_List>'
        "</Product_Organisation></Product_Info><Product_Image_Characteristics>"
        "<Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>"
        "<Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>"
        '<QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>'
        '<AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE></QUANTIFICATION_VALUES_LIST>'
        f"{offsets}<Spectral_Information_List>{spectral}</Spectral_Information_List>"
        "</Product_Image_Characteristics></n1:General_Info></n1:Level-2A_User_Product>"
    )


def write_safe(folder: Path, rho: np.ndarray, baseline: str = "05.09", zipped: bool = False, tif_bands: bool = False) -> Path:
    """An L2A SAFE product (MTD_MSIL2A.xml and 10 m JPEG 2000 bands B02, B03, B04, B08, plus a 20 m B02 the reader
    must not take); the folder, or its zip. ``tif_bands``: GeoTIFF bands, as Esri's SAFE products have."""
    add_offset = -1000.0 if float(baseline) >= 4 else 0.0
    safe = folder / f"{PRODUCT}.SAFE"
    r10 = safe / "GRANULE" / GRANULE / "IMG_DATA" / "R10m"
    r20 = safe / "GRANULE" / GRANULE / "IMG_DATA" / "R20m"
    r10.mkdir(parents=True)
    r20.mkdir(parents=True)
    files = []
    for index, band in enumerate(BANDS):
        stem = f"T19HDC_20221010T144731_{band}_10m"
        if tif_bands:
            write_stack(r10 / f"{stem}.tif", dn_from_reflectance(rho[index], add_offset)[None], descriptions=None)
        else:
            _jp2(r10 / f"{stem}.jp2", dn_from_reflectance(rho[index], add_offset))
        files.append(f"GRANULE/{GRANULE}/IMG_DATA/R10m/{stem}")
    _jp2(r20 / "T19HDC_20221010T144731_B02_20m.jp2", np.ones((8, 8), dtype=np.uint16))
    files.append(f"GRANULE/{GRANULE}/IMG_DATA/R20m/T19HDC_20221010T144731_B02_20m")
    (safe / "MTD_MSIL2A.xml").write_text(_mtd(baseline, add_offset, files), encoding="utf-8")
    if not zipped:
        return safe
    archive = folder / f"{PRODUCT}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as handle:
        for root, _, names in os.walk(safe):
            for name in names:
                full = os.path.join(root, name)
                handle.write(full, os.path.relpath(full, folder))
    shutil.rmtree(safe)
    return archive


def write_stac_item(folder: Path, rho: np.ndarray) -> Path:
    """A STAC item (Earth Search style: assets red/green/blue/nir, raster:bands scale 0.0001, offset -0.1) and its COGs."""
    folder.mkdir(parents=True, exist_ok=True)
    assets = {}
    for index, (band, key) in enumerate(zip(BANDS, ("blue", "green", "red", "nir"))):
        path = write_stack(folder / f"{band}.tif", dn_from_reflectance(rho[index], -1000.0)[None], descriptions=None)
        assets[key] = {
            "href": f"./{band}.tif",
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "raster:bands": [{"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -0.1}],
        }
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": PRODUCT,
        "properties": {"s2:processing_baseline": "05.09"},
        "assets": assets,
        "geometry": None,
        "links": [],
    }
    path = folder / "item.json"
    path.write_text(json.dumps(item), encoding="utf-8")
    return path


def echo_model(path: Path, channel: int = 0, rendering=CHILE_CHIPS) -> Path:
    """probability = channel ``channel`` of the input scaled to 0-1 (mean 0, std 1): the 8-bit value the model is
    fed, over 255, so a probability raster shows what the model saw."""
    spec = ModelSpec(
        margin_px=0,
        bands=("B4", "B3", "B2"),
        rendering=rendering,
        standardization_mean=(0.0, 0.0, 0.0),
        standardization_std=(1.0, 1.0, 1.0),
    )
    nodes = [helper.make_node("Slice", ["input", "starts", "ends", "axes"], ["output"])]
    inits = [
        numpy_helper.from_array(np.array([channel], dtype=np.int64), "starts"),
        numpy_helper.from_array(np.array([channel + 1], dtype=np.int64), "ends"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
    ]
    return _save(nodes, inits, path, spec)
