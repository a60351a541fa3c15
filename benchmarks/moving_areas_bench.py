"""Moving-area candidates (``rockglacier:movingareas``) against a plain threshold of the LOS velocity,
on the seeded steep-relief generator (``tests/steep_builders.py``, ALOS-1-like 46-day pairs with
stratified and turbulent atmosphere) and on the demo scene.

* Recall by RGIK velocity class: a landform is found when a candidate overlaps it; shares are of the
  landforms whose coherence and projection are good (the generator's ``good``: > 60 % of the outline
  coherent >= 0.3 with |g| >= 0.3), per class of their true mean speed.
* False candidates per 100 km2 of stable ground: candidates that overlap no landform, per area of
  the scene outside the landforms.
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

CLASSES_CM_PER_YR = ((3.0, 10.0), (10.0, 30.0), (30.0, 100.0))


def plain_threshold_regions(unwrapped: Path, coherence: Path, dem: Path, incidence_deg: float, los_azimuth_deg: float,
                            threshold_cm_per_yr: float, min_area_km2: float) -> list[Any]:
    """Regions (OGR polygons) where |scene-referenced LOS velocity| >= the threshold on coherent pixels."""
    from osgeo import ogr

    from rockglacier_plugin.core.insar.candidate_regions import label_regions
    from rockglacier_plugin.core.insar.interferogram import Interferogram
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from rockglacier_plugin.core.insar.scene import InsarScene, SceneSettings
    from rockglacier_plugin.core.mapping.polygons import polygonize_mask
    from rockglacier_plugin.core.raster.io import BandInfo, create_geotiff
    from tests.insar_builders import ALOS_WAVELENGTH_M, REFERENCE_DATE, SECONDARY_DATE

    scene = InsarScene(Interferogram(str(unwrapped), 1, REFERENCE_DATE, SECONDARY_DATE, ALOS_WAVELENGTH_M), str(coherence), 1,
                       str(dem), LosGeometry(None, incidence_deg, los_azimuth_deg), SceneSettings())
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
    dataset = create_geotiff(path, (scene.grid.width_px, scene.grid.height_px), scene.grid.geotransform, scene.grid.crs_wkt,
                             gdal.GDT_Byte, [], band_info=BandInfo(nodata=None))
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
    by_class = {}
    for low, high in CLASSES_CM_PER_YR:
        members = [h for h, t, g in zip(hit, truths, good) if g and low <= t < high]
        by_class[f"{low:g}-{high:g}"] = (sum(members), len(members))
    return {"by_class": by_class, "false": false, "stable_km2": stable_km2}


def _add(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    if not total:
        return json.loads(json.dumps(part))
    for key, (hits, count) in part["by_class"].items():
        total["by_class"][key] = [total["by_class"][key][0] + hits, total["by_class"][key][1] + count]
    total["false"] += part["false"]
    total["stable_km2"] += part["stable_km2"]
    return total


def generator_scores(seeds: int, work: Path, min_velocity_cm_per_yr: float = 10.0) -> dict[str, dict[str, Any]]:
    """Ours and the plain threshold, summed over ``seeds`` steep-relief scenes with speeds 3-90 cm/yr."""
    from osgeo import ogr

    from rockglacier_plugin.core.insar.candidate_regions import RegionSettings
    from rockglacier_plugin.core.insar.interferogram import Interferogram
    from rockglacier_plugin.core.insar.landform_velocity import PairInput
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from rockglacier_plugin.core.insar.moving_area_candidates import MovingAreaSettings, find_moving_areas
    from tests.insar_builders import ALOS_WAVELENGTH_M, REFERENCE_DATE, SECONDARY_DATE
    from tests.steep_builders import steep_valley_scene

    totals: dict[str, dict[str, Any]] = {"ours": {}, "plain": {}}
    settings = MovingAreaSettings(regions=RegionSettings(min_velocity_cm_per_yr=min_velocity_cm_per_yr))
    for seed in range(seeds):
        scene = steep_valley_scene(work / f"ma{seed}", seed=seed, n_landforms=12, speed_range_cm_per_yr=(3.0, 90.0))
        pair = PairInput(Interferogram(str(scene.unwrapped), 1, REFERENCE_DATE, SECONDARY_DATE, ALOS_WAVELENGTH_M), str(scene.coherence))
        result = find_moving_areas([pair], str(scene.dem), LosGeometry(None, scene.incidence_deg, scene.los_azimuth_deg), settings)
        scene_km2 = 300 * 300 * 30.0 * 30.0 / 1.0e6
        ours = [ogr.CreateGeometryFromWkb(w) for w in result.wkb]
        plain = plain_threshold_regions(scene.unwrapped, scene.coherence, scene.dem, scene.incidence_deg, scene.los_azimuth_deg,
                                        min_velocity_cm_per_yr, settings.regions.min_area_km2)
        for name, found in (("ours", ours), ("plain", plain)):
            totals[name] = _add(totals[name], score(found, scene.landforms_wkt, scene.truths_cm_per_yr, scene.good, scene_km2))
    return totals


def _line(name: str, total: dict[str, Any]) -> str:
    classes = ", ".join(f"{key} cm/yr {hits}/{count}" + (f" ({100 * hits / count:.0f} %)" if count else "")
                        for key, (hits, count) in total["by_class"].items())
    per_100 = 100.0 * total["false"] / total["stable_km2"]
    return f"   {name:<34} found (good coherence and projection): {classes}; false candidates {total['false']} ({per_100:.1f} per 100 km2)"


def run(seeds: int = 12, work: Optional[Path] = None) -> dict[str, Any]:
    work = work or Path(tempfile.mkdtemp(prefix="rockglacier-moving-"))
    totals = generator_scores(seeds, work)
    print(f"\n== Moving-area candidates: {seeds} steep-relief scenes (12 landforms each, 3-90 cm/yr), threshold 10 cm/yr")
    print(_line("rockglacier:movingareas", totals["ours"]))
    print(_line("plain |LOS| threshold", totals["plain"]))
    return totals
