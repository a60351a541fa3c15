"""Missing optional packages: a message naming the module and the command that installs it."""

import numpy
import pytest

from rockglacier_plugin.core.dependencies import (
    PythonLayout,
    distribution_package,
    qgis_python_install_command,
    require,
)
from rockglacier_plugin.core.errors import MissingDependencyError


def test_require__returns_an_importable_module():
    assert require("json", "json", "test").dumps([1]) == "[1]"


def test_require__missing_package_names_it_and_the_pip_command():
    with pytest.raises(MissingDependencyError) as caught:
        require("rockglacier_no_such_module", "rockglacier-no-such>=1", "rockglacier:segment")
    message = str(caught.value)
    assert "rockglacier:segment needs the Python module 'rockglacier_no_such_module'" in message
    assert f'"rockglacier-no-such>=1" "numpy=={numpy.__version__}"' in message  # the NumPy this Python runs, held
    assert isinstance(caught.value, ImportError)


DEBIAN_13 = (("ID", "debian"), ("VERSION_ID", "13"))
UBUNTU = (("ID", "ubuntu"), ("ID_LIKE", "debian"))


def test_install_command__debian_names_the_system_python_not_the_first_python3_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "/root/.pyenv/shims:/usr/bin")  # a pyenv or conda python3 first on PATH changes nothing
    layout = PythonLayout("linux", "/usr", (3, 11), "1.24.2", False, True, DEBIAN_13)
    command = qgis_python_install_command("onnxruntime", layout)
    assert command.startswith("/usr/bin/python3") and "pyenv" not in command
    assert command.endswith('-m pip install --user --break-system-packages "onnxruntime" "numpy==1.24.2"')


def test_install_command__qgis_344_on_numpy_2_never_pins_numpy_below_2():
    layout = PythonLayout("linux", "/usr", (3, 13), "2.4.1", False, True, DEBIAN_13)
    command = qgis_python_install_command("onnxruntime", layout)
    assert '"numpy==2.4.1"' in command and "numpy<2" not in command


def test_install_command__windows_osgeo4w_shell_and_its_python():
    layout = PythonLayout("win32", "C:\\OSGeo4W\\apps\\Python312", (3, 12), "1.26.4", False, False)
    command = qgis_python_install_command("h5py", layout)
    assert command.startswith('in the "OSGeo4W Shell"') and "C:\\OSGeo4W\\apps\\Python312\\python.exe" in command
    assert command.endswith('python -m pip install "h5py" "numpy==1.26.4"')


def test_install_command__macos_bundle_python():
    prefix = "/Applications/QGIS-LTR.app/Contents/Frameworks/Python.framework/Versions/3.9"
    layout = PythonLayout("darwin", prefix, (3, 9), "1.23.5", False, False)
    command = qgis_python_install_command("onnxruntime", layout)
    assert command.startswith(prefix + "/bin/python3") and '--user "onnxruntime" "numpy==1.23.5"' in command
    assert "--break-system-packages" not in command


def test_install_command__conda_qgis_uses_conda_forge_into_its_own_environment():
    layout = PythonLayout("linux", "/home/u/miniforge3/envs/qgis", (3, 12), "2.2.6", True, False)
    assert qgis_python_install_command("onnxruntime", layout) == (
        'conda install -p "/home/u/miniforge3/envs/qgis" -c conda-forge "onnxruntime" "numpy=2.2.6"'
    )


def test_install_command__debian_13_proposes_python3_onnxruntime_before_pip():
    layout = PythonLayout("linux", "/usr", (3, 13), "2.2.4", False, True, DEBIAN_13)
    package = distribution_package("onnxruntime", layout, offers=lambda name: name == "python3-onnxruntime")
    command = qgis_python_install_command("onnxruntime", layout, package)
    assert command.startswith("sudo apt install python3-onnxruntime") and "or /usr/bin/python3" in command
    # where apt has no such package (Debian 12), or QGIS is not the system's Python, pip alone
    assert distribution_package("onnxruntime", layout, offers=lambda name: False) is None
    assert (
        distribution_package(
            "onnxruntime", PythonLayout("linux", "/opt/qgis", (3, 12), "2.2.4", False, False, UBUNTU), offers=lambda name: True
        )
        is None
    )
    assert distribution_package("snaphu", layout, offers=lambda name: True) is None  # no distribution package


def test_installation_report__names_each_optional_package_with_its_state_and_the_fix(monkeypatch):
    from rockglacier_plugin.core import dependencies

    monkeypatch.setattr(
        dependencies,
        "OPTIONAL_PACKAGES",
        dependencies.OPTIONAL_PACKAGES + (("a_package_nobody_has", "a-package-nobody-has", "a test"),),
    )
    text = dependencies.installation_text()
    assert "OK      onnxruntime" in text and "CPUExecutionProvider" in text.split("execution providers")[1]
    assert "no GPU provider" in text and "onnxruntime-gpu" in text
    assert "MISSING a_package_nobody_has: missing: needed for a test." in text
    assert 'pip install --user --break-system-packages "a-package-nobody-has"' in text


def test_installation_report__lists_onnx_for_the_int8_copy():
    from rockglacier_plugin.core import dependencies

    text = dependencies.installation_text()
    line = next(row for row in text.splitlines() if row.split()[1].rstrip(":") == "onnx")
    assert "int8" in line


def test_training_python__a_python_without_torch_is_reported_with_the_cpu_build_advice(tmp_path):
    """The PyTorch line runs the training Python itself: a bare interpreter (a venv without packages) lacks
    every training package, and the advice names the CPU wheels."""
    import subprocess
    import sys

    from rockglacier_plugin.core import dependencies

    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = str(bare / "bin" / "python")
    missing, version = dependencies.training_python_missing(python)
    assert missing == list(dependencies.TRAINING_PACKAGES) and version == ""
    name, present, text = dependencies.training_report(python)
    assert (name, present) == ("torch", False)
    assert python in text and "download.pytorch.org/whl/cpu" in text and "torch==2.14.1" in text
    assert "MISSING torch" in dependencies.installation_text(python)


def test_training_python__one_that_cannot_run_says_so(tmp_path):
    from rockglacier_plugin.core import dependencies

    name, present, text = dependencies.training_report(str(tmp_path / "no-such-python"))
    assert not present and "cannot be run" in text


def test_training_python__the_setup_venv_has_torch_and_says_which_build():
    """make setup's .venv (this Python under make test) has every training package: the report says OK and which build."""
    import sys

    from rockglacier_plugin.core import dependencies
    from tests.conftest import require_module

    require_module("torch", "this Python has no PyTorch (make setup's .venv has)")
    assert dependencies.training_python_missing(sys.executable) == ([], dependencies.training_python_missing(sys.executable)[1])
    name, present, text = dependencies.training_report(sys.executable)
    assert present and ("CPU build" in text or "CUDA" in text) and sys.executable in text
    assert "MISSING" not in dependencies.installation_text(sys.executable).split("torch")[-1]
