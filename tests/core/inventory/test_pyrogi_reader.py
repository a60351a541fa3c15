"""Our RGIK export read by PyRoGI, a reader someone else wrote, the way its users call it.

PyRoGI (github.com/pyzak117/PyRogi) read RGIK's field model up to commit 8e03e5d (March 2024; its HEAD reads another
data model). Its users call ``get_rogi_from_layers(markers, outlines, marker_layer, outline_layer)``, which opens both
layers with telenvi's ``vector_tools.Open`` (github.com/pyzak117/telenvi, 135fdbc, the version of that month) and builds
one ``RockGlacierUnit`` per primary marker, its attributes named after our columns and its outlines those that contain
the marker. Neither package is on PyPI at those versions, so the test reads both from git mirrors on this machine (the
search tool's fetch puts them in /work/.mirror; PYROGI_GIT / TELENVI_GIT name others) and runs them in an environment of
their own: a venv with geopandas. The modules they import for plotting, DEMs and 3D (contextily, pyvista, telenvi's
raster tools with rasterio/richdem/geocube) are never called when reading and are given empty modules. Skipped when a
mirror is absent or the environment cannot be installed; nothing of either project is committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from osgeo import ogr

from rockglacier_plugin.core.inventory.rgik_export import THREE_FILES, output_paths, primary_ids, write_rgik
from tests.builders import square_wkt, srs_from_epsg

PYROGI = (os.environ.get("PYROGI_GIT", "/work/.mirror/pyzak117+PyRogi/repo"), "8e03e5d")
TELENVI = (os.environ.get("TELENVI_GIT", "/work/.mirror/pyzak117+telenvi/repo"), "135fdbc")
READER_PACKAGES = ("geopandas==0.14.4", "shapely==2.0.6", "tqdm")  # geopandas of PyRoGI's time, NumPy 1.24 to 2.x
ENV_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rockglacier"

RUNNER = """
import json, sys, types
for name in ("contextily", "pyvista", "telenvi.raster_tools"):  # imported by the reader, never called when reading
    sys.modules[name] = types.ModuleType(name)
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from pyrogi.rock_glacier_inventory import get_rogi_from_layers
rogi = get_rogi_from_layers(sys.argv[3], sys.argv[4], "primary_markers", "geomorphological_outlines")
print(json.dumps([{"id": u.rgik_pm_primaryid, "working": u.rgik_pm_workingid, "upslope": u.rgik_pm_upsl_con,
                   "activity": u.rgik_pm_acti_cl, "outline": u.outlines_loaded(), "out_type": getattr(u, "rgik_oue_out_type",
                   None),
                   "outline_area": u.rgu_oue_geom.area if u.rgu_oue_geom is not None else None}
                  for u in rogi.population]))
"""


def _extract(mirror: str, commit: str, folder: str, target: Path) -> Path:
    """The ``.py`` files under ``folder`` of ``commit`` in a git mirror, written below ``target``."""
    git = ["git", "--git-dir", mirror if Path(mirror, "HEAD").exists() else str(Path(mirror, ".git"))]
    names = subprocess.run(
        git + ["ls-tree", "-r", "--name-only", commit, folder], capture_output=True, text=True, check=True
    ).stdout.split()
    for name in names:
        if name.endswith(".py"):
            path = target / Path(name).relative_to(folder)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(subprocess.run(git + ["show", f"{commit}:{name}"], capture_output=True, check=True).stdout)
    return target


def _reader_python() -> str:
    """A venv (seeing the system's GDAL and NumPy) with geopandas, cached by its package list."""
    import numpy

    pins = (*READER_PACKAGES, f"numpy=={numpy.__version__}")
    env = ENV_ROOT / ("pyrogi-env-" + hashlib.sha256(" ".join(pins).encode()).hexdigest()[:12])
    python = env / "bin" / "python"
    if not (env / ".complete").exists():
        created = subprocess.run(
            ["/usr/bin/python3", "-m", "venv", "--system-site-packages", "--clear", str(env)], capture_output=True, text=True
        )
        if created.returncode != 0:
            pytest.skip(f"no venv for PyRoGI's reader: {created.stderr[-300:]}")
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *pins], capture_output=True, text=True, timeout=600
        )
        if installed.returncode != 0:
            pytest.skip(f"PyRoGI's reader environment cannot be installed here: {installed.stderr[-400:]}")
        (env / ".complete").touch()
    return str(python)


def test_pyrogi__reads_every_landform_of_our_three_file_export_with_its_outline(tmp_path):
    for mirror, _ in (PYROGI, TELENVI):
        if not (Path(mirror, "HEAD").exists() or Path(mirror, ".git").exists()):
            pytest.skip(f"no git mirror of PyRoGI/telenvi at {mirror} (fetch github:pyzak117/PyRogi and github:pyzak117/telenvi)")
    python = _reader_python()
    pyrogi = _extract(*PYROGI, "src", tmp_path / "pyrogi_src")
    telenvi = _extract(*TELENVI, "src", tmp_path / "telenvi_src")
    records = [
        {"rg_id": "tyr001", "upslope_con": "T", "activity": "active", "vel_dslp_cm_yr": 45.0, "vel_ok": 1, "vel_rel_err": 0.1},
        {"rg_id": "tyr002", "upslope_con": "DMS", "activity": "relict"},
        {"rg_id": "tyr003", "upslope_con": None},
    ]
    polygons = [
        bytes(ogr.CreateGeometryFromWkt(square_wkt(650000.0 + 2000.0 * i, 5210000.0, 250.0 + 50.0 * i)).ExportToWkb())
        for i in range(3)
    ]
    path = str(tmp_path / "tyrol.gpkg")
    write_rgik(path, records, polygons, srs_from_epsg(32632).ExportToWkt(), layout=THREE_FILES)
    paths = output_paths(path, THREE_FILES)
    completed = subprocess.run(
        [python, "-c", RUNNER, str(pyrogi), str(telenvi), paths["PM"], paths["GO"]],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    units = {u["working"]: u for u in json.loads(completed.stdout.strip().splitlines()[-1])}
    assert sorted(units) == ["tyr001", "tyr002", "tyr003"]
    ours = primary_ids(records, polygons, srs_from_epsg(32632).ExportToWkt())  # as write_rgik wrote them
    for index, rg_id in enumerate(sorted(units)):
        unit = units[rg_id]
        assert unit["id"] == ours[rg_id] and unit["outline"] and unit["out_type"] == "Extended"
        assert unit["outline_area"] == pytest.approx((250.0 + 50.0 * index) ** 2, rel=1e-9)
    assert (units["tyr001"]["upslope"], units["tyr001"]["activity"]) == ("Talus", "Active")
    assert (units["tyr002"]["upslope"], units["tyr003"]["upslope"]) == ("Debris-mantled slope", "Unknown")
    assert sys.version_info >= (3, 10)  # PyRoGI's pyproject asks for 3.10 or newer
