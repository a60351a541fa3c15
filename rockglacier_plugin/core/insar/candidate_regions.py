"""Moving-area candidates of one pair: connected regions of significant downslope motion.

From a ``CandidateField``:

1. A pixel moves when its downslope velocity, after a 3 x 3 median (lone noisy pixels do not
   count), is at least ``min_velocity_cm_per_yr`` and at least ``min_snr`` times its 1-sigma.
2. Moving pixels are joined across gaps of one or two pixels (a morphological closing, holes
   filled: an incoherent patch inside a landform stays inside it) into 8-connected regions.
3. A region is kept when it covers ``min_area_km2`` and at least ``min_coherent_share`` of it is
   coherent; it is dropped, and said why, when it is an unwrapping artefact: a region in its own
   SNAPHU connected component (the surroundings lie in another one), or a region cut from its
   surroundings by steps of most of a phase cycle between neighbouring pixels (``cycle_jumps``).
4. Its statistics: mean downslope velocity (and its error: pixel noise averaged over the region,
   inflated by the noise correlation, plus the local reference error, which is common to the
   region's pixels), and its "maximum", the 95th percentile (and that pixel's error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..inventory.moving_areas import smoothed
from ..raster.geometry import valid_traced_polygon
from .candidate_field import CandidateField

#: The region's "maximum" velocity: this percentile of its pixels (robust to a few noisy ones).
MAX_PERCENTILE = 95.0
#: Width of the surroundings a region is compared with (component, cycle jumps), pixels.
RING_PX = 3
#: Neighbours differing by this share of a phase cycle or more are a cut of an unwrapping error ...
CYCLE_JUMP_SHARE = 0.75
#: ... and a region with at least this many such cuts in or around it is an artefact.
MIN_CYCLE_JUMPS = 6


@dataclass(frozen=True)
class RegionSettings:
    min_velocity_cm_per_yr: float = 10.0
    min_snr: float = 2.0
    min_area_km2: float = 0.01
    min_coherent_share: float = 0.4
    noise_correlation_px: float = 2.0


@dataclass
class Region:
    """One moving area of one pair (geometry in the pair's CRS)."""

    wkb: bytes
    pair_label: str
    mean_cm_per_yr: float
    mean_err_cm_per_yr: float
    max_cm_per_yr: float
    max_err_cm_per_yr: float
    coherent_share: float
    usable_share: float

    @property
    def relative_error(self) -> float:
        return self.mean_err_cm_per_yr / abs(self.mean_cm_per_yr) if self.mean_cm_per_yr else math.inf


def moving_pixels(candidate: CandidateField, settings: RegionSettings) -> np.ndarray:
    """Pixels that move significantly downslope (step 1 of the module docstring)."""
    velocity = smoothed(candidate.dslp_cm_per_yr.astype(np.float64))
    sigma = np.nan_to_num(candidate.dslp_sigma_cm_per_yr.astype(np.float64), nan=np.inf)
    with np.errstate(invalid="ignore"):
        return candidate.usable & (velocity >= settings.min_velocity_cm_per_yr) & (velocity >= settings.min_snr * sigma)


def label_regions(moving: np.ndarray) -> tuple[np.ndarray, int]:
    """Moving pixels joined across small gaps, holes filled, 8-connected labels (step 2)."""
    from scipy.ndimage import binary_closing, binary_fill_holes, label

    joined = binary_fill_holes(binary_closing(moving, structure=np.ones((3, 3), bool), iterations=2) | moving)
    labels, count = label(joined, structure=np.ones((3, 3), int))
    return labels, int(count)


def _ring(inside: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    return binary_dilation(inside, structure=np.ones((3, 3), bool), iterations=RING_PX) & ~inside


def unwrapping_artefact(candidate: CandidateField, inside: np.ndarray) -> Optional[str]:
    """Why the region is an unwrapping artefact (step 3), or None."""
    ring = _ring(inside)
    if candidate.component is not None:
        own, around = candidate.component[inside], candidate.component[ring & np.isfinite(candidate.los_rel_cm_per_yr)]
        own, around = own[own > 0], around[around > 0]
        if own.size and around.size and np.bincount(own).argmax() != np.bincount(around).argmax():
            return "it is its own SNAPHU connected component (an unwrapping island, not motion)"
    if candidate.cycle_cm_per_yr is None:
        return None
    jumps = cycle_jumps(candidate, inside | ring)
    if jumps >= MIN_CYCLE_JUMPS:
        return (f"{jumps} neighbouring pixels around it differ by most of a phase cycle (one cycle = "
                f"{candidate.cycle_cm_per_yr:.1f} cm/yr LOS): an unwrapping error, not motion")
    return None


def cycle_jumps(candidate: CandidateField, area: np.ndarray) -> int:
    """Neighbouring coherent pixel pairs within ``area`` whose LOS velocities differ by at least
    ``CYCLE_JUMP_SHARE`` of a phase cycle: the cut of an unwrapping error (phase noise at coherence 0.3
    and 10 looks makes such a step between neighbours a > 6-sigma event, and creep that fast between two
    pixels of one pair would decorrelate them)."""
    assert candidate.cycle_cm_per_yr is not None
    values = np.where(candidate.coherent, candidate.los_rel_cm_per_yr.astype(np.float64), np.nan)
    limit = CYCLE_JUMP_SHARE * candidate.cycle_cm_per_yr
    count = 0
    with np.errstate(invalid="ignore"):
        for axis in (0, 1):
            step = np.abs(np.diff(values, axis=axis)) >= limit
            both = np.logical_and(np.delete(area, -1, axis=axis), np.delete(area, 0, axis=axis))
            count += int(np.sum(step & both))
    return count


def region_statistics(candidate: CandidateField, inside: np.ndarray, settings: RegionSettings) -> Optional[dict[str, float]]:
    """Mean and 95th-percentile downslope velocity with their errors, shares (step 4); None without usable pixels."""
    n = int(inside.sum())
    used = inside & candidate.usable & np.isfinite(candidate.dslp_cm_per_yr)
    if not used.any():
        return None
    v = candidate.dslp_cm_per_yr[used].astype(np.float64)
    g = np.abs(candidate.projection[used].astype(np.float64))
    noise = candidate.noise_sigma_cm_per_yr[used].astype(np.float64) / g
    reference = candidate.reference_sigma_cm_per_yr[used].astype(np.float64) / g
    c = max(settings.noise_correlation_px, 1.0)
    mean_err = math.hypot(c * math.sqrt(float(np.sum(noise**2))) / v.size, float(np.mean(reference)))
    top = float(np.percentile(v, MAX_PERCENTILE))
    at_top = int(np.argmin(np.abs(v - top)))
    return {
        "mean": float(v.mean()), "mean_err": mean_err, "max": top,
        "max_err": float(candidate.dslp_sigma_cm_per_yr[used][at_top]),
        "coherent_share": float(np.mean(candidate.coherent[inside])),
        "usable_share": float(used.sum() / n),
    }


def _polygonize(labels: np.ndarray, candidate: CandidateField) -> dict[int, Any]:
    from osgeo import gdal, ogr, osr

    height, width = labels.shape
    raster = gdal.GetDriverByName("MEM").Create("", width, height, 1, gdal.GDT_Int32)
    raster.SetGeoTransform(tuple(candidate.grid.geotransform))
    raster.SetProjection(candidate.grid.crs_wkt)
    band = raster.GetRasterBand(1)
    band.WriteArray(labels.astype(np.int32))
    srs = osr.SpatialReference()
    srs.ImportFromWkt(candidate.grid.crs_wkt)
    vectors = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = vectors.CreateLayer("regions", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("label", ogr.OFTInteger))
    gdal.Polygonize(band, band, layer, 0, ["8CONNECTED=8"])
    polygons: dict[int, Any] = {}
    for feature in layer:
        geometry = valid_traced_polygon(feature.GetGeometryRef().Clone())
        if geometry is None:
            continue
        key = feature.GetField("label")
        polygons[key] = geometry if key not in polygons else polygons[key].Union(geometry)
    return polygons


def _padded(box: tuple[slice, slice], pad: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    return tuple(slice(max(0, part.start - pad), min(size, part.stop + pad)) for part, size in zip(box, shape))  # type: ignore[return-value]


def pair_regions(candidate: CandidateField, settings: RegionSettings) -> tuple[list[Region], list[str]]:
    """The kept regions of one pair, and what was dropped and why (for the log)."""
    from scipy.ndimage import find_objects

    labels, count = label_regions(moving_pixels(candidate, settings))
    if count == 0:
        return [], []
    min_pixels = settings.min_area_km2 * 1.0e6 / candidate.pixel_m**2
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep_labels = [k for k in range(1, count + 1) if sizes[k] >= min_pixels]
    labels = np.where(np.isin(labels, keep_labels), labels, 0)
    polygons = _polygonize(labels, candidate)
    regions, dropped = [], []
    boxes = find_objects(labels)
    for key in keep_labels:
        if key not in polygons:
            continue
        box = _padded(boxes[key - 1], RING_PX + 1, labels.shape)
        inside, local = labels[box] == key, candidate.window(box)
        centre = polygons[key].PointOnSurface()
        where = f"{candidate.pair_label}: moving area near ({centre.GetX():.0f}, {centre.GetY():.0f})"
        artefact = unwrapping_artefact(local, inside)
        if artefact:
            dropped.append(f"{where} dropped: {artefact}.")
            continue
        stats = region_statistics(local, inside, settings)
        if stats is None:
            continue
        if stats["coherent_share"] < settings.min_coherent_share:
            dropped.append(f"{where} dropped: only {stats['coherent_share']:.0%} of it is coherent "
                           f"(MIN_COHERENT_SHARE={settings.min_coherent_share:g}).")
            continue
        regions.append(Region(bytes(polygons[key].ExportToWkb()), candidate.pair_label, stats["mean"], stats["mean_err"],
                              stats["max"], stats["max_err"], stats["coherent_share"], stats["usable_share"]))
    return regions, dropped
