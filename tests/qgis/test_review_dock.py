"""The review dock driven as a user would, on a real (offscreen) map canvas: every decision is on
disk at once, outline edits recompute attributes with the core, read-only sources are reported."""

import time
from pathlib import Path

import numpy as np
import processing
import pytest
from osgeo import gdal
from qgis.core import (
    QgsApplication,
    QgsGeometry,
    QgsProject,
    QgsRasterLayer,
    QgsRuleBasedRenderer,
    QgsVectorLayer,
)
from qgis.gui import QgsMapCanvas
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QHBoxLayout, QWidget

from rockglacier_plugin.gui.review_dock import ReviewDock
from rockglacier_plugin.qgis_shared.style import apply_inventory_style
from tests.builders import plane_dem, read_layer, square_wkt, write_polygons, write_raster

ORIGIN = (600000.0, 5200000.0)


@pytest.fixture
def session(tmp_path):
    z, gt = plane_dem(300, 10.0, ORIGIN, 20.0, 180.0)
    dem_path = write_raster(tmp_path / "dem.tif", z, gt, dtype=gdal.GDT_Float64)
    inventory = write_polygons(
        tmp_path / "inventory.gpkg",
        [square_wkt(ORIGIN[0] + 500 + 700 * i, ORIGIN[1] - 1500, 300) for i in range(3)],
        attributes={"rg_id": ["rg001", "rg002", "rg003"], "source": ["deep_learning"] * 3, "review": ["candidate"] * 3},
    )
    layer = QgsVectorLayer(f"{inventory}|layername=rock_glaciers", "inventory", "ogr")
    dem = QgsRasterLayer(str(dem_path), "dem")
    assert layer.isValid() and dem.isValid()
    QgsProject.instance().addMapLayers([layer, dem])
    canvas = QgsMapCanvas()
    canvas.resize(600, 450)
    canvas.setDestinationCrs(layer.crs())
    canvas.setLayers([layer, dem])
    dock = ReviewDock(canvas=canvas)
    dock.set_layer(layer)
    dock.dem_combo.setLayer(dem)
    yield dock, layer, inventory, canvas, tmp_path
    from qgis.PyQt import sip

    if not sip.isdeleted(dock):
        # A dock left alive would follow its layer combo to the next test's layer and edit it too.
        dock.layer_combo.layerChanged.disconnect()
        dock.set_layer(None)
        dock.deleteLater()
        QgsApplication.processEvents()

    if not sip.isdeleted(layer) and layer.isEditable():
        layer.commitChanges()
    QgsProject.instance().removeAllMapLayers()


def on_disk(inventory):
    return {row["rg_id"]: row for row in read_layer(inventory, "rock_glaciers")}


def test_dock__adds_schema_fields_and_counts_reviewed(session):
    dock, layer, inventory, _, _ = session
    assert "upslope_con" in dock.missing_fields()
    assert dock.add_missing_fields() and dock.missing_fields() == []
    assert "upslope_con" in on_disk(inventory)["rg001"]
    assert dock.counter.text().endswith("0 of 3 reviewed")


def test_dock__class_button_writes_to_disk_at_once_with_time_and_user(session):
    dock, _, inventory, _, _ = session
    QTest.mouseClick(dock.class_buttons["DMS"], Qt.LeftButton)
    row = on_disk(inventory)["rg001"]
    assert row["upslope_con"] == "DMS" and row["edited_at"].endswith("+00:00") and row["edited_by"]


def test_dock__keyboard_accept_and_reject_walk_the_not_yet_reviewed(session):
    dock, _, inventory, _, _ = session
    dock.filter_combo.setCurrentText("not yet reviewed")
    dock.show()
    dock.activateWindow()
    dock.accept_button.setFocus()
    QTest.keyClick(dock.accept_button, Qt.Key_A)
    if on_disk(inventory)["rg001"].get("review") != "accepted":  # no window focus offscreen: fire the shortcut itself
        next(s for s in dock.shortcuts if s.key().toString() == "A").activated.emit()
    assert on_disk(inventory)["rg001"]["review"] == "accepted"
    assert dock.current_id() is not None and layer_rg_id(dock) == "rg002"  # the accepted one left the list
    dock.decide("reject")
    assert on_disk(inventory)["rg002"]["review"] == "rejected"
    assert dock.counter.text().endswith("2 of 3 reviewed")


