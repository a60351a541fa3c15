"""Outputs that open ready to read: the inventory's style stored in its GeoPackage as the layer's
default (QGIS's ``layer_styles`` table), and a colour ramp in a ``.qml`` beside each raster, which
QGIS loads with the raster."""

from __future__ import annotations

import os
from typing import Optional

from qgis.core import (
    QgsColorRampShader,
    QgsGradientColorRamp,
    QgsProcessingFeedback,
    QgsRasterLayer,
    QgsRasterShader,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor

from ..core.inventory.gpkg_styles import write_default_style
from ..qgis_shared.style import apply_inventory_style
from .algorithm_base import warn

#: name -> (minimum, maximum, colour stops from minimum to maximum)
RASTER_RAMPS = {
    "probability": (0.0, 1.0, ("#000004", "#51127c", "#b73779", "#fc8961", "#fcfdbf")),  # magma
    "velocity_downslope": (0.0, 100.0, ("#f7f7f7", "#fee090", "#fc8d59", "#d73027", "#67001f")),  # at rest pale, fast dark red
    "velocity_los": (-50.0, 50.0, ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")),
    "velocity_m_yr": (0.0, 3.0, ("#f7f7f7", "#fee090", "#fc8d59", "#d73027", "#67001f")),  # feature tracking, m/yr
}


def gpkg_layer(destination: str) -> Optional[tuple[str, str]]:
    """(file, layer name) of a sink destination inside a GeoPackage, None for other outputs."""
    path, _, options = destination.partition("|")
    if not path.lower().endswith(".gpkg") or not os.path.isfile(path):
        return None
    for option in options.split("|"):
        key, _, value = option.partition("=")
        if key == "layername":
            return path, value
    return path, os.path.splitext(os.path.basename(path))[0]


def _style_qml() -> str:
    """The inventory style as QML text, from a memory layer (no file is opened)."""
    from qgis.PyQt.QtXml import QDomDocument

    layer = QgsVectorLayer("MultiPolygon?crs=EPSG:4326", "rock_glaciers", "memory")
    apply_inventory_style(layer)
    document = QDomDocument()
    layer.exportNamedStyle(document)
    return document.toString()


def _store_default_style(destination: str, qml: str, description: str, feedback: QgsProcessingFeedback) -> bool:
    """Save ``qml`` as the default style of the written GeoPackage layer; True when stored (False for other outputs)."""
    found = gpkg_layer(destination)
    if found is None:
        return False
    path, name = found
    try:
        write_default_style(path, name, qml, description)
    except RuntimeError as exc:
        warn(feedback, f"The style could not be stored in {path} (layer {name}): {exc}")
        return False
    return True


def store_inventory_style(destination: str, feedback: QgsProcessingFeedback) -> bool:
    """Save the inventory style as the default of the written GeoPackage layer; True when stored."""
    return _store_default_style(destination, _style_qml(), "rockglacier inventory style (class colours, rg_id labels)", feedback)


def write_raster_style(raster_path: str, ramp: str) -> str:
    """A ``.qml`` with a pseudocolour ramp beside ``raster_path``; returns its path."""
    minimum, maximum, stops = RASTER_RAMPS[ramp]
    layer = QgsRasterLayer(raster_path, os.path.basename(raster_path), "gdal")
    colours = [QColor(c) for c in stops]
    gradient = QgsGradientColorRamp(colours[0], colours[-1])
    gradient.setStops([])
    shader_function = QgsColorRampShader(minimum, maximum, gradient)
    step = (maximum - minimum) / (len(colours) - 1)
    shader_function.setColorRampItemList(
        [QgsColorRampShader.ColorRampItem(minimum + i * step, c, f"{minimum + i * step:g}") for i, c in enumerate(colours)]
    )
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(shader_function)
    layer.setRenderer(QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader))
    qml_path = os.path.splitext(raster_path)[0] + ".qml"
    layer.saveNamedStyle(qml_path)
    return qml_path


#: RGIK layers' colours: activity classes (PM) and velocity-class codes (MA), slow pale to fast dark.
ACTIVITY_COLOURS = {
    "Active": "#d7191c",
    "Active uncertain": "#f07c6c",
    "Transitional": "#fdae61",
    "Relict uncertain": "#a6d96a",
    "Relict": "#1a9641",
    "Uncertain": "#9e9e9e",
}
VELOCITY_CODE_COLOURS = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")


def _categorized_qml(geometry: str, field: str, categories: list, outline_only: bool = False) -> str:
    """QML of a layer coloured by ``field``: categories = [(value, label, colour)]."""
    from qgis.core import QgsCategorizedSymbolRenderer, QgsRendererCategory, QgsSymbol, QgsWkbTypes
    from qgis.PyQt.QtXml import QDomDocument

    layer = QgsVectorLayer(f"{geometry}?crs=EPSG:4326&field={field}:string", "style", "memory")
    renderer_categories = []
    for value, label, colour in categories:
        symbol = QgsSymbol.defaultSymbol(QgsWkbTypes.geometryType(layer.wkbType()))
        symbol.setColor(QColor(colour))
        if outline_only:
            symbol.symbolLayer(0).setBrushStyle(Qt.BrushStyle.NoBrush)
            symbol.symbolLayer(0).setStrokeColor(QColor(colour))
            symbol.symbolLayer(0).setStrokeWidth(0.6)
        renderer_categories.append(QgsRendererCategory(value, symbol, label))
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, renderer_categories))
    document = QDomDocument()
    layer.exportNamedStyle(document)
    return document.toString()


