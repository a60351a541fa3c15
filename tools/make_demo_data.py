"""Write the seeded synthetic scene of `make demo` (see benchmarks/demo_scene.py for what it holds).

Usage: python -m tools.make_demo_data [folder]   (default: demo_data/)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from benchmarks.demo_scene import write_demo_scene  # noqa: E402

if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "demo_data"
    truth = write_demo_scene(folder)
    print(
        f"Demo scene written to {folder}: dem.tif, image.tif, 20070716_20070831_unw.tif, coherence.tif, "
        f"glaciers.gpkg, outlines.gpkg ({len(truth)} rock glaciers), truth.json"
    )
