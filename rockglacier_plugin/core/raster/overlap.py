"""Do two inputs cover the same ground? Checked before any work, in a common CRS.

A raster in the wrong UTM zone, a DEM of another valley or a layer whose CRS was set wrong lies
somewhere else on Earth; without this check such inputs give "no coherent pixel" or "outside the
DEM" for every landform. Footprints are the inputs' bounding boxes; the covering one is transformed
into the covered one's CRS (edges densified, so a box that turns in the other projection stays
covered), and the share of the covered box inside it is what the messages give.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ..errors import InputRasterError
from .geometry import spatial_reference, transformer

#: Below this share a partial overlap is reported (the rest of the box is not covered).
FULL_COVER = 0.999


@dataclass(frozen=True)
class Footprint:
    """What an input is called in messages, its bounding box (xmin, ymin, xmax, ymax) and its CRS."""

    what: str
    bounds: tuple[float, float, float, float]
    crs_wkt: str

    def describe(self) -> str:
        """The footprint's bounds and CRS for a message."""
        srs = spatial_reference(self.crs_wkt, self.what)
        code = f"{srs.GetAuthorityName(None)}:{srs.GetAuthorityCode(None)}" if srs.GetAuthorityCode(None) else "no EPSG code"
        digits = 4 if srs.IsGeographic() else 0
        xmin, ymin, xmax, ymax = self.bounds
        return (
            f"the {self.what} ({srs.GetName()}, {code}; x {xmin:.{digits}f} to {xmax:.{digits}f}, "
            f"y {ymin:.{digits}f} to {ymax:.{digits}f})"
        )


def raster_footprint(dataset: Any, what: str) -> Footprint:
    """The footprint of an open GDAL raster (north-up, as ``io.raster_grid`` checks)."""
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    x1, y1 = x0 + dx * dataset.RasterXSize, y0 + dy * dataset.RasterYSize
    return Footprint(what, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), dataset.GetProjection())


def geometries_footprint(geometries: Sequence[Any], crs_wkt: str, what: str) -> Optional[Footprint]:
    """The footprint of OGR geometries (None entries skipped); None when there is none."""
    envelopes = [g.GetEnvelope() for g in geometries if g is not None and not g.IsEmpty()]
    if not envelopes:
        return None
    return Footprint(
        what,
        (min(e[0] for e in envelopes), min(e[2] for e in envelopes), max(e[1] for e in envelopes), max(e[3] for e in envelopes)),
        crs_wkt,
    )


def _bounds_in(footprint: Footprint, crs_wkt: str) -> Optional[tuple[float, float, float, float]]:
    source, target = spatial_reference(footprint.crs_wkt, footprint.what), spatial_reference(crs_wkt)
    if source.IsSame(target):
        return footprint.bounds
    try:
        bounds = transformer(source, target).TransformBounds(*footprint.bounds, 21)
    except RuntimeError:
        return None  # not representable in the other CRS: it lies far away
    return bounds if all(math.isfinite(v) for v in bounds) else None


def covered_share(covered: Footprint, cover: Footprint) -> float:
    """Share (0-1) of ``covered``'s box that lies inside ``cover``'s box, in ``covered``'s CRS.

    A zero-area box (one point, a line) counts as covered when it touches the other box.
    """
    bounds = _bounds_in(cover, covered.crs_wkt)
    if bounds is None:
        return 0.0
    xmin, ymin, xmax, ymax = covered.bounds
    width = min(xmax, bounds[2]) - max(xmin, bounds[0])
    height = min(ymax, bounds[3]) - max(ymin, bounds[1])
    if width < 0 or height < 0:
        return 0.0
    area = (xmax - xmin) * (ymax - ymin)
    return 1.0 if area <= 0 else min(1.0, width * height / area)


def check_overlap(covered: Footprint, cover: Footprint, consequence: str) -> Optional[str]:
    """Raise ``InputRasterError`` when ``cover`` does not overlap ``covered`` at all; a warning (the
    share covered, and ``consequence``: what the uncovered part gets) when it covers only part of it."""
    share = covered_share(covered, cover)
    if share <= 0.0:
        raise InputRasterError(
            f"{cover.describe()[0].upper()}{cover.describe()[1:]} does not overlap {covered.describe()}. Check that each "
            "file's CRS is the one its coordinates are in (a wrong UTM zone is the usual cause: set it in Layer Properties "
            "> Source, or gdal_edit.py -a_srs EPSG:xxxx), or give inputs of the same area."
        )
    if share < FULL_COVER:
        return f"The {cover.what} covers {100 * share:.0f} % of the extent of the {covered.what}; {consequence}"
    return None
