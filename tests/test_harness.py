"""The test harness itself: under CI a missing shared dataset or set-up package fails, locally it skips."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import pytest
from tests.conftest import require_module, shared_dataset  # noqa: F401 (the fixture)

def test_needs_a_missing_package():
    require_module("a_package_that_does_not_exist_here")

def test_needs_missing_shared_data(shared_dataset):
    shared_dataset("no-such-dataset")
"""


def _run(tmp_path, ci):
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {"PATH": "/usr/bin:/bin", "CI": ci, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT),
            "--confcutdir",
            str(ROOT / "tests"),
            str(probe),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )


def test_harness__missing_data_and_packages_fail_under_ci(tmp_path):
    result = _run(tmp_path, "true")
    assert result.returncode == 1 and "2 failed" in result.stdout, result.stdout[-2000:]


def test_harness__missing_data_and_packages_skip_locally(tmp_path):
    result = _run(tmp_path, "")
    assert result.returncode == 0 and "2 skipped" in result.stdout, result.stdout[-2000:]


def _needs_training_env(node, fixtures: dict) -> bool:
    """Whether a test (or a fixture it asks for) needs PyTorch or .venv's Python."""
    import ast

    text = ast.unparse(node)
    if 'require_module("torch"' in text or "require_module('torch'" in text or "'.venv'" in text or '".venv"' in text:
        return True
    return any(_needs_training_env(fixtures[a.arg], fixtures) for a in node.args.args if a.arg in fixtures)


def test_harness__every_real_qgis_test_that_needs_pytorch_is_marked_for_the_chroots_to_deselect():
    """The QGIS chroots (make test-qgis, under CI) have no PyTorch and no .venv and run `-m "not training_env"`: a test
    there that needs either must carry the marker, or CI fails it as a missing package."""
    import ast
    from pathlib import Path

    unmarked = []
    for path in sorted((Path(__file__).parent / "qgis").glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        fixtures = {f.name: f for f in functions if any("fixture" in ast.unparse(d) for d in f.decorator_list)}
        for function in functions:
            if function.name.startswith("test_") and _needs_training_env(function, fixtures):
                if not any("training_env" in ast.unparse(d) for d in function.decorator_list):
                    unmarked.append(f"{path.name}::{function.name}")
    assert not unmarked, f"needs PyTorch or .venv but not marked @pytest.mark.training_env: {unmarked}"
    assert "training_env" in (Path(__file__).parents[1] / "tools" / "test_in_chroot.sh").read_text()
