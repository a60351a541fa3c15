"""Lazy checks for optional Python packages, with the command that installs them into QGIS.

The plugin must load even when a package is missing from QGIS's Python; algorithms call
``require()`` when they run, so the user reads what is missing and how to add it instead of a
traceback at start-up.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Optional


@dataclass(frozen=True)
class PythonLayout:
    """Where the Python that QGIS embeds lives, and what it runs: the facts an install command depends on.

    Inside QGIS ``sys.executable`` is the QGIS binary, and in qgis_process it is whatever ``python3``
    comes first on PATH (a pyenv shim, a conda env...): never the Python QGIS runs. ``sys.prefix`` and
    the version are that Python's own, so the command is built from them.
    """

    platform: str  # sys.platform
    prefix: str  # sys.prefix
    version: tuple[int, int]
    numpy_version: Optional[str]  # the NumPy QGIS runs (never to be replaced by pip)
    conda: bool  # a conda environment (conda-meta in the prefix)
    externally_managed: bool  # PEP 668 marker (Debian, Ubuntu): pip needs --break-system-packages
    os_release: tuple[tuple[str, str], ...] = ()  # /etc/os-release on Linux

    def release(self, key: str) -> str:
        """A field of /etc/os-release ('' when absent)."""
        return dict(self.os_release).get(key, "")


def current_layout() -> PythonLayout:
    """The running Python's layout (QGIS's own, when called inside QGIS or qgis_process)."""
    import sysconfig

    try:
        import numpy

        numpy_version: Optional[str] = numpy.__version__
    except ImportError:
        numpy_version = None
    stdlib = sysconfig.get_path("stdlib") or ""
    return PythonLayout(
        sys.platform,
        sys.prefix,
        (sys.version_info.major, sys.version_info.minor),
        numpy_version,
        os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
        os.path.exists(os.path.join(stdlib, "EXTERNALLY-MANAGED")),
        _os_release(),
    )


def _os_release() -> tuple[tuple[str, str], ...]:
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            pairs = [line.strip().split("=", 1) for line in handle if "=" in line]
    except OSError:
        return ()
    return tuple((key, value.strip('"')) for key, value in pairs)


def qgis_python(layout: PythonLayout, exists: Callable[[str], bool] = os.path.exists) -> str:
    r"""The path of QGIS's own Python interpreter.

    >>> qgis_python(PythonLayout("linux", "/usr", (3, 11), "1.24.2", False, True), lambda path: True)
    '/usr/bin/python3.11'
    >>> qgis_python(PythonLayout("win32", "C:\\OSGeo4W\\apps\\Python312", (3, 12), "1.26.4", False, False), lambda path: True)
    'C:\\OSGeo4W\\apps\\Python312\\python.exe'
    """
    if layout.platform.startswith("win"):
        return layout.prefix.rstrip("\\/") + "\\python.exe"
    for name in (f"python{layout.version[0]}.{layout.version[1]}", f"python{layout.version[0]}", "python"):
        candidate = os.path.join(layout.prefix, "bin", name)
        if exists(candidate):
            return candidate
    return os.path.join(layout.prefix, "bin", f"python{layout.version[0]}")


def qgis_python_install_command(
    pip_requirement: str, layout: Optional[PythonLayout] = None, distribution_package: Optional[str] = None
) -> str:
    """The command that installs ``pip_requirement`` into the Python that QGIS runs (OSGeo4W on Windows, the
    QGIS.app bundle on macOS, a conda environment, or the system's Python on Linux), holding NumPy at the
    version QGIS runs, and naming the distribution's package first when it has one.

    >>> layout = PythonLayout("linux", "/usr", (3, 11), "1.24.2", False, True)
    >>> qgis_python_install_command("onnxruntime", layout).split(" -m ")[1]
    'pip install --user --break-system-packages "onnxruntime" "numpy==1.24.2"'
    """
    layout = layout or current_layout()
    pin = (
        f' "numpy=={layout.numpy_version}"'
        if layout.numpy_version and pip_requirement.split("<")[0].split("=")[0] != "numpy"
        else ""
    )
    if layout.platform.startswith("win"):
        return (
            f'in the "OSGeo4W Shell" (Start menu, QGIS folder), which runs QGIS\'s Python ({qgis_python(layout)}): '
            f'python -m pip install "{pip_requirement}"{pin}'
        )
    if layout.conda:
        return f'conda install -p "{layout.prefix}" -c conda-forge "{pip_requirement}"{pin.replace("==", "=")}'
    python = qgis_python(layout)
    flags = "--user --break-system-packages" if layout.externally_managed else "--user"
    pip = f'{python} -m pip install {flags} "{pip_requirement}"{pin}'
    if distribution_package:
        return f"sudo apt install {distribution_package} (the distribution's build for this QGIS), or {pip}"
    return pip


#: Debian/Ubuntu packages of the optional modules, proposed before pip where the system's apt offers them.
DISTRIBUTION_PACKAGES = {
    "onnxruntime": "python3-onnxruntime",
    "h5py": "python3-h5py",
    "scipy": "python3-scipy",
    "matplotlib": "python3-matplotlib",
}


def apt_offers(package: str) -> bool:
    """Whether this machine's apt can install ``package`` (``apt-cache policy`` names a candidate); False
    without apt."""
    import shutil
    import subprocess

    if shutil.which("apt-cache") is None:
        return False
    try:
        listing = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return any(line.strip().startswith("Candidate:") and "(none)" not in line for line in listing.splitlines())


def distribution_package(module_name: str, layout: PythonLayout, offers: Callable[[str], bool] = apt_offers) -> Optional[str]:
    """The distribution's package of ``module_name`` when QGIS runs the system's Python and apt offers it."""
    package = DISTRIBUTION_PACKAGES.get(module_name)
    is_system_python = layout.platform.startswith("linux") and layout.prefix == "/usr" and not layout.conda
    like = f"{layout.release('ID')} {layout.release('ID_LIKE')}"
    if package is None or not is_system_python or not any(name in like for name in ("debian", "ubuntu")):
        return None
    return package if offers(package) else None


#: Modules that pip cannot install into QGIS: they come with QGIS's own GDAL.
_BUNDLED_WITH_QGIS = {
    "osgeo": (
        "GDAL's Python bindings come with QGIS: on Debian/Ubuntu run "
        "'sudo apt-get install python3-gdal'; on Windows or macOS repair or reinstall QGIS "
        "(OSGeo4W: select the python3-gdal package)."
    ),
}


def install_hint(module_name: str, pip_requirement: str) -> str:
    """How to make ``module_name`` importable in QGIS's Python."""
    bundled = _BUNDLED_WITH_QGIS.get(module_name.split(".")[0])
    if bundled is not None:
        return bundled
    layout = current_layout()
    package = distribution_package(module_name.split(".")[0], layout)
    return f"Install it, then restart QGIS: {qgis_python_install_command(pip_requirement, layout, package)}"


def require(module_name: str, pip_requirement: str, needed_for: str) -> ModuleType:
    """Import ``module_name`` or raise ``MissingDependencyError`` saying how to install it.

    Args:
        module_name: dotted module name, e.g. ``"onnxruntime"``.
        pip_requirement: what to give pip, e.g. ``"onnxruntime>=1.16"``.
        needed_for: what the caller was about to do, for the message.
    """
    from .errors import MissingDependencyError

    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{needed_for} needs the Python module '{module_name}', which QGIS's Python cannot "
            f"import ({exc}). {install_hint(module_name, pip_requirement)}"
        ) from exc


