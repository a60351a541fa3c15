"""``rockglacier:movingareas`` on a real ALOS-1 time series (PyGdalSAR tutorial, NW Bhutan; ../shared/datasets/
pygdalsar-bhutan-insar-ts): the linear LOS velocity and its sigma (mm/yr, positive towards the satellite: the
tutorial converts GACOS metres with --gacos2data=-824.126 = -1000 cos 34.5 deg, "data in mm positive toward the sat."),
the DEM, the geometry of its README (incidence 34.5 deg, heading -14 deg), 2007-02-18 to 2009-01-08.

The truth is the tutorial's landslide mask: the absolute cumulative displacement, whose pixels >= 3 the tutorial
leaves out of its empirical fits (--mask ... --threshold_mask=-3 --scale_mask=-1). Nobody here made these files."""

import math
import subprocess

import numpy as np
import processing
import pytest
from osgeo import gdal, ogr

from rockglacier_plugin.core.insar.los_geometry import layover_or_shadow
from tests.qgis.feedback import RecordingFeedback

DATASET = "pygdalsar-bhutan-insar-ts"
MASK_THRESHOLD = 3.0


def _parameters(folder, output, **extra):
    parameters = dict(
        LOS_VELOCITY=[str(folder / "lin_coeff.tif")],
        LOS_VELOCITY_SIGMA=[str(folder / "lin_sigcoeff.tif")],
        VELOCITY_UNIT=2,
        VELOCITY_SIGN=0,
        DEM=str(folder / "DEM_UTM.tif"),
        INCIDENCE_DEG=34.5,
        HEADING_DEG=-14.0,
        REFERENCE_DATE="2007-02-18",
        SECONDARY_DATE="2009-01-08",
        OUTPUT=str(output),
    )
    parameters.update(extra)
    return parameters


def _share_inside_mask(wkb: bytes, folder) -> float:
    reference = gdal.Open(str(folder / "mask_landslide_utm.tif"))
    mask = np.nan_to_num(reference.ReadAsArray()) >= MASK_THRESHOLD
    target = gdal.GetDriverByName("MEM").Create("", reference.RasterXSize, reference.RasterYSize, 1, gdal.GDT_Byte)
    target.SetGeoTransform(reference.GetGeoTransform())
    target.SetProjection(reference.GetProjection())
    source = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = source.CreateLayer("c", reference.GetSpatialRef())
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(ogr.CreateGeometryFromWkb(wkb))
    layer.CreateFeature(feature)
    gdal.RasterizeLayer(target, [1], layer, burn_values=[1])
    inside = target.ReadAsArray() > 0
    return float((inside & mask).sum() / max(int(inside.sum()), 1))


def test_the_datasets_sign_is_towards_the_satellite_in_mm(shared_dataset):
    """Our VELOCITY_SIGN / VELOCITY_UNIT reading rests on the tutorial's own conversion factor."""
    readme = (shared_dataset(DATASET) / "README.md").read_text()
    assert "--gacos2data=-824.126" in readme
    assert -1000.0 * math.cos(math.radians(34.5)) == pytest.approx(-824.126, abs=0.001)


def test_real_time_series__candidates_lie_on_the_landslides_and_the_threshold_follows_the_products_sigma(
    shared_dataset, tmp_path
):
    folder = shared_dataset(DATASET)
    feedback = RecordingFeedback()
    result = processing.run("rockglacier:movingareas", _parameters(folder, tmp_path / "bhutan.gpkg"), feedback=feedback)
    log = feedback.text()
    assert "MIN_SNR 2 x the median downslope 1-sigma" in log and "the product's LOS sigma" in log
    written = ogr.Open(str(tmp_path / "bhutan.gpkg"))  # kept: a layer outlives no data source
    shares = [_share_inside_mask(f.GetGeometryRef().ExportToWkb(), folder) for f in written.GetLayer("rock_glaciers")]
    assert result["OUTPUT"]
    assert shares, "no candidate on a series whose landslides move a few mm/yr to 1 cm/yr"
    assert all(share >= 0.5 for share in shares), shares  # each candidate lies mostly on the mask
    assert "unwrapping error" not in log  # a velocity product has no phase cycle to cut


def test_real_time_series__a_fixed_10_cm_yr_finds_nothing(shared_dataset, tmp_path):
    """What the product did before its noise was read: one fixed 10 cm/yr sees nothing in a series of mm/yr."""
    folder = shared_dataset(DATASET)
    feedback = RecordingFeedback()
    processing.run(
        "rockglacier:movingareas", _parameters(folder, tmp_path / "fixed.gpkg", MIN_VELOCITY_CM_YR=10.0), feedback=feedback
    )
    written = ogr.Open(str(tmp_path / "fixed.gpkg"))
    assert written.GetLayer("rock_glaciers").GetFeatureCount() == 0
    assert "MIN_VELOCITY_CM_YR as given" in feedback.text()


def test_real_relief__the_layover_and_shadow_mask_does_not_fire_where_the_product_has_data(shared_dataset, tmp_path):
    """gdaldem's slope and aspect of the real DEM, the README's geometry: almost no valid pixel is flagged."""
    folder = shared_dataset(DATASET)
    slope, aspect = tmp_path / "slope.tif", tmp_path / "aspect.tif"
    subprocess.run(["gdaldem", "slope", str(folder / "DEM_UTM.tif"), str(slope), "-q"], check=True)
    subprocess.run(["gdaldem", "aspect", str(folder / "DEM_UTM.tif"), str(aspect), "-q"], check=True)
    slope_deg, aspect_deg = gdal.Open(str(slope)).ReadAsArray(), gdal.Open(str(aspect)).ReadAsArray()
    velocity = gdal.Open(str(folder / "lin_coeff.tif")).ReadAsArray()
    valid = np.isfinite(velocity) & (velocity != 0) & (slope_deg > -9000)
    # heading -14 deg clockwise, right-looking: looks at 76 deg; ground -> satellite at 256 deg clockwise, i.e. 104 deg
    # anticlockwise from north (the ISCE2 convention of los.rdr.geo)
    los_azimuth = 360.0 - ((-14.0 + 90.0 + 180.0) % 360.0)
    with np.errstate(invalid="ignore"):
        hidden = layover_or_shadow(34.5, los_azimuth, slope_deg, aspect_deg) & valid
    assert hidden.sum() <= 0.001 * valid.sum()