def layer_rg_id(dock):
    return dock.layer.getFeature(dock.current_id())["rg_id"]


def test_dock__undo_restores_the_previous_value_on_disk(session):
    dock, _, inventory, _, _ = session
    dock.decide("class", "G")
    dock.decide("class", "T")
    assert on_disk(inventory)["rg001"]["upslope_con"] == "T"
    assert dock.undo() and on_disk(inventory)["rg001"]["upslope_con"] == "G"


def test_dock__edited_outline_is_marked_modified_and_recomputed_like_the_algorithm(session):
    dock, layer, inventory, _, tmp_path = session
    dock.add_missing_fields()
    fid = dock.current_id()
    layer.startEditing()
    new_outline = QgsGeometry.fromWkt(square_wkt(ORIGIN[0] + 600, ORIGIN[1] - 1600, 500))
    layer.changeGeometry(fid, new_outline)
    QgsApplication.processEvents()  # the dock saves once the editing tool's command has closed
    row = on_disk(inventory)["rg001"]
    assert row["review"] == "modified"
    # the oracle: rockglacier:attributes on the same geometry
    single = write_polygons(tmp_path / "single.gpkg", [new_outline.asWkt()])
    expected = processing.run(
        "rockglacier:attributes", {"INPUT": str(single), "DEM": str(tmp_path / "dem.tif"), "OUTPUT": "TEMPORARY_OUTPUT"}
    )["OUTPUT"]
    expected = next(expected.getFeatures())
    for name in ("area_km2", "elev_mean_m", "slope_mean_deg", "aspect_deg"):
        assert row[name] == pytest.approx(expected[name], rel=1e-9), name
    # undo brings back the old outline and values, on disk
    assert dock.undo()
    row = on_disk(inventory)["rg001"]
    assert row["review"] == "candidate" and row["_wkt"].startswith("MULTIPOLYGON (((600350 5198350,600650 5198350")


def test_dock__read_only_source_is_reported_and_nothing_changes(session):
    dock, layer, inventory, _, _ = session
    layer.setReadOnly(True)
    assert dock.decide("accept") is False
    assert "read-only" in dock.message
    assert on_disk(inventory)["rg001"]["review"] == "candidate"


def test_dock__closing_mid_review_loses_nothing(session):
    dock, layer, inventory, _, _ = session
    dock.decide("class", "GF")
    dock.decide("comment", "tongue over moraine")
    dock.close()
    dock.deleteLater()
    QgsProject.instance().removeMapLayer(layer.id())
    row = on_disk(inventory)["rg001"]
    assert row["upslope_con"] == "GF" and row["comment"] == "tongue over moraine"


def test_dock__style_and_background_attributes_task(session):
    dock, layer, inventory, _, _ = session
    apply_inventory_style(layer)
    assert (
        isinstance(layer.renderer(), QgsRuleBasedRenderer) and len(layer.renderer().rootRule().children()) == 9
    )  # rejected, candidate, 6 classes, else
    assert layer.labelsEnabled()
    task = dock.run_attributes()
    deadline = time.time() + 60
    while time.time() < deadline and not on_disk(inventory)["rg003"].get("slope_mean_deg"):
        QgsApplication.processEvents()
        time.sleep(0.05)
    assert on_disk(inventory)["rg003"]["slope_mean_deg"] == pytest.approx(20.0, abs=1e-6)
    assert task is not None
    deadline = time.time() + 10
    while time.time() < deadline and "elevation —" in dock.info.text():
        QgsApplication.processEvents()
        time.sleep(0.05)
    assert "elevation —" not in dock.info.text() and "slope 20.0" in dock.info.text()  # the panel shows the new numbers


