"""Defects found in review of the InSAR core, each pinned by a test that failed before its fix."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
from osgeo import gdal

from rockglacier_plugin.core.insar.interferogram import dates_from_metadata, parse_date
from rockglacier_plugin.core.insar.landform_velocity import VelocitySettings, _statistics
from rockglacier_plugin.core.insar.reference import ReferenceChoice
from rockglacier_plugin.core.insar.scene import WindowData
from rockglacier_plugin.core.insar.velocity_series import rank as _rank
from rockglacier_plugin.core.progress import RunHooks
from rockglacier_plugin.core.raster.geometry import Polygons
from rockglacier_plugin.core.raster.windows import Window

ROOT = Path(__file__).resolve().parents[3]


def test_date12__yymmdd_tag_gives_the_right_dates(tmp_path):
    # MintPy and ISCE2 write DATE12 as YYMMDD-YYMMDD; read as YYYYMMDD it gave the year 811
    path = tmp_path / "unw.tif"
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), 2, 2, 1, gdal.GDT_Float32)
    dataset.SetMetadata({"DATE12": "081114-081230"})
    dataset = None
    first, second = dates_from_metadata(gdal.Open(str(path)), str(tmp_path / "no_dates_here.tif"))
    assert (first, second) == (date(2008, 11, 14), date(2008, 12, 30))
    assert parse_date("20081114", "d") == date(2008, 11, 14)


def test_phase_noise__works_where_numpy_has_no_trapz_any_more():
    # NumPy 2.4 removed np.trapz (newer QGIS builds ship it); simulate it in a fresh interpreter
    script = f"""
import sys, numpy
sys.path.insert(0, {str(ROOT)!r})
import scipy.special  # (SciPy itself looks up numpy attributes as it loads)
numpy.trapezoid = getattr(numpy, "trapezoid", None) or numpy.trapz
del numpy.trapz
from rockglacier_plugin.core.insar.phase import phase_sigma_rad
print(float(phase_sigma_rad(numpy.array([0.6]), 10.0)[0]))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert 0.2 < float(result.stdout) < 0.5


def _window(velocity_los_cm_per_yr: float, projection: float = -0.8) -> WindowData:
    shape = (20, 20)
    return WindowData(
        Window(0, 0, 20, 20),
        np.full(shape, velocity_los_cm_per_yr),
        np.full(shape, 0.5),
        np.full(shape, 0.8),
        np.full(shape, 4000.0),
        np.full(shape, 25.0),
        np.full(shape, 90.0),
        np.full(shape, projection),
        np.full(shape, 0.01),
    )


def test_negative_mean__never_gets_vel_ok_nor_wins_the_pair_ranking():
    reference = ReferenceChoice(0, 0, "auto", 0.0, 0.1, 0.9)
    cover = np.ones((20, 20))
    # LOS +20 cm/yr with g = -0.8 is -25 cm/yr downslope: precise, well covered, and upslope
    upslope = _statistics(_window(20.0), cover, cover.sum(), reference, VelocitySettings())
    assert upslope.vel_dslp_cm_yr < 0 and upslope.vel_rel_err < 0.2
    assert upslope.vel_ok == 0 and "negative downslope velocity" in upslope.vel_reason
    assert upslope.kin_class == "undefined"
    downslope = _statistics(_window(-20.0), cover, cover.sum(), reference, VelocitySettings())
    assert downslope.vel_ok == 1
    assert min([upslope, downslope], key=_rank) is downslope


def test_manual_reference_outside_the_data__falls_back_to_the_automatic_one_and_says_so(tmp_path):
    from osgeo import ogr

    from rockglacier_plugin.core.insar.interferogram import Interferogram
    from rockglacier_plugin.core.insar.landform_velocity import PairInput, ReferencePoints, extract_velocities
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from tests.insar_builders import ALOS_WAVELENGTH_M, EPSG, REFERENCE_DATE, SECONDARY_DATE, cone_scene

    scene = cone_scene(tmp_path, seed=3, aspects_deg=(90.0,))
    interferogram = Interferogram(str(scene.unwrapped_true), 1, REFERENCE_DATE, SECONDARY_DATE, ALOS_WAVELENGTH_M)
    far_away = ReferencePoints([(-1e6, -1e6)], ["rg000"], f"EPSG:{EPSG}")  # outside every raster
    (with_point,) = extract_velocities(
        Polygons([ogr.CreateGeometryFromWkt(scene.landforms_wkt[0]).ExportToWkb()], f"EPSG:{EPSG}", ["rg000"]),
        [PairInput(interferogram, str(scene.coherence))],
        str(scene.dem),
        LosGeometry(None, scene.incidence_deg, scene.los_azimuth_deg),
        VelocitySettings(),
        far_away,
    ).landforms
    assert with_point.reference is not None and with_point.reference["method"] == "auto"
    assert "automatic reference was used instead" in with_point.vel_reason
    assert with_point.vel_dslp_cm_yr is not None


