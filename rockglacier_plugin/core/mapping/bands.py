"""Which raster bands feed a model: band numbers typed by the user, or matched by description.

A model's metadata names its input bands in order (``ModelSpec.bands``, e.g. ``B4, B3, B2`` for
Sentinel-2 red, green, blue, or ``red, green, blue``). A raster whose band descriptions carry those
names (Sentinel-2 L2A JP2/VRT/SAFE products, most stacks written by GDAL) gets its bands picked by
name, in the model's order; a raster with exactly as many bands as the model takes is used as it
is; anything else needs the band numbers.
"""

from __future__ import annotations

from typing import Sequence

from ..errors import ParameterError


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
    normalised = [d.strip().upper() for d in descriptions]
    wanted = [name.strip().upper() for name in model_bands]
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
