"""Training tests need PyTorch and segmentation-models-pytorch (installed by `make setup`)."""

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed; run `make setup`")
pytest.importorskip("segmentation_models_pytorch", reason="segmentation-models-pytorch is not installed; run `make setup`")
