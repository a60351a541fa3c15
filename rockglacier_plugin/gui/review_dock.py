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
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsProject,
    QgsRasterLayer,
    QgsVectorDataProvider,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsDockWidget, QgsHighlight
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (
    QWidget,
)

from ..core.inventory.review import decision_values, is_reviewed, keeps
from ..core.inventory.schema import ROCK_GLACIER_FIELDS
from ..qgis_shared.features import null_to_none
from ..qgis_shared.style import apply_inventory_style
from .review_outlines import OutlineEditing
from .review_widgets import ReviewWidgets

#: The current landform's outline: drawn over the imagery, never filled.
HIGHLIGHT_RGBA = (0, 229, 255, 255)
HIGHLIGHT_WIDTH_PX = 3


class ReviewDock(ReviewWidgets, OutlineEditing, QgsDockWidget):
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
