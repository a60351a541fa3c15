"""InSAR products people have -- MintPy, LiCSBAS, HyP3, plain GeoTIFF -- read into the core's
conventions: each product, written from its format's documentation with a known velocity field,
gives back the known downslope velocities; a flipped sign or angle convention does not. Then the
per-pair series and the ascending + descending combination against known truths, and the real
MintPy Coso velocities through the reader."""

from datetime import date

import numpy as np
import pytest
from osgeo import gdal, ogr

from rockglacier_plugin.core.insar.hyp3_product import read_hyp3_product
from rockglacier_plugin.core.insar.landform_velocity import PairInput, VelocitySettings, extract_velocities
from rockglacier_plugin.core.insar.los_geometry import LosGeometry
from rockglacier_plugin.core.insar.mintpy_product import read_mintpy_velocity
from rockglacier_plugin.core.insar.products import read_los_velocity
from rockglacier_plugin.core.insar.scene import SceneSettings
from rockglacier_plugin.core.insar.velocity_map import AWAY
from rockglacier_plugin.core.raster.geometry import Polygons
from tests.conftest import require_module
from tests.insar_builders import EPSG, cone_scene
from tests.product_builders import geotiff_velocity, hyp3_product, licsbas_cum, mintpy_velocity

FACING_AWAY = (20.0, 45.0, 70.0, 90.0, 110.0, 135.0, 160.0)  # |g| >= 0.3 from an ascending track
SETTINGS = VelocitySettings(noise_correlation_px=1.0, scene=SceneSettings(looks=10, slope_sigma_deg=0.0, aspect_sigma_deg=0.0))
NO_GEOMETRY = LosGeometry()


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return cone_scene(tmp_path_factory.mktemp("cone"), seed=3, aspects_deg=FACING_AWAY)


def _extract(scene, pairs, settings=SETTINGS):
    wkb = [ogr.CreateGeometryFromWkt(w).ExportToWkb() for w in scene.landforms_wkt]
    ids = [f"rg{i:03d}" for i in range(len(wkb))]
    return extract_velocities(Polygons(wkb, f"EPSG:{EPSG}", ids), pairs, str(scene.dem), NO_GEOMETRY, settings)


def _recovered(scene, result, tolerance=0.08):
    """Landforms with vel_ok whose value lies within 3 sigma + tolerance of the truth."""
    good = 0
    for truth, landform in zip(scene.velocity_dslp_cm_per_yr, result.landforms):
        if landform.vel_ok and abs(landform.vel_dslp_cm_yr - truth) <= 3 * landform.vel_err_cm_yr + tolerance * truth:
            good += 1
    return good


def test_mintpy__velocity_and_geometry_files_give_the_known_velocities(scene, tmp_path):
    require_module("h5py")
    path, geometry = mintpy_velocity(scene, tmp_path / "mintpy")
    velocity_map, notes = read_los_velocity(
        str(path), str(geometry), ("mm/yr", "unused"), NO_GEOMETRY, (None, None), str(tmp_path / "work")
    )
    assert (velocity_map.start_date, velocity_map.end_date, velocity_map.track) == (
        date(2015, 1, 1),
        date(2019, 12, 31),
        "ascending",
    )
    result = _extract(scene, [PairInput.from_velocity_map(velocity_map)])
    assert _recovered(scene, result) == len(FACING_AWAY), [(lf.vel_dslp_cm_yr, lf.vel_reason) for lf in result.landforms]
    assert "m/year positive towards the satellite" in notes[0]


def test_mintpy__without_geometry_file_uses_incidence_and_heading_not_the_aria_azimuth_attribute(scene, tmp_path):
    require_module("h5py")
    path, _ = mintpy_velocity(scene, tmp_path / "mintpy", with_geometry=False)
    velocity_map, _ = read_mintpy_velocity(str(path), None, str(tmp_path / "work"))
    assert velocity_map.geometry.incidence_deg == pytest.approx(scene.incidence_deg)
    assert velocity_map.geometry.los_azimuth_deg == pytest.approx(scene.los_azimuth_deg)
    assert _recovered(scene, _extract(scene, [PairInput.from_velocity_map(velocity_map)])) == len(FACING_AWAY)


@pytest.mark.parametrize("mutation", ["sign", "azimuth"])
def test_mintpy__a_flipped_sign_or_azimuth_would_be_caught(scene, tmp_path, mutation):
    require_module("h5py")
    path, geometry = mintpy_velocity(scene, tmp_path / "mintpy", mutate=mutation)
    velocity_map, _ = read_mintpy_velocity(str(path), str(geometry), str(tmp_path / "work"))
    result = _extract(scene, [PairInput.from_velocity_map(velocity_map)])
    assert _recovered(scene, result) == 0
    assert all(not lf.vel_ok for lf in result.landforms)


