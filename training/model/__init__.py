"""The model: the DeepLabv3+ architecture (``architecture``), weights read back from ONNX (``onnx_weights``), the
imagery rendering it was trained on (``rendering``), and checkpoints: a config's ModelSpec and model, loading
(``checkpoints``)."""
