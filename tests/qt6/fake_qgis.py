"""Run inside a subprocess by tests/test_qt6_ready.py: the plugin imported and its widgets built under real PyQt6
(Qt 6 enum and module rules, as QGIS 4 has them), with QGIS's own classes stubbed.

``qgis.PyQt.*`` re-export PyQt6 exactly as QGIS 4's shim does (``from PyQt6.QtWidgets import *``: QAction and QShortcut
are not there); ``qgis.core``, ``qgis.gui``, ``qgis.analysis`` and ``processing`` hand out permissive stand-ins, except
the few QGIS widgets the dock subclasses or lays out, which are real Qt 6 widgets. What this checks: every module
imports, and the dock and the plugin's menu build, so every Qt enum, class and module those paths touch is resolved
by PyQt6. What it cannot check: QGIS 4's own API (its classes are stand-ins here)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import pkgutil
import sys
import types

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class _StubMeta(type):
    def __getattr__(cls, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub()


class _Stub(metaclass=_StubMeta):
    """Anything QGIS: callable, subscriptable, iterable (empty), false, combinable with | as flags are."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub()

    def __call__(self, *args, **kwargs):
        return _Stub()

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False

    def __or__(self, other):
        return self

    __ror__ = __or__

    def __int__(self):
        return 0

    def __lt__(self, other):
        return False

    __le__ = __gt__ = __ge__ = __lt__


def _stub_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    classes: dict = {}

    def __getattr__(attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return classes.setdefault(attribute, type(attribute, (_Stub,), {}))

    module.__getattr__ = __getattr__  # type: ignore[attr-defined]
    module.__path__ = []  # a package: its submodules are stubs too
    return module


def _qt_module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(f"from {source} import *", module.__dict__)  # what QGIS 4's qgis/PyQt/<module>.py does
    return module


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    QT = {
        "qgis.PyQt.QtCore": "PyQt6.QtCore",
        "qgis.PyQt.QtGui": "PyQt6.QtGui",
        "qgis.PyQt.QtWidgets": "PyQt6.QtWidgets",
        "qgis.PyQt.QtXml": "PyQt6.QtXml",
        "qgis.PyQt.QtNetwork": "PyQt6.QtNetwork",
        "qgis.PyQt.QtSvg": "PyQt6.QtSvg",
    }

    def find_spec(self, fullname, path, target=None):
        if fullname in self.QT or fullname == "qgis.PyQt.sip":  # real Qt 6 modules: a missing name is an ImportError
            return importlib.machinery.ModuleSpec(fullname, self, is_package=False)
        if fullname.startswith("qgis.PyQt."):
            return None  # no such Qt module here (nor in QGIS 4)
        if fullname in ("qgis", "processing") or fullname.startswith(("qgis.", "processing.")):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        name = spec.name
        if name in self.QT:
            return _qt_module(name, self.QT[name])
        if name == "qgis.PyQt.sip":
            from PyQt6 import sip

            return sip
        if name in ("qgis", "qgis.PyQt"):
            module = types.ModuleType(name)
            module.__path__ = []
            return module
        if name == "qgis.gui":
            return _gui()
        module = _stub_module(name)
        if name == "qgis.core":  # QGIS 4: the version checks take the newest branches (QMetaType fields, scoped enums)
            module.Qgis = type("Qgis", (_Stub,), {"QGIS_VERSION_INT": 40000, "QGIS_VERSION": "4.0.0-stub"})
        return module

    def exec_module(self, module):
        pass


def _gui() -> types.ModuleType:
    from PyQt6.QtCore import pyqtSignal
    from PyQt6.QtWidgets import QComboBox, QDockWidget

    module = _stub_module("qgis.gui")

    class QgsMapLayerComboBox(QComboBox):
        layerChanged = pyqtSignal(object)

        def setFilters(self, filters):  # noqa: N802
            pass

        def setAllowEmptyLayer(self, allow):  # noqa: N802
            pass

        def currentLayer(self):  # noqa: N802
            return None

        def setLayer(self, layer):  # noqa: N802
            pass

    module.QgsDockWidget = QDockWidget
    module.QgsMapLayerComboBox = QgsMapLayerComboBox
    return module


class _Iface:
    """The QGIS interface a plugin receives, with a real Qt 6 main window."""

    def __init__(self):
        from PyQt6.QtWidgets import QMainWindow

        self.window = QMainWindow()
        self.menus: list = []

    def mainWindow(self):  # noqa: N802
        return self.window

    def addDockWidget(self, area, dock):  # noqa: N802
        self.window.addDockWidget(area, dock)

    def removeDockWidget(self, dock):  # noqa: N802
        self.window.removeDockWidget(dock)

    def addPluginToMenu(self, menu, action):  # noqa: N802
        self.menus.append((menu, action.text()))

    def removePluginMenu(self, menu, action):  # noqa: N802
        pass

    def addToolBarIcon(self, action):  # noqa: N802
        pass

    def removeToolBarIcon(self, action):  # noqa: N802
        pass

    def mapCanvas(self):  # noqa: N802
        return None


def main() -> int:
    sys.meta_path.insert(0, _Finder())
    from PyQt6.QtWidgets import QApplication

    app = QApplication([])
    import rockglacier_plugin

    failures = []
    for info in pkgutil.walk_packages(rockglacier_plugin.__path__, "rockglacier_plugin."):
        if ".core" in info.name or info.name.endswith(".region") or ".region." in info.name:
            continue  # QGIS-free: no Qt in them
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # noqa: BLE001 (reported, then the test fails)
            failures.append(f"import {info.name}: {type(exc).__name__}: {exc}")
    try:
        from rockglacier_plugin.gui.review_dock import ReviewDock

        dock = ReviewDock(canvas=None)
        dock.show()
        app.processEvents()
        dock.show_current()
        print(f"dock built: {len(dock.shortcuts)} shortcuts, {len(dock.class_buttons)} class buttons")
    except Exception as exc:  # noqa: BLE001
        failures.append(f"ReviewDock: {type(exc).__name__}: {exc}")
    try:
        from rockglacier_plugin.plugin import RockGlacierPlugin

        iface = _Iface()
        plugin = RockGlacierPlugin(iface)
        plugin.initGui()
        plugin.unload()
        print(f"plugin menu built: {iface.menus}")
    except Exception as exc:  # noqa: BLE001
        failures.append(f"plugin initGui/unload: {type(exc).__name__}: {exc}")
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
