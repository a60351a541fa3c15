"""Moving-area candidates of one pair: connected regions of significant downslope motion.

From a ``CandidateField``:

1. A pixel moves when its downslope velocity is at least ``min_velocity_cm_per_yr`` and at least
   ``min_snr`` times its 1-sigma at one of two scales: the pixel's (a 3 x 3 median, so lone noisy pixels
   do not count) or the landform's (the mean of the usable pixels in a disc of ``window_radius_m``, about
   the smallest candidate, whose 1-sigma is that of a region's mean, step 4: pixel noise averaged over
   the disc, the local reference's error in full). At the pixel scale alone a slow landform in a
   few-look pair sits at an SNR of about 1 on every pixel and is never seen; averaged over its own extent
   it stands out, while the atmosphere, common to the disc, is not averaged away.
2. Moving pixels are joined across gaps of one or two pixels (a morphological closing, holes
   filled: an incoherent patch inside a landform stays inside it) into 8-connected regions.
3. A region is kept when it covers ``min_area_km2`` (counting the discs that passed at the landform scale
   around its pixels, where their centres cover at least ``MIN_CENTRE_SHARE`` of that area:
   ``supported_sizes``) and at least ``min_coherent_share`` of it is coherent; it is dropped, and said
   why, when it is an unwrapping artefact: a region in its own
   SNAPHU connected component (the surroundings lie in another one), or a region cut from its
   surroundings by whole-cycle steps (``cycle_cuts``): neighbouring pixels differing by most of a
   cycle where the whole change across the step (the levels three pixels either side) sits in that one
   step and is, all along the cut, the same whole number of cycles, and where the region inside the cut
   is as uniform as stable ground (an offset added to it, not motion: ``interior_spread``). A fast
   landform's shear margin also changes the phase by most of a cycle within a pixel or two, but its
   change follows the landform's velocity, which varies along the margin and inside it: it stays a
   candidate. (A block sliding rigidly at a whole number of cycles would look like an error: said in the log.)
4. Its statistics: mean downslope velocity (and its error: pixel noise averaged over the region,
   inflated by the noise correlation, plus the local reference error, which is common to the
   region's pixels), and its "maximum", the 95th percentile (and that pixel's error).
"""

from __future__ import annotations

import math
import warnings
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
#: Neighbours differing by this share of a phase cycle or more are a step worth examining ...
CYCLE_JUMP_SHARE = 0.75
#: ... a whole-cycle cut when the change across it (level of SIDE_PX pixels either side) is within WHOLE_CYCLE_TOLERANCE
#: of a non-zero whole number of cycles and the step itself holds all of it but CONCENTRATION_TOLERANCE of a cycle ...
SIDE_PX = 3
WHOLE_CYCLE_TOLERANCE = 0.2
CONCENTRATION_TOLERANCE = 0.25
#: ... and a region with at least MIN_CYCLE_JUMPS cuts, MIN_CUT_SHARE of its big steps, whose changes agree within
#: MAX_CUT_SPREAD of a cycle (one offset all along the cut), is an unwrapping artefact.
MIN_CYCLE_JUMPS = 6
MIN_CUT_SHARE = 0.6
MAX_CUT_SPREAD = 0.1
#: Interquartile range of the LOS velocity inside the cut (its margin left out), cycles, up to which the region is as
#: uniform as stable ground with an offset (noise and atmosphere: about 0.05 cycle at coherence 0.7 over a few hundred
#: metres); a landform moving most of a cycle varies more than this inside.
MAX_INTERIOR_SPREAD = 0.15
#: A region counts the discs that passed at the landform scale around its pixels toward the minimum area (step 3) when
#: the discs' centres alone cover at least this share of it: the centres are the landform shrunk by about a disc radius.
MIN_CENTRE_SHARE = 0.5


