"""Regenerate rockglacier_plugin/styles/rock_glaciers.qml from the inventory style (qgis_shared/style.py), for
users who load the style by hand. Usage: python -m tools.write_style_qml"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from tests.qgis_session import start_qgis  # noqa: E402

if __name__ == "__main__":
    start_qgis()
    from qgis.core import QgsVectorLayer

    from rockglacier_plugin.qgis_shared.style import apply_inventory_style

    layer = QgsVectorLayer(
        "MultiPolygon?crs=EPSG:4326&field=review:string&field=upslope_con:string&field=source:string&field=rg_id:string",
        "rock_glaciers",
        "memory",
    )
    apply_inventory_style(layer)
    target = ROOT / "rockglacier_plugin" / "styles" / "rock_glaciers.qml"
    message, ok = layer.saveNamedStyle(str(target))
    print(f"{target}: {'written' if ok else message}")
