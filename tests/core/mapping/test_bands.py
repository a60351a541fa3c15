"""Bands for a model: typed numbers win, else names matched to band descriptions, else as many as the model takes."""

import pytest

from rockglacier_plugin.core.errors import ParameterError
from rockglacier_plugin.core.mapping.bands import bands_for_model, parse_band_list, raster_band_descriptions
from tests.builders import write_raster


def test_bands__described_sentinel2_stack_gives_the_models_order():
    descriptions = ["B1", "B2", "B3", "B4", "B5", "B8", "B11", "B12"]
    assert bands_for_model(descriptions, ["B4", "B3", "B2"]) == [4, 3, 2]


def test_bands__descriptions_match_whatever_their_case_and_spaces():
    assert bands_for_model([" blue", "Green ", "RED"], ["red", "green", "blue"]) == [3, 2, 1]


def test_bands__typed_numbers_win_over_descriptions():
    assert bands_for_model(["B2", "B3", "B4"], ["B4", "B3", "B2"], "1,2,3") == [1, 2, 3]


def test_bands__undescribed_raster_with_the_models_band_count_is_used_as_is():
    assert bands_for_model(["", "", ""], ["B4", "B3", "B2"]) == [1, 2, 3]


def test_bands__undescribed_raster_with_more_bands_asks_for_band_numbers():
    with pytest.raises(ParameterError, match="give BANDS, the band numbers of B4, B3, B2"):
        bands_for_model([""] * 12, ["B4", "B3", "B2"])


@pytest.mark.parametrize("text", ["4,three,2", "0,1,2"])
def test_band_list__bad_text_is_explained(text):
    with pytest.raises(ParameterError, match="BANDS="):
        parse_band_list(text)


def test_band_descriptions__read_from_a_real_geotiff(tmp_path):
    import numpy as np
    from osgeo import gdal

    path = write_raster(tmp_path / "s2.tif", np.zeros((4, 8, 8), np.uint16), (0, 10, 0, 0, 0, -10), dtype=gdal.GDT_UInt16)
    dataset = gdal.Open(str(path), gdal.GA_Update)
    for index, name in enumerate(["B2", "B3", "B4", "B8"], start=1):
        dataset.GetRasterBand(index).SetDescription(name)
    dataset = None
    assert bands_for_model(raster_band_descriptions(gdal.Open(str(path))), ["B4", "B3", "B2"]) == [3, 2, 1]
