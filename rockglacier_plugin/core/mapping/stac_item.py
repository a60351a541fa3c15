"""Sentinel-2 L2A STAC items as each catalogue writes them -> band files and the reflectance calibration of each.

Every catalogue states the offset its numbers need in its own way; the convention is read from the item and named in
the log, never assumed from a date:

- **Earth Search v1** (collection ``sentinel-2-l2a``, element84): ``earthsearch:boa_offset_applied`` true means its COGs
  are harmonised, the -1000 DN offset already applied to the numbers (reflectance = DN / 10000), while ``raster:bands``
  still says offset -0.1; false: the numbers are the product's, whose offset follows its processing baseline
  (``s2:processing_baseline``: -1000 DN from 04.00, 0 before, whatever ``raster:bands`` says). The flag is known to be
  wrong on some items (Element84/earth-search#66, #71; cirrus-geo/cirrus-earth-search#33): the plausibility check
  (``plausibility``) catches what it gets wrong, and ``L2A_ADD_OFFSET`` overrides it (said in the log).
- **STAC raster extension** (stactools, most STAC 1.0 items): ``raster:bands[0].scale/offset`` of the asset.
- **STAC 1.1** (Copernicus Data Space Ecosystem): ``raster:scale`` / ``raster:offset`` on the asset (or its
  ``bands[0]``), assets named with a resolution suffix (``B04_10m``).
- **Processing baseline stated, no scale/offset** (Planetary Computer ``s2:processing_baseline``; Earth Search v0
  ``sentinel:product_id`` and any ``s2:product_uri``/item id whose ``_Nxxyy_`` field is the baseline, as in ESA's product
  names): the product's own convention, offset -1000 DN from baseline 04.00 and 0 before, quantification 10000.
- Nothing stated: refused, unless ``L2A_ADD_OFFSET`` is given.

A user's ``L2A_ADD_OFFSET`` that contradicts an offset the item states is an error, as for products.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ..errors import InputRasterError, ParameterError
from .calibration import L2A_QUANTIFICATION, Calibration

#: Asset keys of a band, most specific first: common names (Earth Search v1), band ids (Planetary Computer, Earth Search
#: v0, stactools), band ids with a resolution suffix (Copernicus Data Space: the finest first).
COMMON_NAMES = {"B02": "blue", "B03": "green", "B04": "red", "B08": "nir"}
RESOLUTION_SUFFIXES = ("_10m", "_20m", "_60m")
#: Earth Search v1's flag (see the module docstring).
BOA_OFFSET_APPLIED = "earthsearch:boa_offset_applied"
#: The offset of processing baseline 04.00 and later, DN.
BASELINE_4_OFFSET_DN = -1000.0


@dataclass(frozen=True)
class StacBands:
    """Band files (GDAL paths) and their calibrations, the no-data value, and what was read (for the log)."""

    files: list[str]
    calibrations: list[Calibration]
    nodata: Optional[float]
    described: str
    convention: str


def band_key(name: str) -> str:
    """'B4', 'B04', 'b04' -> 'B04'; 'B8A' stays."""
    match = re.fullmatch(r"[Bb]0?(\d{1,2})([Aa]?)", name.strip())
    return f"B{int(match.group(1)):02d}{match.group(2).upper()}" if match else name.strip().upper()


def _asset_band_names(asset: dict[str, Any]) -> list[str]:
    """The band names an asset's eo:bands (STAC 1.0) or bands (STAC 1.1) give, and their common names."""
    names = []
    for band in asset.get("eo:bands") or asset.get("bands") or []:
        names += [str(band.get("name", "")), str(band.get("common_name", "")), str(band.get("eo:common_name", ""))]
    return [n for n in names if n]


def find_asset(assets: dict[str, Any], key: str) -> Optional[tuple[str, dict[str, Any]]]:
    """(asset key, asset) of band ``key``: by asset key first, then by a single-band asset's own band name."""
    common = COMMON_NAMES.get(key)
    names = ([common] if common else []) + [key, key.lower()] + [key + suffix for suffix in RESOLUTION_SUFFIXES]
    for name in names:
        if name in assets:
            return name, assets[name]
    for name, asset in assets.items():
        described = _asset_band_names(asset)
        if len(asset.get("eo:bands") or asset.get("bands") or []) == 1 and (key in described or (common and common in described)):
            return name, asset
    return None


