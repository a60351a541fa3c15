"""The README's screenshots, taken in the real QGIS desktop on a 1280 x 800 virtual screen (Xvfb) with the demo's data
(`make demo` first): the styled inventory over the imagery (docs/tour_inventory.png), the review dock on a landform
(docs/review_dock.png), the demo's HTML report as a browser shows it (docs/tour_report.png) and its map overview
(docs/report_map.png).

    .venv/bin/python -m tools.desktop_screenshots
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.qgis_profile import fresh_profile

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo_data"
DOCS = ROOT / "docs"


def run_in_desktop(script: Path, env: dict, work_path: Path, report: str) -> dict:
    """Run ``script`` (``qgis --code``) in the real QGIS desktop on a 1280 x 800 virtual screen (Xvfb) with a fresh
    profile; the JSON the script left in ``work_path / report``."""
    env = {**os.environ, **env}
    env.pop("QT_QPA_PLATFORM", None)
    command = [
        "xvfb-run",
        "-a",
        "-s",
        "-screen 0 1280x800x24",
        "qgis",
        "--profiles-path",
        str(fresh_profile(work_path / "p")),
        "--nologo",
        "--noversioncheck",
        "--code",
        str(script),
    ]
    subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    return json.loads((work_path / report).read_text(encoding="utf-8"))


def main() -> int:
    inventory = DEMO / "outputs" / "inventory.gpkg"
    if not inventory.exists():
        print("Run `make demo` first: demo_data/outputs/inventory.gpkg is missing.", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as work:
        work_path = Path(work)
        copy = work_path / "inventory.gpkg"  # the dock writes decisions: never into the demo's own output
        shutil.copy(inventory, copy)
        env = {
            "ROCKGLACIER_TOUR_IMAGE": str(DEMO / "image.tif"),
            "ROCKGLACIER_TOUR_INVENTORY": str(copy),
            "ROCKGLACIER_TOUR_DEM": str(DEMO / "dem.tif"),
            "ROCKGLACIER_TOUR_OUT": str(work_path),
        }
        seen = run_in_desktop(ROOT / "tools" / "desktop_tour.py", env, work_path, "tour.json")
        if "error" in seen:
            print(seen["error"], file=sys.stderr)
            return 1
        from PIL import (
            Image,  # (matplotlib's dependency) 256 colours: a quarter of the size, the same picture
        )

        for name in ("tour_inventory.png", "review_dock.png"):
            Image.open(work_path / name).convert("RGB").quantize(colors=256).save(DOCS / name, optimize=True)
    shutil.copy(DEMO / "outputs" / "report" / "report_map.png", DOCS / "report_map.png")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.report_screenshot",
            str(DEMO / "outputs" / "report" / "report.html"),
            str(DOCS / "tour_report.png"),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