def store_rgik_styles(paths: dict, feedback: QgsProcessingFeedback) -> None:
    """Default styles of the RGIK layers (``paths`` keyed PM, MA, GO, as ``rgik_export.output_paths`` gives them)."""
    from ..core.inventory.rgik_template import KINEMATIC_ATTRIBUTES, OUTLINE_TYPES, template_layer

    qml = {
        "PM": _categorized_qml("Point", "Acti.Cl.", [(word, word, colour) for word, colour in ACTIVITY_COLOURS.items()]),
        "MA": _categorized_qml(
            "MultiPolygon",
            "Vel.Class",
            [
                (code, f"{code}: {KINEMATIC_ATTRIBUTES[code - 1]}", colour)
                for code, colour in enumerate(VELOCITY_CODE_COLOURS, start=1)
            ],
        ),
        "GO": _categorized_qml(
            "MultiPolygon",
            "Out.Type",
            [(OUTLINE_TYPES[0], "extended outline", "#7b3294"), (OUTLINE_TYPES[1], "restricted outline", "#c2a5cf")],
            outline_only=True,
        ),
    }
    for short, path in paths.items():
        name = template_layer(short).layer
        try:
            write_default_style(path, name, qml[short], f"rockglacier RGIK {short} style")
        except RuntimeError as exc:
            warn(feedback, f"The style of {name} could not be stored in {path}: {exc}")


def _tracking_points_qml() -> str:
    """Displacement points: an arrow along dir_deg, longer the faster (rate_m_yr), coloured by rate, where valid and
    above the LoD; a small grey dot elsewhere (no match, rejected, within the LoD)."""
    from qgis.core import QgsCategorizedSymbolRenderer, QgsMarkerSymbol, QgsProperty, QgsRendererCategory
    from qgis.PyQt.QtXml import QDomDocument

    layer = QgsVectorLayer(
        "Point?crs=EPSG:4326&field=above_lod:integer&field=dir_deg:double&field=rate_m_yr:double", "style", "memory"
    )
    arrow = QgsMarkerSymbol.createSimple(
        {"name": "arrow", "color": "#d7301f", "outline_color": "#7f0000", "outline_width": "0.1", "size": "3"}
    )
    arrow.setDataDefinedAngle(QgsProperty.fromField("dir_deg"))
    arrow.setDataDefinedSize(QgsProperty.fromExpression('2 + 4 * min(coalesce("rate_m_yr", 0), 3) / 3'))
    dot = QgsMarkerSymbol.createSimple({"name": "circle", "color": "#9e9e9e", "outline_style": "no", "size": "0.8"})
    categories = [
        QgsRendererCategory(1, arrow, "moved more than the LoD (arrow: direction; size: rate up to 3 m/yr)"),
        QgsRendererCategory(0, dot, "no valid displacement above the LoD"),
    ]
    layer.setRenderer(QgsCategorizedSymbolRenderer("above_lod", categories))
    document = QDomDocument()
    layer.exportNamedStyle(document)
    return document.toString()


def store_tracking_style(destination: str, feedback: QgsProcessingFeedback) -> bool:
    """Save the displacement points' arrows as the default style of the written GeoPackage layer; True when stored."""
    return _store_default_style(destination, _tracking_points_qml(), "rockglacier feature-tracking arrows", feedback)