def test_dock__screenshot_of_dock_and_canvas(session):
    dock, layer, _, canvas, tmp_path = session
    apply_inventory_style(layer)
    dock.decide("class", "DMS")
    window = QWidget()
    row = QHBoxLayout(window)
    row.addWidget(canvas, 3)
    row.addWidget(dock, 2)
    window.resize(1200, 520)
    window.show()
    QgsApplication.processEvents()
    extent = layer.extent()
    extent.grow(200)
    canvas.setExtent(extent)
    canvas.refreshAllLayers()
    QgsApplication.processEvents()
    canvas.waitWhileRendering()
    QgsApplication.processEvents()
    target = tmp_path / "review_dock.png"
    assert window.grab().save(str(target))
    # what the analyst sees: the decided polygon in the DMS orange, the others in candidate yellow,
    # and the panel describing the current landform
    image = canvas.grab().toImage()
    to_pixel = canvas.mapSettings().mapToPixel()

    def colour_at(rg_id):
        feature = next(f for f in layer.getFeatures() if f["rg_id"] == rg_id)
        point = to_pixel.transform(feature.geometry().centroid().asPoint())
        colour = image.pixelColor(int(point.x()), int(point.y()))
        return colour.red(), colour.green(), colour.blue()

    decided = next(f["rg_id"] for f in layer.getFeatures() if f["upslope_con"] == "DMS")
    others = [
        f["rg_id"]
        for f in layer.getFeatures()
        if f["rg_id"] != decided and canvas.extent().contains(f.geometry().centroid().asPoint())
    ]
    red, green, blue = colour_at(decided)
    assert red > green + 30 and green > blue + 30, (decided, red, green, blue)  # orange
    for rg_id in others:
        red, green, blue = colour_at(rg_id)
        assert abs(red - green) < 40 and min(red, green) > blue + 60, (rg_id, red, green, blue)  # yellow
    assert decided in dock.info.text() and "DMS" in dock.info.text()


def test_plugin__adds_the_dock_to_the_qgis_window_and_removes_it_on_unload():
    from unittest import mock

    from qgis.PyQt.QtWidgets import QMainWindow

    import rockglacier_plugin

    window = QMainWindow()
    iface = mock.MagicMock()
    iface.mainWindow.return_value = window
    iface.mapCanvas.return_value = QgsMapCanvas()
    plugin = rockglacier_plugin.classFactory(iface)
    plugin.initGui()
    assert iface.addDockWidget.called and isinstance(plugin.dock, ReviewDock)
    menus = [call.args[1].text() for call in iface.addPluginToMenu.call_args_list]
    assert menus == ["Rock-glacier review", "Check installation"]
    plugin.check_action.trigger()
    assert "onnxruntime" in plugin.installation_box.informativeText() and "snaphu" in plugin.installation_box.informativeText()
    assert QgsApplication.processingRegistry().providerById("rockglacier") is not None
    plugin.unload()
    assert iface.removeDockWidget.called and plugin.dock is None


def test_style__shipped_qml_is_the_one_style_table_rule_for_rule():
    """styles/rock_glaciers.qml (what the QGIS-free region command stores) is generated from qgis_shared/style.py's RULES,
    themselves from core/inventory/colours.py: every rule's label, filter and colours read back from the file equal the
    table's (regenerate with python3 -m tools.write_style_qml when the table changes)."""
    qml = Path(__file__).resolve().parents[2] / "rockglacier_plugin" / "styles" / "rock_glaciers.qml"
    from rockglacier_plugin.qgis_shared.style import RULES

    layer = QgsVectorLayer("MultiPolygon?crs=EPSG:4326&field=review:string&field=upslope_con:string", "x", "memory")
    message, ok = layer.loadNamedStyle(str(qml))
    assert ok and isinstance(layer.renderer(), QgsRuleBasedRenderer), message
    from_file = []
    for rule in layer.renderer().rootRule().children():
        symbol = rule.symbol().symbolLayer(0)
        expression = "ELSE" if rule.isElse() else rule.filterExpression()
        from_file.append((rule.label(), expression, symbol.color().getRgb()[:3], symbol.strokeColor().getRgb()[:3]))
    from_table = [
        (
            label,
            expression,
            tuple(int(v) for v in properties["color"].split(",")[:3]),
            tuple(int(v) for v in properties["outline_color"].split(",")[:3]),
        )
        for label, expression, properties in RULES
    ]
    assert from_file == from_table


