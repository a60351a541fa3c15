"""Training tests need PyTorch and segmentation-models-pytorch (installed by `make setup`): under
CI their absence fails the run instead of skipping it."""

from tests.conftest import require_module

torch = require_module("torch", "PyTorch is not installed; run `make setup`")
require_module("segmentation_models_pytorch", "segmentation-models-pytorch is not installed; run `make setup`")
