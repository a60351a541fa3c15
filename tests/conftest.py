"""Shared test set-up: the repository on sys.path, warnings as errors, shared/ data location."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED_DATASETS = Path(os.environ.get("ROCKGLACIER_SHARED", ROOT.parent / "shared")) / "datasets"


@pytest.fixture
def shared_dataset():
    """Path of a folder under ../shared/datasets, skipping the test when it is absent."""

    def _get(name: str) -> Path:
        path = SHARED_DATASETS / name
        if not path.exists():
            pytest.skip(f"../shared/datasets/{name} is not available on this machine")
        return path

    return _get
