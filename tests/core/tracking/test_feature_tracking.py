"""Feature tracking: closed forms (a texture shifted by a known sub-pixel amount, a brightness change), gdaldem's
hillshade, and the Laurichard rock glacier's 265 landmarks matched by hand between the 2012 and 2017 hillshades
(../shared/datasets/laurichard-dem-2012-2017; nobody here made them): 139 stable, 126 moved 1-9.2 m."""

import subprocess
from datetime import date

import numpy as np
import pytest
from osgeo import gdal, ogr

from rockglacier_plugin.core.errors import ParameterError
from rockglacier_plugin.core.tracking.dates import image_date
from rockglacier_plugin.core.tracking.displacements import TrackingSettings
from rockglacier_plugin.core.tracking.feature_tracking import (
    DEM,
    IMAGE,
    Areas,
    TrackingInputs,
    track_features,
)
from rockglacier_plugin.core.tracking.hillshade import hillshade
from rockglacier_plugin.core.tracking.ncc import match
from tests.builders import write_raster

DATASET = "laurichard-dem-2012-2017"


def _texture(shape, seed=0):
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(shape)
    fy, fx = np.fft.fftfreq(shape[0])[:, None], np.fft.fftfreq(shape[1])[None, :]
    return np.real(np.fft.ifft2(np.fft.fft2(white) * np.exp(-((fx**2 + fy**2) * 200.0))))


def _shifted(image, d_col, d_row):
    """``image`` moved by (d_col, d_row) pixels (Fourier shift: exact for a band-limited texture)."""
    fy, fx = np.fft.fftfreq(image.shape[0])[:, None], np.fft.fftfreq(image.shape[1])[None, :]
    return np.real(np.fft.ifft2(np.fft.fft2(image) * np.exp(-2j * np.pi * (fx * d_col + fy * d_row))))


@pytest.mark.parametrize("d_col, d_row", [(3.3, -1.7), (-6.6, 4.25), (0.0, 0.0)])
def test_ncc__recovers_a_known_sub_pixel_shift_within_a_twentieth_of_a_pixel(d_col, d_row):
    first = _texture((128, 128))
    second = _shifted(first, d_col, d_row)
    found = match(first[48:81, 48:81], second[36:93, 36:93])
    assert found is not None
    assert found.d_col_px == pytest.approx(d_col, abs=0.05) and found.d_row_px == pytest.approx(d_row, abs=0.05)
    assert found.correlation > 0.95


def test_ncc__is_blind_to_a_change_of_brightness_and_contrast():
    first = _texture((128, 128), seed=3)
    second = 40.0 + 0.3 * _shifted(first, 2.5, 1.0)
    found = match(first[48:81, 48:81], second[36:93, 36:93])
    assert (found.d_col_px, found.d_row_px) == (pytest.approx(2.5, abs=0.1), pytest.approx(1.0, abs=0.1))


def test_ncc__a_motion_beyond_the_search_gives_no_match():
    first = _texture((128, 128), seed=4)
    assert match(first[48:81, 48:81], _shifted(first, 14.0, 0.0)[40:89, 40:89]) is None


def test_hillshade__matches_gdaldem(tmp_path):
    z = 3000.0 + 40.0 * _texture((60, 80), seed=5) + 0.3 * np.arange(80)[None, :]
    dem = write_raster(tmp_path / "dem.tif", z, (500000.0, 2.0, 0.0, 4000000.0, 0.0, -2.0), epsg=32632)
    out = tmp_path / "hs.tif"
    subprocess.run(["gdaldem", "hillshade", str(dem), str(out), "-az", "315", "-alt", "45", "-q"], check=True)
    reference = gdal.Open(str(out)).ReadAsArray().astype(float)[1:-1, 1:-1]
    ours = 1.0 + 254.0 * hillshade(z, 2.0, 2.0, 315.0, 45.0)[1:-1, 1:-1]
    assert np.abs(ours - reference).max() <= 1.0  # gdaldem rounds to bytes


def test_dates__from_the_name_or_metadata_or_a_clear_request(tmp_path):
    assert image_date(None, "/x/S2A_MSIL2A_20190704T102031_N0212.tif", None, "DATE_1")[0] == date(2019, 7, 4)
    path = write_raster(tmp_path / "ortho.tif", np.zeros((4, 4)), (0, 1, 0, 0, 0, -1), epsg=32632)
    dataset = gdal.Open(str(path), gdal.GA_Update)
    dataset.SetMetadataItem("ACQUISITION_DATE", "2021-08-30")
    assert image_date(dataset, str(path), None, "DATE_1") == (date(2021, 8, 30), "from its metadata (ACQUISITION_DATE)")
    with pytest.raises(ParameterError, match="give DATE_2"):
        image_date(
            gdal.Open(str(write_raster(tmp_path / "b.tif", np.zeros((4, 4)), (0, 1, 0, 0, 0, -1)))), "b.tif", None, "DATE_2"
        )


