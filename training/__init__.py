"""Training package (PyTorch): patches, augmentation, DeepLabv3+ training, evaluation, ONNX export.

Not implemented yet (issue: training/). It will import the plugin's QGIS-free core for what both
sides share (input scaling, metadata keys, class names) and never the plugin's QGIS layers.
"""
