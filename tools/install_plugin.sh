#!/usr/bin/env bash
# Install the plugin zip into the default QGIS profile as "Install from ZIP" would, and enable it
# for QGIS and qgis_process; the QGIS 4 (Qt6) profile gets it too when that folder exists.
# Usage: tools/install_plugin.sh [zip]
set -euo pipefail
cd "$(dirname "$0")/.."
zip_path="${1:-$(ls -t dist/rockglacier_plugin-*.zip | head -n 1)}"
profiles=("${QGIS_PROFILE_DIR:-$HOME/.local/share/QGIS/QGIS3/profiles/default}")
qgis4="$HOME/.local/share/QGIS/QGIS4/profiles/default"
if [ -z "${QGIS_PROFILE_DIR:-}" ] && [ -d "$(dirname "$qgis4")" ]; then
  profiles+=("$qgis4")
fi
for profile in "${profiles[@]}"; do
  plugins="$profile/python/plugins"
  mkdir -p "$plugins"
  rm -rf "$plugins/rockglacier_plugin"
  /usr/bin/python3 - "$zip_path" "$plugins" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
  echo "Installed rockglacier_plugin in $plugins"
done
log=$(mktemp)
if ! QT_QPA_PLATFORM=offscreen /usr/bin/qgis_process.bin plugins enable rockglacier_plugin >"$log" 2>&1; then
  if ! grep -q "already enabled" "$log"; then
    cat "$log"; echo "Enabling the plugin for qgis_process failed (log above)."; rm -f "$log"; exit 1
  fi
fi
rm -f "$log"
echo "Enabled rockglacier_plugin for QGIS and qgis_process"
