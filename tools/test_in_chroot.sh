#!/usr/bin/env bash
# Runs inside tools/qgis_chroot.sh's chroot (at /repo): the packaged plugin zip installed into a fresh QGIS
# profile, then the real-QGIS tests (Processing, qgis_process, the desktop under Xvfb) with QGIS's own Python.
# Extra arguments go to pytest.
set -euo pipefail
cd /repo
python3 - <<'PY'
import numpy, sys
from qgis.core import Qgis
print(f"[chroot] QGIS {Qgis.QGIS_VERSION}, Python {sys.version.split()[0]}, NumPy {numpy.__version__}")
PY
python3 tools/package.py --out dist >/dev/null
bash tools/install_plugin.sh
# The tests call what a user types: `qgis_process` (Debian's wrapper) and QGIS's Python; no .venv and no PyTorch
# here, so the tests marked training_env (make test runs them on QGIS 3.22 with .venv) are deselected.
python3 -m pytest -p no:cacheprovider -m "not training_env" tests/qgis tests/test_qt6_ready.py "$@"
