"""The review dock's widgets: layer pickers, navigation, decision buttons, tools, keys (``ReviewWidgets``, a part
of ``review_dock.ReviewDock``)."""

from __future__ import annotations

from qgis.core import (
    QgsMapLayerProxyModel,
)
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QKeySequence
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

from ..core.inventory.review import ACTIVITIES, FILTERS
from ..core.inventory.schema import UpslopeConnection
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


def _narrow(button: QPushButton) -> None:
    """A button as narrow as its text (a style's 80 px minimum for push buttons widened the dock past a third of 1280 px)."""
    button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 16)


class ReviewWidgets:
    """Builds the dock's body and its keys; the handlers it connects are ``ReviewDock``'s."""

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
