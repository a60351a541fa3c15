"""LOS geometry, sign conventions, phase noise: closed forms and simulation."""

import math
from datetime import date

import numpy as np
import pytest

from rockglacier_plugin.core.errors import ParameterError
from rockglacier_plugin.core.insar.los_geometry import (
    downslope_unit_vector_enu,
    los_azimuth_from_heading,
    los_unit_vector_enu,
    projection_factor,
    projection_factor_sigma,
)
from rockglacier_plugin.core.insar.phase import (
    cramer_rao_phase_sigma_rad,
    phase_sigma_rad,
    phase_to_cm_per_yr_factor,
)
from tests.insar_builders import multilook_noise


def test_los_vector__unit_length_and_ascending_satellite_lies_west():
    e, n, u = los_unit_vector_enu(np.array([30.0, 38.7, 45.0]), np.array([102.0, 102.0, -102.0]))
    np.testing.assert_allclose(e**2 + n**2 + u**2, 1.0)
    assert e[0] < 0 and e[2] > 0  # ascending right-looking: west; descending: east


@pytest.mark.parametrize("heading, expected", [(-12.0, 102.0), (-168.0, -102.0), (-10.2, 100.2)])
def test_los_azimuth__from_heading_right_looking(heading, expected):
    assert float(los_azimuth_from_heading(heading)) == pytest.approx(expected)


@pytest.mark.parametrize("theta, alpha, s, a", [(38.7, 102.0, 20.0, 90.0), (34.0, -102.0, 35.0, 250.0), (45.0, 10.0, 5.0, 0.0)])
def test_projection_factor__equals_the_dot_product_of_explicit_vectors(theta, alpha, s, a):
    los = np.array(los_unit_vector_enu(theta, alpha), dtype=float)
    # downslope vector built independently: horizontal unit vector towards azimuth a, tilted down by s
    dslp = np.array(
        [
            math.sin(math.radians(a)) * math.cos(math.radians(s)),
            math.cos(math.radians(a)) * math.cos(math.radians(s)),
            -math.sin(math.radians(s)),
        ]
    )
    assert float(projection_factor(theta, alpha, s, a)) == pytest.approx(float(los @ dslp))
    assert np.linalg.norm(np.array(downslope_unit_vector_enu(s, a), dtype=float)) == pytest.approx(1.0)


def test_projection_factor__slope_facing_satellite_and_away():
    theta, alpha = 38.7, 102.0
    facing = (-alpha) % 360.0  # aspect pointing at the satellite's horizontal direction
    assert float(projection_factor(theta, alpha, 20.0, facing)) == pytest.approx(math.sin(math.radians(theta - 20.0)))
    assert float(projection_factor(theta, alpha, theta, facing)) == pytest.approx(0.0, abs=1e-12)
    assert float(projection_factor(theta, alpha, 20.0, facing + 180.0)) == pytest.approx(-math.sin(math.radians(theta + 20.0)))


def test_projection_factor_sigma__matches_numerical_derivatives():
    args = (38.7, 102.0, 25.0, 60.0)
    h = 1e-4
    dg_ds = (projection_factor(38.7, 102.0, 25.0 + h, 60.0) - projection_factor(38.7, 102.0, 25.0 - h, 60.0)) / (2 * h)
    dg_da = (projection_factor(38.7, 102.0, 25.0, 60.0 + h) - projection_factor(38.7, 102.0, 25.0, 60.0 - h)) / (2 * h)
    expected = math.hypot(dg_ds * 2.0, dg_da * 5.0)
    assert float(projection_factor_sigma(*args, 2.0, 5.0)) == pytest.approx(expected, rel=1e-6)


def test_phase_factor__46_day_alos_pair_and_date_order():
    forward = phase_to_cm_per_yr_factor(0.2360571, date(2007, 7, 16), date(2007, 8, 31))
    assert forward == pytest.approx(-14.92, abs=0.01)  # 1 rad = 14.92 cm/yr, positive phase = away
    assert 2 * math.pi * abs(forward) == pytest.approx(93.7, abs=0.1)  # one fringe
    assert phase_to_cm_per_yr_factor(0.2360571, date(2007, 8, 31), date(2007, 7, 16)) == pytest.approx(-forward)
    with pytest.raises(ParameterError, match="both 2007-07-16"):
        phase_to_cm_per_yr_factor(0.2360571, date(2007, 7, 16), date(2007, 7, 16))


@pytest.mark.parametrize("coherence, looks", [(0.3, 4), (0.5, 10), (0.6, 10), (0.85, 20)])
def test_phase_sigma__matches_simulated_multilook_phase(coherence, looks):
    simulated = multilook_noise(np.full((300, 300), coherence), looks, np.random.default_rng(1)).std()
    assert float(phase_sigma_rad(np.array(coherence), looks)) == pytest.approx(simulated, rel=0.03)
    assert float(cramer_rao_phase_sigma_rad(np.array(coherence), looks)) < simulated  # CR underestimates


def test_phase_sigma__zero_coherence_is_infinite_and_looks_below_one_refused():
    assert np.isinf(phase_sigma_rad(np.array([0.0]), 10.0)[0])
    with pytest.raises(ParameterError, match="LOOKS=0.5"):
        phase_sigma_rad(np.array([0.5]), 0.5)
