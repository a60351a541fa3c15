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
