"""QGIS lifecycle: register the Processing provider, unload cleanly."""

from __future__ import annotations

from typing import Any, Optional

from qgis.core import QgsApplication

from .processing.provider import RockGlacierProvider


class RockGlacierPlugin:
    """The plugin object QGIS keeps while the plugin is enabled."""

    def __init__(self, iface: Optional[Any]) -> None:
        self.iface = iface
        self.provider: Optional[RockGlacierProvider] = None

    def initProcessing(self) -> None:  # noqa: N802 (QGIS's name)
        """Called by QGIS (and qgis_process) for plugins with hasProcessingProvider=yes."""
        if self.provider is None:
            self.provider = RockGlacierProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802
        self.initProcessing()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
