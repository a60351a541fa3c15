"""QGIS lifecycle: register the Processing provider, add the review dock, unload cleanly."""

from __future__ import annotations

from typing import Any, Optional

from qgis.core import QgsApplication

from .processing.provider import RockGlacierProvider


class RockGlacierPlugin:
    """The plugin object QGIS keeps while the plugin is enabled."""

    def __init__(self, iface: Optional[Any]) -> None:
        self.iface = iface
        self.provider: Optional[RockGlacierProvider] = None
        self.dock = None
        self.action = None

    def initProcessing(self) -> None:  # noqa: N802 (QGIS's name)
        """Called by QGIS (and qgis_process) for plugins with hasProcessingProvider=yes."""
        registry = QgsApplication.processingRegistry()
        if self.provider is None and registry.providerById("rockglacier") is None:
            self.provider = RockGlacierProvider()
            registry.addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802
        self.initProcessing()
        if self.iface is None:
            return
        from qgis.PyQt.QtCore import Qt
        from qgis.PyQt.QtWidgets import QAction

        from .gui.review_dock import ReviewDock

        self.dock = ReviewDock(iface=self.iface)
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.action = QAction("Rock-glacier review", self.iface.mainWindow())
        self.action.setCheckable(True)
        self.action.toggled.connect(self.dock.setVisible)
        self.dock.visibilityChanged.connect(self.action.setChecked)
        self.iface.addPluginToMenu("Rock glacier inventory", self.action)
        self.iface.addToolBarIcon(self.action)

    def unload(self) -> None:
        if self.iface is not None and self.action is not None:
            self.iface.removePluginMenu("Rock glacier inventory", self.action)
            self.iface.removeToolBarIcon(self.action)
            self.action = None
        if self.dock is not None:
            if self.iface is not None:
                self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
