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

from ..core.inventory.colours import CANDIDATE_COLOUR, CLASS_COLOURS, REJECTED_COLOUR, UNCLASSIFIED_COLOUR


def _properties(colours: tuple, **extra: str) -> dict:
    _, fill, outline = colours
    return {"color": ",".join(map(str, fill)), "outline_color": ",".join(map(str, outline)), **extra}


RULES = (
    (REJECTED_COLOUR[0], '"review" = \'rejected\'', _properties(REJECTED_COLOUR, style="b_diagonal")),
    (
        CANDIDATE_COLOUR[0],
        '"review" = \'candidate\' OR "review" IS NULL AND "source" = \'deep_learning\'',
        _properties(CANDIDATE_COLOUR),
    ),
    *((colours[0], f'"upslope_con" = \'{code}\'', _properties(colours)) for code, colours in CLASS_COLOURS.items()),
    (UNCLASSIFIED_COLOUR[0], "ELSE", _properties(UNCLASSIFIED_COLOUR)),
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
