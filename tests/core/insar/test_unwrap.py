"""SNAPHU unwrapping in the core: a cancel stops SNAPHU and leaves no output; a normal run writes both."""

import os
import time

import numpy as np
import pytest
from osgeo import gdal

from rockglacier_plugin.core.errors import OperationCancelled
from rockglacier_plugin.core.insar.unwrap import UnwrapSettings, unwrap_files
from rockglacier_plugin.core.progress import RunHooks
from tests.builders import write_raster
from tests.conftest import require_module
from tests.insar_builders import EPSG, cone_scene


def test_unwrap__cancel_stops_snaphu_and_leaves_nothing(tmp_path, monkeypatch):
    require_module("snaphu")
    from rockglacier_plugin.core.insar import unwrap as unwrap_module

    snaphu_started, processes = [], []
    original_popen = unwrap_module.subprocess.Popen

    def recording_popen(*args, **kwargs):  # the cancel comes once SNAPHU itself runs, however slow the machine
        snaphu_started.append(time.perf_counter())
        processes.append(original_popen(*args, **kwargs))
        return processes[-1]

    monkeypatch.setattr(unwrap_module.subprocess, "Popen", recording_popen)
    size = 1200  # SNAPHU needs seconds here, so the cancel always lands while it runs
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:size, 0:size]
    phase = 0.002 * (rows - size / 2) ** 2 / 10 + 0.8 * rng.standard_normal((size, size))
    gt = (500000.0, 30.0, 0.0, 4000000.0, 0.0, -30.0)
    igram = tmp_path / "igram.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(igram), size, size, 1, gdal.GDT_CFloat32)
    ds.SetGeoTransform(gt)
    ds.SetProjection(gdal.Open(str(write_raster(tmp_path / "c.tif", np.full((size, size), 0.4), gt, EPSG))).GetProjection())
    ds.GetRasterBand(1).WriteArray(np.exp(1j * phase).astype(np.complex64))
    ds = None
    with pytest.raises(OperationCancelled, match="SNAPHU was stopped"):
        unwrap_files(
            str(igram),
            str(tmp_path / "c.tif"),
            str(tmp_path / "unw.tif"),
            str(tmp_path / "cc.tif"),
            UnwrapSettings(),
            hooks=RunHooks(is_cancelled=lambda: bool(snaphu_started) and time.perf_counter() > snaphu_started[0] + 0.3),
        )
    assert processes[0].returncode is not None and processes[0].returncode < 0  # killed, not finished
    assert time.perf_counter() - snaphu_started[0] < 5.0
    assert not [name for name in os.listdir(tmp_path) if name.startswith(("unw", "cc"))]


def test_unwrap__without_cancel_writes_phase_and_components(tmp_path):
    require_module("snaphu")
    scene = cone_scene(tmp_path / "scene", seed=2, size_px=120, aspects_deg=(90.0,))
    summary = unwrap_files(
        str(scene.wrapped),
        str(scene.coherence),
        str(tmp_path / "unw.tif"),
        str(tmp_path / "cc.tif"),
        UnwrapSettings(),
        hooks=RunHooks(is_cancelled=lambda: False),
    )
    assert summary["components"] >= 1 and os.path.exists(tmp_path / "unw.tif") and os.path.exists(tmp_path / "cc.tif")
