"""Shared test set-up: the repository on sys.path, warnings as errors, shared/ data location."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Debian 13's pyproj (3.7) looks for PROJ's data under sys.prefix, which in a venv is the venv: name Debian's
# proj-data folder (the tests use pyproj as an independent oracle; the plugin itself does not use it).
if "PROJ_DATA" not in os.environ and sys.prefix != sys.base_prefix and Path("/usr/share/proj/proj.db").exists():
    os.environ["PROJ_DATA"] = "/usr/share/proj"

SHARED_DATASETS = Path(os.environ.get("ROCKGLACIER_SHARED", ROOT.parent / "shared")) / "datasets"
#: CI always has ../shared and every package `make setup` installs: there a missing one is a failure.
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip locally, fail under CI (where the thing is always there, so its absence is a defect)."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must be present, so the test fails instead of skipping)")
    pytest.skip(reason)


def require_module(name: str, reason: str = "") -> object:
    """Import a package that `make setup` installs; skip locally when absent, fail under CI."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        missing(reason or f"{name} is not installed; run `make setup`")
        raise  # not reached: missing() raises


@pytest.fixture(scope="session")
def shared_dataset():
    """Path of a folder under ../shared/datasets; skips locally when absent, fails under CI."""

    def _get(name: str) -> Path:
        path = SHARED_DATASETS / name
        if not path.exists():
            missing(f"../shared/datasets/{name} is not available on this machine")
        return path

    return _get


#: Scripts that run inside another program (the QGIS desktop), not modules to import or doctest here.
collect_ignore = ["qgis/desktop_startup.py"]

_EXIT_STATUS: Optional[int] = None


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001 (pytest's signature)
    global _EXIT_STATUS
    _EXIT_STATUS = int(exitstatus)


def pytest_unconfigure(config):  # noqa: ARG001
    """Leave at once when a QGIS application ran in this process, after pytest has printed its summary.

    A headless QgsApplication torn down by the interpreter (Qt objects and worker threads destroyed
    in no set order) can crash after every test has passed ("QThreadStorage: Thread exited after
    QThreadStorage destroyed", then a segmentation fault), which would turn a green run red. The
    exit status is pytest's own.
    """
    session_module = sys.modules.get("tests.qgis_session")
    if _EXIT_STATUS is not None and session_module is not None and getattr(session_module, "_APP", None) is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS)
