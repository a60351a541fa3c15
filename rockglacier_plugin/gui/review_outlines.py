"""The review dock's outline work: vertex editing of the current landform (the DEM attributes recomputed), what
the model missed (drawn, or grown from a click), and the attributes run in the background (``OutlineEditing``, a
part of ``review_dock.ReviewDock``)."""

from __future__ import annotations

from typing import Any, Optional

from qgis.core import (
    QgsApplication,
    QgsFeatureRequest,
    QgsGeometry,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
)
from qgis.PyQt.QtCore import QTimer

from ..core.inventory.review import decision_values
from ..core.inventory.schema import ROCK_GLACIER_FIELDS


class OutlineEditing:
    """Outlines edited, added and measured; the decisions and the undo history are ``ReviewDock``'s."""

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
