"""The review dock: walk the candidates, decide, classify, edit outlines, never lose an edit.

Every decision goes through ``core.review.decision_values`` and is written to the layer's data
source at once (an edit command, then a commit that keeps the layer editable), stamped with
``edited_at``/``edited_by``. A read-only or locked source is reported before any decision is
taken. "Undo decision" restores the previous values the same way. When an outline changes in
QGIS's own vertex editing, the feature is marked ``modified`` and its DEM attributes recomputed
with the same core code as ``rockglacier:attributes``. What the model missed is added here too (drawn, or grown
from a click on the model's probability: ``gui.new_landforms``), and a layer that cannot hold the inventory's field
names (a shapefile) is reviewed as a GeoPackage copy beside it, never altered (``gui.inventory_copy``).
"""

from __future__ import annotations

from typing import Any, Optional

from qgis.core import (
    QgsApplication,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsMapLayerProxyModel,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
    QgsVectorDataProvider,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsDockWidget, QgsHighlight, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtGui import QColor, QKeySequence
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..core.inventory.review import ACTIVITIES, FILTERS, decision_values, is_reviewed, keeps
from ..core.inventory.schema import ROCK_GLACIER_FIELDS, UpslopeConnection
from ..qgis_shared.features import null_to_none
from ..qgis_shared.qt_compat import QShortcut
from ..qgis_shared.style import apply_inventory_style

CLASS_KEYS = {"G": "1", "GF": "2", "DMS": "3", "T": "4", "P": "5", "O": "6"}
#: Shown in the dock, under the buttons: every key it answers to.
KEY_LEGEND = (
    "Keys: <b>A</b> accept · <b>R</b> reject · <b>E</b> edit outline · <b>N</b>/<b>P</b> next/previous · "
    + " ".join(f"<b>{key}</b> {name}" for name, key in CLASS_KEYS.items())
    + " · <b>D</b> draw a new one · <b>C</b> outline from a click · <b>Ctrl+Z</b> undo"
)
#: The dock's narrowest body, px: its combo boxes stay readable when another dock (the Processing Toolbox) shares the side.
MIN_DOCK_WIDTH_PX = 300
#: The dock's widest layout, px: a third of a 1280 px screen (tests/qgis/test_review_dock.py checks it).
MAX_DOCK_WIDTH_PX = 1280 // 3
#: The current landform's outline: drawn over the imagery, never filled.
HIGHLIGHT_RGBA = (0, 229, 255, 255)
HIGHLIGHT_WIDTH_PX = 3


def _narrow(button: QPushButton) -> None:
    """A button as narrow as its text (a style's 80 px minimum for push buttons widened the dock past a third of 1280 px)."""
    button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 16)


