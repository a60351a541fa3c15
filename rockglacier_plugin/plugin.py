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
        self.check_action = None

    def initProcessing(self) -> None:  # noqa: N802 (QGIS's name)
        """Called by QGIS (and qgis_process) for plugins with hasProcessingProvider=yes."""
        registry = QgsApplication.processingRegistry()
        if self.provider is None and registry.providerById("rockglacier") is None:
            self.provider = RockGlacierProvider()
            registry.addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802
        """QGIS: add the Processing provider, the review dock's menu entry and the installation check."""
        self.initProcessing()
        if self.iface is None:
            return
        from qgis.PyQt.QtCore import Qt

        from .gui.review_dock import ReviewDock
        from .qgis_shared.qt_compat import QAction

        self.dock = ReviewDock(iface=self.iface)
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.action = QAction("Rock-glacier review", self.iface.mainWindow())
        self.action.setCheckable(True)
        self.action.toggled.connect(self.dock.setVisible)
        self.dock.visibilityChanged.connect(self.action.setChecked)
        self.iface.addPluginToMenu("Rock glacier inventory", self.action)
        self.iface.addToolBarIcon(self.action)
        self.check_action = QAction("Check installation", self.iface.mainWindow())
        self.check_action.triggered.connect(self.show_installation)
        self.iface.addPluginToMenu("Rock glacier inventory", self.check_action)

    def installation_text(self) -> str:
        """Which optional packages QGIS's Python and the training Python have, and the command for each missing one."""
        from .core.dependencies import installation_text
        from .processing.adapt_model_algorithm import training_python

        return installation_text(training_python())

    def show_installation(self) -> None:
        """Which optional packages QGIS's Python has, and the command for each missing one."""
        from qgis.PyQt.QtWidgets import QMessageBox

        box = QMessageBox(self.iface.mainWindow() if self.iface is not None else None)
        box.setWindowTitle("Rock glacier inventory: installation")
        box.setText("Optional packages in this QGIS's Python:")
        text = self.installation_text()
        box.setDetailedText(text)
        box.setInformativeText(text)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        self.installation_box = box
        box.show()

    def unload(self) -> None:
        """QGIS: remove the menu entries, the dock and the Processing provider."""
        if self.iface is not None and self.check_action is not None:
            self.iface.removePluginMenu("Rock glacier inventory", self.check_action)
            self.check_action = None
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
