"""Moving-area candidates (``rockglacier:movingareas``) against a plain threshold of the LOS velocity,
on two independent seeded generators of ALOS-1-like 46-day pairs:

* ``steep``: the steep-relief valley generator (``tests/steep_builders.py``: smooth Gaussian turbulence,
  linear stratified atmosphere, 10 looks, cos^2-tapered lobes, 30 m pixels), on which the defaults were chosen;
* ``massif``: the massif generator (``tests/massif_builders.py``, written apart: cirques and fractal relief,
  power-law turbulence, exponential stratification, 6 looks, irregular tongues, plugs with sharp shear margins
  above 60 cm/yr, 25 m pixels), at 0.3 rad of turbulence (about 6 mm rms LOS difference at 1 km, within the
  range reported for L-band pairs) and at 0.9 rad (about 18 mm at 1 km: a strong turbulent day).

* Recall by RGIK velocity class: a landform is found when a candidate overlaps it; shares are of the
  landforms whose coherence and projection are good (the generator's ``good``: > 60 % of the outline
  coherent >= 0.3 with |g| >= 0.3), per class of their true mean speed.
* False candidates per 100 km2 of stable ground: candidates that overlap no landform, per area of
  the scene outside the landforms; and the share of the stable ground that candidates cover (a method that
  flags half the scene finds every landform, and is of no use).
* The plain threshold: |LOS velocity| >= the same velocity, after the same ramp and stratified-atmosphere
  removal and scene reference, on coherent pixels (>= 0.3), regions of the same minimum area: what
  an analyst gets by thresholding the velocity map.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

CLASSES_CM_PER_YR = ((3.0, 10.0), (10.0, 30.0), (30.0, 100.0), (100.0, 300.0))


def plain_threshold_regions(
    unwrapped: Path,
    coherence: Path,
    dem: Path,
    incidence_deg: float,
    los_azimuth_deg: float,
    threshold_cm_per_yr: float,
    min_area_km2: float,
) -> list[Any]:
    """Regions (OGR polygons) where |scene-referenced LOS velocity| >= the threshold on coherent pixels."""
    from osgeo import ogr

    from rockglacier_plugin.core.insar.candidate_regions import label_regions
    from rockglacier_plugin.core.insar.interferogram import Interferogram
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from rockglacier_plugin.core.insar.scene import InsarScene, SceneSettings
    from rockglacier_plugin.core.mapping.polygons import polygonize_mask
    from rockglacier_plugin.core.raster.io import BandInfo, create_geotiff
    from tests.insar_builders import ALOS_WAVELENGTH_M, REFERENCE_DATE, SECONDARY_DATE

    scene = InsarScene(
        Interferogram(str(unwrapped), 1, REFERENCE_DATE, SECONDARY_DATE, ALOS_WAVELENGTH_M),
        str(coherence),
        1,
        str(dem),
        LosGeometry(None, incidence_deg, los_azimuth_deg),
        SceneSettings(),
    )
    scene.fit_stable_ground([], 0.3)
    data = scene.read(scene.grid.full_window)
    with np.errstate(invalid="ignore"):
        moving = (np.abs(data.velocity_los_cm_per_yr) >= threshold_cm_per_yr) & (data.coherence >= 0.3)
    labels, count = label_regions(moving)
    pixel_km2 = abs(scene.grid.geotransform[1] * scene.grid.geotransform[5]) / 1.0e6
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = np.isin(labels, [k for k in range(1, count + 1) if sizes[k] * pixel_km2 >= min_area_km2])
    from osgeo import gdal

    path = str(Path(tempfile.mkdtemp(prefix="rockglacier-plain-")) / "mask.tif")
    dataset = create_geotiff(
        path,
        (scene.grid.width_px, scene.grid.height_px),
        scene.grid.geotransform,
        scene.grid.crs_wkt,
        gdal.GDT_Byte,
        [],
        band_info=BandInfo(nodata=None),
    )
    dataset.GetRasterBand(1).WriteArray(keep.astype(np.uint8))
    dataset = None
    return [ogr.CreateGeometryFromWkb(g.ExportToWkb()) for g in polygonize_mask(path)]


def score(found: list[Any], landforms_wkt: list[str], truths: list[float], good: list[bool], scene_km2: float) -> dict[str, Any]:
    """Recall per velocity class (good landforms) and false candidates per 100 km2 of stable ground."""
    from osgeo import ogr

    landforms = [ogr.CreateGeometryFromWkt(w) for w in landforms_wkt]
    hit = [any(f.Intersects(landform) for f in found) for landform in landforms]
    false = sum(1 for f in found if not any(f.Intersects(landform) for landform in landforms))
    stable_km2 = scene_km2 - sum(landform.GetArea() for landform in landforms) / 1.0e6
    flagged = ogr.Geometry(ogr.wkbMultiPolygon)
    for f in found:
        flagged = flagged.Union(f)
    for landform in landforms:
        flagged = flagged.Difference(landform)
    by_class = {}
    for low, high in CLASSES_CM_PER_YR:
        members = [h for h, t, g in zip(hit, truths, good) if g and low <= t < high]
        by_class[f"{low:g}-{high:g}"] = (sum(members), len(members))
    return {"by_class": by_class, "false": false, "stable_km2": stable_km2, "flagged_stable_km2": flagged.GetArea() / 1.0e6}


def _add(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    if not total:
        return json.loads(json.dumps(part))
    for key, (hits, count) in part["by_class"].items():
        total["by_class"][key] = [total["by_class"][key][0] + hits, total["by_class"][key][1] + count]
    total["false"] += part["false"]
    total["stable_km2"] += part["stable_km2"]
    total["flagged_stable_km2"] += part["flagged_stable_km2"]
    return total


def _scene(generator: str, folder: Path, seed: int) -> tuple[Any, float]:
    """One seeded scene of ``generator`` ("steep", "massif", "massif-strong") and its area in km2."""
    if generator == "steep":
        from tests.steep_builders import steep_valley_scene

        return steep_valley_scene(
            folder, seed=seed, n_landforms=12, speed_range_cm_per_yr=(3.0, 90.0)
        ), 300 * 300 * 30.0 * 30.0 / 1.0e6
    from tests.massif_builders import MassifSettings, massif_scene

    settings = MassifSettings(turbulence_rad=0.9 if generator == "massif-strong" else 0.3)
    return massif_scene(folder, seed=seed, settings=settings), settings.size_px**2 * settings.pixel_m**2 / 1.0e6


def generator_scores(
    seeds: int, work: Path, min_velocity_cm_per_yr: Optional[float] = None, generator: str = "steep"
) -> dict[str, dict[str, Any]]:
    """Ours and the plain threshold (at ``min_velocity_cm_per_yr``, or 10 cm/yr), summed over ``seeds`` scenes."""
    from osgeo import ogr

    from rockglacier_plugin.core.insar.candidate_regions import RegionSettings
    from rockglacier_plugin.core.insar.interferogram import Interferogram
    from rockglacier_plugin.core.insar.landform_velocity import PairInput
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from rockglacier_plugin.core.insar.moving_area_candidates import MovingAreaSettings, find_moving_areas
    from rockglacier_plugin.core.insar.noise_thresholds import PAIR_MIN_VELOCITY_CM_YR
    from tests.insar_builders import ALOS_WAVELENGTH_M, REFERENCE_DATE, SECONDARY_DATE

    totals: dict[str, dict[str, Any]] = {"ours": {}, "plain": {}}
    settings = MovingAreaSettings(regions=RegionSettings(min_velocity_cm_per_yr=min_velocity_cm_per_yr))
    plain_threshold = min_velocity_cm_per_yr if min_velocity_cm_per_yr is not None else PAIR_MIN_VELOCITY_CM_YR
    for seed in range(seeds):
        scene, scene_km2 = _scene(generator, work / f"{generator}{seed}", seed)
        pair = PairInput(
            Interferogram(str(scene.unwrapped), 1, REFERENCE_DATE, SECONDARY_DATE, ALOS_WAVELENGTH_M), str(scene.coherence)
        )
        result = find_moving_areas(
            [pair], str(scene.dem), LosGeometry(None, scene.incidence_deg, scene.los_azimuth_deg), settings
        )
        ours = [ogr.CreateGeometryFromWkb(w) for w in result.wkb]
        plain = plain_threshold_regions(
            scene.unwrapped,
            scene.coherence,
            scene.dem,
            scene.incidence_deg,
            scene.los_azimuth_deg,
            plain_threshold,
            settings.regions.min_area_km2,
        )
        for name, found in (("ours", ours), ("plain", plain)):
            totals[name] = _add(totals[name], score(found, scene.landforms_wkt, scene.truths_cm_per_yr, scene.good, scene_km2))
    return totals


def _line(name: str, total: dict[str, Any]) -> str:
    classes = ", ".join(
        f"{key} cm/yr {hits}/{count}" + (f" ({100 * hits / count:.0f} %)" if count else "")
        for key, (hits, count) in total["by_class"].items()
    )
    per_100 = 100.0 * total["false"] / total["stable_km2"]
    flagged = 100.0 * total["flagged_stable_km2"] / total["stable_km2"]
    return (
        f"   {name:<34} found (good coherence and projection): {classes}; false candidates {total['false']} ({per_100:.1f} per "
        f"100 km2); stable ground flagged {flagged:.1f} %"
    )


def run(seeds: int = 12, work: Optional[Path] = None) -> dict[str, Any]:
    work = work or Path(tempfile.mkdtemp(prefix="rockglacier-moving-"))
    results = {}
    for generator, title in (
        ("steep", "steep-relief valleys (12 landforms each, 3-90 cm/yr; the defaults were chosen here)"),
        ("massif", "massif, 0.3 rad turbulence (14 tongues each, 3-130 cm/yr, sharp margins above 60)"),
        ("massif-strong", "massif, 0.9 rad turbulence (a strong turbulent day)"),
    ):
        totals = generator_scores(seeds, work, generator=generator)
        print(f"\n== Moving-area candidates: {seeds} scenes of the {title}, 46-day ALOS-1-like pairs, default thresholds")
        print(_line("rockglacier:movingareas", totals["ours"]))
        print(_line("plain |LOS| threshold", totals["plain"]))
        results[generator] = totals
    return results
