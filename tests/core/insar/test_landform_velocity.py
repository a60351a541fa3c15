"""Downslope velocity per landform: synthetic round trips with known velocities, sign and geometry
cases, bad input, and consistency on real Sentinel-1 interferograms (PyRate, Mexico City)."""

import glob

import numpy as np
import pytest
from osgeo import gdal, ogr

from rockglacier_plugin.core.errors import InputRasterError, ParameterError
from rockglacier_plugin.core.insar.interferogram import Interferogram, describe_interferogram
from rockglacier_plugin.core.insar.landform_velocity import (
    PairInput,
    ReferencePoints,
    VelocitySettings,
    extract_velocities,
)
from rockglacier_plugin.core.insar.los_geometry import LosGeometry
from rockglacier_plugin.core.insar.scene import InsarScene, SceneSettings
from rockglacier_plugin.core.raster.geometry import Polygons
from rockglacier_plugin.core.raster.windows import Window
from tests.builders import write_raster
from tests.insar_builders import ALOS_WAVELENGTH_M, EPSG, REFERENCE_DATE, SECONDARY_DATE, cone_scene

# The synthetic DEM is exact and its noise independent per pixel: no DEM error, no correlation.
EXACT = VelocitySettings(noise_correlation_px=1.0, scene=SceneSettings(looks=10, slope_sigma_deg=0.0, aspect_sigma_deg=0.0))
FACING_AWAY = (20.0, 45.0, 70.0, 90.0, 110.0, 135.0, 160.0)  # |g| >= 0.3 from an ascending track


def run(
    scene,
    settings=EXACT,
    unwrapped=None,
    reference=REFERENCE_DATE,
    secondary=SECONDARY_DATE,
    geometry=None,
    points=None,
    wkts=None,
):
    interferogram = Interferogram(str(unwrapped or scene.unwrapped_true), 1, reference, secondary, ALOS_WAVELENGTH_M)
    wkts = wkts or scene.landforms_wkt
    return extract_velocities(
        Polygons(
            [ogr.CreateGeometryFromWkt(w).ExportToWkb() for w in wkts], f"EPSG:{EPSG}", [f"rg{i:03d}" for i in range(len(wkts))]
        ),
        [PairInput(interferogram, str(scene.coherence))],
        str(scene.dem),
        geometry or LosGeometry(None, scene.incidence_deg, scene.los_azimuth_deg),
        settings,
        points,
    ).landforms


def test_round_trip__known_downslope_velocities_recovered_within_three_sigma(tmp_path):
    scene = cone_scene(tmp_path, seed=11, aspects_deg=FACING_AWAY)
    results = run(scene)
    z = []
    for truth, result in zip(scene.velocity_dslp_cm_per_yr, results):
        assert result.vel_ok == 1, result.vel_reason
        z.append(abs(result.vel_dslp_cm_yr - truth) / result.vel_err_cm_yr)
        assert result.vel_pair == "20070716-20070831"
        assert result.reference["method"] == "auto" and result.reference["coherence"] >= 0.7
    assert max(z) < 4 and sum(v > 3 for v in z) <= 1


@pytest.mark.slow
def test_round_trip__reported_errors_are_honest_over_many_seeds(tmp_path):
    """About 68 % of landforms within 1 sigma and 95 % within 2 sigma (noise drawn from the true
    multilook phase distribution, not from the model the code assumes)."""
    z = []
    for seed in range(16):
        scene = cone_scene(tmp_path / str(seed), seed=seed, aspects_deg=FACING_AWAY)
        for truth, result in zip(scene.velocity_dslp_cm_per_yr, run(scene)):
            if result.vel_ok:
                z.append((result.vel_dslp_cm_yr - truth) / result.vel_err_cm_yr)
    z = np.array(z)
    assert len(z) >= 100
    assert 0.58 <= np.mean(np.abs(z) < 1) <= 0.78
    assert np.mean(np.abs(z) < 2) >= 0.9
    assert 0.85 <= z.std() <= 1.2
    assert abs(z.mean()) < 0.3


def test_descending_geometry__mirror_scene_recovers_velocities(tmp_path):
    mirrored = tuple((360.0 - a) % 360.0 for a in FACING_AWAY)  # descending sees the mirrored flanks
    scene = cone_scene(tmp_path, seed=5, los_azimuth_deg=-102.0, aspects_deg=mirrored)
    results = run(scene)
    assert all(result.vel_ok == 1 for result in results)
    z = [abs(r.vel_dslp_cm_yr - truth) / r.vel_err_cm_yr for truth, r in zip(scene.velocity_dslp_cm_per_yr, results)]
    assert max(z) < 4 and sum(v > 3 for v in z) <= 1


