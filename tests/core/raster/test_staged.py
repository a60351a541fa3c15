"""Staged outputs: a file appears under its name only when complete; a failure leaves the old state."""

import os

import numpy as np
import pytest
from osgeo import gdal

from rockglacier_plugin.core.errors import OperationCancelled
from rockglacier_plugin.core.raster.staged import partial_path, staged_outputs


def _write(path, value):
    dataset = gdal.GetDriverByName("GTiff").Create(path, 4, 4, 1, gdal.GDT_Float32)
    dataset.GetRasterBand(1).WriteArray(np.full((4, 4), value, np.float32))
    dataset = None


def test_staged__success_renames_every_partial_onto_its_name(tmp_path):
    finals = [str(tmp_path / "a.tif"), str(tmp_path / "b.tif")]
    with staged_outputs(finals) as partials:
        for path in partials:
            _write(path, 1.0)
            assert not os.path.exists(finals[0])  # nothing visible while writing
    assert all(gdal.Open(p).ReadAsArray().max() == 1.0 for p in finals)
    assert sorted(os.listdir(tmp_path)) == ["a.tif", "b.tif"]


def test_staged__cancel_removes_the_partials_and_keeps_the_previous_output(tmp_path):
    final = str(tmp_path / "v.tif")
    _write(final, 7.0)  # an earlier, complete run
    with pytest.raises(OperationCancelled):
        with staged_outputs([final]) as (partial,):
            _write(partial, 1.0)
            raise OperationCancelled("cancelled by the user")
    assert sorted(os.listdir(tmp_path)) == ["v.tif"]
    assert gdal.Open(final).ReadAsArray().max() == 7.0


def test_staged__leftover_partial_of_a_killed_run_is_cleared(tmp_path):
    final = str(tmp_path / "m.tif")
    _write(partial_path(final), 3.0)
    with staged_outputs([final]) as (partial,):
        assert not os.path.exists(partial)
        _write(partial, 5.0)
    assert gdal.Open(final).ReadAsArray().max() == 5.0 and not os.path.exists(partial_path(final))
