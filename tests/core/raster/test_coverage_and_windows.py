"""Fractional pixel coverage and window arithmetic: closed forms and properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from osgeo import ogr

from rockglacier_plugin.core.raster.coverage import coverage_fraction, subrows_per_row
from rockglacier_plugin.core.raster.windows import Window, window_from_bounds

GT = (1000.0, 10.0, 0.0, 2000.0, 0.0, -10.0)


def rectangle(x0, y0, x1, y1):
    return ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")


def test_coverage__triangle_inside_one_pixel_gets_its_area_share():
    triangle = ogr.CreateGeometryFromWkt("POLYGON((1001 1999,1009 1999,1001 1991,1001 1999))")  # 32 m2
    coverage = coverage_fraction(triangle, Window(0, 0, 1, 1), GT)
    assert coverage[0, 0] == pytest.approx(0.32, abs=0.002)  # 256 scanlines: error <= 8 m x 0.02 m


def test_coverage__hole_is_not_covered_and_multipart_counts_each_part():
    ring = "(1000 2000,1030 2000,1030 1970,1000 1970,1000 2000),(1010 1990,1020 1990,1020 1980,1010 1980,1010 1990)"
    donut = ogr.CreateGeometryFromWkt(f"POLYGON({ring})")
    coverage = coverage_fraction(donut, Window(0, 0, 3, 3), GT, subrows=16)
    np.testing.assert_allclose(coverage, [[1, 1, 1], [1, 0, 1], [1, 1, 1]], atol=1e-9)
    multi = ogr.CreateGeometryFromWkt(
        "MULTIPOLYGON(((1000 2000,1010 2000,1010 1990,1000 1990,1000 2000)),((1020 1980,1030 1980,1030 1970,1020 1970,1020 "
        "1980)))"
    )
    np.testing.assert_allclose(
        coverage_fraction(multi, Window(0, 0, 3, 3), GT, subrows=16), [[1, 0, 0], [0, 0, 0], [0, 0, 1]], atol=1e-9
    )


def test_coverage__quarter_and_half_pixels_are_counted_as_such():
    geometry = rectangle(1005.0, 1985.0, 1020.0, 1995.0)  # x 5..20 m, y 5..15 m below the top
    exact = coverage_fraction(geometry, Window(0, 0, 2, 2), GT, subrows=16)  # edges between scanlines
    np.testing.assert_allclose(exact, [[0.25, 0.5], [0.25, 0.5]], atol=1e-9)
    default = coverage_fraction(geometry, Window(0, 0, 2, 2), GT)  # odd count: within half a sub-row
    np.testing.assert_allclose(default, [[0.25, 0.5], [0.25, 0.5]], atol=0.5 / subrows_per_row(2) + 1e-9)


@settings(max_examples=60, deadline=None)
@given(st.floats(1000.0, 1080.0), st.floats(1920.0, 2000.0), st.floats(0.3, 60.0), st.floats(0.3, 60.0))
def test_coverage__sums_to_the_polygon_area_within_boundary_quantisation(x0, y_top, width, height):
    geometry = rectangle(x0, y_top - height, x0 + width, y_top)
    xmin, xmax, ymin, ymax = geometry.GetEnvelope()
    window = window_from_bounds(xmin, ymin, xmax, ymax, GT)
    coverage = coverage_fraction(geometry, window, GT)
    covered_m2 = coverage.sum() * 100.0
    # Exact along x; along y each horizontal edge is placed within half a sub-row.
    sub_row_m = 10.0 / subrows_per_row(window.height_px)
    assert abs(covered_m2 - width * height) <= 2.0 * width * sub_row_m / 2.0 + 1e-6
    assert coverage.min() >= 0.0 and coverage.max() <= 1.0


@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(1, 40), st.integers(1, 40), st.integers(0, 3))
def test_window__padding_then_intersection_with_itself_is_the_padded_window(c, r, w, h, pad):
    window = Window(c, r, w, h)
    padded = window.padded(pad)
    assert padded.intersection(window) == window
    assert padded.shape == (h + 2 * pad, w + 2 * pad)


def test_window__disjoint_windows_have_no_intersection():
    assert Window(0, 0, 5, 5).intersection(Window(5, 0, 5, 5)) is None


@settings(max_examples=40, deadline=None)
@given(st.floats(1000.0, 1050.0), st.floats(1950.0, 2000.0), st.floats(1.0, 40.0), st.floats(1.0, 40.0), st.floats(0.0, 3.0))
def test_pixel_centres_inside__agrees_with_gdal_rasterize(x0, y_top, width, height, turn):
    # A rotated quadrilateral: GDAL's rasterizer (centre rule) is the oracle.
    import math

    from osgeo import gdal, osr

    from rockglacier_plugin.core.raster.coverage import pixel_centres_inside

    cx, cy = x0 + width / 2, y_top - height / 2
    corners = [(-width / 2, -height / 2), (width / 2, -height / 2), (width / 2, height / 2), (-width / 2, height / 2)]
    points = [(cx + u * math.cos(turn) - v * math.sin(turn), cy + u * math.sin(turn) + v * math.cos(turn)) for u, v in corners]
    ring = ",".join(f"{x} {y}" for x, y in points + points[:1])
    geometry = ogr.CreateGeometryFromWkt(f"POLYGON(({ring}))")
    window = Window(0, 0, 12, 12)
    ours = pixel_centres_inside(geometry, window, GT)
    srs = osr.SpatialReference()
    srs.SetLocalCS("grid")
    target = gdal.GetDriverByName("MEM").Create("", 12, 12, 1, gdal.GDT_Byte)
    target.SetGeoTransform(GT)
    target.SetProjection(srs.ExportToWkt())
    source = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = source.CreateLayer("p", srs)
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(geometry)
    layer.CreateFeature(feature)
    gdal.RasterizeLayer(target, [1], layer, burn_values=[1])
    theirs = target.ReadAsArray().astype(bool)
    # A centre exactly on an edge may go either way (rasterizers break ties differently).
    boundary = geometry.Boundary()
    for row, col in zip(*np.nonzero(ours != theirs)):
        centre = ogr.Geometry(ogr.wkbPoint)
        centre.AddPoint_2D(GT[0] + (col + 0.5) * GT[1], GT[3] + (row + 0.5) * GT[5])
        assert boundary.Distance(centre) < 1e-6


def test_coverage_and_centres__one_pass_equals_the_two_separate_functions():
    from rockglacier_plugin.core.raster.coverage import coverage_and_centres, pixel_centres_inside

    geometry = ogr.CreateGeometryFromWkt("POLYGON((1003 1997,1071 1989,1052 1931,1009 1950,1003 1997))")
    window = Window(0, 0, 8, 8)
    coverage, centres = coverage_and_centres(geometry, window, GT)
    np.testing.assert_allclose(coverage, coverage_fraction(geometry, window, GT))
    assert (centres == pixel_centres_inside(geometry, window, GT)).all() and centres.sum() > 10
