"""Build the installable plugin zip: rockglacier_plugin/ with metadata.txt inside.

QGIS's "Install from ZIP" and the plugin repository expect one top-level folder named after the
plugin, holding metadata.txt and __init__.py. Usage: python tools/package.py --out dist
"""

from __future__ import annotations

import argparse
import configparser
import sys
import zipfile
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "rockglacier_plugin"
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
# The training package travels with the plugin: rockglacier:adaptmodel runs `python -m training adapt` from it
# (PYTHONPATH = rockglacier_plugin/bundled and the plugins folder), so an installed plugin adapts models without a checkout.
BUNDLED = "bundled"


def plugin_version() -> str:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "metadata.txt", encoding="utf-8")
    return parser["general"]["version"]


def _files(folder: str, keep: Callable[[Path], bool]) -> Iterator[tuple[Path, str]]:
    """(file, its path from the repository root) below ``folder``, sorted, caches left out."""
    for path in sorted((ROOT / folder).rglob("*")):
        relative = path.relative_to(ROOT)
        if path.is_file() and not EXCLUDED_PARTS & set(relative.parts) and keep(path):
            yield path, relative.as_posix()


def build(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PLUGIN}-{plugin_version()}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, relative in _files(PLUGIN, lambda p: p.suffix not in EXCLUDED_SUFFIXES):
            archive.write(path, relative)
        for path, relative in _files("training", lambda p: p.suffix in {".py", ".json"}):
            archive.write(path, f"{PLUGIN}/{BUNDLED}/{relative}")
        archive.write(ROOT / "metadata.txt", f"{PLUGIN}/metadata.txt")
        archive.write(ROOT / "LICENSE", f"{PLUGIN}/LICENSE")
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
