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

# InSAR kinematics on a synthetic 46-day ALOS-1 pair with known creep (cone with five lobes).
rm -rf sample_data/insar
.venv/bin/python tools/make_insar_sample.py sample_data/insar
cd sample_data/insar
rm -f velocities.gpkg
echo "+ qgis_process run rockglacier:insarvelocity -- INPUT=landforms.gpkg UNWRAPPED=20070716_20070831_unw.tif COHERENCE=coherence.tif DEM=dem.tif INCIDENCE_DEG=38.7 LOS_AZIMUTH_DEG=102 SENSOR=0 OUTPUT=velocities.gpkg"
qgis_process run rockglacier:insarvelocity -- INPUT=landforms.gpkg UNWRAPPED=20070716_20070831_unw.tif \
  COHERENCE=coherence.tif DEM=dem.tif INCIDENCE_DEG=38.7 LOS_AZIMUTH_DEG=102 SENSOR=0 \
  OUTPUT=velocities.gpkg 2>&1 | grep -E "rad =|criteria|vel_ok = 0" | head -n 8
cd ../..
.venv/bin/python - <<'PY'
import json
from osgeo import ogr
ogr.UseExceptions()
truth = json.load(open("sample_data/insar/truth.json"))
dataset = ogr.Open("sample_data/insar/velocities.gpkg")
print(f"\n{'rg_id':>8} {'true cm/yr':>11} {'vel_dslp_cm_yr':>15} {'vel_err_cm_yr':>14} {'vel_ok':>7}  kin_class / vel_reason")
for f in dataset.GetLayerByName("rock_glaciers"):
    v, e = f["vel_dslp_cm_yr"], f["vel_err_cm_yr"]
    print(f"{f['rg_id']:>8} {truth[f['rg_id']]:11.1f} {v if v is None else round(v, 1)!s:>15} {e if e is None else round(e, 2)!s:>14} "
          f"{f['vel_ok']:>7}  {f['kin_class']} {f['vel_reason'] or ''}")
PY