#: The optional packages, what each serves, and the pip requirement that installs it.
OPTIONAL_PACKAGES: tuple[tuple[str, str, str], ...] = (
    ("onnxruntime", "onnxruntime", "rockglacier:segment (deep-learning mapping)"),
    ("snaphu", "snaphu", "rockglacier:unwrap (SNAPHU phase unwrapping; Linux x86_64 and macOS arm64 wheels)"),
    (
        "scipy",
        "scipy",
        "exact InSAR phase noise (else the Cramer-Rao bound, which underestimates it), reference distances, "
        "rockglacier:evaluate (optimal matching), rockglacier:rgikexport (moving areas)",
    ),
    ("matplotlib", "matplotlib", "rockglacier:report (figures)"),
    ("h5py", "h5py", "reading MintPy HDF5 products"),
    (
        "onnx",
        "onnx",
        "rockglacier:segment's int8 copy of a model on the CPU (PRECISION auto/int8; without it: float32, said in the log)",
    ),
)

#: What rockglacier:adaptmodel imports in the training Python (a separate interpreter: the Processing setting).
TRAINING_PACKAGES: tuple[str, ...] = ("torch", "segmentation_models_pytorch", "timm", "onnx")
#: The pins the training Python needs (requirements-training.txt), for the install advice.
TRAINING_REQUIREMENT = "torch==2.14.1 torchvision==0.29.1 segmentation-models-pytorch==0.6.0 timm==1.0.31 onnx"
#: PyTorch's CPU-only wheels: about 200 MB instead of the CUDA build's 3.4 GB on Linux.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def installation_report() -> list[tuple[str, bool, str]]:
    """One line per optional package: (name, present, what it serves and the version, or the command
    that installs it into this QGIS's Python). onnxruntime's line names its execution providers and
    says whether CUDA is usable."""
    lines = []
    for module_name, requirement, needed_for in OPTIONAL_PACKAGES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            lines.append((module_name, False, f"missing: needed for {needed_for}. {install_hint(module_name, requirement)}"))
            continue
        text = f"{getattr(module, '__version__', 'installed')}: {needed_for}"
        if module_name == "onnxruntime":
            providers = list(module.get_available_providers())
            gpu = "CUDAExecutionProvider" in providers
            text += f"; execution providers {', '.join(providers)}; " + (
                "the GPU (CUDA) is used with DEVICE=auto/cuda"
                if gpu
                else "no GPU provider: inference runs on the CPU (for an NVIDIA GPU install onnxruntime-gpu with a "
                "matching CUDA instead: " + qgis_python_install_command("onnxruntime-gpu") + ")"
            )
        lines.append((module_name, True, text))
    return lines


