"""The demo's HTML report as a browser shows it (QtWebKit, as QGIS ships it), top of the page, to a PNG.

python3 -m tools.report_screenshot demo_data/outputs/report/report.html docs/tour_report.png
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.PyQt.QtCore import QEventLoop, QTimer, QUrl
    from qgis.PyQt.QtWebKitWidgets import QWebView
    from qgis.PyQt.QtWidgets import QApplication

    report, target = argv
    app = QApplication([])
    view = QWebView()
    view.resize(1280, 900)
    loop = QEventLoop()
    view.loadFinished.connect(lambda ok: loop.quit())
    view.load(QUrl.fromLocalFile(os.path.abspath(report)))
    QTimer.singleShot(30000, loop.quit)
    loop.exec()
    app.processEvents()
    return 0 if view.grab().save(target) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