def stated_baseline(item: dict[str, Any]) -> tuple[Optional[str], str]:
    """The processing baseline an item states, and where: ``s2:processing_baseline``, or the ``_Nxxyy_`` field of the
    ESA product name in ``sentinel:product_id``, ``s2:product_uri`` or the item id; (None, "") when none does."""
    properties = item.get("properties") or {}
    for key in ("s2:processing_baseline", "processing:version"):
        value = str(properties.get(key) or "").strip()
        if re.fullmatch(r"\d{1,2}\.\d{2}", value):
            return value, key
    for key in ("sentinel:product_id", "s2:product_uri", "id"):
        text = str(properties.get(key) if key != "id" else item.get("id") or "")
        found = re.search(r"_N(\d{2})(\d{2})_", text)
        if found:
            return f"{found.group(1)}.{found.group(2)}", f"{key} ({text.split('.SAFE')[0]})"
    return None, ""


def _number(value: Any) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _declared(asset: dict[str, Any]) -> Optional[tuple[float, float, str]]:
    """(scale, offset, where) an asset declares: raster:bands (STAC 1.0) or raster:scale/raster:offset (STAC 1.1)."""
    raster = (asset.get("raster:bands") or [{}])[0]
    if "scale" in raster or "offset" in raster:
        return float(raster.get("scale", 1.0)), float(raster.get("offset", 0.0)), "raster:bands"
    for holder, where in (
        (asset, "the asset's raster:scale/raster:offset"),
        ((asset.get("bands") or [{}])[0], "bands[0] raster:scale/offset"),
    ):
        if "raster:scale" in holder or "raster:offset" in holder:
            return float(holder.get("raster:scale", 1.0)), float(holder.get("raster:offset", 0.0)), where
    return None


def asset_calibration(
    item: dict[str, Any], asset: dict[str, Any], key: str, given: Optional[Calibration]
) -> tuple[Calibration, str]:
    """The calibration of band ``key``'s asset by the item's convention (module docstring), and the convention's name."""
    properties = item.get("properties") or {}
    declared = _declared(asset)
    if BOA_OFFSET_APPLIED in properties:
        return _earth_search_v1(item, declared, given)
    if declared is not None:
        scale, offset, where = declared
        convention = "STAC 1.1 raster:scale/raster:offset" if where != "raster:bands" else "STAC raster extension (raster:bands)"
        return _checked(
            Calibration(scale, offset, f"the STAC item's {where} (scale {scale:g}, offset {offset:g})"), given, key
        ), convention
    baseline, where = stated_baseline(item)
    if baseline is not None:
        offset_dn = BASELINE_4_OFFSET_DN if float(baseline) >= 4.0 else 0.0
        found = Calibration.from_l2a(
            offset_dn, L2A_QUANTIFICATION, f"processing baseline {baseline} stated in {where}: BOA_ADD_OFFSET {offset_dn:g}"
        )
        return _checked(found, given, key), f"processing baseline from the item ({where.split(' (')[0]})"
    if given is not None:
        return given, "L2A_ADD_OFFSET (the item states no offset, scale or processing baseline)"
    raise InputRasterError(
        f"The STAC item '{item.get('id', '?')}' states neither the {key} asset's scale/offset (raster:bands, "
        "raster:scale/offset) "
        "nor a processing baseline (s2:processing_baseline, or the _Nxxyy_ field of the product name): give L2A_ADD_OFFSET "
        "(-1000 "
        "for processing baseline 04.00 and later, i.e. acquisitions since 25 January 2022 and all reprocessed products; 0 "
        "before)."
    )


