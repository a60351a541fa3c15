"""Missing optional packages: a message naming the module and the command that installs it."""

import pytest

from rockglacier_plugin.core.dependencies import qgis_python_install_command, require
from rockglacier_plugin.core.errors import MissingDependencyError


def test_require__returns_an_importable_module():
    assert require("json", "json", "test").dumps([1]) == "[1]"


def test_require__missing_package_names_it_and_the_pip_command():
    with pytest.raises(MissingDependencyError) as caught:
        require("rockglacier_no_such_module", "rockglacier-no-such>=1", "rockglacier:segment")
    message = str(caught.value)
    assert "rockglacier:segment needs the Python module 'rockglacier_no_such_module'" in message
    assert 'pip install --user --break-system-packages "rockglacier-no-such>=1" "numpy<2"' in message
    assert isinstance(caught.value, ImportError)


def test_install_command__pins_numpy_below_2_on_linux():
    assert '"numpy<2"' in qgis_python_install_command("onnxruntime")


def test_installation_report__names_each_optional_package_with_its_state_and_the_fix(monkeypatch):
    from rockglacier_plugin.core import dependencies

    monkeypatch.setattr(dependencies, "OPTIONAL_PACKAGES", dependencies.OPTIONAL_PACKAGES + (
        ("a_package_nobody_has", "a-package-nobody-has", "a test"),))
    text = dependencies.installation_text()
    assert "OK      onnxruntime" in text and "CPUExecutionProvider" in text.split("execution providers")[1]
    assert "no GPU provider" in text and "onnxruntime-gpu" in text
    assert "MISSING a_package_nobody_has: missing: needed for a test." in text
    assert 'pip install --user --break-system-packages "a-package-nobody-has"' in text