def test_licsbas__cum_h5_in_mm_per_year_with_enu_rasters_gives_the_known_velocities(scene, tmp_path):
    require_module("h5py")
    path, east = licsbas_cum(scene, tmp_path / "licsbas")
    velocity_map, _ = read_los_velocity(
        str(path), str(east), ("mm/yr", "unused"), NO_GEOMETRY, (None, None), str(tmp_path / "work")
    )
    assert (velocity_map.start_date, velocity_map.end_date, velocity_map.track) == (
        date(2015, 1, 5),
        date(2019, 12, 26),
        "ascending",
    )
    geometry_ds = gdal.Open(velocity_map.geometry.los_path)  # keep the dataset alive while its band is read
    incidence = geometry_ds.GetRasterBand(1).ReadAsArray()
    assert np.nanmedian(incidence) == pytest.approx(scene.incidence_deg, abs=1e-3)
    # the product sits on a WGS84 grid, resampled from the cone's UTM grid: a little blur at the outlines
    assert _recovered(scene, _extract(scene, [PairInput.from_velocity_map(velocity_map)]), tolerance=0.12) >= len(FACING_AWAY) - 1


def test_licsbas__east_and_north_swapped_would_be_caught(scene, tmp_path):
    require_module("h5py")
    path, east = licsbas_cum(scene, tmp_path / "licsbas", mutate="east_north")
    velocity_map, _ = read_los_velocity(
        str(path), str(east), ("mm/yr", "unused"), NO_GEOMETRY, (None, None), str(tmp_path / "work")
    )
    assert _recovered(scene, _extract(scene, [PairInput.from_velocity_map(velocity_map)]), tolerance=0.12) <= 2


def test_hyp3__zipped_gamma_product_with_look_vectors_gives_the_known_velocities(scene, tmp_path):
    archive = hyp3_product(scene, tmp_path / "hyp3")
    product, notes = read_hyp3_product(str(archive), str(tmp_path / "work"))
    assert (product.interferogram.reference_date, product.interferogram.secondary_date) == (date(2019, 6, 10), date(2019, 6, 22))
    assert product.interferogram.wavelength_m == pytest.approx(0.05546576) and product.track == "ascending"
    pair = PairInput(
        product.interferogram, product.coherence_path, 1, product.components_path, geometry=product.geometry, track=product.track
    )
    settings = VelocitySettings(
        noise_correlation_px=1.0, scene=SceneSettings(looks=60, slope_sigma_deg=0.0, aspect_sigma_deg=0.0)
    )
    assert _recovered(scene, _extract(scene, [pair], settings)) >= len(FACING_AWAY) - 1


def test_hyp3__phi_read_as_from_north_would_be_caught(scene, tmp_path):
    folder = hyp3_product(scene, tmp_path / "hyp3", as_zip=False, mutate="phi_from_north")
    product, _ = read_hyp3_product(str(folder), str(tmp_path / "work"))
    pair = PairInput(product.interferogram, product.coherence_path, 1, None, geometry=product.geometry, track=product.track)
    settings = VelocitySettings(
        noise_correlation_px=1.0, scene=SceneSettings(looks=60, slope_sigma_deg=0.0, aspect_sigma_deg=0.0)
    )
    assert _recovered(scene, _extract(scene, [pair], settings)) <= 2


def test_geotiff__mm_per_year_away_from_the_satellite_with_stated_geometry(scene, tmp_path):
    path = geotiff_velocity(scene, tmp_path / "tif")
    geometry = LosGeometry(None, scene.incidence_deg, scene.los_azimuth_deg)
    velocity_map, _ = read_los_velocity(str(path), None, ("mm/yr", AWAY), geometry, (None, None), str(tmp_path / "work"))
    assert velocity_map.pair_label == "20150101-20191231"
    assert _recovered(scene, _extract(scene, [PairInput.from_velocity_map(velocity_map)])) == len(FACING_AWAY)


def test_velocity_pairs__one_row_per_landform_and_product_with_dates_and_days(scene, tmp_path):
    require_module("h5py")
    first, geometry = mintpy_velocity(scene, tmp_path / "a")
    second = geotiff_velocity(scene, tmp_path / "b")
    maps = [
        read_los_velocity(str(first), str(geometry), ("mm/yr", "x"), NO_GEOMETRY, (None, None), str(tmp_path / "w"))[0],
        read_los_velocity(
            str(second),
            None,
            ("mm/yr", AWAY),
            LosGeometry(None, scene.incidence_deg, scene.los_azimuth_deg),
            (date(2016, 1, 1), date(2017, 1, 1)),
            str(tmp_path / "w"),
        )[0],
    ]
    result = _extract(scene, [PairInput.from_velocity_map(m) for m in maps])
    assert len(result.pair_rows) == 2 * len(FACING_AWAY)
    rows = {(r["rg_id"], r["vel_pair"]): r for r in result.pair_rows}
    row = rows[("rg000", "20160101-20170101")]
    assert (row["date_start"], row["date_end"], row["days"]) == ("2016-01-01", "2017-01-01", 366)
    assert row["vel_dslp_cm_yr"] == pytest.approx(scene.velocity_dslp_cm_per_yr[0], rel=0.1)


NORTH_FACING = (350.0, 0.0, 10.0)  # |g| >= 0.3 from both tracks (25 deg slopes, 38.7 deg incidence)


