"""True-colour images (ESA's TCI, Copernicus Browser / EO Browser exports) are display products: recognised, read back as
reflectance with their documented stretch and rendered as the model's training imagery was, or refused when too much is
saturated; a plain 8-bit RGB that names itself as none of these is still the model's rendering. Oracles: the stretches
written out here from their documentation (ESA: reflectance 0-0.2 -> 1-255; Sentinel Hub: 2.5 x reflectance), the
documented rendering (``expected_8bit``) of what the image holds, an echo model that returns the 8-bit value it was fed."""

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException

from tests.qgis.test_sentinel2_catalogues import _seen
from tests.sentinel2_builders import echo_model, l2a_reflectance, write_stack

RGB = (2, 1, 0)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("true_colour")
    return folder, [echo_model(folder / f"echo{c}.onnx", c) for c in range(3)]


def _dark_scene():
    """Rock at 0.02-0.18 and a little snow: mostly below TCI's 0.2 ceiling."""
    rho = l2a_reflectance(rows=120, cols=160, seed=5)[list(RGB)]
    return np.where(rho > 0.5, rho, rho * 0.6)


def _rendered(rho):
    return np.floor(255.0 * np.clip(rho + 0.1, 0.0, 1.0))


def _fed(probabilities):
    return np.round(probabilities * 255.0)


def test_esa_tci__read_back_as_reflectance_and_rendered_as_the_model_was_trained(scene, tmp_path):
    folder, echoes = scene
    rho = _dark_scene()
    tci = np.where(np.isfinite(rho), np.clip(np.round(rho / 0.2 * 254.0) + 1.0, 1, 255), 0).astype(np.uint8)
    path = write_stack(tmp_path / "T19HDC_20221010T144731_TCI_10m.tif", tci, gdal.GDT_Byte, descriptions=None)
    probabilities, feedback = _seen(path, echoes, tmp_path)
    held = (tci.astype(np.float64) - 1.0) * 0.2 / 254.0  # ESA's stretch, read back
    valid = probabilities[0] >= 0
    assert np.array_equal(_fed(probabilities)[:, valid], _rendered(held)[:, valid])
    representable = valid & np.all((tci < 255) & (np.nan_to_num(rho, nan=-1.0) >= 0.0), axis=0)  # TCI holds 0-0.2 only
    assert representable.mean() > 0.5
    assert np.abs(_fed(probabilities)[:, representable] - _rendered(rho)[:, representable]).max() <= 1  # within one 8-bit step
    assert "ESA true-colour image (TCI" in feedback.text() and "saturated" in feedback.text()


def test_esa_tci__mostly_saturated_is_refused_with_what_to_download(scene, tmp_path):
    folder, echoes = scene
    rho = l2a_reflectance(rows=120, cols=160, seed=5)[list(RGB)] + 0.15  # bright rock: most of it above 0.2
    tci = np.where(np.isfinite(rho), np.clip(np.round(rho / 0.2 * 254.0) + 1.0, 1, 255), 0).astype(np.uint8)
    path = write_stack(tmp_path / "TCI.tif", tci, gdal.GDT_Byte, descriptions=None)  # Earth Search's visual asset
    with pytest.raises(
        QgsProcessingException, match=r"ESA true-colour image.*saturated.*download the Sentinel-2 L2A reflectance"
    ):
        _seen(path, echoes[:1], tmp_path)


@pytest.mark.parametrize("data_type", ["Float32", "Byte", "UInt16"])
def test_copernicus_browser_true_colour_export__with_alpha__gives_the_rendering_of_the_reflectance(scene, tmp_path, data_type):
    folder, echoes = scene
    rho = _dark_scene()
    display = np.clip(2.5 * np.nan_to_num(rho, nan=0.0), 0.0, 1.0)
    full = {"Float32": 1.0, "Byte": 255.0, "UInt16": 65535.0}[data_type]
    stored = display if data_type == "Float32" else np.round(display * full)
    alpha = np.where(np.all(np.isfinite(rho), axis=0), full, 0.0)[None]
    gdal_type = gdal.GetDataTypeByName(data_type)
    path = write_stack(
        tmp_path / f"2023-08-01-00_00_2023-08-01-23_59_Sentinel-2_L2A_True_color_{data_type}.tiff",
        np.concatenate([stored, alpha]).astype({"Float32": np.float32, "Byte": np.uint8, "UInt16": np.uint16}[data_type]),
        gdal_type,
        nodata=None,
        descriptions=None,
    )
    dataset = gdal.Open(str(path), gdal.GA_Update)
    for index, interpretation in enumerate(
        (gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand, gdal.GCI_AlphaBand), start=1
    ):
        dataset.GetRasterBand(index).SetColorInterpretation(interpretation)
    dataset = None
    probabilities, feedback = _seen(path, echoes, tmp_path)
    held = stored / (2.5 * full)
    valid = (probabilities[0] >= 0) & (alpha[0] > 0)
    assert np.array_equal(_fed(probabilities)[:, valid], _rendered(held)[:, valid])
    assert "Copernicus Browser / EO Browser true-colour export" in feedback.text()


def test_plain_8bit_rgb_that_says_nothing__is_still_the_models_rendering(scene, tmp_path):
    folder, echoes = scene
    values = np.random.default_rng(1).integers(0, 256, (3, 60, 80)).astype(np.uint8)
    path = write_stack(tmp_path / "image.tif", values, gdal.GDT_Byte, nodata=None, descriptions=None)
    probabilities, feedback = _seen(path, echoes, tmp_path)
    assert np.array_equal(_fed(probabilities), values.astype(np.float64))
    assert "true-colour" not in feedback.text()