def _earth_search_v1(
    item: dict[str, Any], declared: Optional[tuple[float, float, str]], given: Optional[Calibration]
) -> tuple[Calibration, str]:
    """Earth Search v1's convention (module docstring); the user's L2A_ADD_OFFSET overrides its flag, which is known to be
    wrong on some items."""
    applied = bool(item["properties"][BOA_OFFSET_APPLIED])
    scale = declared[0] if declared else 1.0 / L2A_QUANTIFICATION
    convention = f"Earth Search v1 ({BOA_OFFSET_APPLIED} = {str(applied).lower()})"
    baseline, where = stated_baseline(item)
    if applied:
        found = Calibration(
            scale,
            0.0,
            f"Earth Search's {BOA_OFFSET_APPLIED} = true: the offset is already in the numbers "
            f"(raster:bands' offset {declared[1] if declared else 0:g} not applied again)",
        )
    elif baseline is not None:
        offset_dn = BASELINE_4_OFFSET_DN if float(baseline) >= 4.0 else 0.0
        found = Calibration(
            scale,
            offset_dn * scale,
            f"Earth Search's {BOA_OFFSET_APPLIED} = false and processing baseline "
            f"{baseline} ({where.split(' (')[0]}): BOA_ADD_OFFSET {offset_dn:g}",
        )
    else:
        found = Calibration(scale, declared[1] if declared else 0.0, f"Earth Search's {BOA_OFFSET_APPLIED} = false: raster:bands")
    if given is not None and not found.agrees(given):
        return Calibration(
            given.scale,
            given.offset,
            f"L2A_ADD_OFFSET, overriding {BOA_OFFSET_APPLIED} = {str(applied).lower()} (a flag known to be wrong on some items)",
        ), convention
    return found, convention


def _checked(found: Calibration, given: Optional[Calibration], key: str) -> Calibration:
    if given is not None and not found.agrees(given):
        raise ParameterError(
            f"L2A_ADD_OFFSET={given.add_offset_dn:g} contradicts {found.source} (offset {found.add_offset_dn:g} DN) for {key}: "
            "leave L2A_ADD_OFFSET empty to use the item's own."
        )
    return given if given is not None else found


def asset_path(asset: dict[str, Any], item_path: str) -> str:
    """A GDAL path of an asset: a local file beside the item first (``file:local_path``, or a downloaded file of the
    href's name), else the href (relative to the item, or /vsicurl/ and /vsis3/ for URLs)."""
    folder = os.path.dirname(os.path.abspath(item_path))
    href = str(asset.get("href", ""))
    for local in (asset.get("file:local_path"), os.path.basename(href.split("?")[0])):
        if local and os.path.isfile(os.path.join(folder, str(local))):
            return os.path.join(folder, str(local))
    if href.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    if href.startswith("s3://"):
        return "/vsis3/" + href[5:]
    return href if os.path.isabs(href) else os.path.normpath(os.path.join(folder, href))


def read_item(path: str) -> dict[str, Any]:
    """The item's JSON; InputRasterError when it is none."""
    try:
        with open(path, encoding="utf-8") as handle:
            item = json.load(handle)
    except (OSError, ValueError) as exc:
        raise InputRasterError(f"'{path}' cannot be read as a STAC item ({exc}).") from exc
    if not isinstance(item, dict) or not item.get("assets"):
        raise InputRasterError(f"'{path}' is not a STAC item (no assets).")
    return item


def stac_bands(path: str, bands: Sequence[str], given: Optional[Calibration] = None) -> StacBands:
    """The files and calibrations of ``bands`` in the STAC item at ``path`` (see the module docstring)."""
    item = read_item(path)
    assets = item["assets"]
    files, calibrations, nodata, conventions = [], [], None, []
    for band in bands:
        key = band_key(band)
        found = find_asset(assets, key)
        if found is None:
            looked = ", ".join(filter(None, [COMMON_NAMES.get(key), key, key.lower(), *(key + s for s in RESOLUTION_SUFFIXES)]))
            raise InputRasterError(
                f"The STAC item '{path}' has no asset for {key} (looked for {looked}, and assets whose eo:bands "
                f"name it). Its assets: {', '.join(sorted(assets))}."
            )
        name, asset = found
        calibration, convention = asset_calibration(item, asset, key, given)
        calibrations.append(calibration)
        conventions.append(convention)
        raster = (asset.get("raster:bands") or [{}])[0]
        nodata = next((v for v in (raster.get("nodata"), asset.get("nodata"), nodata) if v is not None), None)
        files.append(asset_path(asset, path))
    return StacBands(files, calibrations, nodata, f"STAC item {item.get('id', os.path.basename(path))}", conventions[0])
