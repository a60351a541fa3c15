"""The sign and azimuth conventions anchored by real data, not by the code's own formulas.

MintPy's Sentinel-1 LOS velocities of the Coso Range (ascending track 64, descending 71, one grid,
2015-2019; ../shared/datasets/geosinc-mintpy-velocity-asc-desc) are converted with the core's own
LOS conventions (``los_azimuth_from_heading``, ``los_unit_vector_enu``; MintPy's velocity is
positive towards the satellite, as ours) and decomposed into east and up. Physics demands what
geodesy has documented for the Coso geothermal field (~36.02 N, 117.80 W): a subsidence bowl of about
a centimetre per year, and horizontal motion towards its centre from both sides. A flipped LOS sign
turns the bowl into uplift; a flipped azimuth convention turns the inward motion outward.
"""

import math

import numpy as np
import pytest

from rockglacier_plugin.core.insar.los_geometry import los_azimuth_from_heading, los_unit_vector_enu
from tests.conftest import require_module

COSO_FIELD = (36.02, -117.80)  # lat, lon of the geothermal field's production area
STEP_DEG = 0.000833333


def _read(path):
    h5py = require_module("h5py")
    with h5py.File(path, "r") as handle:
        attributes = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in handle.attrs.items()}
        velocity_m_per_yr = handle["velocity"][:].astype(np.float64)
    assert attributes["UNIT"] == "m/year"
    unit = los_unit_vector_enu(float(attributes["incidenceAngle"]), float(los_azimuth_from_heading(float(attributes["HEADING"]))))
    return velocity_m_per_yr * 100.0, unit, attributes


def _decompose(ascending, descending, unit_a, unit_d):
    """East and up (cm/yr) from two LOS velocities, north neglected (both tracks see it weakly)."""
    matrix = np.array([[unit_a[0], unit_a[2]], [unit_d[0], unit_d[2]]])
    inverse = np.linalg.inv(matrix)
    east = inverse[0, 0] * ascending + inverse[0, 1] * descending
    up = inverse[1, 0] * ascending + inverse[1, 1] * descending
    return east, up


def _smoothed(values, size=15):
    from scipy.ndimage import uniform_filter

    return uniform_filter(np.nan_to_num(values), size)


@pytest.fixture(scope="module")
def tracks(shared_dataset):
    base = shared_dataset("geosinc-mintpy-velocity-asc-desc")
    require_module("scipy")
    return _read(base / "velocity_a064_ascending.h5"), _read(base / "velocity_d071_descending.h5")


def _bowl(up, attributes):
    """Row, column and depth of the deepest smoothed subsidence within 0.06 deg of the Coso field."""
    x0, y0 = float(attributes["X_FIRST"]), float(attributes["Y_FIRST"])
    row0 = int((y0 - COSO_FIELD[0]) / STEP_DEG)
    col0 = int((COSO_FIELD[1] - x0) / STEP_DEG)
    half = int(0.06 / STEP_DEG)
    smooth = _smoothed(up)
    box = smooth[row0 - half : row0 + half, col0 - half : col0 + half]
    r, c = np.unravel_index(np.argmin(box), box.shape)
    return row0 - half + r, col0 - half + c, float(box[r, c])


@pytest.mark.shared_data
def test_real_asc_desc__coso_geothermal_field_subsides(tracks):
    (asc, unit_a, attrs_a), (desc, unit_d, _) = tracks
    assert unit_a[0] < 0 < unit_d[0]  # ascending looks east (its satellite sits to the west), descending west
    _, up = _decompose(asc, desc, unit_a, unit_d)
    row, col, depth = _bowl(up, attrs_a)
    lat = float(attrs_a["Y_FIRST"]) - (row + 0.5) * STEP_DEG
    lon = float(attrs_a["X_FIRST"]) + (col + 0.5) * STEP_DEG
    distance_km = math.hypot((lat - COSO_FIELD[0]) * 111.0, (lon - COSO_FIELD[1]) * 111.0 * math.cos(math.radians(lat)))
    assert depth < -0.8 and distance_km < 4.0, (depth, lat, lon)
    assert np.nanmedian(up) == pytest.approx(0.0, abs=0.2)  # the surrounding range is stable


@pytest.mark.shared_data
def test_real_asc_desc__motion_converges_on_the_subsiding_field_from_east_and_west(tracks):
    (asc, unit_a, attrs_a), (desc, unit_d, _) = tracks
    east, up = _decompose(asc, desc, unit_a, unit_d)
    row, col, _ = _bowl(up, attrs_a)
    smooth_east = _smoothed(east)
    offset = int(3.0 / (111.0 * math.cos(math.radians(36.0)) * STEP_DEG))  # 3 km
    assert smooth_east[row, col - offset] > 0.3 and smooth_east[row, col + offset] < -0.3


@pytest.mark.shared_data
def test_real_asc_desc__a_flipped_convention_would_be_caught(tracks):
    (asc, unit_a, attrs_a), (desc, unit_d, _) = tracks
    # the azimuth measured clockwise instead of anticlockwise: east components change sign
    flipped_a, flipped_d = (-unit_a[0], unit_a[1], unit_a[2]), (-unit_d[0], unit_d[1], unit_d[2])
    east, up = _decompose(asc, desc, flipped_a, flipped_d)
    row, col, _ = _bowl(up, attrs_a)
    offset = int(3.0 / (111.0 * math.cos(math.radians(36.0)) * STEP_DEG))
    assert not (_smoothed(east)[row, col - offset] > 0.3 and _smoothed(east)[row, col + offset] < -0.3)
    # the LOS sign flipped: the field rises
    _, up_flipped = _decompose(-asc, -desc, unit_a, unit_d)
    assert _bowl(-up_flipped, attrs_a)[2] < -0.8 and _smoothed(up_flipped).min() > -0.5