def test_reference_radius__is_a_radius_not_the_half_width_of_a_square():
    from types import SimpleNamespace

    from rockglacier_plugin.core.insar.reference import (
        LADDER,
        LandformPlace,
        StableGroundRule,
        distance_to_mask_m,
        reference_candidates,
    )

    shape = (41, 41)
    landform = np.zeros(shape, bool)
    landform[20, 20] = True
    # stable flat coherent ground only in the corners: 20 px diagonally (28.3 px away), 20 px square half-width
    usable = np.zeros(shape, bool)
    usable[:5, :5] = usable[:5, -5:] = usable[-5:, :5] = usable[-5:, -5:] = True
    velocity = np.where(usable, 1.0, np.nan)
    grids = SimpleNamespace(
        velocity_los_cm_per_yr=velocity,
        sigma_los_cm_per_yr=np.full(shape, 0.1),
        coherence=np.full(shape, 0.9),
        slope_deg=np.zeros(shape),
        elevation_m=np.zeros(shape),
    )
    place = LandformPlace(~landform, (20.0, 20.0), (30.0, 30.0), 0.0, distance_to_mask_m(landform, (30.0, 30.0)))

    def found(radius_m):
        rule = StableGroundRule(0.3, 0.7, 10.0, 300.0, window_px=3, correlation_px=1.0, max_distance_m=radius_m)
        return reference_candidates(grids, place, rule, LADDER[:1], first_only=True)

    assert found(20 * 30.0) == []  # the corners are outside 600 m
    assert len(found(30 * 30.0)) == 1


def test_no_data__each_raster_read_with_its_own_value_and_outside_the_dem_is_no_elevation(tmp_path):
    from rockglacier_plugin.core.insar.interferogram import Interferogram
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from rockglacier_plugin.core.insar.scene import InsarScene, SceneSettings
    from tests.builders import write_raster

    gt = (500000.0, 30.0, 0.0, 4000000.0, 0.0, -30.0)
    unw = write_raster(tmp_path / "20070716_20070831_unw.tif", np.full((40, 40), 0.5), gt, 32644, nodata=0.0)
    coherence = write_raster(tmp_path / "cor.tif", np.full((40, 40), 0.8), gt, 32644)
    los_values = np.stack([np.full((40, 40), 38.7), np.full((40, 40), 102.0)])
    los_values[:, :, 30:] = -9999.0  # outside the LOS swath
    los = write_raster(tmp_path / "los.tif", los_values, gt, 32644, nodata=-9999.0)
    # a DEM covering only the western half, no no-data value of its own, on another grid (30 m -> 15 m)
    dem = write_raster(
        tmp_path / "dem.tif",
        np.full((80, 40), 4200.0) + np.arange(40)[None, :] * 5.0,
        (500000.0, 15.0, 0.0, 4000000.0, 0.0, -15.0),
        32644,
    )
    interferogram = Interferogram(str(unw), 1, date(2007, 7, 16), date(2007, 8, 31), 0.2360571)
    scene = InsarScene(interferogram, str(coherence), 1, str(dem), LosGeometry(str(los)), SceneSettings(dem_smoothing_px=0.0))
    data = scene.read(Window(0, 0, 40, 40))
    assert np.isnan(data.elevation_m[:, 25:]).all()  # never 0 m
    assert np.nanmin(data.elevation_m) > 4000.0
    assert np.isnan(data.projection[:, 31:]).all() and np.isfinite(data.projection[5:-5, 5:15]).all()


def test_scipy_missing__is_said_in_the_log_the_user_reads(tmp_path, monkeypatch):
    from rockglacier_plugin.core.insar import scene as scene_module
    from tests.insar_builders import REFERENCE_DATE, SECONDARY_DATE, cone_scene

    built = cone_scene(tmp_path, seed=1, size_px=60, aspects_deg=(90.0,))
    monkeypatch.setattr(scene_module, "exact_noise_available", lambda: False)
    messages = []
    scene_module.InsarScene(
        scene_module.Interferogram(str(built.unwrapped_true), 1, REFERENCE_DATE, SECONDARY_DATE, 0.2360571),
        str(built.coherence),
        1,
        str(built.dem),
        scene_module.LosGeometry(None, 38.7, 102.0),
        scene_module.SceneSettings(),
        messages.append,
    )
    assert any("SciPy is missing" in m and "pip" in m for m in messages)


