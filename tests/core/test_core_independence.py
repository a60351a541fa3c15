"""The core's shape: never qgis or torch, and imports that point one way between its packages.

Layers (see ``rockglacier_plugin/core/__init__.py``): the root modules (errors, progress,
dependencies) <- the foundation ``raster`` <- the concept packages ``terrain``, ``insar``,
``mapping``, ``inventory``, ``tracking`` <- ``workflows`` (the pipelines every entry point runs; nothing in the
core imports it). Sideways arrows between concept packages are allowed only when listed in
``SIDEWAYS`` with the reason.
"""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "rockglacier_plugin" / "core"
ROOT = "root"
FOUNDATION = "raster"
CONCEPTS = {"terrain", "insar", "mapping", "inventory", "report", "tracking"}
WORKFLOWS = "workflows"
SIDEWAYS = {
    ("terrain", "inventory"): "upslope classes of the schema; new rg_id values for unnamed polygons",
    ("insar", "terrain"): "slope, aspect and DEM smoothing for the downslope projection",
    ("insar", "inventory"): "RGIK kinematic classes of the velocities it writes",
    ("mapping", "inventory"): "source and review values of the candidates it writes",
    ("report", "inventory"): "the statistics, review account and colours it presents",
    ("tracking", "terrain"): "Horn's gradient for the hillshades of DEMs",
}


def _package_of(path: Path) -> str:
    relative = path.relative_to(CORE)
    return relative.parts[0] if len(relative.parts) > 1 else ROOT


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _core_packages_imported(path: Path) -> set[str]:
    """Core packages (or ``root``) that a module imports, from relative and absolute imports alike."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    depth = len(path.relative_to(CORE).parts) - 1
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            up = node.level - 1  # levels above the module's own package
            if up > depth:
                targets.add("outside core")
                continue
            own = path.relative_to(CORE).parts[:-1]
            base = list(own[: len(own) - up])
            parts = base + (node.module.split(".") if node.module else [a.name for a in node.names])
            targets.add(parts[0] if parts and (CORE / parts[0]).is_dir() else ROOT)
        else:
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            )
            for name in names:
                if name.startswith("rockglacier_plugin.core."):
                    first = name.split(".")[2]
                    targets.add(first if (CORE / first).is_dir() else ROOT)
                elif name.startswith("rockglacier_plugin"):
                    targets.add("outside core")
    return targets


def _allowed(source: str, target: str) -> bool:
    if source == target or target == ROOT and source != "outside core":
        return True
    if source == ROOT:
        return False  # the root imports nothing of the core but itself
    if source == FOUNDATION:
        return target == ROOT
    if source in CONCEPTS:
        return target == FOUNDATION or (source, target) in SIDEWAYS
    if source == WORKFLOWS:
        return target in CONCEPTS | {FOUNDATION}
    return False


def test_core_modules__never_import_qgis_or_torch():
    modules = sorted(CORE.rglob("*.py"))
    offenders = {
        str(path.relative_to(CORE)): sorted(
            m for m in _imported_modules(path) if m.split(".")[0] in {"qgis", "PyQt5", "PyQt6", "torch"}
        )
        for path in modules
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) >= 30  # the scan really saw the core's modules, subpackages included


def test_core_imports__point_down_or_along_a_listed_sideways_arrow():
    arrows: dict[tuple[str, str], list[str]] = {}
    for path in sorted(CORE.rglob("*.py")):
        for target in _core_packages_imported(path):
            arrows.setdefault((_package_of(path), target), []).append(str(path.relative_to(CORE)))
    forbidden = {arrow: files for arrow, files in arrows.items() if not _allowed(*arrow)}
    assert forbidden == {}, f"imports against the layering (add to SIDEWAYS with a reason, or move the code): {forbidden}"
    unused = set(SIDEWAYS) - set(arrows)
    assert unused == set(), f"SIDEWAYS lists arrows no module uses any more; remove them: {unused}"
    # the scan sees real arrows: concept packages use the foundation
    assert {("terrain", "raster"), ("insar", "raster"), ("mapping", "raster")} <= set(arrows)


def test_import_direction_rule__rejects_upward_and_unlisted_arrows():
    assert not _allowed(FOUNDATION, "terrain")
    assert not _allowed(ROOT, FOUNDATION)
    assert not _allowed("mapping", "insar")
    assert not _allowed("inventory", "terrain")
    assert _allowed("insar", "terrain") and _allowed("mapping", FOUNDATION) and _allowed(FOUNDATION, ROOT)
    assert _allowed(WORKFLOWS, "insar") and not _allowed("insar", WORKFLOWS) and not _allowed(FOUNDATION, WORKFLOWS)


def test_core_packages__each_says_what_it_holds_and_what_it_may_import():
    for package in CONCEPTS | {FOUNDATION, WORKFLOWS}:
        doc = ast.get_docstring(ast.parse((CORE / package / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "May import" in doc, package


def test_core__imports_and_computes_in_a_python_where_qgis_cannot_be_imported(tmp_path):
    script = f"""
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == 'qgis' or name.startswith('qgis.'):
            raise ImportError('qgis is blocked in this test')
sys.meta_path.insert(0, Block())
sys.path.insert(0, {str(CORE.parents[1])!r})
import pkgutil, importlib
import rockglacier_plugin.core as core
count = 0
for info in pkgutil.walk_packages(core.__path__, 'rockglacier_plugin.core.'):
    importlib.import_module(info.name)
    count += 1
assert count >= 35, count
assert not any(m == 'qgis' or m.startswith('qgis.') for m in sys.modules)
from rockglacier_plugin.core.terrain.slope_aspect import slope_aspect_deg
import numpy as np
slope, aspect = slope_aspect_deg(np.array([[1.0]]), np.array([[0.0]]))
assert abs(float(slope[0, 0]) - 45.0) < 1e-9 and abs(float(aspect[0, 0]) - 270.0) < 1e-9
print('ok')
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
