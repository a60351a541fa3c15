"""Lazy checks for optional Python packages, with the command that installs them into QGIS.

The plugin must load even when a package is missing from QGIS's Python; algorithms call
``require()`` when they run, so the user reads what is missing and how to add it instead of a
traceback at start-up.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType


def qgis_python_install_command(pip_requirement: str) -> str:
    """The shell command that installs ``pip_requirement`` into the Python that QGIS runs.

    >>> "pip install" in qgis_python_install_command("onnxruntime")
    True
    """
    if sys.platform.startswith("win"):
        return f'in the "OSGeo4W Shell" (Start menu, QGIS folder): python -m pip install "{pip_requirement}"'
    executable = sys.executable or ""
    if not os.path.basename(executable).lower().startswith("python"):
        # Inside the QGIS application sys.executable is the qgis binary itself.
        candidate = os.path.join(sys.prefix, "bin", "python3")
        executable = candidate if os.path.exists(candidate) else "python3"
    if sys.platform == "darwin":
        return f'{executable} -m pip install --user "{pip_requirement}"'
    # Debian/Ubuntu mark the system Python as externally managed (PEP 668); numpy must stay below 2
    # because QGIS's GDAL bindings are built against numpy 1.x.
    return (
        f'{executable} -m pip install --user --break-system-packages "{pip_requirement}" "numpy<2"'
    )


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
    return f"Install it, then restart QGIS: {qgis_python_install_command(pip_requirement)}"


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
    ("scipy", "scipy", "exact InSAR phase noise (else the Cramer-Rao bound, which underestimates it), reference distances, "
     "rockglacier:evaluate (optimal matching), rockglacier:rgikexport (moving areas)"),
    ("matplotlib", "matplotlib", "rockglacier:report (figures)"),
    ("h5py", "h5py", "reading MintPy HDF5 products"),
)


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
            text += (f"; execution providers {', '.join(providers)}; "
                     + ("the GPU (CUDA) is used with DEVICE=auto/cuda" if gpu else
                        "no GPU provider: inference runs on the CPU (for an NVIDIA GPU install onnxruntime-gpu with a "
                        "matching CUDA instead: " + qgis_python_install_command("onnxruntime-gpu") + ")"))
        lines.append((module_name, True, text))
    return lines


def installation_text() -> str:
    """The report as plain text (the plugin menu's "Check installation" and algorithm logs)."""
    return "\n".join(f"{'OK     ' if present else 'MISSING'} {name}: {text}" for name, present, text in installation_report())