def _landmarks(folder):
    table = np.loadtxt(folder / "Landmarks_src2012_to_trg2017.txt", skiprows=1)
    gt = gdal.Open(str(folder / "rock_glacier_dem_2012_50cm.tif")).GetGeoTransform()
    x, y = gt[0] + (table[:, 1] + 0.5) * gt[1], gt[3] + (table[:, 2] + 0.5) * gt[5]
    east, north = (table[:, 3] - table[:, 1]) * gt[1], (table[:, 4] - table[:, 2]) * gt[5]
    return x, y, east, north


def moving_hull(x, y):
    """The convex hull of the points (x, y): the landform's outline as the tests and benchmarks draw it."""
    points = ogr.Geometry(ogr.wkbMultiPoint)
    for a, b in zip(x, y):
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(float(a), float(b))
        points.AddGeometry(point)
    return points.ConvexHull()


def stable_squares(x, y, half_m=3.0):
    return [
        ogr.CreateGeometryFromWkt(
            f"POLYGON(({a - half_m} {b - half_m},{a + half_m} {b - half_m},{a + half_m} {b + half_m},"
            f"{a - half_m} {b + half_m},{a - half_m} {b - half_m}))"
        )
        for a, b in zip(x, y)
    ]


@pytest.mark.parametrize("kind, files", [(IMAGE, "hillshade"), (DEM, "dem")])
def test_laurichard__landmark_displacements_within_half_a_metre_and_held_out_stable_ground_below_the_lod(
    shared_dataset, kind, files
):
    """Stable ground for co-registration: every other stable landmark (6 m squares); the other half is held out."""
    folder = shared_dataset(DATASET)
    x, y, east, north = _landmarks(folder)
    stable = np.hypot(east, north) == 0
    index = np.nonzero(stable)[0]
    held_out = np.zeros(len(x), bool)
    held_out[index[1::2]] = True
    inputs = TrackingInputs(
        str(folder / f"rock_glacier_{files}_2012_50cm.tif"),
        str(folder / f"rock_glacier_{files}_2017_50cm.tif"),
        date(2012, 10, 5),
        date(2017, 10, 5),
        kind,
    )
    result = track_features(
        inputs,
        TrackingSettings(search_radius_px=24),
        Areas(stable=stable_squares(x[index[::2]], y[index[::2]]), points_xy=(x, y)),
    )
    p = result.points
    valid = np.array([r is None for r in p.reason])
    error = np.hypot(p.east_m - east, p.north_m - north)
    moving = ~stable & valid
    assert moving.sum() >= 90  # of 126 (measured 100-101; the others lie within 20 m of the edge or are rejected)
    assert np.median(error[moving]) < 0.7  # measured 0.54-0.55 m (1.1 px; the landmarks are whole pixels)
    assert np.percentile(error[moving], 90) < 1.3  # measured 1.04-1.07 m
    assert 0.2 < result.lod_m < 0.8  # measured 0.42-0.51 m
    assert np.percentile(p.displacement_m[held_out & valid], 95) < result.lod_m  # measured 0.33-0.38 m


def test_bands__a_pair_read_band_by_band_gives_the_whole_rasters_matches_with_progress_and_cancel(tmp_path, monkeypatch):
    """DEMs (hillshaded with one row of context) read 64 rows of points at a time give exactly the matches of one band
    over the whole raster; progress rises to 1 once per band; a cancel stops the run with OperationCancelled."""
    from rockglacier_plugin.core.errors import OperationCancelled
    from rockglacier_plugin.core.progress import RunHooks
    from rockglacier_plugin.core.tracking import pair_reader

    dem = 3000.0 + 40.0 * _texture((420, 300), seed=3)
    moved = _shifted(dem, 2.4, -1.3)
    gt = (500000.0, 1.0, 0.0, 5000000.0, 0.0, -1.0)
    first, second = write_raster(tmp_path / "dem_2019.tif", dem, gt), write_raster(tmp_path / "dem_2021.tif", moved, gt)
    inputs = TrackingInputs(str(first), str(second), date(2019, 8, 1), date(2021, 8, 1), DEM, spacing_px=7)
    settings = TrackingSettings(template_px=21, search_radius_px=6)
    stable = [ogr.CreateGeometryFromWkt("POLYGON((500000 4999580,500300 4999580,500300 5000000,500000 5000000,500000 4999580))")]
    whole = track_features(inputs, settings, Areas(stable=stable))
    monkeypatch.setattr(pair_reader, "BAND_ROWS", 64)
    fractions: list = []
    banded = track_features(inputs, settings, Areas(stable=stable), RunHooks(on_progress=fractions.append))
    assert np.array_equal(whole.points.east_m, banded.points.east_m, equal_nan=True)
    assert whole.points.reason == banded.points.reason and sum(r is None for r in banded.points.reason) > 500
    assert len(fractions) >= 6 and fractions == sorted(fractions) and fractions[-1] == 1.0
    with pytest.raises(OperationCancelled):
        track_features(inputs, settings, Areas(stable=stable), RunHooks(is_cancelled=lambda: True))


