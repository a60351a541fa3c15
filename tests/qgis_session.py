"""One headless QGIS application per test process, with Processing and our provider loaded."""

from __future__ import annotations

import os
import sys
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_APP: Any = None
_PROVIDERS: list = []  # keep Python references, or sip drops the subclasses' overrides


def start_qgis() -> Any:
    """Start QGIS once (idempotent) and register native, GDAL and rockglacier providers."""
    global _APP
    if _APP is not None:
        return _APP
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    plugins_dir = os.path.join(QgsApplication.pkgDataPath(), "python", "plugins")
    if plugins_dir not in sys.path:
        sys.path.append(plugins_dir)
    from processing.core.Processing import Processing
    from qgis.analysis import QgsNativeAlgorithms

    Processing.initialize()
    registry = QgsApplication.processingRegistry()
    if registry.providerById("native") is None:
        _PROVIDERS.append(QgsNativeAlgorithms())
        registry.addProvider(_PROVIDERS[-1])
    from rockglacier_plugin.processing.provider import RockGlacierProvider

    if registry.providerById("rockglacier") is None:
        _PROVIDERS.append(RockGlacierProvider())
        registry.addProvider(_PROVIDERS[-1])
    _APP = app
    return app
