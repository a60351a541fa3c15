"""The documented command line: `qgis_process run rockglacier:attributes -- ...` from any folder.

Needs the plugin installed and enabled in the default profile, which `make setup` does.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest
from osgeo import gdal

from tests.builders import plane_dem, read_layer, square_wkt, write_polygons, write_raster

ORIGIN = (600000.0, 5200000.0)


def qgis_process(*args, cwd):
    executable = shutil.which("qgis_process")
    if executable is None:
        pytest.fail("qgis_process is not on PATH; run `make setup`.")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run([executable, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def inputs(tmp_path):
    z, gt = plane_dem(100, 10.0, ORIGIN, 30.0, 270.0)
    write_raster(tmp_path / "dem.tif", z, gt, dtype=gdal.GDT_Float64)
    write_polygons(tmp_path / "rg.gpkg", [square_wkt(ORIGIN[0] + 500, ORIGIN[1] - 500, 200)])
    return tmp_path


def test_qgis_process__lists_the_installed_provider(tmp_path):
    listing = qgis_process("list", cwd=tmp_path)
    assert "rockglacier:attributes" in listing.stdout, (
        "rockglacier is not installed for qgis_process; run `make setup`.\n" + listing.stdout[-2000:] + listing.stderr[-2000:]
    )


def test_qgis_process__runs_attributes_with_relative_paths_from_any_folder(inputs):
    completed = qgis_process("run", "rockglacier:attributes", "--", "INPUT=rg.gpkg", "DEM=dem.tif", "OUTPUT=out.gpkg", cwd=inputs)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    rows = read_layer(inputs / "out.gpkg", "rock_glaciers")
    assert rows[0]["rg_id"] == "rg001"
    assert rows[0]["slope_mean_deg"] == pytest.approx(30.0, abs=1e-6)
    assert rows[0]["aspect_class"] == "W"


def test_qgis_process__bad_input_fails_with_a_message_and_no_traceback(inputs):
    write_raster(inputs / "nocrs.tif", np.zeros((10, 10)), (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10), epsg=None)
    completed = qgis_process(
        "run", "rockglacier:attributes", "--", "INPUT=rg.gpkg", "DEM=nocrs.tif", "OUTPUT=out.gpkg", cwd=inputs
    )
    assert completed.returncode != 0
    output = completed.stdout + completed.stderr
    assert "has no CRS" in output
    assert "Traceback" not in output


def test_qgis_process__empty_layer_gives_an_empty_output_so_a_batch_goes_on(inputs):
    write_polygons(inputs / "empty.gpkg", [])
    completed = qgis_process(
        "run", "rockglacier:attributes", "--", "INPUT=empty.gpkg", "DEM=dem.tif", "OUTPUT=out.gpkg", cwd=inputs
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no features" in completed.stdout + completed.stderr
    assert read_layer(inputs / "out.gpkg", "rock_glaciers") == []


def test_qgis_process__help_documents_the_parameters(tmp_path):
    completed = qgis_process("help", "rockglacier:attributes", cwd=tmp_path)
    for name in ("INPUT", "DEM", "GLACIERS", "ID_PREFIX", "TOUCH_DISTANCE_M", "SEARCH_DISTANCE_M", "OUTPUT"):
        assert name in completed.stdout
    assert "upslope" in completed.stdout