def _warped(image, angle_deg, d_col, d_row, box=None, extra=(0.0, 0.0)):
    """``image`` rotated by ``angle_deg`` about its centre and shifted by (d_col, d_row) px (a point at p moves to
    centre + R (p - centre) + t); inside ``box`` (rows, cols slices) the ground moved ``extra`` px more."""
    from scipy.ndimage import map_coordinates

    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(np.float64)
    centre_row, centre_col = (image.shape[0] - 1) / 2.0, (image.shape[1] - 1) / 2.0
    a = np.radians(angle_deg)
    shift_col, shift_row = np.full(image.shape, d_col), np.full(image.shape, d_row)
    if box is not None:
        shift_col[box] += extra[0]
        shift_row[box] += extra[1]
    x, y = cols - centre_col - shift_col, rows - centre_row - shift_row  # invert: p0 = R^-1 (p - centre - t) + centre
    source_col = np.cos(a) * x + np.sin(a) * y + centre_col
    source_row = -np.sin(a) * x + np.cos(a) * y + centre_row
    return map_coordinates(image, [source_row, source_col], order=3, mode="reflect")


def test_closed_form__a_rotation_and_sub_pixel_shift_of_the_whole_image_is_co_registered_away_and_a_landforms_own_motion_stays(
    tmp_path,
):
    """The second image: the first rotated 0.3 deg and shifted (1.7, -0.8) px (a misregistration: up to 0.8 px more at the
    corners), and inside the landform the ground moved 3.0 px east, 1.0 px south more. The affine co-registration on
    the stable ground removes the misregistration (stable residuals well below 0.1 px), the landform keeps its motion."""
    image = 100.0 * _texture((360, 360), seed=7)
    box = (slice(130, 230), slice(130, 230))
    moved = _warped(image, 0.3, 1.7, -0.8, box, (3.0, 1.0))
    gt = (600000.0, 1.0, 0.0, 5100000.0, 0.0, -1.0)
    first, second = write_raster(tmp_path / "a_2020.tif", image, gt), write_raster(tmp_path / "b_2022.tif", moved, gt)
    landform = ogr.CreateGeometryFromWkt("POLYGON((600140 5099780,600220 5099780,600220 5099860,600140 5099860,600140 5099780))")
    inputs = TrackingInputs(str(first), str(second), date(2020, 7, 1), date(2022, 7, 1), IMAGE, spacing_px=8)
    result = track_features(
        inputs, TrackingSettings(template_px=21, search_radius_px=8, neighbour_radius_px=32.0), Areas([landform])
    )
    assert result.coregistration.kind == "affine"
    p = result.points
    valid = np.array([r is None for r in p.reason])
    col, row = p.x - 600000.0, 5100000.0 - p.y
    clear = np.maximum(np.maximum(130 - col, col - 230), np.maximum(130 - row, row - 230)) > 21  # templates off the landform
    stable = p.stable & valid & clear
    assert stable.sum() > 1000 and np.percentile(p.displacement_m[stable], 95) < 0.1  # m = px here
    row = result.landforms[0]
    assert row["ft_vel_m_yr"] == pytest.approx(np.hypot(3.0, 1.0) / 2.0, abs=0.03)
    assert row["ft_dir_deg"] == pytest.approx(np.degrees(np.arctan2(3.0, -1.0)), abs=2.0)  # east and a little south


def test_closed_form__where_nothing_moves_no_landform_gets_a_rate_above_the_level_of_detection(tmp_path):
    """The same ground on both dates, another sensor's brightness and its own noise: every displacement is the images'
    misfit, the landform's median is below the LoD, and it gets no rate but the reason."""
    image = 100.0 * _texture((300, 300), seed=11)
    rng = np.random.default_rng(5)
    later = 0.8 * image + 20.0 + rng.normal(0.0, 0.1 * image.std(), image.shape)
    gt = (600000.0, 1.0, 0.0, 5100000.0, 0.0, -1.0)
    first, second = write_raster(tmp_path / "a_2020.tif", image, gt), write_raster(tmp_path / "b_2022.tif", later, gt)
    landform = ogr.CreateGeometryFromWkt("POLYGON((600100 5099800,600200 5099800,600200 5099900,600100 5099900,600100 5099800))")
    inputs = TrackingInputs(str(first), str(second), date(2020, 7, 1), date(2022, 7, 1), IMAGE, spacing_px=8)
    result = track_features(
        inputs, TrackingSettings(template_px=21, search_radius_px=6, neighbour_radius_px=32.0), Areas([landform])
    )
    row = result.landforms[0]
    assert row["ft_vel_m_yr"] is None and "below the level of detection" in row["ft_reason"]
    assert 0.0 < result.lod_m < 0.3