def test_slopes_facing_the_satellite__small_projection_factor_is_masked(tmp_path):
    # Ascending track: the satellite lies to the WSW (258 deg); with slope 25 and incidence 38.7,
    # g = sin(13.7 deg) = 0.24 < 0.3 on west-south-west flanks; on a north flank (340) g = -0.25.
    scene = cone_scene(tmp_path, seed=2, aspects_deg=(250.0, 260.0, 340.0))
    for result in run(scene):
        assert result.vel_ok == 0 and result.kin_class == "undefined"
        assert "masks" in result.vel_reason and result.vel_valid_frac < 0.1


def test_reversed_dates__same_velocities_from_the_negated_phase(tmp_path):
    scene = cone_scene(tmp_path, seed=3, aspects_deg=FACING_AWAY[:3])
    phase = gdal.Open(str(scene.unwrapped_true)).ReadAsArray()
    ds = gdal.Open(str(scene.unwrapped_true))
    reversed_path = write_raster(tmp_path / "reversed.tif", -phase, ds.GetGeoTransform(), epsg=EPSG)
    forward = run(scene)
    backward = run(scene, unwrapped=reversed_path, reference=SECONDARY_DATE, secondary=REFERENCE_DATE)
    for a, b in zip(forward, backward):
        assert b.vel_dslp_cm_yr == pytest.approx(a.vel_dslp_cm_yr, abs=1e-6)


def test_upslope_motion__negative_mean_is_flagged_not_folded(tmp_path):
    scene = cone_scene(tmp_path, seed=4, aspects_deg=(90.0,), speeds_cm_per_yr=(-60.0,))
    result = run(scene)[0]
    assert scene.velocity_dslp_cm_per_yr[0] < -20.0
    assert result.vel_dslp_cm_yr == pytest.approx(scene.velocity_dslp_cm_per_yr[0], abs=3 * result.vel_err_cm_yr)
    assert result.kin_class == "undefined" and "negative downslope velocity" in result.vel_reason


def test_manual_reference_point__is_used_and_labelled(tmp_path):
    scene = cone_scene(tmp_path, seed=6, aspects_deg=(90.0,), speeds_cm_per_yr=(50.0,))
    x = 500000.0 + 240 * 30.0 - 300.0  # flat plain, east edge of the scene
    points = ReferencePoints([(x, 4000000.0 - 3600.0)], ["rg000"], f"EPSG:{EPSG}")
    result = run(scene, points=points)[0]
    assert result.reference["method"] == "manual"
    assert result.reference["x"] == pytest.approx(x, abs=30.0)
    assert abs(result.vel_dslp_cm_yr - scene.velocity_dslp_cm_per_yr[0]) < 3 * result.vel_err_cm_yr


def test_polygon_outside_the_scene__says_so(tmp_path):
    scene = cone_scene(tmp_path, seed=7, aspects_deg=(90.0,))
    far = "POLYGON((600000 4000000,600100 4000000,600100 3999900,600000 3999900,600000 4000000))"
    result = run(scene, wkts=[far, scene.landforms_wkt[0]])
    assert result[0].vel_ok == 0 and result[0].vel_reason == "not covered by any interferogram or velocity product"
    assert result[1].vel_ok == 1


def test_zero_coherence__is_refused_with_advice(tmp_path):
    scene = cone_scene(tmp_path, seed=8, aspects_deg=(90.0,))
    gt = gdal.Open(str(scene.coherence)).GetGeoTransform()
    write_raster(scene.coherence, np.zeros((240, 240)), gt, epsg=EPSG)
    with pytest.raises(InputRasterError, match="no pixel of the coherence raster reaches MIN_COHERENCE=0.3"):
        run(scene)


def test_amplitude_band_given_as_phase__is_detected(tmp_path):
    scene = cone_scene(tmp_path, seed=9, aspects_deg=(90.0,))
    amplitude = np.abs(np.random.default_rng(0).normal(300.0, 100.0, (240, 240)))
    amp_path = write_raster(tmp_path / "amp.tif", amplitude, gdal.Open(str(scene.dem)).GetGeoTransform(), epsg=EPSG)
    with pytest.raises(InputRasterError, match="looks like amplitude.*PHASE_BAND=2"):
        run(scene, unwrapped=amp_path)