def training_python_missing(python: str, timeout_s: float = 120.0) -> tuple[list[str], str]:
    """The training packages ``python`` cannot import, and torch's version there ('' when absent).

    Runs that interpreter (never imports torch here: QGIS's Python must not load it). A Python that
    cannot run at all misses every package; its error is the version text.
    """
    import json
    import subprocess

    script = (
        "import importlib.util, json\n"
        f"missing = [m for m in {TRAINING_PACKAGES!r} if importlib.util.find_spec(m) is None]\n"
        "version = ''\n"
        "if 'torch' not in missing:\n"
        "    import torch; version = torch.__version__ + (' (CUDA ' + str(torch.version.cuda) + ')' if torch.version.cuda else "
        "' (CPU build)')\n"
        "print(json.dumps([missing, version]))"
    )
    try:
        done = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError) as exc:
        return list(TRAINING_PACKAGES), f"cannot be run ({exc})"
    try:
        missing, version = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else (None, "")
    except (ValueError, IndexError):
        missing = None
    if missing is None:
        return list(TRAINING_PACKAGES), f"cannot be run (exit {done.returncode}: {done.stderr.strip()[-200:]})"
    return list(missing), str(version)


def training_install_advice(python: str) -> str:
    """How to give ``python`` what adaptmodel needs: the CPU build unless a GPU is wanted."""
    command = qgis_python_install_command(TRAINING_REQUIREMENT)
    return (
        f"name a Python that has it in Processing > Options > Providers > Rock glacier inventory (make setup's "
        f".venv/bin/python does), or install it into {python}: {command} (add --extra-index-url {TORCH_CPU_INDEX} for the "
        "CPU build, about 200 MB instead of 3.4 GB)"
    )


def training_report(python: str) -> tuple[str, bool, str]:
    """The installation report's PyTorch line: the training Python and what it misses."""
    missing, version = training_python_missing(python)
    if not missing:
        return ("torch", True, f"{version} in {python}: rockglacier:adaptmodel (fine-tuning)")
    what = version if version.startswith("cannot") else f"lacks {', '.join(missing)}"
    return (
        "torch",
        False,
        f"missing: the training Python {python} {what}; rockglacier:adaptmodel needs it: " + training_install_advice(python),
    )


def installation_text(training_python: Optional[str] = None) -> str:
    """The report as plain text (the plugin menu's "Check installation" and algorithm logs); with ``training_python``,
    a line for PyTorch in that interpreter too."""
    lines = installation_report() + ([training_report(training_python)] if training_python else [])
    return "\n".join(f"{'OK     ' if present else 'MISSING'} {name}: {text}" for name, present, text in lines)
