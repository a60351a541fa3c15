"""Startup script for the real QGIS desktop (``qgis --code``), run by ``python -m tools.desktop_screenshots``: the demo's
imagery and inventory loaded as a user would, a screenshot of the styled inventory, then the review dock opened from
the plugin's menu on the first landform, a second screenshot, and QGIS quits. Paths come from ROCKGLACIER_TOUR_*."""

import json
import os
import traceback

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

IMAGE = os.environ["ROCKGLACIER_TOUR_IMAGE"]
INVENTORY = os.environ["ROCKGLACIER_TOUR_INVENTORY"]
DEM = os.environ["ROCKGLACIER_TOUR_DEM"]
OUT = os.environ["ROCKGLACIER_TOUR_OUT"]


def _settle() -> None:
    canvas = iface.mapCanvas()
    canvas.refreshAllLayers()
    for _ in range(3):
        QgsApplication.processEvents()
        canvas.waitWhileRendering()
    QgsApplication.processEvents()


def _menu_action(title: str, text: str):
    for action in iface.pluginMenu().actions():
        menu = action.menu()
        if menu is not None and action.text().replace("&", "") == title:
            return next((item for item in menu.actions() if item.text() == text), None)
    return None


def _run() -> None:
    seen = {}
    try:
        window = iface.mainWindow()
        window.setGeometry(0, 0, 1280, 800)  # the whole 1280 x 800 screen (Xvfb has no window manager to maximise)
        iface.addRasterLayer(DEM, "DEM").setOpacity(0.0)  # for the dock's attributes; the imagery is what is judged
        iface.addRasterLayer(IMAGE, "Sentinel-2-like true colour (demo)")
        inventory = iface.addVectorLayer(f"{INVENTORY}|layername=rock_glaciers", "rock glaciers (demo inventory)", "ogr")
        seen["styled"] = type(inventory.renderer()).__name__
        iface.mapCanvas().setExtent(inventory.extent().buffered(300.0))
        _settle()
        seen["inventory_png"] = window.grab().save(os.path.join(OUT, "tour_inventory.png"))
        _menu_action("Rock glacier inventory", "Rock-glacier review").trigger()
        QgsApplication.processEvents()
        dock = plugins["rockglacier_plugin"].dock
        dock.next_button.click()
        _settle()
        seen["dock_width_px"] = dock.width()
        seen["window_width_px"] = window.width()
        seen["dock_png"] = window.grab().save(os.path.join(OUT, "review_dock.png"))
    except Exception:  # noqa: BLE001 (reported to the driver)
        seen["error"] = traceback.format_exc()
    with open(os.path.join(OUT, "tour.json"), "w", encoding="utf-8") as handle:
        json.dump(seen, handle)
    QTimer.singleShot(200, QgsApplication.exit)


QTimer.singleShot(2500, _run)
