"""Sentinel-2 L2A products as users download them -> one raster of the bands a model needs.

Accepted: the product's ``.SAFE`` folder, its ``MTD_MSIL2A.xml``, the ``.zip`` as downloaded (read in place
through GDAL's /vsizip/), or a STAC item (``.json``) whose assets are the band files (local paths, relative
to the item, or URLs GDAL can read). The bands are found by name (B04, B03, B02 at 10 m; STAC assets ``red``,
``green``, ``blue`` or ``B04``...), and a VRT is written that stacks them in the asked order, each band
described by its name and carrying the product's calibration as GDAL offset/scale (``rho = DN x scale +
offset``; ``reflectance``) and its no-data value: from then on it is a raster like any other, its
metadata saying everything the product said.

MTD_MSIL2A.xml (ESA, Sentinel-2 Products Specification Document, Level-2A): ``PROCESSING_BASELINE``,
``Product_Organisation/.../IMAGE_FILE`` (paths without extension; ``IMAGE_FILE_2A`` in the 2017 Level-2Ap format,
PSD 14.2), ``BOA_QUANTIFICATION_VALUE`` (``L2A_BOA_QUANTIFICATION_VALUE`` in Level-2Ap),
``BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET[@band_id]`` (from baseline 04.00; band ids as in
``Spectral_Information[@bandId, @physicalBand]``: B1 = 0 ... B8A = 8 ... B12 = 12), and the ``NODATA`` special
value (0). Products of older baselines have no offset list: their offset is 0, as the format states.

Also read: a resolution folder (``IMG_DATA/R10m``) or granule folder inside a SAFE (the product above it), and GDAL's
``SENTINEL2_L2A:<MTD_MSIL2A.xml>:10m:EPSG_xxxxx`` subdatasets (bands matched by GDAL's band descriptions, "B4, central
wavelength 665 nm", the offset from the MTD the string names). STAC items: ``stac_item``.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ElementTree
import zipfile
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..errors import InputRasterError
from .calibration import L2A_QUANTIFICATION, Calibration
from .stac_item import band_key as _band_key

#: MTD band ids of the physical bands (the order of Spectral_Information_List in every L2A product).
STANDARD_BAND_IDS = {
    "B01": 0,
    "B02": 1,
    "B03": 2,
    "B04": 3,
    "B05": 4,
    "B06": 5,
    "B07": 6,
    "B08": 7,
    "B8A": 8,
    "B09": 9,
    "B10": 10,
    "B11": 11,
    "B12": 12,
}
PRODUCT_SUFFIXES = (".safe", ".zip", ".json", "mtd_msil2a.xml")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


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
        """The calibration of one band (its offset from the product's metadata)."""
        key = _band_key(band)
        if not self.add_offsets_dn and self.baseline is not None and float(self.baseline) >= 4.0:
            raise InputRasterError(
                f"'{self.path}' says processing baseline {self.baseline} but lists no BOA_ADD_OFFSET: the "
                "file is incomplete. Give L2A_ADD_OFFSET (-1000 for baseline 04.00 and later)."
            )
        offset = self.add_offsets_dn.get(key, 0.0)
        where = (
            f"MTD_MSIL2A.xml (baseline {self.baseline}, BOA_ADD_OFFSET {offset:g})"
            if self.add_offsets_dn
            else f"MTD_MSIL2A.xml (baseline {self.baseline}: no offset)"
        )
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
    for level_2ap, current in (("L2A_BOA_QUANTIFICATION_VALUE", "BOA_QUANTIFICATION_VALUE"), ("IMAGE_FILE_2A", "IMAGE_FILE")):
        if current not in texts and level_2ap in texts:  # the 2017 Level-2Ap format (PSD 14.2)
            texts[current] = texts[level_2ap]
    if "BOA_QUANTIFICATION_VALUE" not in texts and "IMAGE_FILE" not in texts:
        level = next((e.text for e in texts.get("PROCESSING_LEVEL", []) if e.text), None) or root.tag.rsplit("}", 1)[-1]
        raise InputRasterError(
            f"'{path}' is not a Sentinel-2 Level-2A product's MTD_MSIL2A.xml: it names no BOA quantification "
            f"value and no image file (it is {level}). Give the MTD_MSIL2A.xml of a Level-2A product."
        )
    band_ids = {
        int(e.get("bandId")): _band_key(e.get("physicalBand", ""))
        for e in texts.get("Spectral_Information", [])
        if e.get("bandId") is not None
    } or {v: k for k, v in STANDARD_BAND_IDS.items()}
    offsets = {band_ids.get(int(e.get("band_id", -1)), ""): float(e.text) for e in texts.get("BOA_ADD_OFFSET", [])}
    quantification = (
        float(texts["BOA_QUANTIFICATION_VALUE"][0].text) if "BOA_QUANTIFICATION_VALUE" in texts else L2A_QUANTIFICATION
    )
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


#: GDAL's Sentinel-2 subdataset strings: SENTINEL2_L2A:<path of MTD_MSIL2A.xml>:<resolution>:<CRS>.
SUBDATASET = re.compile(r"^SENTINEL2_L2A:(.+):(10m|20m|60m|TCI):(EPSG_\d+)$")


def safe_root(path: str) -> Optional[str]:
    """The SAFE folder (the one with MTD_MSIL2A.xml) holding ``path``, a folder inside a product (R10m, IMG_DATA, a
    granule); None outside one."""
    folder = os.path.abspath(path)
    for _ in range(6):
        if os.path.isfile(os.path.join(folder, "MTD_MSIL2A.xml")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return None


def is_product(path: str) -> bool:
    """Whether ``path`` is a product this module reads (SAFE folder or a folder inside one, MTD_MSIL2A.xml, zip, STAC
    item, GDAL SENTINEL2_L2A subdataset)."""
    lowered = path.rstrip("/\\").lower()
    if SUBDATASET.match(path.strip()):
        return True
    if os.path.isdir(path):
        return safe_root(path) is not None
    return lowered.endswith(PRODUCT_SUFFIXES) and os.path.isfile(path)


def _metadata_path(path: str) -> str:
    if os.path.isdir(path):
        return os.path.join(safe_root(path) or path, "MTD_MSIL2A.xml")
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
            raise InputRasterError(
                f"'{path}' lists no image file of band {key} (it lists {', '.join(sorted(metadata.image_files))})."
            )
        files.append(_image_path(f"{root}/{metadata.image_files[key]}", path))
        calibrations.append(metadata.calibration(key))
    return files, calibrations, metadata.nodata, f"processing baseline {metadata.baseline}"


def _image_path(base: str, product: str) -> str:
    """The band file of an IMAGE_FILE entry: ESA's .jp2, or the .tif of SAFEs made by others (Esri), in a folder or a zip."""
    from osgeo import gdal

    for extension in (".jp2", ".tif", ".TIF"):
        exists = gdal.VSIStatL(base + extension) is not None if base.startswith("/vsi") else os.path.exists(base + extension)
        if exists:
            return base + extension
    raise InputRasterError(
        f"'{product}' lists {os.path.basename(base)} but holds no such .jp2 or .tif: the product is incomplete "
        "(download it again, or give its bands as a stack)."
    )


def _subdataset_bands(name: str, bands: Sequence[str]) -> tuple[list[str], list[Calibration], float, str]:
    """Bands of a GDAL SENTINEL2_L2A subdataset, matched by GDAL's descriptions ("B4, central wavelength 665 nm") or colour
    interpretation, each as a VRT band path; the offset from the MTD_MSIL2A.xml the string names."""
    from osgeo import gdal

    found = SUBDATASET.match(name.strip())
    assert found is not None
    if found.group(2) == "TCI":
        raise InputRasterError(
            f"'{name}' is the true-colour image (TCI), not reflectance: give the 10m subdataset "
            f"(SENTINEL2_L2A:{found.group(1)}:10m:{found.group(3)}) or the product itself."
        )
    metadata = read_product_metadata(found.group(1))
    dataset = gdal.Open(name.strip())
    if dataset is None:
        raise InputRasterError(f"GDAL cannot open '{name}': check the MTD_MSIL2A.xml path and that the product is complete.")
    by_band: dict[str, int] = {}
    colours = {"Red": "B04", "Green": "B03", "Blue": "B02"}
    for index in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(index)
        described = re.match(r"\s*(B\d{1,2}A?)\b", band.GetDescription() or "")
        key = (
            _band_key(described.group(1))
            if described
            else colours.get(gdal.GetColorInterpretationName(band.GetColorInterpretation()))
        )
        if key:
            by_band.setdefault(key, index)
    files, calibrations = [], []
    for band in bands:
        key = _band_key(band)
        if key not in by_band:
            raise InputRasterError(f"'{name}' has no band {key} (its bands: {', '.join(sorted(by_band)) or 'none described'}).")
        files.append(_single_band_vrt(name.strip(), by_band[key]))
        calibrations.append(metadata.calibration(key))
    return (
        files,
        calibrations,
        metadata.nodata,
        f"GDAL subdataset {found.group(2)} {found.group(3)}, processing baseline {metadata.baseline}",
    )


def _single_band_vrt(name: str, index: int) -> str:
    """A /vsimem/ VRT of one band of a dataset (so BuildVRT can stack bands of one multi-band subdataset)."""
    from osgeo import gdal

    path = f"/vsimem/rockglacier_s2_{abs(hash(name))}_{index}.vrt"
    gdal.Translate(path, name, format="VRT", bandList=[index])
    return path


def product_raster(
    path: str, work_dir: str, bands: Sequence[str] = ("B04", "B03", "B02"), given: Optional[Calibration] = None
) -> tuple[str, list[str]]:
    """A VRT stacking ``bands`` of the product at ``path`` with their calibration; and notes for the log. ``given``: the
    user's L2A_ADD_OFFSET, honoured by the STAC reader (products are checked against it when the raster is read)."""
    from osgeo import gdal

    from .stac_item import stac_bands

    convention = ""
    if path.lower().endswith(".json"):
        read = stac_bands(path, bands, given)
        files, calibrations, nodata, described, convention = (
            read.files,
            read.calibrations,
            read.nodata,
            read.described,
            read.convention,
        )
    elif SUBDATASET.match(path.strip()):
        files, calibrations, nodata, described = _subdataset_bands(path, bands)
    else:
        files, calibrations, nodata, described = _product_bands(path, bands)
    os.makedirs(work_dir, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.basename(path.rstrip("/\\")) or path)[:80]
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
    convention = f"; convention read: {convention}" if convention else ""
    inside = f" (the product {safe_root(path)})" if os.path.isdir(path) and safe_root(path) != os.path.abspath(path) else ""
    notes = [
        f"Sentinel-2 L2A product '{os.path.basename(path.rstrip('/'))}'{inside} ({described}{convention}): bands "
        f"{', '.join(map(_band_key, bands))} at {', '.join(os.path.basename(f) for f in files)}; reflectance = "
        f"{calibrations[0].describe()}."
    ]
    return vrt, notes
