"""Qt classes that moved between Qt 5 and Qt 6: ``QAction`` and ``QShortcut`` live in QtWidgets in Qt 5 (QGIS 3) and
in QtGui in Qt 6 (QGIS 4), and QGIS 4's ``qgis.PyQt.QtWidgets`` does not re-export them. Import them from here."""

try:  # Qt 6 (QGIS 4)
    from qgis.PyQt.QtGui import QAction, QShortcut
except ImportError:  # Qt 5 (QGIS 3)
    from qgis.PyQt.QtWidgets import QAction, QShortcut  # type: ignore[no-redef]

__all__ = ["QAction", "QShortcut"]
