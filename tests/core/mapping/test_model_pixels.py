"""The model's pixel size belongs to the model: another pixel size is resampled for it and the results come back on the
input's grid; far from it is refused. Oracle: an echo model (probability = the 8-bit value it was fed, over 255) on a
linear ramp, which resampling up and back down leaves as it was away from the edges."""

import numpy as np
import pytest
from onnx import helper, numpy_helper
from osgeo import gdal

from rockglacier_plugin.core.errors import ParameterError
from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
from rockglacier_plugin.core.mapping.segmentation import SegmentSettings, segment_raster
from rockglacier_plugin.core.progress import RunHooks
from tests.builders import write_raster
from tests.onnx_builders import _save


def _echo_at_10m(path):
    spec = ModelSpec(
        margin_px=0,
        bands=("B4", "B3", "B2"),
        standardization_mean=(0.0, 0.0, 0.0),
        standardization_std=(1.0, 1.0, 1.0),
        resolution_cm_per_px=1000.0,
    )
    nodes = [helper.make_node("Slice", ["input", "starts", "ends", "axes"], ["output"])]
    inits = [
        numpy_helper.from_array(np.array([v], dtype=np.int64), name) for v, name in ((0, "starts"), (1, "ends"), (1, "axes"))
    ]
    return str(_save(nodes, inits, path, spec))


def _ramp(tmp_path, pixel_m, size=60):
    cols = np.linspace(40, 200, size)
    values = np.repeat(np.broadcast_to(cols, (size, size))[None], 3, axis=0).astype(np.uint8)
    return str(
        write_raster(
            tmp_path / f"ramp_{pixel_m:g}m.tif", values, (600000.0, pixel_m, 0, 5200000.0, 0, -pixel_m), dtype=gdal.GDT_Byte
        )
    )


def _run(tmp_path, raster, model):
    logs = []
    segment_raster(
        raster, model, str(tmp_path / "p.tif"), str(tmp_path / "m.tif"), SegmentSettings(views=1), hooks=RunHooks(log=logs.append)
    )
    return gdal.Open(str(tmp_path / "p.tif")), logs


@pytest.mark.parametrize("pixel_m", [20.0, 6.8])
def test_other_pixel_size__resampled_for_the_model_and_the_outputs_on_the_inputs_grid(tmp_path, pixel_m):
    model = _echo_at_10m(tmp_path / "echo.onnx")
    raster = _ramp(tmp_path, pixel_m)
    probability, logs = _run(tmp_path, raster, model)
    source = gdal.Open(raster)
    assert (probability.RasterXSize, probability.RasterYSize) == (source.RasterXSize, source.RasterYSize)
    assert probability.GetGeoTransform() == pytest.approx(source.GetGeoTransform())
    fed = probability.ReadAsArray() * 255.0
    inner = (slice(3, -3), slice(3, -3))  # away from the edges, where bilinear resampling reaches no-data
    assert np.abs(fed[inner] - source.GetRasterBand(1).ReadAsArray()[inner]).max() <= 1.5
    assert any("resampled to 10 m for the model" in line for line in logs)


def test_pixel_size_close_to_the_models__runs_as_is(tmp_path):
    model = _echo_at_10m(tmp_path / "echo.onnx")
    raster = _ramp(tmp_path, 10.5)
    probability, logs = _run(tmp_path, raster, model)
    assert np.array_equal(np.round(probability.ReadAsArray() * 255.0), gdal.Open(raster).GetRasterBand(1).ReadAsArray())
    assert any("the model's 10 m: run as is" in line for line in logs)


def test_pixel_size_far_from_the_models__refused_with_what_to_give(tmp_path):
    model = _echo_at_10m(tmp_path / "echo.onnx")
    with pytest.raises(ParameterError, match=r"pixels are 40.0 m, the model learnt landforms at 10 m.*3.3-30 m"):
        _run(tmp_path, _ramp(tmp_path, 40.0), model)
    assert not (tmp_path / "p.tif").exists()


def test_shipped_model__states_its_pixel_size():
    from rockglacier_plugin.core.mapping.onnx_model import SHIPPED_MODELS_DIR, load_model

    for name in ("rockglacier_default.onnx", "rockglacier_default_int8.onnx"):
        assert load_model(f"{SHIPPED_MODELS_DIR}/{name}").spec.pixel_size_m == 10.0
