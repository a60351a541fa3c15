"""InSAR velocities in steep valleys (``tests/steep_builders.py``): how many landforms whose
coherence and projection are good get a velocity within its error, with the reference ladder, the
stratified-atmosphere fit and the atmospheric error term, against the paper's single rule (flat,
coherent ground within 1 km), on the same seeded scenes in this process."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import ogr

from rockglacier_plugin.core.raster.geometry import Polygons


def _run_scenes(seeds: range, work: Path, paper_rule: bool) -> list[tuple]:
    from rockglacier_plugin.core.insar import landform_velocity as lv
    from rockglacier_plugin.core.insar.interferogram import Interferogram
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from rockglacier_plugin.core.insar.reference import LADDER, reference_candidates
    from rockglacier_plugin.core.insar.scene import SceneSettings
    from tests.insar_builders import ALOS_WAVELENGTH_M, EPSG, REFERENCE_DATE, SECONDARY_DATE
    from tests.steep_builders import steep_valley_scene

    saved = lv.reference_candidates, lv._atmosphere_sigma
    if paper_rule:
        lv.reference_candidates = functools.partial(reference_candidates, ladder=LADDER[:1])
        lv._atmosphere_sigma = lambda *args, **kwargs: 0.0
    settings = lv.VelocitySettings(scene=SceneSettings(remove_stratified=not paper_rule))  # the defaults users get
    rows = []
    try:
        for seed in seeds:
            scene = steep_valley_scene(work / str(seed), seed=seed)
            landforms = lv.extract_velocities(
                Polygons(
                    [ogr.CreateGeometryFromWkt(w).ExportToWkb() for w in scene.landforms_wkt],
                    f"EPSG:{EPSG}",
                    [f"rg{i:03d}" for i in range(len(scene.landforms_wkt))],
                ),
                [
                    lv.PairInput(
                        Interferogram(str(scene.unwrapped), 1, REFERENCE_DATE, SECONDARY_DATE, ALOS_WAVELENGTH_M),
                        str(scene.coherence),
                    )
                ],
                str(scene.dem),
                LosGeometry(None, scene.incidence_deg, scene.los_azimuth_deg),
                settings,
            ).landforms
            for landform, truth, good in zip(landforms, scene.truths_cm_per_yr, scene.good):
                z = (
                    (landform.vel_dslp_cm_yr - truth) / landform.vel_err_cm_yr
                    if landform.vel_dslp_cm_yr is not None and landform.vel_err_cm_yr
                    else np.nan
                )
                rows.append((good, bool(landform.vel_ok), truth, z, (landform.reference or {}).get("rung"), landform.vel_reason))
    finally:
        lv.reference_candidates, lv._atmosphere_sigma = saved
    return rows


def summarise(rows: list[tuple]) -> dict[str, Any]:
    good = [r for r in rows if r[0]]
    fast = [r for r in good if r[2] >= 15.0]
    ok = [r for r in rows if r[1]]
    within = [r for r in good if r[1] and abs(r[3]) <= 2.0]
    z = np.array([r[3] for r in ok])
    return {
        "landforms": len(rows),
        "good": len(good),
        "good_ok_within_2_sigma": len(within),
        "share_good_ok_within_2_sigma": len(within) / max(len(good), 1),
        "share_good_faster_15_ok_within_2_sigma": sum(1 for r in fast if r[1] and abs(r[3]) <= 2.0) / max(len(fast), 1),
        "ok_wrong_beyond_3_sigma": int(np.sum(np.abs(z) > 3.0)),
        "z_spread": float(np.std(z)) if z.size else float("nan"),
        "no_reference": sum(1 for r in good if r[5] and "nothing stable" in r[5]),
    }


def run(seeds: int = 16) -> dict:
    work = Path(tempfile.mkdtemp(prefix="rockglacier-steep-"))
    ours = summarise(_run_scenes(range(seeds), work, paper_rule=False))
    paper = summarise(_run_scenes(range(seeds), work, paper_rule=True))
    print(
        f"\n== InSAR in steep valleys: {seeds} seeded scenes, {ours['landforms']} landforms, {ours['good']} with good "
        "coherence and projection (ALOS-1-like 46-day pairs, stratified + turbulent atmosphere)"
    )
    for name, s in (("ladder + stratified fit + atmosphere error", ours), ("paper's rule (flat coherent within 1 km)", paper)):
        print(
            f"   {name:<44} good & ok & within 2 sigma {100 * s['share_good_ok_within_2_sigma']:5.1f} % "
            f"(faster than 15 cm/yr: {100 * s['share_good_faster_15_ok_within_2_sigma']:5.1f} %), "
            f"ok but > 3 sigma off {s['ok_wrong_beyond_3_sigma']}, z spread {s['z_spread']:.2f}, "
            f"no reference {s['no_reference']}"
        )
    return {"ours": ours, "paper_rule": paper}