def test_coherence_on_another_grid_and_crs__is_resampled_and_logged(tmp_path):
    scene = cone_scene(tmp_path, seed=10, aspects_deg=FACING_AWAY[:4])
    lonlat = tmp_path / "coherence_wgs84.tif"
    gdal.Warp(str(lonlat), str(scene.coherence), dstSRS="EPSG:4326", resampleAlg="near")
    messages = []
    interferogram = Interferogram(str(scene.unwrapped_true), 1, REFERENCE_DATE, SECONDARY_DATE, ALOS_WAVELENGTH_M)
    InsarScene(interferogram, str(lonlat), 1, str(scene.dem), LosGeometry(None, 38.7, 102.0), SceneSettings(), messages.append)
    assert any("coherence" in m and "resampled" in m for m in messages)
    scene.coherence = lonlat
    for truth, result in zip(scene.velocity_dslp_cm_per_yr, run(scene)):
        assert result.vel_ok == 1 and abs(result.vel_dslp_cm_yr - truth) < 4 * result.vel_err_cm_yr


def test_missing_geometry__is_refused_with_what_to_give():
    with pytest.raises(ParameterError, match="INCIDENCE_DEG and LOS_AZIMUTH_DEG"):
        LosGeometry().check()


def test_dates__from_file_name_metadata_or_parameters(tmp_path):
    folder = tmp_path / "20070716_20070831" / "interferogram"
    folder.mkdir(parents=True)
    path = write_raster(folder / "filt_topophase.unw.tif", np.zeros((4, 4)), (0, 1, 0, 0, 0, -1))
    interferogram, _ = describe_interferogram(str(path), 0, 0.2360571, None, None, None)
    assert interferogram.pair_label == "20070716-20070831"
    nameless = write_raster(tmp_path / "unw.tif", np.zeros((4, 4)), (0, 1, 0, 0, 0, -1))
    with pytest.raises(ParameterError, match="No acquisition dates found"):
        describe_interferogram(str(nameless), 0, 0.2360571, None, None, None)
    reversed_pair, notes = describe_interferogram(str(nameless), 0, 0.2360571, None, SECONDARY_DATE, REFERENCE_DATE)
    assert reversed_pair.reference_date == SECONDARY_DATE and any("sign is flipped" in n for n in notes)


@pytest.mark.shared_data
def test_real_sentinel1_stack__los_velocities_consistent_across_30_pairs(shared_dataset):
    """PyRate's 30 GAMMA interferograms over Mexico City: the LOS velocity difference between the
    fastest-moving and the most opposite parts of the crop (defined on the stack) must agree in
    sign in every pair and scatter little in the pairs long enough to average atmosphere down.
    Measured: all 30 positive, median 17 cm/yr, spread 4.2 cm/yr over pairs >= 48 days."""
    base = shared_dataset("pyrate-cropA-s1-mexicocity") / "geotiffs"
    files = sorted(glob.glob(str(base / "*_unw.tif")))
    assert len(files) == 30
    maps, spans = [], []
    for path in files:
        interferogram, _ = describe_interferogram(path, 0, 0.05546576, None, None, None)
        assert interferogram.wavelength_m == pytest.approx(0.0555, abs=1e-4)  # from the file's metadata
        scene = InsarScene(
            interferogram,
            path.replace("_eqa_unw", "_flat_eqa_cc"),
            1,
            str(base / "cropA_T005A_dem.tif"),
            LosGeometry(None, 39.7, 102.3),
            SceneSettings(),
        )
        scene.fit_stable_ground([], 0.3)
        maps.append(scene.read(Window(0, 0, 100, 60)).velocity_los_cm_per_yr)
        spans.append((interferogram.secondary_date - interferogram.reference_date).days)
    maps, spans = np.array(maps), np.array(spans)
    stack = np.nansum(maps * spans[:, None, None], axis=0) / spans.sum()
    high, low = stack > np.nanpercentile(stack, 95), stack < np.nanpercentile(stack, 5)
    differences = np.array([np.nanmean(m[high]) - np.nanmean(m[low]) for m in maps])
    assert (differences > 0).all()
    long_pairs = differences[spans >= 48]
    assert long_pairs.std() < 0.35 * np.median(differences)
    assert 10.0 < np.median(differences) < 30.0
