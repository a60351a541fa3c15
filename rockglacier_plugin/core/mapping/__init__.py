"""Deep-learning mapping: ONNX model metadata shared with the training package, input scaling, the
ONNX model, tiling and blending, whole-scene segmentation, candidate polygons and training
patches (``rockglacier:segment``, ``rockglacier:trainingpatches``).

May import: the foundation (``core.raster``), the core root and ``core.inventory`` (ids and
schema of the candidates it writes). Never torch: the training package imports this package,
not the reverse.
"""
