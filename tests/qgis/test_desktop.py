"""The plugin in the real QGIS desktop (Xvfb virtual screen): the dock opened from the plugin's menu
is docked on the right, picks the inventory and the only DEM by itself, and one decision taken with
its button is on disk. The offscreen tests cover the dock's behaviour in detail and fast."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from osgeo import gdal

from tests.builders import plane_dem, read_layer, square_wkt, write_polygons, write_raster
from tests.conftest import missing
from tools.qgis_profile import fresh_profile

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = (600000.0, 5200000.0)


@pytest.mark.slow
def test_desktop__dock_from_the_menu_is_docked_picks_its_layers_and_saves_a_decision(tmp_path):
    if not (shutil.which("xvfb-run") and shutil.which("qgis")):
        missing("xvfb-run and qgis are needed (make setup installs both)")
    z, gt = plane_dem(300, 10.0, ORIGIN, 20.0, 180.0)
    dem = write_raster(tmp_path / "dem.tif", z, gt, dtype=gdal.GDT_Float64)
    inventory = write_polygons(
        tmp_path / "inventory.gpkg",
        [square_wkt(ORIGIN[0] + 500 + 700 * i, ORIGIN[1] - 1500, 300) for i in range(2)],
        attributes={"rg_id": ["rg001", "rg002"], "source": ["deep_learning"] * 2, "review": ["candidate"] * 2},
    )
    result, screenshot = tmp_path / "seen.json", tmp_path / "desktop.png"
    env = {
        **os.environ,
        "ROCKGLACIER_DESKTOP_INVENTORY": str(inventory),
        "ROCKGLACIER_DESKTOP_DEM": str(dem),
        "ROCKGLACIER_DESKTOP_RESULT": str(result),
        "ROCKGLACIER_DESKTOP_SCREENSHOT": str(screenshot),
    }
    env.pop("QT_QPA_PLATFORM", None)  # a real X display, not offscreen
    command = [
        "xvfb-run",
        "-a",
        "-s",
        "-screen 0 1600x1000x24",
        "qgis",
        "--profiles-path",
        str(fresh_profile(tmp_path / "profiles")),
        "--nologo",
        "--noversioncheck",
        "--code",
        str(Path(__file__).with_name("desktop_startup.py")),
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert result.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    seen = json.loads(result.read_text())
    assert "error" not in seen, seen.get("error")
    assert seen["plugin_loaded"] and seen["menu_action"]
    assert seen["dock_visible"] and not seen["dock_floating"] and seen["dock_area_right"]
    assert seen["inventory_picked"] and seen["dem_picked"]
    accepted = {row["rg_id"]: row for row in read_layer(inventory, "rock_glaciers")}[seen["current_rg_id"]]
    assert accepted["review"] == "accepted" and accepted["edited_by"]
    assert seen["screenshot"] and screenshot.stat().st_size > 0
    if os.environ.get("ROCKGLACIER_SCREENSHOT_TO"):
        shutil.copy(screenshot, os.environ["ROCKGLACIER_SCREENSHOT_TO"])
