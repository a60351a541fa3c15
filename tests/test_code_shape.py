"""The code's shape: no undefined names or unused imports (ruff F, I), and no function a reader
cannot hold in mind (over 80 lines) in the plugin or the training package."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_module

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80
MAX_PARAMETERS = 8


def test_functions__none_longer_than_80_lines():
    long = []
    for package in ("rockglacier_plugin", "training"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == [], "split these into named steps: " + "; ".join(long)


def _parameter_count(node: ast.FunctionDef) -> int:
    """Parameters a caller passes: positional, keyword-only and * / ** (a method's self or cls not counted)."""
    arguments = node.args
    names = [*arguments.posonlyargs, *arguments.args]
    count = len(names) + len(arguments.kwonlyargs) + (arguments.vararg is not None) + (arguments.kwarg is not None)
    return count - (1 if names and names[0].arg in ("self", "cls") else 0)


def test_functions__none_in_the_plugin_or_training_takes_more_than_8_parameters():
    """Long argument lists become value objects (``RunHooks``, ``Polygons``, ``MapArea``, ``BandInfo``, the reference
    search's ``LandformPlace`` / ``StableGroundRule``, training's ``MiningSettings`` and ``AdaptRun``): the core, the
    region command, both adapters and the training package."""
    long = []
    for path in [*(ROOT / "rockglacier_plugin").rglob("*.py"), *(ROOT / "training").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _parameter_count(node) > MAX_PARAMETERS:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({_parameter_count(node)} parameters)")
    assert long == [], "group these parameters into a value object: " + "; ".join(long)


def test_parameter_count__counts_what_a_caller_passes():
    tree = ast.parse("def f(a, b=1, *rest, c, **more): pass\nclass K:\n    def m(self, a, /, b): pass")
    counts = {node.name: _parameter_count(node) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert counts == {"f": 5, "m": 2}


SOURCES = ["rockglacier_plugin", "training", "tests", "benchmarks", "tools"]


def _ruff(*arguments: str) -> subprocess.CompletedProcess:
    require_module("ruff", "ruff is not installed; run `make setup`")
    return subprocess.run([sys.executable, "-m", "ruff", *arguments, "--no-cache"], capture_output=True, text=True, cwd=ROOT)


def test_sources__ruff_finds_no_undefined_name_unused_import_unsorted_imports_or_line_over_the_length():
    """ruff F (undefined names, unused imports), I (import order) and E501 at pyproject's line length (130)."""
    result = _ruff("check", "--select", "F,I,E501", *SOURCES)
    assert result.returncode == 0, result.stdout[-4000:]


def test_plugin__every_public_module_class_method_and_function_has_a_docstring():
    """pydocstyle's D100-D104 and D106 (ruff) on the plugin (core, processing, gui, region): its public API documented."""
    result = _ruff("check", "--select", "D100,D101,D102,D103,D104,D106", "rockglacier_plugin")
    assert result.returncode == 0, result.stdout[-4000:]


def test_sources__are_laid_out_by_ruff_format():
    """One layout for every file (``ruff format``, pyproject's settings): run ``.venv/bin/ruff format .`` to fix."""
    result = _ruff("format", "--check", *SOURCES)
    assert result.returncode == 0, result.stdout[-4000:]


def _imported_modules(path: Path, package: str) -> set:
    """Absolute names of the rockglacier_plugin modules a source file imports (relative imports resolved)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: -node.level]
                name = ".".join(base + ((node.module,) if node.module else ()))
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith(package)}


def test_adapters__processing_and_gui_never_import_each_other():
    """The two QGIS adapters share helpers through ``qgis_shared``, never through each other: a Processing
    error type raised inside the dock, or the dock's Qt code loaded by qgis_process, cannot happen."""
    crossings = []
    for adapter, other in (("processing", "gui"), ("gui", "processing")):
        for path in (ROOT / "rockglacier_plugin" / adapter).rglob("*.py"):
            for name in _imported_modules(path, f"rockglacier_plugin.{other}"):
                crossings.append(f"{path.relative_to(ROOT)} imports {name}")
    assert crossings == [], "move what both need to rockglacier_plugin/qgis_shared: " + "; ".join(crossings)


def test_qgis_shared__imports_neither_adapter():
    """``qgis_shared`` sits below both adapters (the core's own direction is tests/core/test_core_independence.py)."""
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "rockglacier_plugin" / "qgis_shared").rglob("*.py")
        for adapter in ("processing", "gui")
        for name in _imported_modules(path, f"rockglacier_plugin.{adapter}")
    ]
    assert offending == []


def test_doctests__every_file_with_one_is_collected_by_make_test():
    """A doctest outside the paths `make test` gives pytest never runs (region/merge.py's did not)."""
    import re

    line = next(
        line
        for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("$(PY) -m pytest tests")
    )
    collected = [part for part in re.findall(r"\S+", line.split("pytest", 1)[1]) if not part.startswith("-")]
    missing = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(
            (".venv/", ".venv-peers/", "dist/", "demo_data/", "bench_data/", "sample_data/")
        ) or ">>> " not in path.read_text(encoding="utf-8"):
            continue
        if not any(relative == c or relative.startswith(c.rstrip("/") + "/") for c in collected):
            missing.append(relative)
    assert missing == [], "add their folders to `make test`: " + ", ".join(missing)


def _module_graph(package: str) -> dict:
    """module -> the package's modules it imports (at any depth of the file: lazy imports count too)."""
    modules = {}
    for path in (ROOT / package).rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imported_modules(path, package):
            while imported and imported not in modules:  # ``from x import name``: the edge goes to x
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + ".") and imported != package:
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict) -> list:
    """The strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_imports__no_circle_between_modules_of_the_plugin_or_the_training_package():
    for package in ("rockglacier_plugin", "training"):
        assert _cycles(_module_graph(package)) == [], package


def test_training__its_role_packages_import_each_other_in_one_direction():
    """data <- model <- evaluation / export <- loop <- card, the CLI (__main__) on top: no circle between roles."""
    roles = {}
    for module, targets in _module_graph("training").items():
        role = ".".join(module.split(".")[:2])
        if role == "training.__main__":
            continue
        roles.setdefault(role, set()).update(".".join(t.split(".")[:2]) for t in targets if not t.startswith("training.__main__"))
    for role in roles:
        roles[role].discard(role)
    assert _cycles(roles) == []
    assert set(roles) >= {
        "training.data",
        "training.model",
        "training.loop",
        "training.evaluation",
        "training.export",
        "training.card",
    }


def test_cycle_finder__finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
