"""Moving-area candidates (``core.insar.moving_area_candidates``) on seeded scenes whose motion is known.

Oracles: the generator's landform outlines and speeds (``tests/steep_builders.py``), closed-form
planes for layover and shadow, a phase offset of exactly one cycle for an unwrapping error.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr

from benchmarks.moving_areas_bench import generator_scores
from rockglacier_plugin.core.insar.candidate_field import local_reference
from rockglacier_plugin.core.insar.candidate_regions import RegionSettings
from rockglacier_plugin.core.insar.interferogram import Interferogram
from rockglacier_plugin.core.insar.landform_velocity import PairInput
from rockglacier_plugin.core.insar.los_geometry import LosGeometry, layover_or_shadow
from rockglacier_plugin.core.insar.moving_area_candidates import (
    MovingAreaSettings,
    Polygons,
    find_moving_areas,
)
from rockglacier_plugin.core.progress import RunHooks
from tests.builders import write_raster
from tests.insar_builders import (
    ALOS_WAVELENGTH_M,
    EPSG,
    ORIGIN,
    REFERENCE_DATE,
    SECONDARY_DATE,
    multilook_noise,
    phase_per_cm_per_yr,
)
from tests.steep_builders import steep_valley_scene

PIXEL_M = 30.0
GEOMETRY = LosGeometry(None, 38.7, 102.0)


def _pair(unwrapped: Path, coherence: Path, components: Path | None = None) -> PairInput:
    return PairInput(
        Interferogram(str(unwrapped), 1, REFERENCE_DATE, SECONDARY_DATE, ALOS_WAVELENGTH_M),
        str(coherence),
        components_path=str(components) if components else None,
    )


def _wkb(wkts: list[str]) -> list[bytes]:
    return [ogr.CreateGeometryFromWkt(w).ExportToWkb() for w in wkts]


def _found(result, wkts: list[str]) -> list[bool]:
    candidates = [ogr.CreateGeometryFromWkb(w) for w in result.wkb]
    return [any(c.Intersects(ogr.CreateGeometryFromWkt(w)) for c in candidates) for w in wkts]


def test_generator__finds_80_percent_of_landforms_faster_than_10_cm_yr_with_fewer_false_candidates_than_a_plain_threshold(
    tmp_path,
):
    totals = generator_scores(4, tmp_path)
    hits = sum(totals["ours"]["by_class"][key][0] for key in ("10-30", "30-100"))
    count = sum(totals["ours"]["by_class"][key][1] for key in ("10-30", "30-100"))
    assert count >= 10
    assert hits / count >= 0.8
    assert totals["ours"]["false"] < totals["plain"]["false"]
    assert totals["ours"]["false"] <= 2


def test_second_generator__fast_landforms_with_sharp_margins_found_with_few_false_candidates(tmp_path):
    """The massif generator (written apart, not tuned on): power-law turbulence, 6 looks, irregular tongues, plugs with
    one- to two-pixel shear margins above 60 cm/yr. Moderate landforms are limited by its turbulence (docs/insar.md)."""
    totals = generator_scores(3, tmp_path, generator="massif")
    hits = sum(totals["ours"]["by_class"][key][0] for key in ("30-100", "100-300"))
    count = sum(totals["ours"]["by_class"][key][1] for key in ("30-100", "100-300"))
    assert count >= 5 and totals["ours"]["by_class"]["100-300"][1] >= 1
    assert hits / count >= 0.8
    assert 100.0 * totals["ours"]["false"] / totals["ours"]["stable_km2"] <= 3.0
    assert totals["ours"]["false"] < totals["plain"]["false"]


def test_stable_ground_with_noise_ramp_and_atmosphere_makes_no_candidate(tmp_path):
    for seed in range(3):
        scene = steep_valley_scene(tmp_path / str(seed), seed=seed, n_landforms=0)
        result = find_moving_areas([_pair(scene.unwrapped, scene.coherence)], str(scene.dem), GEOMETRY)
        assert result.rows == []


def test_local_reference_follows_a_smooth_atmosphere_and_ignores_a_moving_patch():
    rows, cols = np.mgrid[0:200, 0:200].astype(float)
    atmosphere = 5.0 * np.sin(cols / 60.0) + 0.03 * rows
    moving = np.zeros((200, 200))
    moving[90:105, 90:105] = 40.0
    reference, sigma = local_reference(atmosphere + moving, np.ones((200, 200), bool), PIXEL_M, 1000.0)
    # under the patch the reference is the atmosphere, not the motion (residual well below the 40 cm/yr signal)
    assert np.abs(reference - atmosphere)[90:105, 90:105].max() < 3.0
    assert np.median(sigma) < 2.0


def _slope_scene(
    folder: Path, slope_deg: np.ndarray, motion_rad: np.ndarray, coherence_value: float = 0.9, seed: int = 0
) -> tuple[Path, Path, Path]:
    """A DEM of planes facing the radar (aspect 258 = -102) with the given slope per pixel column band."""
    rng = np.random.default_rng(seed)
    gradient = np.tan(np.radians(slope_deg))  # rises towards the east-north-east, i.e. faces west-south-west
    z = 3000.0 + np.cumsum(gradient * PIXEL_M, axis=1)
    coherence = np.full(z.shape, coherence_value)
    phase = motion_rad + multilook_noise(coherence, 10, rng)
    gt = (ORIGIN[0], PIXEL_M, 0.0, ORIGIN[1], 0.0, -PIXEL_M)
    folder.mkdir(parents=True, exist_ok=True)
    return (
        write_raster(folder / "20070716_20070831_unw.tif", phase, gt, epsg=EPSG),
        write_raster(folder / "coherence.tif", coherence, gt, epsg=EPSG),
        write_raster(folder / "dem.tif", z, gt, epsg=EPSG),
    )


def _patch(shape: tuple[int, int], rows: slice, cols: slice, value: float) -> np.ndarray:
    field = np.zeros(shape)
    field[rows, cols] = value
    return field


def test_layover_and_shadow_hide_a_phase_signal_that_a_moderate_slope_shows(tmp_path):
    shape = (120, 160)
    los_signal = _patch(shape, slice(50, 70), slice(20, 40), 0.0) + _patch(shape, slice(50, 70), slice(110, 130), 1.0)
    # the same strong signal on a 20 deg slope (left) and on a 50 deg slope facing the radar (right, layover)
    slope = np.where(np.arange(160)[None, :] < 80, 20.0, 50.0) * np.ones(shape)
    assert layover_or_shadow(38.7, 102.0, 50.0, 258.0) and not layover_or_shadow(38.7, 102.0, 20.0, 258.0)
    k = phase_per_cm_per_yr()
    motion = k * 30.0 * (_patch(shape, slice(50, 70), slice(20, 40), 1.0) + los_signal)
    unwrapped, coherence, dem = _slope_scene(tmp_path / "a", slope, motion)
    settings = MovingAreaSettings()
    result = find_moving_areas([_pair(unwrapped, coherence)], str(dem), GEOMETRY, settings)
    centres = [ogr.CreateGeometryFromWkb(w).PointOnSurface() for w in result.wkb]
    columns = [(c.GetX() - ORIGIN[0]) / PIXEL_M for c in centres]
    assert len(columns) == 1 and 15 < columns[0] < 45  # the moderate slope's patch, never the layover one


def test_a_slow_landform_below_the_pixel_noise_is_found_at_the_landform_scale_and_stable_ground_stays_quiet(tmp_path):
    """24 cm/yr downslope on a 10 deg slope facing the radar (g = 0.48 in closed form), coherence 0.5 and 10 looks: the
    pixel's 1-sigma is about 16 cm/yr downslope, so no pixel passes SNR 2 alone; the mean over a 75 m disc (13 pixels
    of 30 m, inflated by the 2-pixel noise correlation: about 9 cm/yr) does. Nothing else in the 17 km2 scene moves, and
    nothing else is proposed."""
    shape = (120, 160)
    slope = np.full(shape, 10.0)
    g = math.sin(math.radians(38.7)) * math.cos(math.radians(10.0)) - math.cos(math.radians(38.7)) * math.sin(math.radians(10.0))
    landform = (slice(50, 62), slice(70, 80))  # 360 x 300 m, 0.11 km2
    motion = phase_per_cm_per_yr() * g * _patch(shape, *landform, 24.0)
    found_at_pixel_scale = 0
    for seed in range(6):
        unwrapped, coherence, dem = _slope_scene(tmp_path / str(seed), slope, motion, coherence_value=0.5, seed=seed)
        pixel_scale = find_moving_areas(
            [_pair(unwrapped, coherence)], str(dem), GEOMETRY, MovingAreaSettings(regions=RegionSettings(window_radius_m=0.0))
        )
        found_at_pixel_scale += len(pixel_scale.rows)
        both_scales = find_moving_areas([_pair(unwrapped, coherence)], str(dem), GEOMETRY)
        assert len(both_scales.rows) == 1, seed
        candidate = ogr.CreateGeometryFromWkb(both_scales.wkb[0])
        truth = ogr.CreateGeometryFromWkt(_box_wkt(*landform))
        assert candidate.Intersection(truth).GetArea() >= 0.4 * truth.GetArea()
        assert candidate.GetArea() <= 2.5 * truth.GetArea()
        assert 12.0 <= both_scales.rows[0]["vel_dslp_cm_yr"] <= 36.0
    assert found_at_pixel_scale <= 2


def test_a_small_slow_landform_counts_its_passing_discs_toward_the_minimum_area(tmp_path, monkeypatch):
    """A 120 x 120 m landform (0.014 km2, over the 0.01 km2 minimum) at 30 cm/yr downslope, coherence 0.5: the pixels
    whose 75 m disc passes are the landform shrunk by about a disc radius (8-12 of 30 m, under the minimum's 11), so
    measured by them alone it is dropped in most scenes; counting their discs, it is found, and nothing else is."""
    import rockglacier_plugin.core.insar.candidate_regions as candidate_regions

    shape = (120, 160)
    slope = np.full(shape, 10.0)
    g = math.sin(math.radians(38.7)) * math.cos(math.radians(10.0)) - math.cos(math.radians(38.7)) * math.sin(math.radians(10.0))
    landform = (slice(50, 54), slice(70, 74))
    truth = ogr.CreateGeometryFromWkt(_box_wkt(*landform))
    motion = phase_per_cm_per_yr() * g * _patch(shape, *landform, 30.0)
    found, found_by_centres_alone = 0, 0
    for seed in range(8):
        unwrapped, coherence, dem = _slope_scene(tmp_path / str(seed), slope, motion, coherence_value=0.5, seed=seed)
        result = find_moving_areas([_pair(unwrapped, coherence)], str(dem), GEOMETRY)
        assert len(result.rows) <= 1, seed
        found += sum(ogr.CreateGeometryFromWkb(w).Intersects(truth) for w in result.wkb)
        with monkeypatch.context() as patched:
            patched.setattr(candidate_regions, "MIN_CENTRE_SHARE", math.inf)
            alone = find_moving_areas([_pair(unwrapped, coherence)], str(dem), GEOMETRY)
        found_by_centres_alone += len(alone.rows)
    assert found >= 6
    assert found_by_centres_alone <= 4


def _box_wkt(rows: slice, cols: slice) -> str:
    x0, x1 = ORIGIN[0] + cols.start * PIXEL_M, ORIGIN[0] + cols.stop * PIXEL_M
    y0, y1 = ORIGIN[1] - rows.stop * PIXEL_M, ORIGIN[1] - rows.start * PIXEL_M
    return f"POLYGON (({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


def _with_island(scene, offset_rad: np.ndarray, centre_rank: float, folder: Path) -> tuple[Path, tuple[slice, slice]]:
    """A copy of the scene's interferogram with ``offset_rad`` added on an island of coherent ground."""
    phase = gdal.Open(str(scene.unwrapped)).ReadAsArray().astype(np.float64)
    coherence = gdal.Open(str(scene.coherence)).ReadAsArray()
    rr, cc = np.nonzero(coherence[30:-30, 30:-30] > 0.7)
    index = int(len(rr) * centre_rank)
    half = offset_rad.shape[0] // 2
    island = (slice(rr[index] + 30 - half, rr[index] + 30 + half), slice(cc[index] + 30 - half, cc[index] + 30 + half))
    phase[island] += offset_rad
    folder.mkdir(parents=True, exist_ok=True)
    gt = gdal.Open(str(scene.unwrapped)).GetGeoTransform()
    return write_raster(folder / "20070716_20070831_unw.tif", phase, gt, epsg=EPSG), island


def test_an_unwrapping_error_of_one_cycle_is_not_a_candidate(tmp_path):
    scene = steep_valley_scene(tmp_path / "scene", seed=5, n_landforms=0)
    caught = 0
    for index, sign in enumerate((1.0, -1.0)):
        for rank in (0.3, 0.5, 0.7):
            unwrapped, _ = _with_island(scene, np.full((12, 12), sign * 2.0 * math.pi), rank, tmp_path / f"{index}{rank}")
            notes: list[str] = []
            result = find_moving_areas(
                [_pair(unwrapped, scene.coherence)], str(scene.dem), GEOMETRY, hooks=RunHooks(log=notes.append)
            )
            assert result.rows == []
            caught += any("unwrapping error" in note for note in notes)
    assert caught >= 1  # dropped by the cycle rule where it would otherwise pass for motion, not only masked


def test_an_unwrapping_island_in_its_own_connected_component_is_not_a_candidate(tmp_path):
    scene = steep_valley_scene(tmp_path / "scene", seed=6, n_landforms=0)
    gt = gdal.Open(str(scene.unwrapped)).GetGeoTransform()
    checked = 0
    for index, sign in enumerate((1.0, -1.0)):
        for rank in (0.3, 0.5, 0.7):
            # a step below the cycle-jump limit (0.6 cycle and a gradient), so only the component rule can catch it
            offset = sign * (0.6 * 2.0 * math.pi + np.linspace(0.0, 0.5, 14)[None, :] * np.ones((14, 1)))
            unwrapped, island = _with_island(scene, offset, rank, tmp_path / f"{index}{rank}")
            components = np.ones(gdal.Open(str(scene.unwrapped)).ReadAsArray().shape)
            components[island] = 2
            components_path = write_raster(
                tmp_path / f"{index}{rank}" / "conncomp.tif", components, gt, epsg=EPSG, dtype=gdal.GDT_Byte
            )
            if not find_moving_areas([_pair(unwrapped, scene.coherence)], str(scene.dem), GEOMETRY).rows:
                continue  # masked here (slope, projection): nothing to show
            notes: list[str] = []
            result = find_moving_areas(
                [_pair(unwrapped, scene.coherence, components_path)], str(scene.dem), GEOMETRY, hooks=RunHooks(log=notes.append)
            )
            assert result.rows == []
            assert any("connected component" in note for note in notes)
            checked += 1
    assert checked >= 1  # the island looked like motion without the components at least once


def test_a_glacier_outline_masks_its_motion_and_an_inventory_gives_match_ids(tmp_path):
    scene = steep_valley_scene(tmp_path / "scene", seed=1)
    pair = _pair(scene.unwrapped, scene.coherence)
    crs = f"EPSG:{EPSG}"
    plain = find_moving_areas([pair], str(scene.dem), GEOMETRY)
    found = _found(plain, scene.landforms_wkt)
    first = found.index(True)
    masked = find_moving_areas([pair], str(scene.dem), GEOMETRY, glaciers=Polygons(_wkb([scene.landforms_wkt[first]]), crs))
    assert _found(masked, scene.landforms_wkt)[first] is False
    assert len(masked.rows) == len(plain.rows) - 1
    inventory = Polygons(_wkb(scene.landforms_wkt), crs, [f"rg{i:03d}" for i in range(len(scene.landforms_wkt))])
    matched = find_moving_areas([pair], str(scene.dem), GEOMETRY, MovingAreaSettings(id_prefix="rg"), inventory=inventory)
    assert {row["match_rg_id"] for row in matched.rows} <= set(inventory.ids) and all(row["match_rg_id"] for row in matched.rows)
    assert [row["rg_id"] for row in matched.rows] == [f"rg{len(inventory.ids) + i:03d}" for i in range(len(matched.rows))]
    for row in matched.rows:
        assert row["source"] == "insar" and row["review"] == "candidate"
        assert row["vel_max_cm_yr"] >= row["vel_dslp_cm_yr"] > 10.0 and row["vel_err_cm_yr"] > 0


def test_a_moving_area_seen_in_one_of_two_coherent_pairs_is_kept_and_flagged(tmp_path):
    moving = steep_valley_scene(tmp_path / "moving", seed=2)
    still = steep_valley_scene(tmp_path / "still", seed=2, n_landforms=0)
    still_unwrapped = tmp_path / "still" / "20070831_20071016_unw.tif"
    Path(still.unwrapped).rename(still_unwrapped)
    pairs = [
        _pair(moving.unwrapped, moving.coherence),
        PairInput(
            Interferogram(str(still_unwrapped), 1, SECONDARY_DATE, SECONDARY_DATE.replace(month=10, day=16), ALOS_WAVELENGTH_M),
            str(still.coherence),
        ),
    ]
    result = find_moving_areas(pairs, str(moving.dem), GEOMETRY)
    assert result.rows
    flagged = [row for row in result.rows if row["pairs_seen"] == 1 and row["pairs_covering"] == 2]
    assert flagged and all("seen moving in 1 of 2 pairs" in row["vel_reason"] for row in flagged)


def test_bad_settings_are_refused_with_a_message(tmp_path):
    scene = steep_valley_scene(tmp_path / "scene", seed=0, n_landforms=0)
    from rockglacier_plugin.core.errors import ParameterError
    from rockglacier_plugin.core.insar.candidate_field import FieldSettings

    with pytest.raises(ParameterError, match="MAX_SLOPE_DEG"):
        find_moving_areas(
            [_pair(scene.unwrapped, scene.coherence)],
            str(scene.dem),
            GEOMETRY,
            MovingAreaSettings(field=FieldSettings(min_slope_deg=40.0, max_slope_deg=35.0)),
        )


def _fast_landform_scene(folder: Path, peak_cm_per_yr: float, seed: int = 0) -> tuple[Path, Path, Path, str]:
    """A 20 deg slope facing away from the radar (aspect 78 deg: the LOS sees 0.82 of the downslope motion) with one
    landform: its downslope speed ``peak`` along the centre line, falling to half at its sides, then to rest within
    one pixel (a sharp lateral shear margin), in a 46-day L-band pair."""
    rng = np.random.default_rng(seed)
    shape = (120, 160)
    slope, aspect = 20.0, 78.0
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    east, north = math.sin(math.radians(aspect)), math.cos(math.radians(aspect))
    z = 3500.0 - math.tan(math.radians(slope)) * PIXEL_M * (cols * east - rows * north)  # falls towards the aspect
    u, w = (cols - 80.0) / 14.0, (rows - 60.0) / 7.0  # 840 m long, 420 m wide
    inside = u**2 + w**2 < 1.0
    speed = np.where(inside, peak_cm_per_yr * (1.0 - 0.5 * w**2) * (1.0 - 0.3 * u**2), 0.0)
    th, al, s, a = math.radians(38.7), math.radians(102.0), math.radians(slope), math.radians(aspect)
    g = math.sin(th) * math.cos(s) * math.cos(al + a) - math.cos(th) * math.sin(s)
    coherence = np.where(inside, 0.6, 0.85)
    phase = phase_per_cm_per_yr() * speed * g + multilook_noise(coherence, 10, rng)
    gt = (ORIGIN[0], PIXEL_M, 0.0, ORIGIN[1], 0.0, -PIXEL_M)
    folder.mkdir(parents=True, exist_ok=True)
    x0, y0 = ORIGIN[0] + 80.5 * PIXEL_M, ORIGIN[1] - 60.5 * PIXEL_M
    outline = f"POINT({x0} {y0})"
    return (
        write_raster(folder / "20070716_20070831_unw.tif", phase, gt, epsg=EPSG),
        write_raster(folder / "coherence.tif", coherence, gt, epsg=EPSG),
        write_raster(folder / "dem.tif", z, gt, epsg=EPSG),
        outline,
    )


@pytest.mark.parametrize("peak", [110.0, 127.0])
def test_a_fast_landform_with_a_sharp_shear_margin_is_motion_not_an_unwrapping_error(tmp_path, peak):
    """About a metre a year (the seed paper's fastest, 127 cm/yr): the LOS phase changes by most of a cycle across the
    one-pixel shear margin, which the old rule took for a 2-pi cut and dropped; its change follows the landform's speed
    along the margin, no whole number of cycles, so it is kept."""
    unwrapped, coherence, dem, centre = _fast_landform_scene(tmp_path, peak)
    notes: list[str] = []
    result = find_moving_areas([_pair(unwrapped, coherence)], str(dem), GEOMETRY, hooks=RunHooks(log=notes.append))
    assert _found(result, [centre]) == [True], notes
    assert not any("unwrapping error" in note for note in notes)
    row = next(
        r for r, w in zip(result.rows, result.wkb) if ogr.CreateGeometryFromWkb(w).Contains(ogr.CreateGeometryFromWkt(centre))
    )
    assert row["vel_dslp_cm_yr"] > 0.5 * peak


@pytest.mark.parametrize("cycles", [1, 2])
def test_whole_cycle_offsets_along_a_line_are_dropped_and_said(tmp_path, cycles):
    """One and two cycles added to a patch of stable ground: cut from its surroundings by the same whole number of cycles
    all around, an unwrapping error, dropped with the reason in the log."""
    scene = steep_valley_scene(tmp_path / "scene", seed=5, n_landforms=0)
    caught = 0
    for index, rank in enumerate((0.3, 0.5, 0.7)):
        unwrapped, _ = _with_island(scene, np.full((12, 12), cycles * 2.0 * math.pi), rank, tmp_path / f"{index}")
        notes: list[str] = []
        result = find_moving_areas(
            [_pair(unwrapped, scene.coherence)], str(scene.dem), GEOMETRY, hooks=RunHooks(log=notes.append)
        )
        assert result.rows == []
        caught += any(f"whole-cycle cuts of +{cycles} cycle(s)" in note for note in notes)
    assert caught >= 1