def test_dock__picks_the_inventory_and_the_only_dem_without_the_user_choosing(tmp_path):
    z, gt = plane_dem(100, 10.0, ORIGIN, 20.0, 180.0)
    dem_path = write_raster(tmp_path / "dem.tif", z, gt, dtype=gdal.GDT_Float64)
    image_path = write_raster(tmp_path / "s2.tif", np.zeros((3, 20, 20)), gt, dtype=gdal.GDT_Byte)
    inventory = write_polygons(
        tmp_path / "inventory.gpkg", [square_wkt(ORIGIN[0] + 500, ORIGIN[1] - 500, 200)], attributes={"rg_id": ["rg001"]}
    )
    other = write_polygons(tmp_path / "lakes.gpkg", [square_wkt(ORIGIN[0] + 200, ORIGIN[1] - 200, 50)], layer="lakes")
    layers = [
        QgsVectorLayer(f"{inventory}|layername=rock_glaciers", "inventory", "ogr"),
        QgsVectorLayer(f"{other}|layername=lakes", "lakes", "ogr"),
        QgsRasterLayer(str(image_path), "sentinel-2"),
        QgsRasterLayer(str(dem_path), "terrain"),
    ]
    QgsProject.instance().addMapLayers(layers)
    dock = ReviewDock(canvas=QgsMapCanvas())
    try:
        dock.show()  # what the plugin's menu action does
        assert dock.layer is layers[0]
        assert dock.dem_combo.currentLayer() is layers[3]
    finally:
        dock.deleteLater()
        QgsApplication.processEvents()
        QgsProject.instance().removeAllMapLayers()


def test_dock__outline_edit_whose_recomputation_fails_is_kept_marked_and_explained(session, monkeypatch):
    dock, layer, inventory, _, _ = session
    dock.add_missing_fields()

    def broken(geometry):
        raise RuntimeError("the DEM file went away")

    monkeypatch.setattr(dock, "recompute_attributes", broken)
    fid = dock.current_id()
    layer.startEditing()
    layer.changeGeometry(fid, QgsGeometry.fromWkt(square_wkt(ORIGIN[0] + 600, ORIGIN[1] - 1500, 250)))
    QgsApplication.processEvents()
    row = on_disk(inventory)["rg001"]
    assert row["review"] == "modified"
    assert "could not be recomputed: the DEM file went away" in dock.status.text()
    assert QgsGeometry.fromWkt(row["_wkt"]).area() == pytest.approx(250 * 250, rel=1e-6)


def test_dock__current_landform_is_an_outline_over_the_imagery_not_a_selection(session):
    """A selection's opaque fill hid the imagery being judged: the current landform is a QgsHighlight with no fill,
    following Next, and nothing is selected."""
    from rockglacier_plugin.gui.review_dock import HIGHLIGHT_RGBA

    dock, layer, _, _, _ = session
    dock.show_current()
    assert dock.highlight is None  # a hidden dock draws nothing on the map
    dock.show()
    dock.show_current()
    assert layer.selectedFeatureIds() == []
    first = dock.highlight
    assert first is not None and first.isVisible() and first.fillColor().alpha() == 0
    assert first.color().getRgb() == HIGHLIGHT_RGBA
    dock.next()
    assert dock.highlight is not None and dock.highlight is not first and first.scene() is None  # the old one is gone
    dock.hide()
    assert dock.highlight is None


def test_dock__each_decision_leaves_edit_mode_and_an_outline_edit_ends_cleanly(session):
    dock, layer, inventory, _, _ = session
    dock.decide("class", "T")
    assert not layer.isEditable() and on_disk(inventory)["rg001"]["upslope_con"] == "T"
    dock.edit_outline()
    assert layer.isEditable()
    moved = layer.getFeature(dock.current_id()).geometry()
    moved.translate(10.0, 0.0)
    layer.changeGeometry(dock.current_id(), moved)  # what the vertex tool does; the dock saves it once the tool's command closes
    QgsApplication.processEvents()
    assert layer.isEditable()  # still editing this outline
    dock.next()  # moving on ends the edit: saved, edit mode left
    assert not layer.isEditable()
    rows = read_layer(inventory, "rock_glaciers")
    assert next(r for r in rows if r["rg_id"] == "rg001")["review"] == "modified"


