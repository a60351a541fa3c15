"""The code's shape: no undefined names or unused imports (ruff F, I), and no function a reader
cannot hold in mind (over 80 lines) in the plugin or the training package."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_module

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80


def test_functions__none_longer_than_80_lines():
    long = []
    for package in ("rockglacier_plugin", "training"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == [], "split these into named steps: " + "; ".join(long)


def test_sources__ruff_finds_no_undefined_name_unused_import_or_unsorted_imports():
    require_module("ruff", "ruff is not installed; run `make setup`")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "F,I", "--no-cache",
                             "rockglacier_plugin", "training", "tests", "benchmarks", "tools"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-4000:]
