"""Slope and aspect: closed-form planes, gdaldem parity, geographic grids in metres."""

import math

import numpy as np
import pytest
from osgeo import gdal

from rockglacier_plugin.core.raster.io import open_raster, raster_grid, read_window
from rockglacier_plugin.core.raster.pixel_size import row_pixel_sizes_m
from rockglacier_plugin.core.terrain.slope_aspect import aspect_class, horn_gradient, slope_aspect_deg
from tests.builders import plane_dem, write_raster


def _slope_aspect_of_file(path, band=1):
    dataset = open_raster(str(path))
    grid = raster_grid(dataset, band)
    window = grid.full_window
    z = read_window(dataset.GetRasterBand(band), grid, window.padded(1))
    dx, dy = row_pixel_sizes_m(grid, window.padded(1))
    return slope_aspect_deg(*horn_gradient(z, dx, dy))


@pytest.mark.parametrize("aspect_deg", [0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0, 359.0])
@pytest.mark.parametrize("slope_deg", [5.0, 33.0])
def test_slope_aspect__tilted_plane_gives_its_slope_and_facing_direction(tmp_path, slope_deg, aspect_deg):
    z, gt = plane_dem(32, 10.0, (600000.0, 5200000.0), slope_deg, aspect_deg)
    slope, aspect = _slope_aspect_of_file(write_raster(tmp_path / "p.tif", z, gt, dtype=gdal.GDT_Float64))
    interior = (slice(1, -1), slice(1, -1))
    np.testing.assert_allclose(slope[interior], slope_deg, atol=1e-6)
    difference = (aspect[interior] - aspect_deg + 180.0) % 360.0 - 180.0
    np.testing.assert_allclose(difference, 0.0, atol=1e-6)


def test_slope__edge_pixels_have_no_value_like_gdaldem(tmp_path):
    z, gt = plane_dem(8, 10.0, (600000.0, 5200000.0), 20.0, 90.0)
    slope, _ = _slope_aspect_of_file(write_raster(tmp_path / "p.tif", z, gt))
    assert np.isnan(slope[0]).all() and np.isnan(slope[:, -1]).all()
    assert np.isfinite(slope[1:-1, 1:-1]).all()


def test_aspect__flat_terrain_has_no_aspect(tmp_path):
    slope, aspect = _slope_aspect_of_file(write_raster(tmp_path / "f.tif", np.full((6, 6), 100.0), (0, 10, 0, 0, 0, -10)))
    assert np.all(slope[1:-1, 1:-1] == 0.0) and np.isnan(aspect).all()


@pytest.mark.shared_data
def test_slope_aspect__match_gdaldem_on_a_real_utm_dem(tmp_path, shared_dataset):
    dem = shared_dataset("topotoolbox-bigtujunga-dem") / "bigtujunga.tif"
    slope, aspect = _slope_aspect_of_file(dem)
    gdal_slope = gdal.DEMProcessing(str(tmp_path / "s.tif"), str(dem), "slope").ReadAsArray()
    gdal_aspect = gdal.DEMProcessing(str(tmp_path / "a.tif"), str(dem), "aspect").ReadAsArray()
    both = np.isfinite(slope) & (gdal_slope != -9999)
    assert both.sum() > 0.95 * slope.size
    np.testing.assert_allclose(slope[both], gdal_slope[both], atol=1e-3)
    sloped = both & np.isfinite(aspect) & (gdal_aspect != -9999) & (slope > 1.0)
    difference = (aspect[sloped] - gdal_aspect[sloped] + 180.0) % 360.0 - 180.0
    assert np.abs(difference).max() < 1e-3


def test_slope__geographic_grid_uses_metres_on_the_ellipsoid(tmp_path):
    """A surface falling eastwards by tan(25 deg) per metre along each parallel, on EPSG:4326."""
    lat0, lon0, step_deg, n = 46.9, 10.8, 1.0 / 1200.0, 40
    rows, cols = np.mgrid[0:n, 0:n].astype(np.float64)
    lat = lat0 - (rows + 0.5) * step_deg
    a, inv_f = 6378137.0, 298.257223563
    e2 = (2 - 1 / inv_f) / inv_f
    prime_vertical = a / np.sqrt(1 - e2 * np.sin(np.radians(lat)) ** 2)
    east_m = prime_vertical * np.cos(np.radians(lat)) * np.radians((cols + 0.5) * step_deg)
    z = 3000.0 - math.tan(math.radians(25.0)) * east_m
    path = write_raster(tmp_path / "geo.tif", z, (lon0, step_deg, 0, lat0, 0, -step_deg), epsg=4326, dtype=gdal.GDT_Float64)
    slope, aspect = _slope_aspect_of_file(path)
    np.testing.assert_allclose(slope[1:-1, 1:-1], 25.0, atol=0.05)
    np.testing.assert_allclose(aspect[1:-1, 1:-1], 90.0, atol=0.5)
    # The naive degree grid (no metre conversion) would give ~90 degrees: guard the difference.
    assert np.nanmax(slope) < 26.0


@pytest.mark.parametrize(
    "aspect_deg, expected",
    [(0.0, "N"), (22.49, "N"), (22.5, "NE"), (90.0, "E"), (157.5, "S"), (247.5, "W"), (337.5, "N"), (359.9, "N"), (-10.0, "N")],
)
def test_aspect_class__eight_sectors_with_north_around_zero(aspect_deg, expected):
    assert aspect_class(aspect_deg) == expected


def test_aspect_class__nan_is_refused_with_a_message():
    with pytest.raises(ValueError, match="finite"):
        aspect_class(float("nan"))