def test_dock__fits_a_third_of_a_1280_px_screen_and_shows_its_keys(session):
    from rockglacier_plugin.gui.review_widgets import MAX_DOCK_WIDTH_PX

    dock, _, _, _, _ = session
    dock.show()
    QgsApplication.processEvents()
    assert dock.widget().minimumSizeHint().width() <= MAX_DOCK_WIDTH_PX
    for key in ("A</b> accept", "R</b> reject", "E</b> edit outline", "N</b>/<b>P</b>", "1</b> G", "4</b> T", "Ctrl+Z"):
        assert key in dock.keys.text(), key


def _shapefile(path, wkts, fields):
    """A shapefile as another tool leaves it: an earlier export already cut 'upslope_con' to 'upslope_co'."""
    from osgeo import ogr

    from tests.builders import srs_from_epsg

    source = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(path))
    layer = source.CreateLayer(path.stem, srs_from_epsg(32632), ogr.wkbPolygon)
    for name in fields:
        layer.CreateField(ogr.FieldDefn(name, ogr.OFTString))
    for index, wkt in enumerate(wkts):
        feature = ogr.Feature(layer.GetLayerDefn())
        for name, values in fields.items():
            feature.SetField(name, values[index])
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    source = None
    return path


def _file_bytes(path):
    return {p.name: p.read_bytes() for p in sorted(path.parent.glob(path.stem + ".*"))}


def test_dock__a_shapefile_is_never_altered_and_is_reviewed_as_a_geopackage_copy(tmp_path):
    shapefile = _shapefile(
        tmp_path / "tyrol rock glaciers.shp",
        [square_wkt(ORIGIN[0] + 500, ORIGIN[1] - 500, 300)] * 2,
        {"rg_id": ["t1", "t2"], "review": ["candidate"] * 2, "upslope_co": ["T", "DMS"]},
    )
    before = _file_bytes(shapefile)
    layer = QgsVectorLayer(str(shapefile), "tyrol", "ogr")
    QgsProject.instance().addMapLayer(layer)
    dock = ReviewDock(canvas=QgsMapCanvas())
    try:
        dock.set_layer(layer)
        assert dock.add_missing_fields() is False and "cuts field names to 10 characters" in dock.message
        assert dock.decide("class", "G") is False  # no KeyError, no truncated field added, nothing stored
        assert dock.decide("accept") is False
        assert _file_bytes(shapefile) == before
        assert dock.review_geopackage_copy()
        copy = tmp_path / "tyrol rock glaciers_inventory.gpkg"
        assert copy.exists() and str(copy) in dock.message and "'tyrol' is unchanged" in dock.message
        assert "upslope_con" in dock.message  # the cut name got its full name back
        assert dock.decide("class", "G") and dock.decide("accept")
        rows = {row["rg_id"]: row for row in read_layer(copy, "rock_glaciers")}
        assert (rows["t1"]["upslope_con"], rows["t1"]["review"], rows["t2"]["upslope_con"]) == ("G", "accepted", "DMS")
        assert _file_bytes(shapefile) == before
    finally:
        dock.layer_combo.layerChanged.disconnect()
        dock.set_layer(None)
        dock.deleteLater()
        QgsProject.instance().removeAllMapLayers()


def _gaussian_probability(path, centre_xy, sigma_m):
    rows, cols = np.mgrid[0:300, 0:300] + 0.5
    x = ORIGIN[0] + cols * 10.0
    y = ORIGIN[1] - rows * 10.0
    values = 0.4 * np.exp(-((x - centre_xy[0]) ** 2 + (y - centre_xy[1]) ** 2) / (2 * sigma_m**2))
    return write_raster(path, values.astype(np.float32), (ORIGIN[0], 10.0, 0, ORIGIN[1], 0, -10.0))


