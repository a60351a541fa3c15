"""Which raster bands feed a model: band numbers typed by the user, or matched by description.

A model's metadata names its input bands in order (``ModelSpec.bands``, e.g. ``B4, B3, B2`` for
Sentinel-2 red, green, blue, or ``red, green, blue``). A raster whose band descriptions carry those
names (Sentinel-2 L2A JP2/VRT/SAFE products, most stacks written by GDAL) gets its bands picked by
name, in the model's order; a raster with exactly as many bands as the model takes is used as it
is; anything else needs the band numbers.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence

from ..errors import ParameterError

#: Names of one band, canonical: Sentinel-2's B04/B4 is red, B03/B3 green, B02/B2 blue (and B08/B8 NIR).
_COLOURS = {
    "RED": "red",
    "GREEN": "green",
    "BLUE": "blue",
    "NIR": "nir",
    "B04": "red",
    "B03": "green",
    "B02": "blue",
    "B08": "nir",
}


def parse_band_list(text: str) -> list[int]:
    """'4,3,2' (or '4;3;2') -> [4, 3, 2]; a clear error for anything else.

    >>> parse_band_list("4, 3,2")
    [4, 3, 2]
    """
    try:
        bands = [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError as exc:
        raise ParameterError(f"BANDS={text!r} must list band numbers separated by commas, e.g. 4,3,2.") from exc
    if any(band < 1 for band in bands):
        raise ParameterError(f"BANDS={text!r}: band numbers start at 1.")
    return bands


def canonical_band(name: str) -> str:
    """A band's name in one spelling: Sentinel-2 ids zero-padded (B4 -> B04), colours for the visible and NIR bands; GDAL's
    Sentinel-2 descriptions ("B4, central wavelength 665 nm") by their leading id.

    >>> [canonical_band(n) for n in ("B4", "b04", "Red", " B8A ", "B11", "", "B4, central wavelength 665 nm")]
    ['red', 'red', 'red', 'B8A', 'B11', '', 'red']
    """
    text = name.strip().upper()
    leading = re.match(r"(B\d{1,2}A?)\s*,", text)  # GDAL's SENTINEL2 driver: "B4, central wavelength 665 nm"
    if leading:
        text = leading.group(1)
    match = re.fullmatch(r"B0?(\d)", text)  # B8A and B11 keep their names
    if match:
        text = f"B0{match.group(1)}"
    return _COLOURS.get(text, text)


def band_names(dataset: Any) -> list[str]:
    """What each band of a GDAL dataset says it is (canonical): its description, else its colour interpretation."""
    from osgeo import gdal

    colours = {gdal.GCI_RedBand: "red", gdal.GCI_GreenBand: "green", gdal.GCI_BlueBand: "blue"}
    names = []
    for index in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(index)
        names.append(canonical_band(band.GetDescription()) or colours.get(band.GetColorInterpretation(), ""))
    return names


def band_order_warning(bands: Sequence[int], names: Sequence[str], model_bands: Sequence[str]) -> Optional[str]:
    """A warning when the bands the user chose are tagged as other bands than the model's, in its order.

    >>> band_order_warning([3, 2, 1], ["red", "green", "blue"], ["B4", "B3", "B2"])  # doctest: +NORMALIZE_WHITESPACE
    "BANDS=3,2,1 feeds the raster's blue, green, red bands into the model's red, green, blue channels (the raster's band tags
    say so): the image the model sees has its colours swapped. Give BANDS=1,2,3, or leave BANDS empty to match the bands
    by their tags."
    >>> band_order_warning([1, 2, 3], ["red", "green", "blue"], ["red", "green", "blue"]) is None
    True
    """
    wanted = [canonical_band(b) for b in model_bands]
    chosen = [names[b - 1] if 0 < b <= len(names) else "" for b in bands]
    if not all(chosen) or chosen == wanted or not set(wanted) <= set(names):
        return None
    right = ",".join(str(names.index(w) + 1) for w in wanted)
    return (
        f"BANDS={','.join(map(str, bands))} feeds the raster's {', '.join(chosen)} bands into the model's {', '.join(wanted)} "
        f"channels (the raster's band tags say so): the image the model sees has its colours swapped. Give BANDS={right}, "
        "or leave BANDS empty to match the bands by their tags."
    )


def bands_for_model(descriptions: Sequence[str], model_bands: Sequence[str], text: str = "") -> list[int]:
    """1-based band numbers for the model's inputs, in the model's order.

    Args:
        descriptions: the raster's band descriptions, band 1 first ('' where none).
        model_bands: the band names the model was trained on, in input order.
        text: what the user typed in BANDS; when not blank it wins.

    >>> bands_for_model(["B2", "B3", "B4", "B8"], ["B4", "B3", "B2"])
    [3, 2, 1]
    >>> bands_for_model(["", "", ""], ["red", "green", "blue"])
    [1, 2, 3]
    """
    if text.strip():
        return parse_band_list(text)
    normalised = [canonical_band(d) for d in descriptions]
    wanted = [canonical_band(name) for name in model_bands]
    if wanted and all(name in normalised for name in wanted):
        return [normalised.index(name) + 1 for name in wanted]
    if len(descriptions) == len(model_bands):
        return list(range(1, len(model_bands) + 1))
    raise ParameterError(
        f"The raster has {len(descriptions)} bands and none is described as {', '.join(model_bands)}; give BANDS, the "
        f"band numbers of {', '.join(model_bands)} in that order (e.g. 4,3,2 in a Sentinel-2 stack of B1..B12)."
    )


def raster_band_descriptions(dataset: object) -> list[str]:
    """The descriptions of a GDAL dataset's bands, band 1 first."""
    return [dataset.GetRasterBand(i + 1).GetDescription() for i in range(dataset.RasterCount)]  # type: ignore[attr-defined]
