#!/usr/bin/env bash
# `make demo`: the main job on the bundled sample scene, through the same qgis_process command a
# user types, then a summary of the inventory it wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python tools/make_sample_data.py sample_data
cd sample_data
rm -f inventory.gpkg
echo "+ qgis_process run rockglacier:attributes -- INPUT=rock_glaciers.gpkg DEM=dem_utm44n.tif GLACIERS=glaciers.gpkg ID_PREFIX=wkl OUTPUT=inventory.gpkg"
qgis_process run rockglacier:attributes -- INPUT=rock_glaciers.gpkg DEM=dem_utm44n.tif \
  GLACIERS=glaciers.gpkg ID_PREFIX=wkl OUTPUT=inventory.gpkg 2>&1 | grep -v "^QStandardPaths" | tail -n 12
cd ..
.venv/bin/python tools/summarize_inventory.py sample_data/inventory.gpkg