def _asc_desc(tmp_path, descending_scale):
    """A cone with north-facing lobes seen from an ascending and a descending track (two MintPy products
    of the same creep; the descending one scaled to make them disagree)."""
    require_module("h5py")
    scenes = [
        cone_scene(
            tmp_path / name,
            seed=3,
            size_px=400,
            aspects_deg=NORTH_FACING,
            los_azimuth_deg=azimuth,
            speeds_cm_per_yr=(30.0, 50.0, 70.0),
        )
        for name, azimuth in (("asc", 102.0), ("desc", -102.0))
    ]
    maps = []
    for index, (scene, scale) in enumerate(zip(scenes, (1.0, descending_scale))):
        path, geometry = mintpy_velocity(scene, tmp_path / f"product{index}", scale=scale, seed=index)
        maps.append(read_mintpy_velocity(str(path), str(geometry), str(tmp_path / "w"))[0])
    assert [m.track for m in maps] == ["ascending", "descending"]
    return _extract(scenes[0], [PairInput.from_velocity_map(m) for m in maps])


def test_ascending_and_descending__agreeing_values_are_combined_by_inverse_variance(tmp_path):
    result = _asc_desc(tmp_path, 1.0)
    combined = [lf for lf in result.landforms if lf.vel_geometry == "ascending+descending"]
    assert len(combined) == len(NORTH_FACING), [(lf.vel_geometry, lf.vel_reason) for lf in result.landforms]
    by_landform = {}
    for row in result.pair_rows:
        by_landform.setdefault(row["rg_id"], {})[row["vel_geometry"]] = row
    for index, landform in enumerate(result.landforms):
        if landform.vel_geometry != "ascending+descending":
            continue
        a, d = by_landform[f"rg{index:03d}"]["ascending"], by_landform[f"rg{index:03d}"]["descending"]
        wa, wd = a["vel_err_cm_yr"] ** -2, d["vel_err_cm_yr"] ** -2
        assert landform.vel_dslp_cm_yr == pytest.approx((wa * a["vel_dslp_cm_yr"] + wd * d["vel_dslp_cm_yr"]) / (wa + wd))
        assert landform.vel_err_cm_yr == pytest.approx((wa + wd) ** -0.5)
        assert landform.vel_err_cm_yr < min(a["vel_err_cm_yr"], d["vel_err_cm_yr"])
        assert "+" in landform.vel_pair and landform.vel_ok == 1


def test_ascending_and_descending__a_disagreement_is_reported_not_averaged(tmp_path):
    result = _asc_desc(tmp_path, 1.6)  # the descending product says 60 % faster
    flagged = [lf for lf in result.landforms if lf.vel_reason and "disagree" in lf.vel_reason]
    assert len(flagged) == len(NORTH_FACING), [lf.vel_reason for lf in result.landforms]
    assert all(lf.vel_ok == 0 and lf.vel_geometry != "ascending+descending" for lf in flagged)


def test_mintpy_real_coso__reader_keeps_values_grid_and_geometry(shared_dataset, tmp_path):
    h5py = require_module("h5py")
    base = shared_dataset("geosinc-mintpy-velocity-asc-desc")
    for name, track, azimuth in (
        ("velocity_a064_ascending.h5", "ascending", 102.0),
        ("velocity_d071_descending.h5", "descending", -102.0),
    ):
        velocity_map, _ = read_mintpy_velocity(str(base / name), None, str(tmp_path))
        assert velocity_map.track == track
        assert velocity_map.geometry.los_azimuth_deg == pytest.approx(azimuth)
        dataset = gdal.Open(velocity_map.velocity_path)
        assert dataset.GetGeoTransform() == pytest.approx((-118.10125, 0.000833333, 0.0, 36.25125, 0.0, -0.000833333))
        with h5py.File(base / name, "r") as handle:
            original = handle["velocity"][:]
            start = handle.attrs["START_DATE"]
        written = dataset.GetRasterBand(1).ReadAsArray()
        row, col = 300, 400
        assert written[row, col] == pytest.approx(100.0 * original[row, col], rel=1e-6)  # m/year -> cm/yr, same sign
        assert velocity_map.start_date.strftime("%Y%m%d") == (start.decode() if isinstance(start, bytes) else start)


def test_products__a_damaged_or_foreign_file_gets_a_message_not_a_traceback(tmp_path):
    from rockglacier_plugin.core.errors import InputRasterError

    damaged = tmp_path / "velocity.h5"
    damaged.write_bytes(b"not hdf5 at all")
    with pytest.raises(InputRasterError, match="cannot be read as HDF5"):
        read_los_velocity(str(damaged), None, ("mm/yr", AWAY), NO_GEOMETRY, (None, None), str(tmp_path / "w"))
    empty_folder = tmp_path / "not_a_product"
    empty_folder.mkdir()
    with pytest.raises(InputRasterError, match="holds no _unw_phase.tif and _corr.tif"):
        read_hyp3_product(str(empty_folder), str(tmp_path / "w"))
