"""`make package`: the zip installs into an empty QGIS profile and registers the provider."""

import configparser
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_METADATA = (
    "name",
    "description",
    "about",
    "version",
    "qgisMinimumVersion",
    "qgisMaximumVersion",
    "hasProcessingProvider",
    "tags",
    "category",
    "changelog",
    "author",
    "email",
    "repository",
)


def build_zip(out_dir: Path) -> Path:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "package.py"), "--out", str(out_dir)], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    return Path(completed.stdout.strip())


def test_metadata__is_complete_and_lists_qgis_3_22_to_4():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    assert [key for key in REQUIRED_METADATA if not general.get(key, "").strip()] == []
    assert general["qgisMinimumVersion"] == "3.22" and general["qgisMaximumVersion"] == "4.99"
    assert general["hasProcessingProvider"] == "yes"


def test_package__zip_has_one_plugin_folder_with_metadata_and_no_bytecode(tmp_path):
    archive = build_zip(tmp_path)
    names = zipfile.ZipFile(archive).namelist()
    assert {name.split("/")[0] for name in names} == {"rockglacier_plugin"}
    assert "rockglacier_plugin/metadata.txt" in names and "rockglacier_plugin/__init__.py" in names
    assert "rockglacier_plugin/core/terrain/attributes.py" in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]


def test_package__loads_through_qgis_plugin_loader_from_an_empty_profile(tmp_path):
    archive = build_zip(tmp_path / "dist")
    plugins_dir = tmp_path / "profile" / "python" / "plugins"
    plugins_dir.mkdir(parents=True)
    zipfile.ZipFile(archive).extractall(plugins_dir)
    script = f"""
import os, sys
os.environ['QT_QPA_PLATFORM'] = 'offscreen'
from qgis.core import QgsApplication
app = QgsApplication([], False); app.initQgis()
sys.path.append(os.path.join(QgsApplication.pkgDataPath(), 'python', 'plugins'))
from processing.core.Processing import Processing
Processing.initialize()
import qgis.utils
plugins_dir = {str(plugins_dir)!r}
sys.path.insert(0, plugins_dir)
qgis.utils.plugin_paths = [plugins_dir]
qgis.utils.updateAvailablePlugins()
assert 'rockglacier_plugin' in qgis.utils.available_plugins, qgis.utils.available_plugins
assert qgis.utils.pluginMetadata('rockglacier_plugin', 'hasProcessingProvider') == 'yes'
assert qgis.utils.loadPlugin('rockglacier_plugin')
assert qgis.utils.startProcessingPlugin('rockglacier_plugin')
import rockglacier_plugin
assert rockglacier_plugin.__file__.startswith(plugins_dir), rockglacier_plugin.__file__
provider = QgsApplication.processingRegistry().providerById('rockglacier')
print(sorted(a.id() for a in provider.algorithms()))
qgis.utils.unloadPlugin('rockglacier_plugin')
print('after unload:', QgsApplication.processingRegistry().providerById('rockglacier'))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (
        "['rockglacier:adaptmodel', 'rockglacier:attributes', 'rockglacier:evaluate', 'rockglacier:featuretracking', "
        "'rockglacier:insarvelocity', 'rockglacier:movingareas', 'rockglacier:report', 'rockglacier:rgikexport', "
        "'rockglacier:rgvexport', 'rockglacier:segment', 'rockglacier:trainingpatches', 'rockglacier:unwrap']" in completed.stdout
    )
    assert "after unload: None" in completed.stdout
    assert "Traceback" not in completed.stderr


def test_plugin_sources__import_qt_only_through_qgis_pyqt():
    offenders = []
    for path in (ROOT / "rockglacier_plugin").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith(("import PyQt", "from PyQt", "import sip", "from sip")):
                offenders.append(f"{path.name}:{number}: {stripped}")
    assert offenders == []
