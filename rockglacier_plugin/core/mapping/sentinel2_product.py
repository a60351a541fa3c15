"""Sentinel-2 L2A products as users download them -> one raster of the bands a model needs.

Accepted: the product's ``.SAFE`` folder, its ``MTD_MSIL2A.xml``, the ``.zip`` as downloaded (read in place
through GDAL's /vsizip/), or a STAC item (``.json``) whose assets are the band files (local paths, relative
to the item, or URLs GDAL can read). The bands are found by name (B04, B03, B02 at 10 m; STAC assets ``red``,
``green``, ``blue`` or ``B04``...), and a VRT is written that stacks them in the asked order, each band
described by its name and carrying the product's calibration as GDAL offset/scale (``rho = DN x scale +
offset``; ``reflectance``) and its no-data value: from then on it is a raster like any other, its
metadata saying everything the product said.

MTD_MSIL2A.xml (ESA, Sentinel-2 Products Specification Document, Level-2A): ``PROCESSING_BASELINE``,
``Product_Organisation/.../IMAGE_FILE`` (paths without extension), ``BOA_QUANTIFICATION_VALUE``,
``BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET[@band_id]`` (from baseline 04.00; band ids as in
``Spectral_Information[@bandId, @physicalBand]``: B1 = 0 ... B8A = 8 ... B12 = 12), and the ``NODATA`` special
value (0). Products of older baselines have no offset list: their offset is 0, as the format states.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ElementTree
import zipfile
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..errors import InputRasterError
from .calibration import L2A_QUANTIFICATION, Calibration

#: MTD band ids of the physical bands (the order of Spectral_Information_List in every L2A product).
STANDARD_BAND_IDS = {"B01": 0, "B02": 1, "B03": 2, "B04": 3, "B05": 4, "B06": 5, "B07": 6, "B08": 7, "B8A": 8, "B09": 9,
                     "B10": 10, "B11": 11, "B12": 12}
#: STAC asset keys of the visible bands (Earth Search uses common names, Planetary Computer band ids).
STAC_ASSETS = {"B04": ("red", "B04", "b04"), "B03": ("green", "B03", "b03"), "B02": ("blue", "B02", "b02"),
               "B08": ("nir", "B08", "b08")}
PRODUCT_SUFFIXES = (".safe", ".zip", ".json", "mtd_msil2a.xml")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _band_key(name: str) -> str:
    """'B4', 'B04', 'b04' -> 'B04'; 'B8A' stays."""
    match = re.fullmatch(r"[Bb]0?(\d{1,2})([Aa]?)", name.strip())
    return f"B{int(match.group(1)):02d}{match.group(2).upper()}" if match else name.strip().upper()


@dataclass
class ProductMetadata:
    """What MTD_MSIL2A.xml says that matters here."""

    path: str  # of the XML (a /vsizip/ path for a zip)
    baseline: Optional[str]
    quantification: float
    add_offsets_dn: dict[str, float]  # per band (B02...), empty before baseline 04.00
    image_files: dict[str, str] = field(default_factory=dict)  # band at 10 m (else its finest) -> path without extension
    nodata: float = 0.0

    def calibration(self, band: str) -> Calibration:
        key = _band_key(band)
        if not self.add_offsets_dn and self.baseline is not None and float(self.baseline) >= 4.0:
            raise InputRasterError(f"'{self.path}' says processing baseline {self.baseline} but lists no BOA_ADD_OFFSET: the "
                                   "file is incomplete. Give L2A_ADD_OFFSET (-1000 for baseline 04.00 and later).")
        offset = self.add_offsets_dn.get(key, 0.0)
        where = (f"MTD_MSIL2A.xml (baseline {self.baseline}, BOA_ADD_OFFSET {offset:g})" if self.add_offsets_dn else
                 f"MTD_MSIL2A.xml (baseline {self.baseline}: no offset)")
        return Calibration.from_l2a(offset, self.quantification, where)


def _read_xml(path: str) -> ElementTree.Element:
    from osgeo import gdal

    if path.startswith("/vsi"):
        handle = gdal.VSIFOpenL(path, "rb")
        if handle is None:
            raise InputRasterError(f"'{path}' cannot be read.")
        try:
            size = gdal.VSIStatL(path).size
            text = gdal.VSIFReadL(1, size, handle)
        finally:
            gdal.VSIFCloseL(handle)
        return ElementTree.fromstring(text)
    try:
        return ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as exc:
        raise InputRasterError(f"'{path}' cannot be read as Sentinel-2 product metadata ({exc}).") from exc


def read_product_metadata(path: str) -> ProductMetadata:
    """Parse MTD_MSIL2A.xml (a path, or a /vsizip/ path)."""
    root = _read_xml(path)
    texts: dict[str, list[Any]] = {}
    for element in root.iter():
        texts.setdefault(_local(element.tag), []).append(element)
    if "BOA_QUANTIFICATION_VALUE" not in texts and "IMAGE_FILE" not in texts:
        raise InputRasterError(f"'{path}' is not a Sentinel-2 Level-2A product's MTD_MSIL2A.xml (no BOA_QUANTIFICATION_VALUE).")
    band_ids = {int(e.get("bandId")): _band_key(e.get("physicalBand", "")) for e in texts.get("Spectral_Information", [])
                if e.get("bandId") is not None} or {v: k for k, v in STANDARD_BAND_IDS.items()}
    offsets = {band_ids.get(int(e.get("band_id", -1)), ""): float(e.text) for e in texts.get("BOA_ADD_OFFSET", [])}
    quantification = float(texts["BOA_QUANTIFICATION_VALUE"][0].text) if "BOA_QUANTIFICATION_VALUE" in texts else L2A_QUANTIFICATION
    baseline = texts["PROCESSING_BASELINE"][0].text.strip() if "PROCESSING_BASELINE" in texts else None
    nodata = 0.0
    for special in texts.get("Special_Values", []):
        values = {_local(child.tag): (child.text or "").strip() for child in special}
        if values.get("SPECIAL_VALUE_TEXT") == "NODATA":
            nodata = float(values.get("SPECIAL_VALUE_INDEX", 0))
    return ProductMetadata(path, baseline, quantification, offsets, _image_files(texts.get("IMAGE_FILE", [])), nodata)


def _image_files(elements: Sequence[Any]) -> dict[str, str]:
    """Band -> its image file at the finest resolution the product has (10 m for B02-B04, B08)."""
    best: dict[str, tuple[int, str]] = {}
    for element in elements:
        relative = (element.text or "").strip()
        match = re.search(r"_(B\d{2}|B8A)_(\d{2})m$", relative)
        if not match:
            continue
        band, resolution = match.group(1), int(match.group(2))
        if band not in best or resolution < best[band][0]:
            best[band] = (resolution, relative)
    return {band: relative for band, (_, relative) in best.items()}


def is_product(path: str) -> bool:
    """Whether ``path`` is a product this module reads (SAFE folder, MTD_MSIL2A.xml, zip, STAC item)."""
    lowered = path.rstrip("/\\").lower()
    if os.path.isdir(path):
        return os.path.isfile(os.path.join(path, "MTD_MSIL2A.xml"))
    return lowered.endswith(PRODUCT_SUFFIXES) and os.path.isfile(path)


def _metadata_path(path: str) -> str:
    if os.path.isdir(path):
        return os.path.join(path, "MTD_MSIL2A.xml")
    if path.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("MTD_MSIL2A.xml")]
        if not names:
            raise InputRasterError(f"'{path}' holds no MTD_MSIL2A.xml: is it a Sentinel-2 Level-2A product (S2?_MSIL2A_*.zip)?")
        return f"/vsizip/{os.path.abspath(path)}/{min(names, key=len)}"
    return path


def _product_bands(path: str, bands: Sequence[str]) -> tuple[list[str], list[Calibration], float, str]:
    """Band files, calibrations, no-data value and a description, from a SAFE folder, MTD xml or zip."""
    metadata = read_product_metadata(_metadata_path(path))
    root = os.path.dirname(metadata.path)
    files, calibrations = [], []
    for band in bands:
        key = _band_key(band)
        if key not in metadata.image_files:
            raise InputRasterError(f"'{path}' lists no image file of band {key} (it lists {', '.join(sorted(metadata.image_files))}).")
        base = f"{root}/{metadata.image_files[key]}"
        files.append(base + ".jp2" if root.startswith("/vsi") or os.path.exists(base + ".jp2") else base + ".tif")
        calibrations.append(metadata.calibration(key))
    return files, calibrations, metadata.nodata, f"processing baseline {metadata.baseline}"


def _stac_bands(path: str, bands: Sequence[str]) -> tuple[list[str], list[Calibration], Optional[float], str]:
    with open(path, encoding="utf-8") as handle:
        item = json.load(handle)
    assets = item.get("assets") or {}
    if not assets:
        raise InputRasterError(f"'{path}' is not a STAC item (no assets).")
    files, calibrations, nodata = [], [], None
    for band in bands:
        key = _band_key(band)
        asset = next((assets[name] for name in STAC_ASSETS.get(key, (key,)) if name in assets), None)
        if asset is None:
            raise InputRasterError(f"The STAC item '{path}' has no asset for {key} (looked for {', '.join(STAC_ASSETS.get(key, (key,)))}).")
        raster = (asset.get("raster:bands") or [{}])[0]
        if "scale" not in raster and "offset" not in raster:
            raise InputRasterError(f"The STAC item's {key} asset has no raster:bands scale/offset: give L2A_ADD_OFFSET, or a "
                                   "STAC item with the raster extension.")
        calibrations.append(Calibration(float(raster.get("scale", 1.0)), float(raster.get("offset", 0.0)),
                                        f"the STAC item's raster:bands (scale {raster.get('scale', 1.0)}, offset {raster.get('offset', 0.0)})"))
        nodata = raster.get("nodata", nodata)
        files.append(_stac_href(asset["href"], path))
    return files, calibrations, nodata, f"STAC item {item.get('id', os.path.basename(path))}"


def _stac_href(href: str, item_path: str) -> str:
    if href.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    if href.startswith("s3://"):
        return "/vsis3/" + href[5:]
    return href if os.path.isabs(href) else os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(item_path)), href))


def product_raster(path: str, work_dir: str, bands: Sequence[str] = ("B04", "B03", "B02")) -> tuple[str, list[str]]:
    """A VRT stacking ``bands`` of the product at ``path`` with their calibration; and notes for the log."""
    from osgeo import gdal

    reader = _stac_bands if path.lower().endswith(".json") else _product_bands
    files, calibrations, nodata, described = reader(path, bands)
    os.makedirs(work_dir, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.basename(path.rstrip("/\\")))[:80]
    vrt = os.path.join(work_dir, f"{stem}_{'_'.join(_band_key(b) for b in bands)}.vrt")
    gdal.UseExceptions()
    try:
        dataset = gdal.BuildVRT(vrt, files, separate=True, srcNodata=nodata, VRTNodata=nodata)
    except RuntimeError as exc:
        raise InputRasterError(f"The bands of '{path}' cannot be read ({exc}); check that the product is complete.") from exc
    if dataset is None:
        raise InputRasterError(f"The bands of '{path}' cannot be stacked: check that the product is complete.")
    for index, (band, calibration) in enumerate(zip(bands, calibrations), start=1):
        target = dataset.GetRasterBand(index)
        target.SetDescription(_band_key(band))
        target.SetScale(calibration.scale)
        target.SetOffset(calibration.offset)
        target.SetMetadataItem("REFLECTANCE_SOURCE", calibration.source)  # where the offset/scale come from, for the log
    dataset = None
    notes = [f"Sentinel-2 L2A product '{os.path.basename(path.rstrip('/'))}' ({described}): bands {', '.join(map(_band_key, bands))} "
             f"at {', '.join(os.path.basename(f) for f in files)}; reflectance = {calibrations[0].describe()}."]
    return vrt, notes
