"""An outline from one click: half-maximum region growing on the probability raster, against the closed form of a
Gaussian landform (the region where p >= p_peak / 2 is an ellipse of area 2 pi ln2 sx sy)."""

import math

import numpy as np
import pytest
from osgeo import ogr

from rockglacier_plugin.core.errors import ParameterError
from rockglacier_plugin.core.mapping.click_outline import outline_from_click
from tests.builders import write_raster

PIXEL_M = 10.0
X0, Y0 = 600000.0, 5200000.0


def _gaussians(shape, blobs):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    out = np.zeros(shape, dtype=np.float32)
    for row, col, sigma_rows, sigma_cols, amplitude in blobs:
        out += amplitude * np.exp(-((rows - row) ** 2 / (2 * sigma_rows**2) + (cols - col) ** 2 / (2 * sigma_cols**2)))
    return out


def _write(tmp_path, values):
    return str(write_raster(tmp_path / "prob.tif", values, (X0, PIXEL_M, 0, Y0, 0, -PIXEL_M)))


def _xy(row, col):
    return X0 + (col + 0.5) * PIXEL_M, Y0 - (row + 0.5) * PIXEL_M


@pytest.mark.parametrize("amplitude", [0.9, 0.3])
def test_click_outline__a_gaussian_landform_gives_its_half_maximum_ellipse(tmp_path, amplitude):
    """Also when the model under-calls it (peak 0.3, below the shipped threshold of 0.55): the threshold is lowered locally."""
    path = _write(tmp_path, _gaussians((400, 400), [(200, 180, 12, 25, amplitude)]))
    outline = outline_from_click(path, *_xy(203, 178))  # a click a little off the peak
    area_m2 = ogr.CreateGeometryFromWkb(outline.wkb).GetArea()
    expected_m2 = 2 * math.pi * math.log(2) * (12 * PIXEL_M) * (25 * PIXEL_M)
    assert area_m2 == pytest.approx(expected_m2, rel=0.03)
    assert outline.threshold == pytest.approx(amplitude / 2, rel=0.01)
    centroid = ogr.CreateGeometryFromWkb(outline.wkb).Centroid()
    assert (centroid.GetX(), centroid.GetY()) == pytest.approx(_xy(199.5, 179.5), abs=PIXEL_M)


def test_click_outline__only_the_clicked_landform_and_its_holes_filled(tmp_path):
    values = _gaussians((300, 300), [(100, 100, 10, 10, 0.8), (100, 200, 10, 10, 0.8)])
    values[98:102, 98:102] = 0.0  # a hole the model leaves inside the landform
    outline = outline_from_click(_write(tmp_path, values), *_xy(100, 95))
    geometry = ogr.CreateGeometryFromWkb(outline.wkb)
    assert geometry.GetGeometryType() == ogr.wkbPolygon and geometry.GetGeometryRef(0) is not None
    assert geometry.GetGeometryCount() == 1  # no interior ring
    assert geometry.GetEnvelope()[1] < _xy(0, 150)[0]  # the second landform is not in it


def test_click_outline__a_landform_larger_than_the_first_window_is_not_cut(tmp_path):
    path = _write(tmp_path, _gaussians((900, 900), [(450, 450, 150, 150, 0.9)]))
    area_m2 = ogr.CreateGeometryFromWkb(outline_from_click(path, *_xy(450, 450)).wkb).GetArea()
    assert area_m2 == pytest.approx(2 * math.pi * math.log(2) * (150 * PIXEL_M) ** 2, rel=0.02)


def test_click_outline__nothing_under_the_click_or_outside_the_raster_is_refused_with_what_to_do(tmp_path):
    path = _write(tmp_path, _gaussians((200, 200), [(50, 50, 5, 5, 0.9)]))
    with pytest.raises(ParameterError, match="sees no landform there.*Draw new"):
        outline_from_click(path, *_xy(150, 150))
    with pytest.raises(ParameterError, match="outside the probability raster"):
        outline_from_click(path, X0 - 100.0, Y0 + 100.0)
