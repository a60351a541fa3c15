#!/usr/bin/env bash
# `make demo`: the whole workflow on a seeded synthetic scene, step by step through the same
# qgis_process commands a user types: mapping, evaluation, attributes, velocities, report, RGIK export.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
rm -rf demo_data
.venv/bin/python -m tools.make_demo_data demo_data
cd demo_data
mkdir -p outputs/report

run() {  # echo the command as a user would type it, run it, keep the log's useful lines
  echo; echo "+ qgis_process run $*"
  qgis_process run "$@" > outputs/last.log 2>&1 || { cat outputs/last.log; exit 1; }
  grep -vE '^QStandardPaths|^$|^(Inputs|Results)$|^[A-Z0-9_]+:|DeprecationWarning|^---' outputs/last.log | tail -n 6 || true
}

echo; echo "== 1. Deep-learning mapping with the default model =="
run rockglacier:segment -- INPUT=image.tif MIN_AREA_KM2=0.03 ID_PREFIX=cand PROBABILITY=outputs/probability.tif \
  MASK=outputs/mask.tif OUTPUT=outputs/candidates.gpkg
echo; echo "== 2. Evaluation of the candidates against the generator's outlines =="
run rockglacier:evaluate -- CANDIDATES=outputs/candidates.gpkg REFERENCE=outlines.gpkg MAPPED_RASTER=outputs/mask.tif \
  OUTPUT=outputs/candidates_evaluated.gpkg REFERENCE_OUTPUT=outputs/reference_evaluated.gpkg SUMMARY=outputs/evaluation_summary.csv
echo; echo "== 3. Attributes and upslope-connection suggestion from the DEM and glacier outlines =="
run rockglacier:attributes -- INPUT=outlines.gpkg DEM=dem.tif GLACIERS=glaciers.gpkg OUTPUT=outputs/attributes.gpkg
echo; echo "== 4. InSAR downslope velocities (ALOS-1-like 46-day pair) =="
run rockglacier:insarvelocity -- "INPUT=outputs/attributes.gpkg|layername=rock_glaciers" UNWRAPPED=20070716_20070831_unw.tif \
  COHERENCE=coherence.tif DEM=dem.tif INCIDENCE_DEG=38.7 LOS_AZIMUTH_DEG=102 SENSOR=0 OUTPUT=outputs/inventory.gpkg \
  REFERENCE_POINTS_OUTPUT=outputs/inventory.gpkg VELOCITY_PAIRS=outputs/inventory.gpkg VELOCITY_DOWNSLOPE=outputs/velocity_downslope.tif
echo; echo "== 5. Report: Tables 2 and 3, figures =="
run rockglacier:report -- "INPUT=outputs/inventory.gpkg|layername=rock_glaciers" DEM=dem.tif OUTPUT=outputs/report/report.html \
  CLASS_TABLE=outputs/report_class_table.csv VELOCITY_TABLE=outputs/report_velocity_table.csv
echo; echo "== 6. RGIK export (templates PM, MA, GO) and Rock Glacier Velocity =="
run rockglacier:rgikexport -- "INPUT=outputs/inventory.gpkg|layername=rock_glaciers" VELOCITY_RASTERS=outputs/velocity_downslope.tif \
  OUTPUT=outputs/rgik.gpkg
run rockglacier:rgvexport -- "INPUT=outputs/inventory.gpkg|layername=rock_glaciers" "VELOCITY_PAIRS=outputs/inventory.gpkg|layername=velocity_pairs" \
  OUTPUT=outputs/rgv.gpkg LEFT_OUT=outputs/rgv_left_out.gpkg
echo; echo "== 7. The paper's combined route: InSAR first, deep learning for what InSAR misses =="
echo "-- 7a. Moving-area candidates from the interferogram (no inventory yet)"
run rockglacier:movingareas -- UNWRAPPED=20070716_20070831_unw.tif COHERENCE=coherence.tif DEM=dem.tif INCIDENCE_DEG=38.7 \
  LOS_AZIMUTH_DEG=102 SENSOR=0 GLACIERS=glaciers.gpkg OUTPUT=outputs/insar_candidates.gpkg VELOCITY_CLASS=outputs/insar_classes.tif
echo "-- 7b. Review in the dock (here a stand-in: tools/demo_review.py keeps and outlines those on a rock glacier)"
../.venv/bin/python ../tools/demo_review.py outputs/insar_candidates.gpkg outlines.gpkg outputs/insar_reviewed.gpkg
echo "-- 7c. The reviewed InSAR landforms adapt the segmentation model to this scene (1-minute budget for the demo)"
run rockglacier:adaptmodel -- INPUT=image.tif "INVENTORY=outputs/insar_reviewed.gpkg|layername=rock_glaciers" MAX_MINUTES=1 \
  OUTPUT_MODEL=outputs/adapted.onnx
echo "-- 7d. Deep-learning candidates with the adapted model; EXISTING marks those InSAR already has"
run native:extractbyexpression -- "INPUT=outputs/insar_reviewed.gpkg|layername=rock_glaciers" "EXPRESSION=\"review\" IN ('accepted','modified')" \
  OUTPUT=outputs/insar_kept.gpkg
run rockglacier:segment -- INPUT=image.tif MODEL=outputs/adapted.onnx MIN_AREA_KM2=0.03 ID_PREFIX=dl EXISTING=outputs/insar_kept.gpkg \
  PROBABILITY=outputs/adapted_probability.tif MASK=outputs/adapted_mask.tif OUTPUT=outputs/dl_candidates.gpkg
run native:extractbyexpression -- "INPUT=outputs/dl_candidates.gpkg|layername=rock_glaciers" "EXPRESSION=\"match_rg_id\" IS NULL" \
  OUTPUT=outputs/dl_new.gpkg
echo "-- 7e. One inventory: the InSAR landforms and the deep-learning candidates InSAR missed (to review in the dock)"
run native:mergevectorlayers -- LAYERS=outputs/insar_kept.gpkg LAYERS=outputs/dl_new.gpkg OUTPUT=outputs/combined_inventory.gpkg
run rockglacier:evaluate -- CANDIDATES=outputs/combined_inventory.gpkg REFERENCE=outlines.gpkg OUTPUT=outputs/combined_evaluated.gpkg \
  SUMMARY=outputs/combined_summary.csv
rm -f outputs/last.log
cd ..
.venv/bin/python tools/demo_summary.py demo_data
echo; echo "Demo finished in $(( $(date +%s) - start )) s."