def test_stratified_atmosphere__a_known_phase_elevation_slope_is_found_and_removed(tmp_path):
    """A scene whose only error is 0.8 rad per km of elevation (no motion, no noise, no ramp)."""
    from osgeo import ogr

    from rockglacier_plugin.core.insar.interferogram import Interferogram
    from rockglacier_plugin.core.insar.landform_velocity import PairInput, extract_velocities
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from rockglacier_plugin.core.insar.scene import SceneSettings
    from tests.builders import write_raster

    size, pixel = 200, 30.0
    rows, cols = np.mgrid[0:size, 0:size]
    gt = (500000.0, pixel, 0.0, 4000000.0, 0.0, -pixel)
    # a valley: 1,500 m of relief, flanks of ~25 deg
    elevation = 3500.0 + 0.47 * pixel * np.abs(cols - size / 2) + 0.2 * pixel * np.abs(rows - size / 2)
    per_km = 0.8
    phase = per_km * (elevation - 4000.0) / 1000.0
    dem = write_raster(tmp_path / "dem.tif", elevation, gt, 32644)
    unw = write_raster(tmp_path / "20070716_20070831_unw.tif", phase, gt, 32644)
    coherence = write_raster(tmp_path / "cor.tif", np.full((size, size), 0.9), gt, 32644)
    lobe = "POLYGON((501500 3996800,501900 3996800,501900 3996500,501500 3996500,501500 3996800))"
    messages = []
    result = extract_velocities(
        Polygons([ogr.CreateGeometryFromWkt(lobe).ExportToWkb()], "EPSG:32644", ["rg001"]),
        [PairInput(Interferogram(str(unw), 1, date(2007, 7, 16), date(2007, 8, 31), 0.2360571), str(coherence))],
        str(dem),
        LosGeometry(None, 38.7, 102.0),
        VelocitySettings(noise_correlation_px=1.0, scene=SceneSettings(slope_sigma_deg=0.0, aspect_sigma_deg=0.0)),
        hooks=RunHooks(log=messages.append),
    ).landforms[0]
    fitted = [m for m in messages if "rad/km" in m][0]
    assert f"{per_km:.3f} rad/km" in fitted, fitted
    assert abs(result.vel_dslp_cm_yr) < 0.5 * result.vel_err_cm_yr + 0.05, (result.vel_dslp_cm_yr, result.vel_err_cm_yr)


def test_connected_components__landform_and_reference_kept_in_one_component(tmp_path):
    """SNAPHU left the ground beyond 100 m of the lobe one fringe off (another component): with the
    components the velocity is right; without them the reference sits a fringe away."""
    from osgeo import ogr

    from rockglacier_plugin.core.insar.interferogram import Interferogram
    from rockglacier_plugin.core.insar.landform_velocity import PairInput, extract_velocities
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from rockglacier_plugin.core.insar.reference import distance_to_mask_m
    from rockglacier_plugin.core.raster.coverage import coverage_fraction
    from tests.builders import write_raster
    from tests.insar_builders import ALOS_WAVELENGTH_M, EPSG, REFERENCE_DATE, SECONDARY_DATE, cone_scene

    scene = cone_scene(tmp_path / "scene", seed=5, aspects_deg=(90.0,), atmosphere_rad=0.0, ramp_rad_per_px=(0.0, 0.0))
    dataset = gdal.Open(str(scene.unwrapped_true))
    phase, gt = dataset.ReadAsArray().astype(np.float64), dataset.GetGeoTransform()
    polygon = ogr.CreateGeometryFromWkt(scene.landforms_wkt[0])
    grid = Window(0, 0, phase.shape[1], phase.shape[0])
    near = distance_to_mask_m(coverage_fraction(polygon, grid, gt) > 0, (30.0, 30.0)) <= 100.0
    components = np.where(near, 1, 2).astype(np.float32)
    components[:5, :5] = 0  # a corner SNAPHU gave up on
    shifted = write_raster(tmp_path / "20070716_20070831_unw.tif", np.where(near, phase, phase + 2 * np.pi), gt, EPSG)
    labels = write_raster(tmp_path / "conncomp.tif", components, gt, EPSG, nodata=0)

    def run(components_path):
        return extract_velocities(
            Polygons([polygon.ExportToWkb()], f"EPSG:{EPSG}", ["rg000"]),
            [
                PairInput(
                    Interferogram(str(shifted), 1, REFERENCE_DATE, SECONDARY_DATE, ALOS_WAVELENGTH_M),
                    str(scene.coherence),
                    1,
                    components_path,
                )
            ],
            str(scene.dem),
            LosGeometry(None, scene.incidence_deg, scene.los_azimuth_deg),
            VelocitySettings(),
        ).landforms[0]

    truth = scene.velocity_dslp_cm_per_yr[0]
    with_components = run(str(labels))
    assert with_components.vel_ok == 1 and abs(with_components.vel_dslp_cm_yr - truth) < 3 * with_components.vel_err_cm_yr
    without = run(None)
    assert without.vel_dslp_cm_yr is None or abs(without.vel_dslp_cm_yr - truth) > 3 * max(without.vel_err_cm_yr, 1.0)


def test_isce2_conncomp_sidecar__is_found_beside_the_unwrapped_product(tmp_path):
    from rockglacier_plugin.core.insar.interferogram import isce_components_path

    for name in (
        "filt_topophase.unw.geo",
        "filt_topophase.unw.geo.vrt",
        "filt_topophase.unw.conncomp.geo",
        "filt_topophase.unw.conncomp.geo.vrt",
    ):
        (tmp_path / name).write_text("")
    assert isce_components_path(str(tmp_path / "filt_topophase.unw.geo.vrt")) == str(
        tmp_path / "filt_topophase.unw.conncomp.geo.vrt"
    )
    assert isce_components_path(str(tmp_path / "other.tif")) is None
