"""The inventory's map style (the paper's colours): DMS orange, G green, GF purple, T pink,
candidates yellow, rejected grey hatched; labels with rg_id."""

from __future__ import annotations

from qgis.core import (
    QgsFillSymbol,
    QgsPalLayerSettings,
    QgsRuleBasedRenderer,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtGui import QColor

RULES = (
    ("rejected", '"review" = \'rejected\'', {"color": "160,160,160,120", "style": "b_diagonal", "outline_color": "110,110,110"}),
    ("candidate", '"review" = \'candidate\' OR "review" IS NULL AND "source" = \'deep_learning\'', {"color": "255,230,0,150", "outline_color": "170,150,0"}),
    ("DMS debris-mantled slope", '"upslope_con" = \'DMS\'', {"color": "245,140,30,160", "outline_color": "160,80,0"}),
    ("G glacier", '"upslope_con" = \'G\'', {"color": "60,170,60,160", "outline_color": "20,100,20"}),
    ("GF glacier forefield", '"upslope_con" = \'GF\'', {"color": "150,80,200,160", "outline_color": "90,30,140"}),
    ("T talus", '"upslope_con" = \'T\'', {"color": "240,130,190,160", "outline_color": "170,60,120"}),
    ("not classified", "ELSE", {"color": "200,220,255,110", "outline_color": "60,90,160"}),
)


def apply_inventory_style(layer: QgsVectorLayer) -> None:
    """Rule-based colours by review and upslope connection, and rg_id labels."""
    root = QgsRuleBasedRenderer.Rule(None)
    for label, expression, properties in RULES:
        symbol = QgsFillSymbol.createSimple({"outline_width": "0.5", **properties})
        rule = QgsRuleBasedRenderer.Rule(symbol, 0, 0, "" if expression == "ELSE" else expression, label)
        if expression == "ELSE":
            rule.setIsElse(True)
        root.appendChild(rule)
    layer.setRenderer(QgsRuleBasedRenderer(root))
    settings = QgsPalLayerSettings()
    settings.fieldName = "rg_id"
    text = QgsTextFormat()
    text.setColor(QColor(20, 20, 20))
    text.setSize(9)
    settings.setFormat(text)
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)
    layer.triggerRepaint()