def test_dock__outline_from_a_click_adds_a_manual_accepted_landform_with_attributes_and_undo_removes_it(session):
    """The model under-called a landform (peak 0.4, below its threshold): one click grows its half-maximum outline,
    saved with the next id, source manual, review accepted (a positive for adaptmodel) and its DEM attributes."""
    import math

    dock, layer, inventory, _, tmp_path = session
    centre = (ORIGIN[0] + 1500.0, ORIGIN[1] - 2500.0)
    probability = QgsRasterLayer(str(_gaussian_probability(tmp_path / "prob.2024.tif", centre, 80.0)), "prob.2024")
    QgsProject.instance().addMapLayer(probability)
    dock.choose_obvious_layers()
    assert dock.probability_combo.currentLayer() is probability and dock.dem_combo.currentLayer().name() == "dem"
    fid = dock.outline_at(centre[0] + 20.0, centre[1] - 10.0)
    assert fid is not None and dock._editing_outline == fid  # handed over for editing
    added = on_disk(inventory)["rg004"]
    assert (added["source"], added["review"]) == ("manual", "accepted")
    assert added["area_km2"] * 1e6 == pytest.approx(2 * math.pi * math.log(2) * 80.0**2, rel=0.05)
    assert added["slope_mean_deg"] == pytest.approx(20.0, abs=1e-6)
    assert dock.undo()
    assert "rg004" not in on_disk(inventory) and len(on_disk(inventory)) == 3
    assert dock.outline_at(ORIGIN[0] + 50.0, ORIGIN[1] - 50.0) is None and "sees no landform" in dock.message


class _Window:
    """What the dock asks of the QGIS window when a landform is drawn: its active layer and two map tools' actions."""

    def __init__(self):
        from qgis.PyQt.QtWidgets import QAction

        self.add, self.pan, self.active = QAction("add"), QAction("pan"), None

    def setActiveLayer(self, layer):  # noqa: N802 (QGIS's name)
        self.active = layer

    def actionAddFeature(self):  # noqa: N802
        return self.add

    def actionPan(self):  # noqa: N802
        return self.pan


def test_dock__a_drawn_outline_is_saved_as_manual_accepted_without_the_attribute_form(session):
    dock, layer, inventory, canvas, _ = session
    dock.iface = _Window()
    assert dock.draw_new_landform()
    assert dock.iface.active is layer and layer.isEditable()
    from qgis.core import QgsEditFormConfig, QgsFeature

    assert layer.editFormConfig().suppress() == QgsEditFormConfig.SuppressOn
    drawn = QgsFeature(layer.fields())  # what QGIS's add-feature tool puts in the edit buffer
    drawn.setGeometry(QgsGeometry.fromWkt(square_wkt(ORIGIN[0] + 2200, ORIGIN[1] - 2200, 200)))
    layer.addFeature(drawn)
    QgsApplication.processEvents()
    added = on_disk(inventory)["rg004"]
    assert (added["source"], added["review"], added["area_km2"]) == ("manual", "accepted", pytest.approx(0.04, rel=1e-3))
    assert not layer.isEditable() and layer.editFormConfig().suppress() != QgsEditFormConfig.SuppressOn
    assert layer.getFeature(dock.current_id())["rg_id"] == "rg004"


def test_dock__review_keys_work_on_the_map_after_an_outline_edit(session):
    dock, layer, inventory, canvas, _ = session
    window = QWidget()
    row = QHBoxLayout(window)
    row.addWidget(canvas, 3)
    row.addWidget(dock, 2)
    window.show()
    QgsApplication.setActiveWindow(window)
    dock.edit_outline()
    canvas.setFocus()
    QgsApplication.processEvents()
    first = dock.current_id()
    QTest.keyClick(canvas, Qt.Key_A)  # the map has the focus, as after moving vertices
    QgsApplication.processEvents()
    assert on_disk(inventory)["rg001"]["review"] == "accepted"
    QTest.keyClick(canvas, Qt.Key_N)
    assert dock.current_id() != first
    dock.hide()
    QTest.keyClick(canvas, Qt.Key_R)  # a closed dock takes no keys from the map
    assert all(row["review"] != "rejected" for row in on_disk(inventory).values())
    window.close()


def test_dock__an_empty_layer_leaves_no_highlight_and_messages_read_as_words(session, tmp_path):
    from rockglacier_plugin.gui.review_dock import saved_text

    dock, layer, _, _, _ = session
    dock.show()
    dock.show_current()
    assert dock.highlight is not None
    empty = QgsVectorLayer(f"{write_polygons(tmp_path / 'empty.gpkg', [])}|layername=rock_glaciers", "empty", "ogr")
    QgsProject.instance().addMapLayer(empty)
    dock.set_layer(empty)
    assert dock.highlight is None and "nothing to show" in dock.counter.text()
    assert (
        saved_text({"review": "modified", "area_km2": 0.123456, "attr_note": None, "edited_by": "ana"})
        == "review modified, area_km2 0.123, attr_note empty"
    )
    dock.hide()