class ReviewDock(QgsDockWidget):
    """Dock widget; ``canvas`` is the map canvas to zoom (iface.mapCanvas() in QGIS)."""

    def __init__(self, canvas: Any = None, iface: Any = None, parent: Optional[QWidget] = None):
        super().__init__("Rock-glacier review", parent)
        self.setObjectName("RockGlacierReviewDock")
        self.iface = iface
        self.canvas = canvas if canvas is not None else (iface.mapCanvas() if iface is not None else None)
        self.layer: Optional[QgsVectorLayer] = None
        self.ids: list[int] = []
        self.position = -1
        # (feature id, previous values, previous outline or None): the dock's own undo, since
        # QGIS clears its undo stack when an edit is committed (and every decision is); previous values None: a landform
        # added here, which undo removes.
        self.history: list[tuple[int, Optional[dict[str, Any]], Optional[QgsGeometry]]] = []
        self.message = ""
        self._updating_geometry = False
        self._editing_outline: Optional[int] = None  # the feature whose vertices are being edited
        self.highlight: Optional[QgsHighlight] = None
        self._task = None
        self._drawing: Any = None  # the add-feature tool while a new outline is drawn
        self._click_tool: Any = None
        self._build()
        QgsProject.instance().layersAdded.connect(self._layers_added)

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        """Opening the dock picks the inventory and the DEM when the project leaves no doubt."""
        self.choose_obvious_layers()
        super().showEvent(event)
        self._canvas_keys(True)
        if self.current_id() is not None and self.layer is not None:
            self.show_current()  # the map goes to the landform to judge, outlined

    def hideEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        """Qt: the outline drawn on the map and the review keys on the canvas go away with the dock."""
        self.clear_highlight()
        self._canvas_keys(False)
        super().hideEvent(event)

    def _layers_added(self, _layers: Any) -> None:
        from qgis.PyQt import sip

        if not sip.isdeleted(self) and self.isVisible():
            self.choose_obvious_layers()

    def choose_obvious_layers(self) -> None:
        """Pick the inventory and the DEM without the user choosing when the project leaves no doubt."""
        from ..core.inventory.review import obvious_dem, obvious_inventory, obvious_probability

        project = QgsProject.instance()
        if self.layer is None:
            polygons = [
                (layer.id(), layer.fields().names())
                for layer in project.mapLayers().values()
                if isinstance(layer, QgsVectorLayer) and "polygon" in QgsWkbTypes.displayString(layer.wkbType()).lower()
            ]
            chosen = obvious_inventory(polygons)
            if chosen is not None:
                self.set_layer(project.mapLayer(chosen))
        rasters = [
            (layer.id(), layer.name(), layer.bandCount())
            for layer in project.mapLayers().values()
            if isinstance(layer, QgsRasterLayer)
        ]
        current = self.dem_combo.currentLayer()
        if current is None or not isinstance(current, QgsRasterLayer) or current.bandCount() != 1:
            chosen = obvious_dem([r for r in rasters if "prob" not in r[1].lower()])
            if chosen is not None:
                self.dem_combo.setLayer(project.mapLayer(chosen))
        current = self.probability_combo.currentLayer()
        if current is None or "prob" not in current.name().lower():
            chosen = obvious_probability(rasters)
            if chosen is not None:
                self.probability_combo.setLayer(project.mapLayer(chosen))

    # -- widgets -------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(self._build_pickers())
        layout.addLayout(self._build_navigation())
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.info)
        for row in self._build_decisions():
            layout.addLayout(row)
        layout.addLayout(self._build_tools())
        self.keys = QLabel(KEY_LEGEND)
        self.keys.setWordWrap(True)
        self.keys.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.keys)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)
        body.setMinimumWidth(MIN_DOCK_WIDTH_PX)
        self.setWidget(body)
        self._build_shortcuts(body)

    def _build_pickers(self) -> QGridLayout:
        """Inventory and DEM pickers, the review/source/class filters and the zoom context."""
        self.layer_combo = QgsMapLayerComboBox()
        self.layer_combo.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.layer_combo.layerChanged.connect(self.set_layer)
        self.dem_combo = QgsMapLayerComboBox()
        self.dem_combo.setFilters(QgsMapLayerProxyModel.RasterLayer)
        self.dem_combo.setAllowEmptyLayer(True)
        self.probability_combo = QgsMapLayerComboBox()
        self.probability_combo.setFilters(QgsMapLayerProxyModel.RasterLayer)
        self.probability_combo.setAllowEmptyLayer(True)
        self.probability_combo.setLayer(None)  # chosen when the project names one (choose_obvious_layers), never a DEM
        self.probability_combo.setToolTip(
            "The model's probability (rockglacier:segment's PROBABILITY): 'Outline from click' grows a landform from it"
        )
        for combo in (self.layer_combo, self.dem_combo, self.probability_combo):  # a long layer name must not widen the dock
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        grid = QGridLayout()
        grid.addWidget(QLabel("Inventory"), 0, 0)
        grid.addWidget(self.layer_combo, 0, 1)
        grid.addWidget(QLabel("DEM"), 1, 0)
        grid.addWidget(self.dem_combo, 1, 1)
        grid.addWidget(QLabel("Probability"), 4, 0)
        grid.addWidget(self.probability_combo, 4, 1)
        self.filter_combo = QComboBox()
        self.filter_combo.addItems(FILTERS)
        self.source_combo = QComboBox()
        self.source_combo.addItems(["any source", "insar", "deep_learning", "manual"])
        self.class_filter = QComboBox()
        self.class_filter.addItems(["any class"] + [c.value for c in UpslopeConnection])
        filters = QGridLayout()  # two rows: the dock stays narrow
        for index, widget in enumerate((self.filter_combo, self.source_combo, self.class_filter)):
            widget.currentIndexChanged.connect(lambda _: self.refresh())
            widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            widget.setMinimumContentsLength(8)
            widget.setMinimumWidth(widget.minimumSizeHint().width())  # never squeezed below its text
            filters.addWidget(widget, index // 2, index % 2, 1, 2 if index == 2 else 1)
        grid.addWidget(QLabel("Show"), 2, 0)
        grid.addLayout(filters, 2, 1)
        self.context_m = QDoubleSpinBox()
        self.context_m.setRange(0, 100000)
        self.context_m.setValue(500)
        self.context_m.setSuffix(" m context")
        grid.addWidget(self.context_m, 3, 1)
        return grid

    def _build_navigation(self) -> QHBoxLayout:
        navigation = QHBoxLayout()
        self.previous_button = QPushButton("◀ Previous (P)")
        self.next_button = QPushButton("Next (N) ▶")
        self.previous_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.counter = QLabel("no layer")
        self.counter.setWordWrap(True)  # "12/40 shown · 7 of 412 reviewed" on two lines rather than a wider dock
        self.counter.setAlignment(Qt.AlignmentFlag.AlignCenter)
        navigation.addWidget(self.previous_button)
        navigation.addWidget(self.counter, 1, Qt.AlignmentFlag.AlignCenter)
        navigation.addWidget(self.next_button)
        return navigation

    def _build_decisions(self) -> list:
        """Accept/reject, one button per class, activity and comment."""
        decisions = QHBoxLayout()
        self.accept_button = QPushButton("Accept (A)")
        self.reject_button = QPushButton("Reject (R)")
        self.accept_button.clicked.connect(lambda: self.decide("accept"))
        self.reject_button.clicked.connect(lambda: self.decide("reject"))
        decisions.addWidget(self.accept_button)
        decisions.addWidget(self.reject_button)
        classes = QHBoxLayout()
        self.class_buttons = {}
        for name, key in CLASS_KEYS.items():
            button = QPushButton(f"{name} {key}")
            button.setToolTip(f"Upslope connection {name} (key {key})")
            _narrow(button)
            button.clicked.connect(lambda _=False, n=name: self.decide("class", n))
            classes.addWidget(button)
            self.class_buttons[name] = button
        extra = QHBoxLayout()
        self.activity_combo = QComboBox()
        self.activity_combo.addItems(["activity…"] + list(ACTIVITIES))
        self.activity_combo.activated.connect(self._activity_chosen)
        self.comment_edit = QLineEdit()
        self.comment_edit.setPlaceholderText("comment (Enter saves)")
        self.comment_edit.returnPressed.connect(lambda: self.decide("comment", self.comment_edit.text()))
        extra.addWidget(self.activity_combo)
        extra.addWidget(self.comment_edit, 1)
        return [decisions, classes, extra]

    def _build_tools(self) -> QGridLayout:
        tools = QGridLayout()  # three to a row: the dock stays narrow
        self.edit_button = QPushButton("Edit outline (E)")
        self.edit_button.clicked.connect(self.edit_outline)
        self.undo_button = QPushButton("Undo (Ctrl+Z)")
        self.undo_button.setToolTip("Undo the last decision (writes the previous values back)")
        self.undo_button.clicked.connect(self.undo)
        self.fields_button = QPushButton("Add fields")
        self.fields_button.setToolTip("Add the inventory schema's missing fields to the layer")
        self.fields_button.clicked.connect(self.add_missing_fields)
        self.style_button = QPushButton("Apply style")
        self.style_button.clicked.connect(lambda: self.layer and apply_inventory_style(self.layer))
        self.attributes_button = QPushButton("Attributes")
        self.attributes_button.setToolTip("Run rockglacier:attributes on the whole layer (a background task)")
        self.attributes_button.clicked.connect(self.run_attributes)
        self.draw_button = QPushButton("Draw new (D)")
        self.draw_button.setToolTip("Draw a landform the model missed (source manual, accepted; attributes from the DEM)")
        self.draw_button.clicked.connect(self.draw_new_landform)
        self.click_button = QPushButton("From click (C)")
        self.click_button.setToolTip(
            "Click inside a landform the model under-called: its outline is grown from the "
            "Probability raster at half its peak, then edit it"
        )
        self.click_button.clicked.connect(self.start_click_outline)
        self.copy_button = QPushButton("Save as GPKG")
        self.copy_button.setToolTip("Review a GeoPackage copy with every inventory field (the layer itself is not changed)")
        self.copy_button.clicked.connect(self.review_geopackage_copy)
        for index, widget in enumerate(
            (
                self.edit_button,
                self.undo_button,
                self.fields_button,
                self.draw_button,
                self.click_button,
                self.style_button,
                self.attributes_button,
                self.copy_button,
            )
        ):
            _narrow(widget)
            tools.addWidget(widget, index // 3, index % 3)
        return tools

    def _build_shortcuts(self, body: QWidget) -> None:
        shortcuts = {
            "N": self.next,
            "P": self.previous,
            "A": lambda: self.decide("accept"),
            "R": lambda: self.decide("reject"),
            "E": self.edit_outline,
            "D": self.draw_new_landform,
            "C": self.start_click_outline,
        }
        shortcuts.update({key: (lambda n=name: self.decide("class", n)) for name, key in CLASS_KEYS.items()})
        self.shortcuts = []
        for key, slot in list(shortcuts.items()) + [("Ctrl+Z", self.undo)]:
            shortcut = QShortcut(QKeySequence(key), body)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
            self.shortcuts.append(shortcut)
        # The same keys on the map while the dock is open: after an outline edit or a click the map has the focus, and the
        # review goes on without reaching for the dock (Ctrl+Z stays QGIS's own undo there).
        self.canvas_shortcuts = []
        if self.canvas is not None:
            for key, slot in shortcuts.items():
                shortcut = QShortcut(QKeySequence(key), self.canvas)
                shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
                shortcut.activated.connect(slot)
                shortcut.setEnabled(False)
                self.canvas_shortcuts.append(shortcut)

    def _canvas_keys(self, enabled: bool) -> None:
        for shortcut in self.canvas_shortcuts:
            shortcut.setEnabled(enabled)

    # -- layer ---------------------------------------------------------------------------
    def set_layer(self, layer: Optional[QgsVectorLayer]) -> None:
        """Review ``layer`` (None: nothing); its landforms listed in rg_id order, the first shown."""
        if self.layer is not None:
            try:
                self.layer.geometryChanged.disconnect(self._geometry_changed)
            except TypeError:
                pass
        self.layer = layer if isinstance(layer, QgsVectorLayer) else None
        if self.layer is not None:
            if self.layer_combo.currentLayer() is not self.layer:
                self.layer_combo.setLayer(self.layer)
            self.layer.geometryChanged.connect(self._geometry_changed)
            missing = self.missing_fields()
            self._say(
                f"Fields missing from the inventory schema: {', '.join(missing)} — click 'Add missing fields'." if missing else ""
            )
        self.history.clear()
        self.refresh()

    def missing_fields(self) -> list[str]:
        """The review fields the layer lacks (review, upslope_con, ...); a decision offers to add them."""
        if self.layer is None:
            return []
        names = set(self.layer.fields().names())
        return [spec.name for spec in ROCK_GLACIER_FIELDS if spec.name not in names]

    def add_missing_fields(self) -> bool:
        """The schema's missing fields added to the layer, never cut short: a format that cannot hold their names (a
        shapefile) is refused with the GeoPackage copy to review instead, and a format that cuts them anyway is put back
        as it was."""
        from ..qgis_shared.fields import qgs_field
        from .inventory_copy import cannot_hold_schema

        if not self._writable():
            return False
        if cannot_hold_schema(self.layer):
            self._say(
                f"'{self.layer.name()}' is a {self.layer.dataProvider().storageType()}: it cuts field names to "
                f"10 characters (upslope_con would become upslope_co), so the review cannot be stored in it. Click "
                "'Save as GPKG' to review a copy beside it with every field; this layer stays as it is."
            )
            return False
        missing = [spec for spec in ROCK_GLACIER_FIELDS if spec.name in self.missing_fields()]
        before = set(self.layer.fields().names())
        if missing and not self.layer.dataProvider().addAttributes([qgs_field(spec) for spec in missing]):
            self._say("Adding the fields failed: " + "; ".join(self.layer.dataProvider().errors()[-3:]))
            return False
        self.layer.updateFields()
        cut = [name for name in self.layer.fields().names() if name not in before and name not in {s.name for s in missing}]
        if cut:  # the format renamed what it was given: take those fields out again, the layer as it was
            self.layer.dataProvider().deleteAttributes([self.layer.fields().indexOf(name) for name in cut])
            self.layer.updateFields()
            self._say(
                f"'{self.layer.name()}' changed the field names it was given ({', '.join(cut)}): nothing was kept. "
                "Click 'Save as GPKG' to review a copy with every field."
            )
            return False
        self._say(f"Added {len(missing)} field(s)." if missing else "The layer already has every field.")
        return True

    def review_geopackage_copy(self) -> bool:
        """Save the layer as an inventory GeoPackage beside it and review that (the layer itself is not changed)."""
        from .inventory_copy import save_geopackage_copy

        if self.layer is None:
            self._say("Pick an inventory layer first.")
            return False
        original = self.layer
        try:
            copy, path, restored = save_geopackage_copy(original)
        except OSError as exc:
            self._say(f"No copy was made: {exc}. '{original.name()}' is unchanged.")
            return False
        self.set_layer(copy)
        apply_inventory_style(copy)
        named = f" (fields {', '.join(restored)} got their full names back)" if restored else ""
        self._say(f"Reviewing the GeoPackage copy {path}, layer 'rock_glaciers'{named}; '{original.name()}' is unchanged.")
        return True

    def _writable(self) -> bool:
        """Say so, before any decision, when the source cannot take edits."""
        if self.layer is None:
            self._say("Pick an inventory layer first.")
            return False
        capabilities = self.layer.dataProvider().capabilities()
        if self.layer.readOnly() or not capabilities & QgsVectorDataProvider.ChangeAttributeValues:
            self._say(
                f"'{self.layer.name()}' is read-only ({self.layer.source()}): save it as a GeoPackage "
                "(Export > Save Features As) and review that copy. Nothing was changed."
            )
            return False
        return True

    # -- navigation ----------------------------------------------------------------------
    def refresh(self) -> None:
        """List the layer's landforms again (after edits elsewhere), staying on the current one."""
        current = self.current_id()
        self.ids = []
        if self.layer is not None:
            review_filter = self.filter_combo.currentText()
            source = None if self.source_combo.currentIndex() == 0 else self.source_combo.currentText()
            upslope = None if self.class_filter.currentIndex() == 0 else self.class_filter.currentText()
            names = self.layer.fields().names()
            for feature in self.layer.getFeatures(QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry)):
                attributes = {n: null_to_none(feature[n]) for n in ("review", "source", "upslope_con") if n in names}
                if keeps(attributes, review_filter, source, upslope):
                    self.ids.append(feature.id())
            self.ids.sort()
        self.position = self.ids.index(current) if current in self.ids else (0 if self.ids else -1)
        self.show_current()

    def current_id(self) -> Optional[int]:
        """The feature id of the landform shown; None when there is none."""
        return self.ids[self.position] if 0 <= self.position < len(self.ids) else None

    def next(self) -> None:
        """Show the next landform."""
        if self.ids:
            self.position = min(self.position + 1, len(self.ids) - 1)
            self.show_current()

    def previous(self) -> None:
        """Show the previous landform."""
        if self.ids:
            self.position = max(self.position - 1, 0)
            self.show_current()

    def reviewed_count(self) -> tuple[int, int]:
        """(landforms with a review decision, landforms) of the layer."""
        if self.layer is None or "review" not in self.layer.fields().names():
            return 0, 0
        total = reviewed = 0
        for feature in self.layer.getFeatures(QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry)):
            total += 1
            reviewed += is_reviewed(null_to_none(feature["review"]))
        return reviewed, total

    def show_current(self) -> None:
        """Describe the current landform in the panel, outline it and move the map to it."""
        reviewed, total = self.reviewed_count()
        fid = self.current_id()
        if fid is None:
            self.counter.setText(
                f"{reviewed} of {total} reviewed — nothing to show"
                + (" (D draws one the model missed)" if self.layer is not None else "")
            )
            self.info.setText("")
            self.clear_highlight()  # the previous layer's landform is no longer the one to judge
            return
        self.counter.setText(f"{self.position + 1}/{len(self.ids)} shown · {reviewed} of {total} reviewed")
        feature = self.layer.getFeature(fid)
        self.info.setText(_describe(feature))
        self.comment_edit.setText(null_to_none(feature["comment"]) or "" if "comment" in feature.fields().names() else "")
        if self._editing_outline is not None and self._editing_outline != fid:
            self.finish_outline_edit()
        if self.isVisible():  # a closed dock leaves nothing drawn on the map
            self._highlight(feature)
        if self.canvas is not None and feature.hasGeometry():
            extent = self.canvas.mapSettings().layerToMapCoordinates(self.layer, feature.geometry().boundingBox())
            extent.grow(self._context_in_map_units())
            self.canvas.setExtent(extent)
            self.canvas.refresh()

    def _highlight(self, feature: Any) -> None:
        """The current landform as an outline over the imagery (a selection's opaque fill would hide what is judged)."""
        self.clear_highlight()
        if self.canvas is None or not feature.hasGeometry():
            return
        self.highlight = QgsHighlight(self.canvas, feature.geometry(), self.layer)
        self.highlight.setColor(QColor(*HIGHLIGHT_RGBA))
        self.highlight.setFillColor(QColor(0, 0, 0, 0))
        self.highlight.setWidth(HIGHLIGHT_WIDTH_PX)
        self.highlight.show()

    def clear_highlight(self) -> None:
        """Remove the current landform's outline from the map."""
        if self.highlight is not None:
            if self.canvas is not None:
                self.canvas.scene().removeItem(self.highlight)
            self.highlight = None

    def _context_in_map_units(self) -> float:
        metres = self.context_m.value()
        crs = self.canvas.mapSettings().destinationCrs()
        return metres / 111320.0 if crs.isGeographic() else metres

    # -- decisions -----------------------------------------------------------------------
    def _activity_chosen(self, index: int) -> None:
        if index > 0:
            self.decide("activity", self.activity_combo.itemText(index))
        self.activity_combo.setCurrentIndex(0)

    def decide(self, action: str, value: Optional[str] = None) -> bool:
        """Save a decision on the current landform (accept, reject, class, activity, ...) at once, remembered for undo;
        False when it cannot be saved (and the panel says why)."""
        fid = self.current_id()
        if fid is None or not self._writable():
            return False
        if self.missing_fields() and not self.add_missing_fields():
            return False
        if self._editing_outline is not None:  # a decision ends vertex editing; this write then leaves edit mode
            self.finish_outline_edit()
        ok = self._write(fid, decision_values(action, value))
        if ok and action in ("accept", "reject") and self.filter_combo.currentText() in ("not yet reviewed", "candidate"):
            self.refresh()  # the feature leaves the filtered list; the next one shows
        else:
            self.show_current()
        return ok

    def _write(
        self, fid: int, values: dict[str, Any], remember: bool = True, previous_geometry: Optional[QgsGeometry] = None
    ) -> bool:
        layer = self.layer
        absent = [name for name in values if layer.fields().indexOf(name) < 0]
        if absent:
            self._say(
                f"'{layer.name()}' has no field {', '.join(absent)}: click 'Add fields' (or 'Save as GPKG' for a "
                "shapefile). Nothing was changed."
            )
            return False
        feature = layer.getFeature(fid)
        if remember:
            self.history.append((fid, {name: feature[name] for name in values}, previous_geometry))
        if not layer.isEditable() and not layer.startEditing():
            self._say(f"'{layer.name()}' cannot be edited (locked or read-only); nothing was changed.")
            return False
        layer.beginEditCommand("rock-glacier review")
        for name, value in values.items():
            layer.changeAttributeValue(fid, layer.fields().indexOf(name), value)
        layer.endEditCommand()
        # the layer leaves edit mode after each decision (no vertex markers left), except while its outline is edited
        if not layer.commitChanges(self._editing_outline is None):
            errors = "; ".join(layer.commitErrors()[-3:])
            layer.rollBack(False)
            self._say(f"Saving to '{layer.source()}' failed ({errors}); the decision was not stored. Is the file locked?")
            return False
        self._say(f"Saved {saved_text(values)}.")
        return True

    def undo(self) -> bool:
        """Take the last decision (or added landform) back, saved at once; False when there is nothing to undo."""
        if not self.history or self.layer is None:
            self._say("Nothing to undo.")
            return False
        fid, previous, geometry = self.history.pop()
        if previous is None:  # a landform added here: undo removes it
            return self._remove_added(fid)
        # The guard spans the commit too: committing a geometry change emits geometryChanged again.
        self._updating_geometry = True
        try:
            if geometry is not None:
                if not self.layer.isEditable():
                    self.layer.startEditing()
                self.layer.changeGeometry(fid, geometry)
            ok = self._write(fid, previous, remember=False)
        finally:
            self._updating_geometry = False
        self.show_current()
        return ok

    # -- outlines --------------------------------------------------------------------------
    def edit_outline(self) -> None:
        """Edit the current landform's vertices on the map; the next decision saves the outline and leaves edit mode."""
        if self.current_id() is None or not self._writable():
            return
        if not self.layer.isEditable():
            self.layer.startEditing()
        self._editing_outline = self.current_id()
        if self.iface is not None:
            self.iface.setActiveLayer(self.layer)
            self.iface.actionVertexTool().trigger()
        self._say(
            "Vertex editing is on: move vertices on the map; the change is saved and the attributes recomputed. "
            "Any decision or Next ends it."
        )

    def finish_outline_edit(self) -> None:
        """End vertex editing: what was changed is saved (each change already was), edit mode is left, the map pans."""
        self._editing_outline = None
        if self.layer is not None and self.layer.isEditable() and not self.layer.commitChanges(True):
            errors = "; ".join(self.layer.commitErrors()[-3:])
            self._say(
                f"Saving the outline to '{self.layer.source()}' failed ({errors}); the layer stays in edit mode so "
                "nothing is lost: save or discard it from the layer's context menu."
            )
            return
        if self.iface is not None:
            self.iface.actionPan().trigger()

    def _geometry_changed(self, fid: int, geometry: QgsGeometry) -> None:
        """An outline moved in QGIS's vertex tool: saved, marked modified, attributes recomputed, once the tool's own
        edit command has closed (writing from inside it unbalanced QGIS's undo stack: "endMacro(): no matching
        beginMacro()")."""
        if self._updating_geometry or self.layer is None or self._drawing is not None:
            return
        outline = QgsGeometry(geometry)  # the signal's geometry lives only as long as the signal
        QTimer.singleShot(0, lambda: self._save_changed_outline(fid, outline))

    def _save_changed_outline(self, fid: int, geometry: QgsGeometry) -> None:
        if self._updating_geometry or self.layer is None:
            return
        self._updating_geometry = True
        try:
            stored = next(self.layer.dataProvider().getFeatures(QgsFeatureRequest(fid)), None)
            values = decision_values("modified")
            problem = None
            try:
                values.update(self.recompute_attributes(geometry))
            except Exception as exc:  # noqa: BLE001 (a Qt slot: nothing may escape; the edit is kept)
                problem = f"The outline is saved and marked modified, but its DEM attributes could not be recomputed: {exc}"
            if self._write(fid, values, previous_geometry=stored.geometry() if stored is not None else None) and problem:
                self._say(problem)
        finally:
            self._updating_geometry = False
        self.show_current()

    def recompute_attributes(self, geometry: QgsGeometry) -> dict[str, Any]:
        """DEM attributes of one outline with the core code of rockglacier:attributes."""
        dem = self.dem_combo.currentLayer()
        if dem is None:
            self._say("No DEM chosen: the outline is saved, its DEM attributes are not recomputed.")
            return {}
        from ..core.raster.geometry import Polygons
        from ..core.terrain.attributes import compute_attributes
        from ..qgis_shared.features import file_raster_path

        result = compute_attributes(Polygons([bytes(geometry.asWkb())], self.layer.crs().toWkt()), file_raster_path(dem, "DEM"))
        if result.warnings:
            self._say("Attributes recomputed with warnings: " + "; ".join(result.warnings))
        values = dict(result.values[0])
        values.pop("rg_id", None)
        return values

    # -- what the model missed ------------------------------------------------------------
    def _new_landform_values(self, geometry: QgsGeometry) -> dict[str, Any]:
        """Id, source manual, review accepted, stamp, and the DEM attributes when a DEM is chosen."""
        from .new_landforms import new_values

        values = new_values(self.layer)
        try:
            values.update(self.recompute_attributes(geometry))
        except Exception as exc:  # noqa: BLE001 (a Qt slot: the outline is kept without attributes)
            self._say(f"DEM attributes of the new landform could not be computed: {exc}")
        return {name: value for name, value in values.items() if self.layer.fields().indexOf(name) >= 0}

    def _ready_for_new(self) -> bool:
        if not self._writable():
            return False
        return not self.missing_fields() or self.add_missing_fields()

    def draw_new_landform(self) -> bool:
        """QGIS's add-feature tool on the inventory; the drawn outline is saved as a manual, accepted landform."""
        from .new_landforms import DrawnOutline

        if self._drawing is not None or not self._ready_for_new():
            return False
        if self.iface is None:
            self._say("Drawing needs the QGIS window (no iface here).")
            return False
        if self._editing_outline is not None:
            self.finish_outline_edit()

        def done(fid: Optional[int], problem: str) -> None:
            self._drawing = None
            self._landform_added(fid, problem, edit=False)

        self._drawing = DrawnOutline(self.iface, self.layer, self._new_landform_values, done)
        self._say(
            "Draw the outline on the map: click its vertices, right-click to finish. It is saved as source manual, "
            "review accepted, with its DEM attributes."
        )
        return True

    def start_click_outline(self) -> bool:
        """The next click on the map grows an outline from the Probability raster (then edit it)."""
        from .new_landforms import ClickTool

        probability = self.probability_combo.currentLayer()
        if probability is None:
            self._say(
                "Choose the model's Probability raster (rockglacier:segment's PROBABILITY) first, or draw the outline (Draw new)."
            )
            return False
        if self.canvas is None or not self._ready_for_new():
            return False
        self._click_tool = ClickTool(self.canvas, probability.crs(), self.outline_at)
        self.canvas.setMapTool(self._click_tool)
        self._say(
            "Click inside the landform the model missed: its outline is grown from the probability at half its "
            "peak, then you edit it."
        )
        return True

    def outline_at(self, x: float, y: float) -> Optional[int]:
        """A landform grown from the click at (x, y) in the Probability raster's CRS, saved, and its outline in edit."""
        from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform

        from ..core.errors import RockGlacierError
        from ..core.mapping.click_outline import outline_from_click
        from ..qgis_shared.features import file_raster_path
        from .new_landforms import add_landform

        probability = self.probability_combo.currentLayer()
        if probability is None or self.layer is None or not self._ready_for_new():
            return None
        try:
            outline = outline_from_click(file_raster_path(probability, "Probability"), x, y)
        except RockGlacierError as exc:
            self._say(str(exc))
            return None
        geometry = QgsGeometry()
        geometry.fromWkb(outline.wkb)
        transform = QgsCoordinateTransform(
            QgsCoordinateReferenceSystem.fromWkt(outline.crs_wkt), self.layer.crs(), QgsProject.instance()
        )
        geometry.transform(transform)
        fid = add_landform(self.layer, geometry, self._new_landform_values(geometry))
        self._landform_added(fid, "" if fid is not None else "the data source refused the new feature", edit=True)
        if fid is not None:
            self._say(
                f"Outline grown at probability >= {outline.threshold:.2f} (half the peak {outline.peak_probability:.2f}), "
                "saved as manual, accepted: move its vertices now, or press N to go on."
            )
        return fid

    def _landform_added(self, fid: Optional[int], problem: str, edit: bool) -> None:
        if fid is None:
            self._say(f"The new landform was not saved: {problem}.")
            return
        self.history.append((fid, None, None))
        self.refresh()
        if fid not in self.ids:  # the filters hide it: show everything so the analyst sees what was added
            self.filter_combo.setCurrentIndex(0)
            self.refresh()
        if fid in self.ids:
            self.position = self.ids.index(fid)
            self.show_current()
        feature = self.layer.getFeature(fid)
        self._say(f"Added {feature['rg_id']} (manual, accepted); Ctrl+Z removes it.")
        if edit:
            self.edit_outline()

    def _remove_added(self, fid: int) -> bool:
        """Undo of an added landform: it is deleted from the data source."""
        if self._editing_outline is not None:
            self.finish_outline_edit()
        if not self.layer.dataProvider().deleteFeatures([fid]):
            self._say(f"Removing the added landform failed: {'; '.join(self.layer.dataProvider().errors()[-3:])}")
            return False
        self.layer.triggerRepaint()
        self.refresh()
        self._say("The added landform was removed.")
        return True

    # -- background processing -------------------------------------------------------------------
    def run_attributes(self) -> Optional[QgsProcessingAlgRunnerTask]:
        """rockglacier:attributes for the whole layer as a background task (progress, cancel)."""
        dem = self.dem_combo.currentLayer()
        if self.layer is None or dem is None:
            self._say("Pick the inventory layer and a DEM first.")
            return None
        algorithm = QgsApplication.processingRegistry().createAlgorithmById("rockglacier:attributes")
        self._context = QgsProcessingContext()
        self._feedback = QgsProcessingFeedback()
        parameters = {"INPUT": self.layer, "DEM": dem, "OUTPUT": "TEMPORARY_OUTPUT"}
        task = QgsProcessingAlgRunnerTask(algorithm, parameters, self._context, self._feedback)
        task.executed.connect(self._attributes_done)
        self._task = task
        QgsApplication.taskManager().addTask(task)
        self._say("Computing attributes in the background…")
        return task

    def _attributes_done(self, successful: bool, results: dict) -> None:
        if not successful:
            self._say("Attributes failed: see the Processing log.")
            return
        output = self._context.getMapLayer(results["OUTPUT"])
        if self.missing_fields() and not self.add_missing_fields():
            return
        written = 0
        names = [
            spec.name
            for spec in ROCK_GLACIER_FIELDS
            if spec.name
            in (
                "area_km2",
                "elev_min_m",
                "elev_max_m",
                "elev_mean_m",
                "slope_mean_deg",
                "aspect_deg",
                "aspect_class",
                "lon",
                "lat",
            )
        ]
        for source_feature, computed in zip(self.layer.getFeatures(), output.getFeatures()):
            if self._write(source_feature.id(), {n: computed[n] for n in names}, remember=False):
                written += 1
        self.show_current()  # the panel shows the new numbers
        self._say(f"Attributes written for {written} feature(s).")

    def _say(self, text: str) -> None:
        self.message = text
        self.status.setText(text)


