#!/usr/bin/env bash
# Idempotent set-up on Debian 12 (QGIS 3.22, NumPy 1.24, Python 3.11) or Debian 13 (QGIS 3.40, NumPy 2.2, Python 3.13),
# as root: QGIS, the .venv, the qgis_process command, and the plugin installed and enabled in the default QGIS
# profile. Run by `make setup`. The .venv's NumPy is pinned to the system's: QGIS's GDAL bindings and Debian's SciPy
# are built against it (tools/qgis_chroot.sh 3.40 shows make setup, make test and make demo on Debian 13).
set -euo pipefail
cd "$(dirname "$0")/.."
SYSTEM_PYTHON=/usr/bin/python3

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "Need root for: $*"; exit 1; fi
}

# 1. QGIS (Debian's 3.22 LTR) with its Python bindings and qgis_process.
if ! $SYSTEM_PYTHON -c "import qgis.core, scipy, pyproj, matplotlib, h5py" >/dev/null 2>&1 || [ ! -x /usr/bin/qgis_process.bin ] \
   || ! $SYSTEM_PYTHON -m pip --version >/dev/null 2>&1 || ! $SYSTEM_PYTHON -c "import ensurepip" >/dev/null 2>&1 \
   || ! command -v xvfb-run >/dev/null 2>&1; then
  echo "[setup] installing QGIS from apt (qgis python3-qgis python3-pip python3-venv python3-scipy python3-pyproj python3-matplotlib python3-h5py gdal-bin xvfb)..."
  as_root apt-get update -qq
  # xvfb: the real QGIS desktop runs in the tests on a virtual screen
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qgis python3-qgis python3-pip python3-venv \
    python3-scipy python3-pyproj python3-matplotlib python3-h5py gdal-bin xvfb xauth >/dev/null
fi

# 1b. HDF5 (MintPy, LiCSBAS products) must be read with Debian's h5py, built against the same libhdf5
#     as QGIS's GDAL: a pip h5py wheel brings its own libhdf5, and the two in one process fail
#     ("Not a datatype"). Remove pip copies an earlier set-up installed.
for pip_python in "$SYSTEM_PYTHON" .venv/bin/python; do
  if [ -x "$pip_python" ] && "$pip_python" -m pip show h5py 2>/dev/null | grep -q "^Location: .*\(\.local\|\.venv\)"; then
    echo "[setup] removing the pip h5py from $pip_python (Debian's python3-h5py is used)"
    "$pip_python" -m pip uninstall -y -q h5py --break-system-packages 2>/dev/null || "$pip_python" -m pip uninstall -y -q h5py
  fi
done

# 2. The virtual environment: sees QGIS through --system-site-packages; pinned extras on top.
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  $SYSTEM_PYTHON -m venv --system-site-packages .venv
fi
# PyTorch for a machine without an NVIDIA GPU: PyPI's Linux torch is the CUDA build (3.4 GB with its nvidia-* packages
# and triton), so the same pinned version's CPU build (tagged +cpu, about 190 MB) is installed first from PyTorch's CPU
# wheel index; the requirements then find it satisfied. ROCKGLACIER_TORCH=cuda or cpu overrides the detection. Where that
# index cannot be reached, the pinned build comes from the usual indexes, and the log says so.
TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
torch_build=${ROCKGLACIER_TORCH:-}
if [ -z "$torch_build" ]; then
  if [ -e /proc/driver/nvidia/version ] || { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }; then
    torch_build=cuda
  else
    torch_build=cpu
  fi
fi
install_cpu_torch() {  # $1: constraints file
  local torch_pins
  torch_pins=$(grep -E '^(torch|torchvision)==' requirements-training.txt | tr '\n' ' ')
  if ! $SYSTEM_PYTHON -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1] + '/torch/', timeout=10)" "$TORCH_CPU_INDEX" \
       >/dev/null 2>&1; then
    echo "[setup] PyTorch's CPU index ($TORCH_CPU_INDEX) cannot be reached from here: the pinned torch comes from the usual" \
         "indexes (on Linux x86_64 from PyPI: the CUDA build, about 3.4 GB)"
    return 0
  fi
  echo "[setup] no NVIDIA GPU: PyTorch's CPU build ($torch_pins) from $TORCH_CPU_INDEX (about 190 MB to download)"
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install -q --disable-pip-version-check $torch_pins -c "$1" --extra-index-url "$TORCH_CPU_INDEX"
}
system_numpy=$($SYSTEM_PYTHON -c 'import numpy; print(numpy.__version__)')
requirements_hash=$( (cat requirements-dev.txt requirements-training.txt; echo "numpy==$system_numpy") | sha256sum | cut -c1-16)
if [ ! -f ".setup-stamp-dev-$requirements_hash" ]; then
  echo "[setup] installing requirements-dev.txt and requirements-training.txt into .venv, NumPy held at the system's $system_numpy"
  [ "$torch_build" = cuda ] && echo "[setup] an NVIDIA GPU: PyTorch's CUDA build (about 3.4 GB to download; ROCKGLACIER_TORCH=cpu for the CPU build)"
  constraints=$(mktemp)
  echo "numpy==$system_numpy" > "$constraints"
  if [ "$torch_build" = cpu ]; then install_cpu_torch "$constraints"; fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt -r requirements-training.txt -c "$constraints"
  rm -f "$constraints" .setup-stamp-dev-*
  touch ".setup-stamp-dev-$requirements_hash"
