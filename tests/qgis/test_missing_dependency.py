"""A package missing from QGIS's Python: the provider still loads; running says what to install."""

import os
import subprocess
import sys
from pathlib import Path

from tests.builders import plane_dem, square_wkt, write_polygons, write_raster

ROOT = Path(__file__).resolve().parents[2]


def test_missing_module__provider_loads_and_algorithm_names_the_module_and_install_command(tmp_path):
    script = f"""
import os, sys, importlib.abc
os.environ['QT_QPA_PLATFORM'] = 'offscreen'
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == 'osgeo.gdal_array':
            raise ImportError('No module named osgeo.gdal_array (blocked by the test)')
sys.meta_path.insert(0, Block())
from qgis.core import QgsApplication, QgsProcessingException
app = QgsApplication([], False); app.initQgis()
sys.path.append(os.path.join(QgsApplication.pkgDataPath(), 'python', 'plugins'))
from processing.core.Processing import Processing
Processing.initialize()
sys.path.insert(0, {str(ROOT)!r})
import rockglacier_plugin
plugin = rockglacier_plugin.classFactory(None)
plugin.initProcessing()
provider = QgsApplication.processingRegistry().providerById('rockglacier')
print('algorithms:', sorted(a.id() for a in provider.algorithms()))
import processing
from qgis.core import QgsProcessingFeedback
class Feedback(QgsProcessingFeedback):
    def reportError(self, text, fatal=False):
        print('MESSAGE:', text)
try:
    processing.run('rockglacier:attributes', {{'INPUT': 'rg.gpkg', 'DEM': 'dem.tif', 'OUTPUT': 'TEMPORARY_OUTPUT'}}, feedback=Feedback())
except QgsProcessingException as exc:
    print('RAISED:', exc)
"""
    z, gt = plane_dem(20, 10.0, (600000.0, 5200000.0), 20.0, 90.0)
    write_raster(tmp_path / "dem.tif", z, gt)
    write_polygons(tmp_path / "rg.gpkg", [square_wkt(600100.0, 5199900.0, 50.0)])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert "algorithms: ['rockglacier:attributes']" in completed.stdout, completed.stdout + completed.stderr
    messages = "\n".join(line for line in completed.stdout.splitlines() if line.startswith(("MESSAGE:", "RAISED:")))
    assert "rockglacier:attributes needs the Python module 'osgeo.gdal_array'" in messages, completed.stdout + completed.stderr
    assert "apt-get install python3-gdal" in messages
    assert "Traceback" not in completed.stderr
