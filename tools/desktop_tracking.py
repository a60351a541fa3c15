"""Startup script for the real QGIS desktop (``qgis --code``), run by ``python -m tools.tracking_screenshot``: the
Laurichard 2012 hillshade, the landform outline and featuretracking's displacement points loaded as a user would
(the points open with the arrows stored in their GeoPackage), a screenshot of the map window, and QGIS quits.
Paths come from ROCKGLACIER_TRACK_*."""

import json
import os
import traceback

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface

HILLSHADE = os.environ["ROCKGLACIER_TRACK_HILLSHADE"]
POINTS = os.environ["ROCKGLACIER_TRACK_POINTS"]
LANDFORM = os.environ["ROCKGLACIER_TRACK_LANDFORM"]
OUT = os.environ["ROCKGLACIER_TRACK_OUT"]


def _settle() -> None:
    canvas = iface.mapCanvas()
    canvas.refreshAllLayers()
    for _ in range(3):
        QgsApplication.processEvents()
        canvas.waitWhileRendering()
    QgsApplication.processEvents()


def _run() -> None:
    seen = {}
    try:
        window = iface.mainWindow()
        window.setGeometry(0, 0, 1280, 800)
        iface.addRasterLayer(HILLSHADE, "Laurichard hillshade 2012 (0.5 m)")
        landform = iface.addVectorLayer(f"{LANDFORM}|layername=rock_glaciers", "rock glacier (the landmarks' hull)", "ogr")
        landform.renderer().symbol().symbolLayer(0).setBrushStyle(0)  # outline only (Qt.NoBrush)
        points = iface.addVectorLayer(f"{POINTS}|layername=feature_tracking_points", "displacement 2012-2017", "ogr")
        seen["styled"] = type(points.renderer()).__name__
        iface.mapCanvas().setExtent(landform.extent().buffered(40.0))
        _settle()
        seen["png"] = iface.mapCanvas().grab().save(os.path.join(OUT, "tracking.png"))
    except Exception:  # noqa: BLE001 (reported to the driver)
        seen["error"] = traceback.format_exc()
    with open(os.path.join(OUT, "tracking.json"), "w", encoding="utf-8") as handle:
        json.dump(seen, handle)
    QTimer.singleShot(200, QgsApplication.exit)


QTimer.singleShot(2500, _run)
