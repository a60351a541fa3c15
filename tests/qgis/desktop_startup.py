"""Startup script for the real QGIS desktop (``qgis --code``), driven by ``test_desktop.py``.

Loads an inventory and a DEM, opens the review dock from the plugin's menu as a user would, checks
that it is docked and picked both layers by itself, accepts the first candidate with the dock's
own button, takes a screenshot of the main window, writes what it saw as JSON and quits QGIS.
Paths come from the environment (ROCKGLACIER_DESKTOP_*).
"""

import json
import os
import traceback

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.utils import iface, plugins

INVENTORY = os.environ["ROCKGLACIER_DESKTOP_INVENTORY"]
DEM = os.environ["ROCKGLACIER_DESKTOP_DEM"]
RESULT = os.environ["ROCKGLACIER_DESKTOP_RESULT"]
SCREENSHOT = os.environ["ROCKGLACIER_DESKTOP_SCREENSHOT"]


def _menu_action(title: str, text: str):
    for action in iface.pluginMenu().actions():
        menu = action.menu()
        if menu is not None and action.text().replace("&", "") == title:
            for item in menu.actions():
                if item.text() == text:
                    return item
    return None


def _run() -> None:
    seen = {}
    try:
        dem = iface.addRasterLayer(DEM, "terrain")
        inventory = iface.addVectorLayer(f"{INVENTORY}|layername=rock_glaciers", "inventory", "ogr")
        seen["plugin_loaded"] = "rockglacier_plugin" in plugins
        action = _menu_action("Rock glacier inventory", "Rock-glacier review")
        seen["menu_action"] = action is not None
        action.trigger()
        QgsApplication.processEvents()
        dock = plugins["rockglacier_plugin"].dock
        window = iface.mainWindow()
        seen["dock_visible"] = dock.isVisible()
        seen["dock_floating"] = dock.isFloating()
        seen["dock_area_right"] = window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
        seen["inventory_picked"] = dock.layer is not None and dock.layer.id() == inventory.id()
        seen["dem_picked"] = dock.dem_combo.currentLayer() is not None and dock.dem_combo.currentLayer().id() == dem.id()
        dock.next_button.click()
        seen["current_rg_id"] = dock.layer.getFeature(dock.current_id())["rg_id"]
        dock.accept_button.click()
        seen["status"] = dock.status.text()
        dock.style_button.click()
        iface.mapCanvas().refreshAllLayers()
        iface.mapCanvas().waitWhileRendering()
        QgsApplication.processEvents()
        seen["screenshot"] = window.grab().save(SCREENSHOT)
        seen["qgis_version"] = (
            QgsApplication.instance().applicationVersion() if hasattr(QgsApplication.instance(), "applicationVersion") else ""
        )
    except Exception:  # noqa: BLE001 (report everything to the test)
        seen["error"] = traceback.format_exc()
    with open(RESULT, "w", encoding="utf-8") as handle:
        json.dump(seen, handle)
    QTimer.singleShot(200, QgsApplication.exit)


QTimer.singleShot(2500, _run)
