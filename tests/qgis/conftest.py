"""Every test in this folder runs inside a real headless QGIS, started once at collection so the
test modules can import ``processing``."""

import pytest

from tests.qgis_session import start_qgis

_APP = start_qgis()


@pytest.fixture(scope="session", autouse=True)
def qgis_app():
    return _APP
