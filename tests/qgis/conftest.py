"""Every test in this folder runs inside a real headless QGIS."""

import pytest

from tests.qgis_session import start_qgis


@pytest.fixture(scope="session", autouse=True)
def qgis_app():
    return start_qgis()
