"""Render the review dock beside a map canvas on the sample scene to docs/review_dock.png."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    from tests.qgis_session import start_qgis

    start_qgis()
    import processing
    from qgis.core import QgsApplication, QgsProject, QgsRasterLayer, QgsVectorLayer
    from qgis.gui import QgsMapCanvas
    from qgis.PyQt.QtWidgets import QHBoxLayout, QWidget

    from rockglacier_plugin.gui.review_dock import ReviewDock
    from rockglacier_plugin.qgis_shared.style import apply_inventory_style

    sample = ROOT / "sample_data"
    if not (sample / "dem_utm44n.tif").exists():
        import subprocess

        subprocess.run([sys.executable, str(ROOT / "tools" / "make_sample_data.py"), str(sample)], check=True)
    inventory = sample / "review_demo.gpkg"
    if inventory.exists():
        inventory.unlink()
    processing.run("rockglacier:attributes", {"INPUT": str(sample / "rock_glaciers.gpkg"), "DEM": str(sample / "dem_utm44n.tif"),
                                              "GLACIERS": str(sample / "glaciers.gpkg"), "ID_PREFIX": "wkl", "OUTPUT": str(inventory)})
    layer = QgsVectorLayer(f"{inventory}|layername=rock_glaciers", "rock glaciers", "ogr")
    dem = QgsRasterLayer(str(sample / "dem_utm44n.tif"), "DEM")
    QgsProject.instance().addMapLayers([layer, dem])
    apply_inventory_style(layer)
    canvas = QgsMapCanvas()
    canvas.setDestinationCrs(layer.crs())
    canvas.setLayers([layer, dem])
    dock = ReviewDock(canvas=canvas)
    dock.set_layer(layer)
    dock.dem_combo.setLayer(dem)
    for action, value in (("class", "G"), ("accept", None)):
        dock.decide(action, value)
    dock.next()
    dock.decide("class", "DMS")
    dock.next()
    dock.decide("reject")
    dock.next()
    dock.context_m.setValue(5000)
    dock.show_current()
    window = QWidget()
    row = QHBoxLayout(window)
    row.addWidget(canvas, 5)
    row.addWidget(dock, 4)
    window.resize(1500, 600)
    window.show()
    canvas.refreshAllLayers()
    deadline = time.time() + 15
    while time.time() < deadline:
        QgsApplication.processEvents()
        if not canvas.isDrawing():
            time.sleep(0.2)
            QgsApplication.processEvents()
            if not canvas.isDrawing():
                break
    target = ROOT / "docs" / "review_dock.png"
    window.grab().save(str(target))
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
