#!/usr/bin/env bash
# Idempotent set-up on Debian 12 (as root): QGIS, the .venv, the qgis_process command, and the
# plugin installed and enabled in the default QGIS profile. Run by `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
SYSTEM_PYTHON=/usr/bin/python3

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "Need root for: $*"; exit 1; fi
}

# 1. QGIS (Debian's 3.22 LTR) with its Python bindings and qgis_process.
if ! $SYSTEM_PYTHON -c "import qgis.core" >/dev/null 2>&1 || [ ! -x /usr/bin/qgis_process.bin ]; then
  echo "[setup] installing QGIS from apt (qgis python3-qgis)..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qgis python3-qgis python3-venv gdal-bin >/dev/null
fi

# 2. The virtual environment: sees QGIS through --system-site-packages; pinned extras on top.
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  $SYSTEM_PYTHON -m venv --system-site-packages .venv
fi
requirements_hash=$(cat requirements-dev.txt | sha256sum | cut -c1-16)
if [ ! -f ".setup-stamp-$requirements_hash" ]; then
  echo "[setup] installing requirements-dev.txt into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  rm -f .setup-stamp-*
  touch ".setup-stamp-$requirements_hash"
fi
.venv/bin/python -c "import numpy, qgis.core, osgeo.gdal_array; assert numpy.__version__ < '2', numpy.__version__"

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
