"""Which shipped model segment runs when MODEL is empty."""

from rockglacier_plugin.core.mapping.onnx_model import (
    DEFAULT_INT8_NAME,
    DEFAULT_MODEL_NAME,
    Device,
    default_model_path,
)


def test_default_model_path__int8_copy_on_the_cpu_when_shipped_and_the_note_names_the_float_file(tmp_path):
    (tmp_path / DEFAULT_MODEL_NAME).write_bytes(b"float")
    path, note = default_model_path(str(tmp_path), Device.CPU)
    assert path == str(tmp_path / DEFAULT_MODEL_NAME) and "float32" in note
    (tmp_path / DEFAULT_INT8_NAME).write_bytes(b"int8")
    path, note = default_model_path(str(tmp_path), Device.CPU)
    assert path == str(tmp_path / DEFAULT_INT8_NAME)
    assert "int8" in note and str(tmp_path / DEFAULT_MODEL_NAME) in note  # how to get float32 instead
