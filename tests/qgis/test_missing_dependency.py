"""A package missing from QGIS's Python: the provider still loads; running says what to install."""

import os
import subprocess
import sys
from pathlib import Path

from tests.builders import plane_dem, square_wkt, write_polygons, write_raster

ROOT = Path(__file__).resolve().parents[2]


def qgis_script_blocking(module: str, body: str) -> str:
    """A script in which ``module`` is not installed (for Python), starts QGIS and Processing, loads the plugin
    from this repository through its classFactory, then runs ``body``."""
    return f"""
import os, sys
os.environ['QT_QPA_PLATFORM'] = 'offscreen'
# as if not installed: importing it raises ModuleNotFoundError, importlib.util.find_spec answers None (GDAL 3.10+
# asks find_spec whether gdal_array exists; a finder that raised there broke QGIS 3.44's own Processing plugin)
sys.modules[{module!r}] = None
from qgis.core import QgsApplication, QgsProcessingException
app = QgsApplication([], False); app.initQgis()
sys.path.append(os.path.join(QgsApplication.pkgDataPath(), 'python', 'plugins'))
from processing.core.Processing import Processing
Processing.initialize()
sys.path.insert(0, {str(ROOT)!r})
import rockglacier_plugin
plugin = rockglacier_plugin.classFactory(None)
plugin.initProcessing()
import processing
{body}
"""


def test_missing_module__provider_loads_and_algorithm_names_the_module_and_install_command(tmp_path):
    script = qgis_script_blocking(
        "osgeo.gdal_array",
        """
provider = QgsApplication.processingRegistry().providerById('rockglacier')
print('algorithms:', sorted(a.id() for a in provider.algorithms()))
from qgis.core import QgsProcessingFeedback
class Feedback(QgsProcessingFeedback):
    def reportError(self, text, fatal=False):
        print('MESSAGE:', text)
try:
    processing.run('rockglacier:attributes', {'INPUT': 'rg.gpkg', 'DEM': 'dem.tif', 'OUTPUT': 'TEMPORARY_OUTPUT'},
    feedback=Feedback())
except QgsProcessingException as exc:
    print('RAISED:', exc)
""",
    )
    z, gt = plane_dem(20, 10.0, (600000.0, 5200000.0), 20.0, 90.0)
    write_raster(tmp_path / "dem.tif", z, gt)
    write_polygons(tmp_path / "rg.gpkg", [square_wkt(600100.0, 5199900.0, 50.0)])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert (
        "algorithms: ['rockglacier:adaptmodel', 'rockglacier:attributes', 'rockglacier:evaluate', "
        "'rockglacier:featuretracking', 'rockglacier:insarvelocity', 'rockglacier:movingareas', 'rockglacier:report', "
        "'rockglacier:rgikexport', 'rockglacier:rgvexport', 'rockglacier:segment', 'rockglacier:trainingpatches', "
        "'rockglacier:unwrap']" in completed.stdout
    ), completed.stdout + completed.stderr
    messages = "\n".join(line for line in completed.stdout.splitlines() if line.startswith(("MESSAGE:", "RAISED:")))
    assert "rockglacier:attributes needs the Python module 'osgeo.gdal_array'" in messages, completed.stdout + completed.stderr
    assert "apt-get install python3-gdal" in messages
    assert "Traceback" not in completed.stderr


def test_missing_snaphu__unwrap_names_the_package_and_the_pip_command(tmp_path):
    import numpy as np
    from osgeo import gdal

    ds = gdal.GetDriverByName("GTiff").Create(str(tmp_path / "igram.tif"), 8, 8, 1, gdal.GDT_CFloat32)
    ds.SetGeoTransform((600000, 10, 0, 5200000, 0, -10))
    ds.GetRasterBand(1).WriteArray(np.ones((8, 8), np.complex64))
    ds = None
    write_raster(tmp_path / "coh.tif", np.full((8, 8), 0.8), (600000, 10, 0, 5200000, 0, -10))
    script = qgis_script_blocking(
        "snaphu",
        """
from qgis.core import QgsProcessingFeedback
class Log(QgsProcessingFeedback):
    def pushInfo(self, info):
        print('INFO:', info)
try:
    processing.run('rockglacier:unwrap', {'INPUT': 'igram.tif', 'COHERENCE': 'coh.tif', 'OUTPUT': 'unw.tif', 'COMPONENTS':
    'cc.tif'},
                   feedback=Log())
except QgsProcessingException as exc:
    print('RAISED:', exc)
""",
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert "RAISED: rockglacier:unwrap needs the Python module 'snaphu'" in completed.stdout, completed.stdout + completed.stderr
    assert 'pip install --user --break-system-packages "snaphu" "numpy==' in completed.stdout  # NumPy held where it is
    assert not (tmp_path / "unw.tif").exists()
    # the log also carries the whole installation report, as the plugin menu's "Check installation"
    assert "MISSING snaphu" in completed.stdout and "OK      onnxruntime" in completed.stdout
