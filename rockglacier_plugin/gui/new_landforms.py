"""Adding what the model missed, from the review dock: an outline drawn with QGIS's own add-feature tool, or one grown
from a click on the model's probability (``core.mapping.click_outline``). Either becomes a landform with source
``manual`` and review ``accepted`` (so ``rockglacier:adaptmodel`` takes it as a positive), the next id of the
inventory, and its DEM attributes; the dock's undo removes it again."""

from __future__ import annotations

from typing import Any, Callable, Optional

from qgis.core import (
    QgsCoordinateTransform,
    QgsEditFormConfig,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsProject,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsMapToolEmitPoint
from qgis.PyQt.QtCore import QTimer

from ..core.inventory.review import manual_landform_values
from ..core.workflows.mapping import DEFAULT_ID_PREFIX
from ..qgis_shared.features import null_to_none


def new_values(layer: QgsVectorLayer) -> dict[str, Any]:
    """rg_id, source, review and stamp of one more landform in ``layer``."""
    names = layer.fields().names()
    ids = (
        [null_to_none(f["rg_id"]) for f in layer.getFeatures(QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry))]
        if "rg_id" in names
        else []
    )
    return manual_landform_values(ids, DEFAULT_ID_PREFIX)


def add_landform(layer: QgsVectorLayer, geometry: QgsGeometry, values: dict[str, Any]) -> Optional[int]:
    """Write one new feature straight to the layer's data source (as every decision is); its id, or None."""
    feature = QgsFeature(layer.fields())
    geometry = QgsGeometry(geometry)
    if QgsWkbTypes.isMultiType(layer.wkbType()):
        geometry.convertToMultiType()
    feature.setGeometry(geometry)
    for name, value in values.items():
        index = layer.fields().indexOf(name)
        if index >= 0:
            feature.setAttribute(index, value)
    ok, added = layer.dataProvider().addFeatures([feature])
    if not ok or not added:
        return None
    layer.updateExtents()
    layer.triggerRepaint()
    return added[0].id()


def find_by_id(layer: QgsVectorLayer, rg_id: str) -> Optional[int]:
    """The feature id of the landform with ``rg_id`` (None when absent)."""
    request = QgsFeatureRequest().setFilterExpression(f"\"rg_id\" = '{rg_id}'").setFlags(QgsFeatureRequest.NoGeometry)
    return next((feature.id() for feature in layer.getFeatures(request)), None)


class DrawnOutline:
    """QGIS's add-feature tool on the inventory, its attribute form held back. Once the outline is drawn,
    ``values_for(geometry)`` gives its fields, the feature is saved, and ``done(feature id or None, problem)`` is called."""

    def __init__(
        self,
        iface: Any,
        layer: QgsVectorLayer,
        values_for: Callable[[QgsGeometry], dict[str, Any]],
        done: Callable[[Optional[int], str], None],
    ):
        self.iface, self.layer, self.values_for, self.done = iface, layer, values_for, done
        config = layer.editFormConfig()
        self._suppress = config.suppress()
        config.setSuppress(QgsEditFormConfig.SuppressOn)
        layer.setEditFormConfig(config)
        if not layer.isEditable():
            layer.startEditing()
        layer.featureAdded.connect(self._added)
        iface.setActiveLayer(layer)
        iface.actionAddFeature().trigger()

    def _added(self, fid: int) -> None:
        self.stop()
        # the tool's own edit command is still open (ending it from here unbalances QGIS's undo stack): finish after it
        QTimer.singleShot(0, lambda: self._save(fid))

    def _save(self, fid: int) -> None:
        values = self.values_for(QgsGeometry(self.layer.getFeature(fid).geometry()))
        for name, value in values.items():
            index = self.layer.fields().indexOf(name)
            if index >= 0:
                self.layer.changeAttributeValue(fid, index, value)
        if not self.layer.commitChanges(True):
            errors = "; ".join(self.layer.commitErrors()[-3:])
            self.done(
                None,
                f"saving the new outline failed ({errors}); it stays in the layer's edit buffer: save it from the "
                "layer's context menu",
            )
            return
        self.iface.actionPan().trigger()
        self.done(find_by_id(self.layer, values["rg_id"]), "")

    def stop(self) -> None:
        """Stop listening and give the layer its attribute form back."""
        try:
            self.layer.featureAdded.disconnect(self._added)
        except TypeError:
            pass
        config = self.layer.editFormConfig()
        config.setSuppress(self._suppress)
        self.layer.setEditFormConfig(config)


class ClickTool(QgsMapToolEmitPoint):
    """One click on the canvas, in the probability raster's CRS, handed to ``clicked(x, y)``; then the previous tool."""

    def __init__(self, canvas: Any, raster_crs: Any, clicked: Callable[[float, float], None]):
        super().__init__(canvas)
        self._crs, self._clicked, self._previous = raster_crs, clicked, canvas.mapTool()
        self.canvasClicked.connect(self._click)

    def _click(self, point: Any, _button: Any) -> None:
        transform = QgsCoordinateTransform(self.canvas().mapSettings().destinationCrs(), self._crs, QgsProject.instance())
        at = transform.transform(point)
        if self._previous is not None:
            self.canvas().setMapTool(self._previous)
        else:
            self.canvas().unsetMapTool(self)
        self._clicked(at.x(), at.y())
