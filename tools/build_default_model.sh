#!/usr/bin/env bash
# Reproduce the default model shipped in rockglacier_plugin/models (about 35 minutes on 2 CPU
# cores): train on ../shared/datasets/alcazar90-rockglacier-chile, export to ONNX (float32, and
# int8 for comparison), and write the model card from measured validation scores.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m training train --config training/configs/default_chile.json
.venv/bin/python -m training export --checkpoint runs/chile/best.pt --output runs/chile/model.onnx --int8
cp runs/chile/model.onnx rockglacier_plugin/models/rockglacier_default.onnx
.venv/bin/python training/model_card.py --checkpoint runs/chile/best.pt --onnx rockglacier_plugin/models/rockglacier_default.onnx \
  --int8 runs/chile/model_int8.onnx --out-dir rockglacier_plugin/models
