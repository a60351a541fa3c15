"""The core must never import qgis: it runs on workers and in training without QGIS."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "rockglacier_plugin" / "core"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_modules__never_import_qgis_or_torch():
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m.split(".")[0] in {"qgis", "PyQt5", "PyQt6", "torch"})
        for path in CORE.glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) >= 10  # the scan really saw the core's modules


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
for info in pkgutil.iter_modules(core.__path__):
    importlib.import_module('rockglacier_plugin.core.' + info.name)
assert not any(m == 'qgis' or m.startswith('qgis.') for m in sys.modules)
print('ok')
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
