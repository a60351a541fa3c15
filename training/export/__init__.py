"""ONNX export: the export with its parity check and int8 copy (``onnx_export``), and the static padding that makes
the graph foldable (``static_padding``)."""
