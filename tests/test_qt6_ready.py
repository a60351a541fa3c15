"""QGIS 4 (Qt6) readiness of the plugin's sources, keeping QGIS 3.22 (Qt5): fully scoped Qt enums
(``Qt.AlignmentFlag.AlignCenter``, which PyQt5 accepts too), ``exec()`` not ``exec_()``, Qt only
through ``qgis.PyQt``, no ``QRegExp``."""

import re
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1] / "rockglacier_plugin"
# A Qt class, a dot, a capitalised member not followed by a further dot or a call: an unscoped enum.
UNSCOPED = re.compile(r"\b(Q(?!gs[A-Z])[A-Za-z]+)\.([A-Z][A-Za-z0-9]*)\b(?![.(\w])")
#: (file, text) pairs allowed on purpose: QVariant types exist only on QGIS < 3.38 (Qt5) branches.
ALLOWED = {("qgis_shared/fields.py", "QVariant.String"), ("qgis_shared/fields.py", "QVariant.Double"),
           ("qgis_shared/fields.py", "QVariant.Int"),
           # onnxruntime's quantisation enums, not Qt's
           ("core/mapping/int8.py", "QuantFormat.QDQ"), ("core/mapping/int8.py", "QuantType.QUInt8"),
           ("core/mapping/int8.py", "QuantType.QInt8")}


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
        for pattern, advice in ((r"\bexec_\(", "exec()"), (r"\bQRegExp\b", "QRegularExpression"),
                                (r"^\s*(from|import)\s+PyQt[56]", "qgis.PyQt")):
            if re.search(pattern, text, flags=re.M):
                offences.append(f"{name}: {pattern} -> use {advice}")
    assert offences == []


def test_scan__would_catch_the_qt5_spellings():
    assert UNSCOPED.search("self.iface.addDockWidget(Qt.RightDockWidgetArea, self.dock)")
    assert UNSCOPED.search("label.setAlignment(Qt.AlignCenter)")
    assert not UNSCOPED.search("Qt.DockWidgetArea.RightDockWidgetArea")
    assert not UNSCOPED.search("QgsProcessing.TypeVectorPolygon")
