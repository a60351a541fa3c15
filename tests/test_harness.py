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
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                           "--confcutdir", str(ROOT / "tests"), str(probe)],
                          capture_output=True, text=True, cwd=ROOT, env=env)


def test_harness__missing_data_and_packages_fail_under_ci(tmp_path):
    result = _run(tmp_path, "true")
    assert result.returncode == 1 and "2 failed" in result.stdout, result.stdout[-2000:]


def test_harness__missing_data_and_packages_skip_locally(tmp_path):
    result = _run(tmp_path, "")
    assert result.returncode == 0 and "2 skipped" in result.stdout, result.stdout[-2000:]
