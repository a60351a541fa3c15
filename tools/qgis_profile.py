"""A fresh QGIS profile folder with this repository's plugin installed and enabled, as *Install from ZIP* leaves it:
for the real desktop under Xvfb (tests/qgis/test_desktop.py, tools/desktop_screenshots.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fresh_profile(folder: Path) -> Path:
    """``folder`` made a profiles path (give it to ``qgis --profiles-path``) whose default profile has the plugin."""
    plugins = folder / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    shutil.copytree(
        ROOT / "rockglacier_plugin", plugins / "rockglacier_plugin", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    shutil.copy(ROOT / "metadata.txt", plugins / "rockglacier_plugin" / "metadata.txt")
    settings = folder / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    settings.parent.mkdir(parents=True)
    settings.write_text(
        "[PythonPlugins]\nrockglacier_plugin=true\n\n[qgis]\ncheckVersion=false\nshowTips=false\n[core]\nlast_news_check=0\n",
        encoding="utf-8",
    )
    return folder
