"""mypy over the QGIS-free core and the region command, at the strictness pyproject.toml states (every
function annotated, every body checked, None handled where a type allows it)."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import require_module

ROOT = Path(__file__).resolve().parents[1]


def test_core_and_region__mypy_finds_no_type_error():
    require_module("mypy", "mypy is not installed; run `make setup`")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "rockglacier_plugin/core", "rockglacier_plugin/region"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_mypy_settings__are_the_stated_strictness():
    """The strictness is a promise in the README: a relaxed setting fails here, not silently."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for setting in (
        "check_untyped_defs = true",
        "disallow_untyped_defs = true",
        "disallow_incomplete_defs = true",
        "strict_optional = true",
        "no_implicit_optional = true",
        "warn_unused_ignores = true",
    ):
        assert setting in text, setting
