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


def _imported_modules(path: Path, package: str) -> set:
    """Absolute names of the rockglacier_plugin modules a source file imports (relative imports resolved)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[:-node.level]
                name = ".".join(base + ((node.module,) if node.module else ()))
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith(package)}


def test_adapters__processing_and_gui_never_import_each_other():
    """The two QGIS adapters share helpers through ``qgis_shared``, never through each other: a Processing
    error type raised inside the dock, or the dock's Qt code loaded by qgis_process, cannot happen."""
    crossings = []
    for adapter, other in (("processing", "gui"), ("gui", "processing")):
        for path in (ROOT / "rockglacier_plugin" / adapter).rglob("*.py"):
            for name in _imported_modules(path, f"rockglacier_plugin.{other}"):
                crossings.append(f"{path.relative_to(ROOT)} imports {name}")
    assert crossings == [], "move what both need to rockglacier_plugin/qgis_shared: " + "; ".join(crossings)


def test_qgis_shared__imports_neither_adapter():
    """``qgis_shared`` sits below both adapters (the core's own direction is tests/core/test_core_independence.py)."""
    offending = [f"{path.relative_to(ROOT)} imports {name}" for path in (ROOT / "rockglacier_plugin" / "qgis_shared").rglob("*.py")
                 for adapter in ("processing", "gui") for name in _imported_modules(path, f"rockglacier_plugin.{adapter}")]
    assert offending == []


def test_doctests__every_file_with_one_is_collected_by_make_test():
    """A doctest outside the paths `make test` gives pytest never runs (region/merge.py's did not)."""
    import re

    line = next(line for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines() if line.strip().startswith("$(PY) -m pytest tests"))
    collected = [part for part in re.findall(r"\S+", line.split("pytest", 1)[1]) if not part.startswith("-")]
    missing = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "dist/", "demo_data/", "bench_data/", "sample_data/")) or ">>> " not in path.read_text(encoding="utf-8"):
            continue
        if not any(relative == c or relative.startswith(c.rstrip("/") + "/") for c in collected):
            missing.append(relative)
    assert missing == [], "add their folders to `make test`: " + ", ".join(missing)