@dataclass(frozen=True)
class RegionSettings:
    """How moving pixels become regions (module docstring, steps 1-3): velocity and SNR thresholds, area, coherence, scales."""

    min_velocity_cm_per_yr: Optional[float] = None  # None: from the data's noise (``noise_thresholds``)
    min_snr: float = 2.0
    min_area_km2: float = 0.01
    min_coherent_share: float = 0.4
    noise_correlation_px: float = 2.0
    window_radius_m: float = 75.0  # the landform-scale disc of step 1 (0: the pixel scale only)


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
        """The mean's 1-sigma over |mean| (inf for a zero mean)."""
        return self.mean_err_cm_per_yr / abs(self.mean_cm_per_yr) if self.mean_cm_per_yr else math.inf


def mean_error(noise_sum_sq: Any, reference_sum: Any, count: Any, noise_correlation_px: float) -> Any:
    """1-sigma of the mean of ``count`` downslope velocities, from the sum of their squared noise sigmas and the sum
    of their reference sigmas (cm/yr): the pixel noise averages down (inflated by the noise correlation length),
    the local reference's error is common to neighbouring pixels and does not. Scalars or arrays.

    >>> round(float(mean_error(100 * 4.0**2, 100 * 1.0, 100, 1.0)), 3)  # 4 cm/yr noise over 100 pixels, 1 cm/yr reference
    1.077
    """
    c = max(noise_correlation_px, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.hypot(c * np.sqrt(noise_sum_sq) / count, reference_sum / count)


def _disc(radius_px: int) -> np.ndarray:
    y, x = np.mgrid[-radius_px : radius_px + 1, -radius_px : radius_px + 1]
    return (x * x + y * y <= radius_px * radius_px + 0.5).astype(np.float64)


def _disc_radius_px(candidate: CandidateField, settings: RegionSettings) -> int:
    """The landform-scale disc's radius (step 1), pixels."""
    return max(1, int(round(settings.window_radius_m / candidate.pixel_m)))


def _min_area_px(candidate: CandidateField, settings: RegionSettings) -> float:
    """The minimum area (step 3), pixels."""
    return settings.min_area_km2 * 1.0e6 / candidate.pixel_m**2


def landform_scale(candidate: CandidateField, settings: RegionSettings) -> tuple[np.ndarray, np.ndarray]:
    """(mean downslope velocity, its 1-sigma) of the usable pixels in a disc of ``window_radius_m`` around each pixel
    (step 1); NaN and +inf where under a third of the disc is usable."""
    from scipy.ndimage import convolve

    radius_px = _disc_radius_px(candidate, settings)
    disc = _disc(radius_px)
    used = candidate.usable & np.isfinite(candidate.dslp_cm_per_yr)
    g = np.where(used, np.abs(candidate.projection.astype(np.float64)), 1.0)
    sums = [
        convolve(np.where(used, values, 0.0), disc, mode="constant")
        for values in (
            candidate.dslp_cm_per_yr.astype(np.float64),
            (candidate.noise_sigma_cm_per_yr / g) ** 2,
            candidate.reference_sigma_cm_per_yr / g,
            used.astype(np.float64),
        )
    ]
    velocity_sum, noise_sum_sq, reference_sum, count = sums
    enough = count >= disc.sum() / 3.0
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(enough, velocity_sum / count, np.nan)
    sigma = np.where(enough, mean_error(noise_sum_sq, reference_sum, count, settings.noise_correlation_px), np.inf)
    return mean, sigma


def scales(candidate: CandidateField, settings: RegionSettings) -> list[tuple[np.ndarray, np.ndarray]]:
    """(downslope velocity, its 1-sigma) per pixel at each scale of step 1: the pixel's, then the landform's."""
    found = [
        (
            smoothed(candidate.dslp_cm_per_yr.astype(np.float64)),
            np.nan_to_num(candidate.dslp_sigma_cm_per_yr.astype(np.float64), nan=np.inf),
        )
    ]
    if settings.window_radius_m > 0:
        found.append(landform_scale(candidate, settings))
    return found


def detected_velocity(candidate: CandidateField, settings: RegionSettings) -> np.ndarray:
    """Per pixel, the larger of the scales' velocities: the one the moving test saw (the class raster shows it)."""
    velocities = [velocity for velocity, _ in scales(candidate, settings)]
    return np.fmax.reduce(velocities) if len(velocities) > 1 else velocities[0]


def moving_by_scale(candidate: CandidateField, settings: RegionSettings) -> list[np.ndarray]:
    """Per scale of step 1 (the pixel's, then the landform's), the usable pixels that pass its moving test; the minimum
    velocity must be set (``noise_thresholds.resolved_thresholds``)."""
    if settings.min_velocity_cm_per_yr is None:
        raise ValueError("moving_pixels needs a minimum velocity: resolve it with noise_thresholds.resolved_thresholds")
    passing = []
    with np.errstate(invalid="ignore"):
        for velocity, sigma in scales(candidate, settings):
            passing.append(
                candidate.usable & (velocity >= settings.min_velocity_cm_per_yr) & (velocity >= settings.min_snr * sigma)
            )
    return passing


def moving_pixels(candidate: CandidateField, settings: RegionSettings) -> np.ndarray:
    """Pixels that move significantly downslope at one of the scales (step 1 of the module docstring)."""
    return np.logical_or.reduce(moving_by_scale(candidate, settings))


def supported_sizes(
    labels: np.ndarray, count: int, landform_passing: Optional[np.ndarray], candidate: CandidateField, settings: RegionSettings
) -> np.ndarray:
    """Pixels per region for the area test (step 3): its own, or, where the pixels that passed at the landform scale
    cover at least ``MIN_CENTRE_SHARE`` of the minimum area, the usable pixels of their discs as well. That test measured
    the mean of the whole disc, and the pixels where it passes are the landform shrunk by about a disc radius: a small
    slow landform is otherwise measured by its centre alone and falls under the minimum area."""
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    if landform_passing is None or not landform_passing.any():
        return sizes
    from scipy.ndimage import grey_dilation

    radius_px = _disc_radius_px(candidate, settings)
    centres = np.where(landform_passing, labels, 0)
    n_centres = np.bincount(centres.ravel(), minlength=count + 1)
    spread = np.where(candidate.usable, grey_dilation(centres, footprint=_disc(radius_px).astype(bool)), 0)
    supported = np.bincount(np.where(labels > 0, labels, spread).ravel(), minlength=count + 1)
    min_centres = MIN_CENTRE_SHARE * _min_area_px(candidate, settings)
    return np.where(n_centres >= min_centres, np.maximum(sizes, supported), sizes)


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
    cuts = cycle_cuts(candidate, inside | ring)
    if cuts.is_artefact and interior_spread(candidate, inside) <= MAX_INTERIOR_SPREAD:
        return (
            f"{cuts.cuts} of its {cuts.steps} steps of most of a phase cycle are whole-cycle cuts of {cuts.cycles:+d} "
            f"cycle(s) (one cycle = {candidate.cycle_cm_per_yr:.1f} cm/yr LOS, the same offset all along the cut, to "
            f"{cuts.spread:.2f} cycle): an unwrapping error, not motion"
        )
    return None


def interior_spread(candidate: CandidateField, inside: np.ndarray) -> float:
    """Interquartile range of the coherent LOS velocities inside the region, one pixel in from its edge, in cycles."""
    from scipy.ndimage import binary_erosion

    assert candidate.cycle_cm_per_yr is not None
    core = binary_erosion(inside, structure=np.ones((3, 3), bool)) & candidate.coherent
    values = candidate.los_rel_cm_per_yr[core & np.isfinite(candidate.los_rel_cm_per_yr)].astype(np.float64)
    if values.size < 4:
        return 0.0
    return float(np.subtract(*np.percentile(values, [75, 25]))) / candidate.cycle_cm_per_yr


@dataclass(frozen=True)
class CycleCuts:
    """The big steps around a region and how many of them are whole-cycle cuts of one offset."""

    steps: int
    cuts: int
    cycles: int  # the cuts' common whole number of cycles (0: none)
    spread: float  # interquartile range of the cuts' changes, cycles

    @property
    def is_artefact(self) -> bool:
        """Whether the cuts make the region an unwrapping artefact (module docstring, step 3)."""
        return (
            self.cuts >= MIN_CYCLE_JUMPS
            and self.cuts >= MIN_CUT_SHARE * self.steps
            and self.cycles != 0
            and self.spread <= MAX_CUT_SPREAD
        )


def _side_levels(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Median LOS velocity of the SIDE_PX pixels ending at each step's first pixel and starting at its second."""
    lines = values if axis == 1 else values.T
    r, c = (rows, cols) if axis == 1 else (cols, rows)
    width = lines.shape[1]
    offsets = np.arange(SIDE_PX)
    before = lines[r[:, None], np.clip(c[:, None] - offsets[None, :], 0, width - 1)]
    after = lines[r[:, None], np.clip(c[:, None] + 1 + offsets[None, :], 0, width - 1)]
    return np.nanmedian(before, axis=1), np.nanmedian(after, axis=1)


def cycle_cuts(candidate: CandidateField, area: np.ndarray) -> CycleCuts:
    """Neighbouring coherent pixel pairs within ``area`` whose LOS velocities differ by at least ``CYCLE_JUMP_SHARE`` of a
    cycle (phase noise at coherence 0.3 and 10 looks makes that a > 6-sigma event between neighbours), and which of them
    are whole-cycle cuts (module docstring): the change across the step, from the level of SIDE_PX pixels on one side to
    that on the other, is held by the step itself and is within WHOLE_CYCLE_TOLERANCE of a non-zero whole number of
    cycles. An unwrapping error offsets a region by one such number everywhere; a shear margin's change is the
    landform's velocity, which is no whole number of cycles and varies along the margin."""
    assert candidate.cycle_cm_per_yr is not None
    cycle = candidate.cycle_cm_per_yr
    values = np.where(candidate.coherent, candidate.los_rel_cm_per_yr.astype(np.float64), np.nan)
    steps, changes = 0, []
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN sides
        for axis in (0, 1):
            step = np.diff(values, axis=axis)
            both = np.logical_and(np.delete(area, -1, axis=axis), np.delete(area, 0, axis=axis))
            rows, cols = np.nonzero((np.abs(step) >= CYCLE_JUMP_SHARE * cycle) & both)
            steps += rows.size
            if not rows.size:
                continue
            before, after = _side_levels(values, rows, cols, axis)
            change = (after - before) / cycle
            single = step[rows, cols] / cycle
            whole = np.round(change)
            cut = (
                (whole != 0)
                & (np.abs(change - whole) <= WHOLE_CYCLE_TOLERANCE)
                & (np.abs(single - change) <= CONCENTRATION_TOLERANCE)
            )
            changes += list(change[cut])
    if not changes:
        return CycleCuts(steps, 0, 0, float("inf"))
    changes_array = np.abs(np.asarray(changes))  # a cut seen from inside or outside: the same offset
    cycles = int(np.round(np.median(changes_array)))
    same = np.abs(changes_array - cycles) <= WHOLE_CYCLE_TOLERANCE
    spread = float(np.subtract(*np.percentile(changes_array[same], [75, 25]))) if same.any() else float("inf")
    return CycleCuts(steps, int(same.sum()), cycles, spread)


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
    mean_err = float(mean_error(float(np.sum(noise**2)), float(np.sum(reference)), v.size, settings.noise_correlation_px))
    top = float(np.percentile(v, MAX_PERCENTILE))
    at_top = int(np.argmin(np.abs(v - top)))
    return {
        "mean": float(v.mean()),
        "mean_err": mean_err,
        "max": top,
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

    passing = moving_by_scale(candidate, settings)
    labels, count = label_regions(np.logical_or.reduce(passing))
    if count == 0:
        return [], []
    min_pixels = _min_area_px(candidate, settings)
    sizes = supported_sizes(labels, count, passing[1] if len(passing) > 1 else None, candidate, settings)
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
            dropped.append(
                f"{where} dropped: only {stats['coherent_share']:.0%} of it is coherent "
                f"(MIN_COHERENT_SHARE={settings.min_coherent_share:g})."
            )
            continue
        regions.append(
            Region(
                bytes(polygons[key].ExportToWkb()),
                candidate.pair_label,
                stats["mean"],
                stats["mean_err"],
                stats["max"],
                stats["max_err"],
                stats["coherent_share"],
                stats["usable_share"],
            )
        )
    return regions, dropped