def saved_text(values: dict[str, Any]) -> str:
    """What a write stored, as the analyst reads it: numbers rounded, empty values as "empty", no stamp fields
    (``{"review": "modified", "area_km2": 0.123456, "attr_note": None}`` -> "review modified, area_km2 0.123, attr_note
    empty"; tests/qgis/test_review_dock.py)."""

    def shown(value: Any) -> str:
        value = null_to_none(value)
        if value is None or value == "":
            return "empty"
        if isinstance(value, float):
            return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
        return str(value)

    return ", ".join(f"{name} {shown(value)}" for name, value in values.items() if name not in ("edited_at", "edited_by"))


def _describe(feature: QgsFeature) -> str:
    names = feature.fields().names()

    def get(name: str) -> Any:
        return null_to_none(feature[name]) if name in names else None

    def number(name: str, digits: int = 1) -> str:
        value = get(name)
        return "—" if value is None else f"{value:.{digits}f}"

    velocity = (
        "—"
        if get("vel_dslp_cm_yr") is None
        else f"{number('vel_dslp_cm_yr')} ± {number('vel_err_cm_yr')} cm/yr (vel_ok {get('vel_ok')})"
    )
    if get("ft_vel_m_yr") is not None:
        velocity += (
            f" · feature tracking {number('ft_vel_m_yr', 2)} ± {number('ft_vel_err_m_yr', 2)} m/yr "
            f"({get('ft_period') or '—'}, {get('ft_points')} points, LoD {number('ft_lod_m', 2)} m)"
        )
    elif get("ft_reason"):
        velocity += f" · feature tracking: {get('ft_reason')}"
    return (
        f"<b>{get('rg_id') or feature.id()}</b> · {get('source') or '—'} · review <b>{get('review') or '—'}</b> · "
        f"class <b>{get('upslope_con') or '—'}</b> (suggested {get('upslope_suggested') or '—'})<br>"
        f"area {number('area_km2', 3)} km² · elevation {number('elev_min_m', 0)}–{number('elev_max_m', 0)} m "
        f"(mean {number('elev_mean_m', 0)}) · slope {number('slope_mean_deg')}° · aspect {get('aspect_class') or '—'}<br>"
        f"velocity {velocity} · model probability {number('dl_prob_mean', 2)} · matches {get('match_rg_id') or '—'}"
    )