fi
.venv/bin/python - "$system_numpy" <<'PY'
import sys

import numpy
import osgeo.gdal_array  # noqa: F401  (QGIS's GDAL bindings load with this NumPy)
import qgis.core  # noqa: F401

assert numpy.__version__ == sys.argv[1], f".venv has NumPy {numpy.__version__}, the system {sys.argv[1]}: rerun make setup"
PY
# The repository on the venv's path, so `.venv/bin/python -m rockglacier_plugin.region` (and `-m training`) run
# from any folder, as the README says.
site_packages=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_path('purelib'))")
echo "$(pwd)" > "$site_packages/rockglacier-repository.pth"

# 2b. The plugin's optional packages for QGIS's own Python (qgis_process, the QGIS app), with
#     numpy held at the system's 1.x so QGIS's GDAL bindings keep working.
qgis_hash=$(cat requirements-qgis.txt | sha256sum | cut -c1-16)
if [ ! -f ".setup-stamp-qgis-$qgis_hash" ]; then
  echo "[setup] installing requirements-qgis.txt for QGIS's Python ($SYSTEM_PYTHON, --user)"
  constraints=$(mktemp)
  echo "numpy==$($SYSTEM_PYTHON -c 'import numpy; print(numpy.__version__)')" > "$constraints"
  $SYSTEM_PYTHON -m pip install -q --disable-pip-version-check --user --break-system-packages \
    -r requirements-qgis.txt -c "$constraints"
  rm -f "$constraints" .setup-stamp-qgis-*
  touch ".setup-stamp-qgis-$qgis_hash"
fi

# 3. A qgis_process that works: Debian's /usr/bin/qgis_process wrapper passes --noversioncheck
#    from /etc/default/qgis, which qgis_process 3.22 rejects. /usr/local/bin comes first on PATH.
if grep -qs -- "--noversioncheck" /etc/default/qgis && [ -x /usr/bin/qgis_process.bin ]; then
  wrapper=/usr/local/bin/qgis_process
  if ! grep -qs "rockglacier" "$wrapper" 2>/dev/null; then
    echo "[setup] installing $wrapper (Debian's wrapper passes an option qgis_process rejects)"
    as_root tee "$wrapper" >/dev/null <<'WRAP'
#!/bin/sh
# Installed by rockglacier's `make setup`. Debian 12's /usr/bin/qgis_process adds
# --noversioncheck (from /etc/default/qgis), which qgis_process rejects; call the binary directly.
if [ -z "$DISPLAY" ] && [ -z "$WAYLAND_DISPLAY" ] && [ -z "$QT_QPA_PLATFORM" ]; then
  export QT_QPA_PLATFORM=offscreen
fi
exec /usr/bin/qgis_process.bin "$@"
WRAP
    as_root chmod 755 "$wrapper"
  fi
fi

# 4. The plugin, zipped and installed into the default profile, enabled for QGIS and qgis_process.
$SYSTEM_PYTHON tools/package.py --out dist >/dev/null
bash tools/install_plugin.sh

# 5. rockglacier:adaptmodel trains in a Python with PyTorch: name the .venv's in the profile's Processing settings
#    (Processing > Options > Providers > Rock glacier inventory), unless the user has named another that exists.
profile_ini="${QGIS_PROFILE_DIR:-$HOME/.local/share/QGIS/QGIS3/profiles/default}/QGIS/QGIS3.ini"
mkdir -p "$(dirname "$profile_ini")"
/usr/bin/python3 - "$profile_ini" "$(pwd)/.venv/bin/python" <<'PY'
import os, sys
from qgis.PyQt.QtCore import QSettings
settings = QSettings(sys.argv[1], QSettings.IniFormat)
key = "Processing/Configuration/ROCKGLACIER_TRAINING_PYTHON"
current = str(settings.value(key, "") or "")
if not current or not os.path.exists(current):
    settings.setValue(key, sys.argv[2])
    settings.sync()
    print(f"[setup] rockglacier:adaptmodel trains with {sys.argv[2]}")
PY
