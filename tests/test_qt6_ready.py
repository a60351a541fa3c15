"""QGIS 4 (Qt6) readiness of the plugin's sources, keeping QGIS 3.22 (Qt5): fully scoped Qt enums
(``Qt.AlignmentFlag.AlignCenter``, which PyQt5 accepts too), ``exec()`` not ``exec_()``, Qt only
through ``qgis.PyQt``, no ``QRegExp``."""

import re
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1] / "rockglacier_plugin"
# A Qt class, a dot, a capitalised member not followed by a further dot or a call: an unscoped enum.
UNSCOPED = re.compile(r"\b(Q(?!gs[A-Z])[A-Za-z]+)\.([A-Z][A-Za-z0-9]*)\b(?![.(\w])")
#: (file, text) pairs allowed on purpose: QVariant types exist only on QGIS < 3.38 (Qt5) branches.
ALLOWED = {
    ("qgis_shared/fields.py", "QVariant.String"),
    ("qgis_shared/fields.py", "QVariant.Double"),
    ("qgis_shared/fields.py", "QVariant.Int"),
    # onnxruntime's quantisation enums, not Qt's
    ("core/mapping/int8.py", "QuantFormat.QDQ"),
    ("core/mapping/int8.py", "QuantType.QUInt8"),
    ("core/mapping/int8.py", "QuantType.QInt8"),
}


def _sources():
    for path in sorted(PLUGIN.rglob("*.py")):
        yield path.relative_to(PLUGIN).as_posix(), path.read_text(encoding="utf-8")


def test_plugin__no_unscoped_qt_enums():
    found = [
        f"{name}: {match.group(0)}"
        for name, text in _sources()
        for match in UNSCOPED.finditer(text)
        if (name, match.group(0)) not in ALLOWED
    ]
    assert found == [], "use the scoped spelling, e.g. Qt.DockWidgetArea.RightDockWidgetArea: " + "; ".join(found)


def test_plugin__no_qt5_only_idioms():
    offences = []
    for name, text in _sources():
        for pattern, advice in (
            (r"\bexec_\(", "exec()"),
            (r"\bQRegExp\b", "QRegularExpression"),
            (r"^\s*(from|import)\s+PyQt[56]", "qgis.PyQt"),
        ):
            if re.search(pattern, text, flags=re.M):
                offences.append(f"{name}: {pattern} -> use {advice}")
    assert offences == []


def test_scan__would_catch_the_qt5_spellings():
    assert UNSCOPED.search("self.iface.addDockWidget(Qt.RightDockWidgetArea, self.dock)")
    assert UNSCOPED.search("label.setAlignment(Qt.AlignCenter)")
    assert not UNSCOPED.search("Qt.DockWidgetArea.RightDockWidgetArea")
    assert not UNSCOPED.search("QgsProcessing.TypeVectorPolygon")


def _run_under_pyqt6(code: str):
    import os
    import subprocess
    import sys

    from tests.conftest import require_module

    require_module("PyQt6", "PyQt6 is not installed; run `make setup` (requirements-dev.txt)")
    root = PLUGIN.parent
    env = {**os.environ, "PYTHONPATH": str(root), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env, timeout=300)


def test_plugin__imports_and_builds_its_dock_and_menu_under_pyqt6_as_qgis_4_has_it():
    """Stronger than the scan: every plugin module imported, the review dock built and shown, the plugin's menu and
    dock added to a main window, all under real PyQt6 through a qgis.PyQt that re-exports PyQt6 as QGIS 4's does
    (QGIS's own classes stubbed: tests/qt6/fake_qgis.py says what that leaves unchecked)."""
    completed = _run_under_pyqt6("import sys; from tests.qt6.fake_qgis import main; sys.exit(main())")
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert "dock built: 14 shortcuts, 6 class buttons" in completed.stdout
    assert "Rock-glacier review" in completed.stdout and "Check installation" in completed.stdout


def test_fake_qgis_4__has_qt6_module_rules_that_broke_the_plugin_before():
    """QShortcut and QAction are in QtGui under Qt 6; QGIS 4's qgis.PyQt.QtWidgets does not re-export them (the dock
    imported QShortcut from there, and the plugin QAction: both fixed in qgis_shared/qt_compat.py)."""
    completed = _run_under_pyqt6(
        "import sys\nfrom tests.qt6.fake_qgis import _Finder\nsys.meta_path.insert(0, _Finder())\n"
        "from PyQt6.QtWidgets import QApplication\napp = QApplication([])\n"
        "try:\n    from qgis.PyQt.QtWidgets import QShortcut\nexcept ImportError:\n    print('no QShortcut in QtWidgets')\n"
        "from qgis.PyQt.QtCore import Qt\n"
        "try:\n    Qt.AlignCenter\nexcept AttributeError:\n    print('no unscoped enums')\n"
    )
    assert "no QShortcut in QtWidgets" in completed.stdout and "no unscoped enums" in completed.stdout, completed.stderr[-3000:]
