"""The plugin's version, read from metadata.txt (inside the installed plugin, or at the repository
root when run from a checkout), so reports and exports say which version made them."""

from __future__ import annotations

import configparser
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parents[1]


def plugin_version() -> str:
    """``version`` of metadata.txt, or ``unknown`` when no metadata.txt is found."""
    for candidate in (PLUGIN_DIR / "metadata.txt", PLUGIN_DIR.parent / "metadata.txt"):
        if candidate.is_file():
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(candidate, encoding="utf-8")
            return parser.get("general", "version", fallback="unknown")
    return "unknown"
