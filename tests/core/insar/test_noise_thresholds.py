"""Moving areas from velocity products: the minimum velocity follows the product's own noise (``noise_thresholds``).

Oracle: a plane slope seen with a constant LOS geometry, a velocity product with a constant 1-sigma: the downslope
1-sigma is sigma_los / |g| with g in closed form (the generator's formula in ``tests/steep_builders.py``), so the
threshold is MIN_SNR x sigma_los / |g|, and a landform above it is found while one between the 1 cm/yr floor and it
is not."""

import math
import re
from datetime import date

import numpy as np
import pytest

from rockglacier_plugin.core.errors import ParameterError
from rockglacier_plugin.core.insar.candidate_regions import RegionSettings
from rockglacier_plugin.core.insar.landform_velocity import PairInput
from rockglacier_plugin.core.insar.los_geometry import LosGeometry
from rockglacier_plugin.core.insar.moving_area_candidates import MovingAreaSettings, find_moving_areas
from rockglacier_plugin.core.insar.noise_thresholds import PRODUCT_FLOOR_CM_YR
from rockglacier_plugin.core.insar.products import read_los_velocity
from rockglacier_plugin.core.insar.velocity_map import TOWARDS
from rockglacier_plugin.core.progress import RunHooks
from rockglacier_plugin.core.workflows.velocity import VelocityInputs
from tests.builders import write_raster
from tests.insar_builders import EPSG, ORIGIN

PIXEL_M, SIZE = 30.0, 200
INCIDENCE, LOS_AZIMUTH = 38.7, 102.0
SLOPE, ASPECT = 12.0, 90.0  # an east-facing plane, seen from the west by an ascending pass
SIGMA_MM_YR = 6.0
FAST_CM_YR, SLOW_CM_YR = 3.0, 1.2  # downslope


def _g() -> float:
    th, al, s, a = (math.radians(v) for v in (INCIDENCE, LOS_AZIMUTH, SLOPE, ASPECT))
    return math.sin(th) * math.cos(s) * math.cos(al + a) - math.cos(th) * math.sin(s)


def _product(tmp_path, with_sigma: bool = True, sigma_mm_yr: float = SIGMA_MM_YR):
    gt = (ORIGIN[0], PIXEL_M, 0.0, ORIGIN[1], 0.0, -PIXEL_M)
    cols = np.mgrid[0:SIZE, 0:SIZE][1].astype(float)
    dem = write_raster(tmp_path / "dem.tif", 4500.0 - math.tan(math.radians(SLOPE)) * cols * PIXEL_M, gt, epsg=EPSG)
    dslp = np.zeros((SIZE, SIZE))
    dslp[40:56, 40:56] = FAST_CM_YR
    dslp[130:146, 130:146] = SLOW_CM_YR
    velocity = write_raster(tmp_path / "velocity_mm_yr.tif", dslp * _g() * 10.0, gt, epsg=EPSG)
    sigma = write_raster(tmp_path / "sigma_mm_yr.tif", np.full((SIZE, SIZE), sigma_mm_yr), gt, epsg=EPSG) if with_sigma else None
    velocity_map, notes = read_los_velocity(
        str(velocity),
        None,
        ("mm/yr", TOWARDS),
        LosGeometry(None, INCIDENCE, LOS_AZIMUTH),
        (date(2016, 1, 1), date(2020, 1, 1)),
        str(tmp_path / "work"),
        str(sigma) if sigma else None,
    )
    return PairInput.from_velocity_map(velocity_map), str(dem), notes


def _run(tmp_path, settings=MovingAreaSettings(), with_sigma=True, sigma_mm_yr=SIGMA_MM_YR):
    pair, dem, notes = _product(tmp_path, with_sigma, sigma_mm_yr)
    log = []
    result = find_moving_areas([pair], dem, LosGeometry(None, INCIDENCE, LOS_AZIMUTH), settings, hooks=RunHooks(log=log.append))
    return result, log, notes


def test_velocity_product__minimum_velocity_is_min_snr_times_its_downslope_sigma_and_the_log_says_so(tmp_path):
    result, log, notes = _run(tmp_path)
    expected = 2.0 * SIGMA_MM_YR / 10.0 / abs(_g())
    assert expected > PRODUCT_FLOOR_CM_YR and SLOW_CM_YR < expected < FAST_CM_YR
    line = next(m for m in log if "moving pixels at" in m)
    assert float(re.search(r">= ([0-9.]+) cm/yr", line).group(1)) == pytest.approx(expected, abs=0.01)
    assert "product's LOS sigma" in line and "MIN_SNR 2" in line
    assert "1-sigma from 'sigma_mm_yr.tif'" in notes[0]
    speeds = sorted(row["vel_dslp_cm_yr"] for row in result.rows)
    assert len(speeds) == 1 and speeds[0] == pytest.approx(FAST_CM_YR, abs=0.3)  # the slow one is below the noise


def test_velocity_product__a_quiet_product_finds_the_slow_landform_too(tmp_path):
    """Same scene, sigma 1 mm/yr: 2 sigma / |g| is below the 1 cm/yr floor, so the floor applies and both are found."""
    result, log, _ = _run(tmp_path, sigma_mm_yr=1.0)
    assert any(f"raised to the floor of {PRODUCT_FLOOR_CM_YR:g} cm/yr" in m for m in log)
    assert len(result.rows) == 2


def test_velocity_product_without_sigma__says_the_error_is_the_reference_spread_alone(tmp_path):
    _, log, notes = _run(tmp_path, with_sigma=False)
    assert "no sigma raster (LOS_VELOCITY_SIGMA)" in notes[0]
    assert any("local reference's spread alone" in m for m in log)


def test_a_given_minimum_velocity_is_used_as_given(tmp_path):
    result, log, _ = _run(tmp_path, MovingAreaSettings(regions=RegionSettings(min_velocity_cm_per_yr=10.0)))
    assert result.rows == []
    assert any("MIN_VELOCITY_CM_YR as given" in m for m in log)


def test_sigma_rasters__one_per_velocity_and_never_for_products_that_carry_their_own(tmp_path):
    velocity, sigma = tmp_path / "v.tif", tmp_path / "s.tif"
    velocity.write_bytes(b""), sigma.write_bytes(b"")
    with pytest.raises(ParameterError, match="give one per velocity product"):
        VelocityInputs(los_velocity=(str(velocity),), los_velocity_sigma=(str(sigma), str(sigma))).check()
    h5 = tmp_path / "velocity.h5"
    h5.write_bytes(b"")
    with pytest.raises(ParameterError, match="carries its own uncertainty"):
        VelocityInputs(los_velocity=(str(h5),), los_velocity_sigma=(str(sigma),)).check()
