"""The README's feature-tracking picture, from the real QGIS desktop on a 1280 x 800 virtual screen (Xvfb):
``rockglacier:featuretracking`` run on the Laurichard DEMs of 2012 and 2017 (../shared/datasets/laurichard-dem-2012-2017;
the landform = the moving landmarks' hull, stable ground = squares around the stable landmarks, as the tests draw
them), then its points opened over the 2012 hillshade with the style the algorithm stores (docs/feature_tracking.png).

    .venv/bin/python -m tools.tracking_screenshot
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from tools.desktop_screenshots import run_in_desktop

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ROCKGLACIER_SHARED", ROOT.parent / "shared"))


def main() -> int:
    folder = SHARED / "datasets" / "laurichard-dem-2012-2017"
    if not folder.exists():
        print(f"{folder} is not on this machine.", file=sys.stderr)
        return 1
    from tests.qgis_session import start_qgis

    start_qgis()
    import processing

    from tests.qgis.test_feature_tracking_algorithm import _parameters

    with tempfile.TemporaryDirectory() as work:
        work_path = Path(work)
        processing.run("rockglacier:featuretracking", _parameters(folder, work_path))
        env = {
            "ROCKGLACIER_TRACK_HILLSHADE": str(folder / "rock_glacier_hillshade_2012_50cm.tif"),
            "ROCKGLACIER_TRACK_POINTS": str(work_path / "points.gpkg"),
            "ROCKGLACIER_TRACK_LANDFORM": str(work_path / "landform.gpkg"),
            "ROCKGLACIER_TRACK_OUT": str(work_path),
        }
        seen = run_in_desktop(ROOT / "tools" / "desktop_tracking.py", env, work_path, "tracking.json")
        if "error" in seen:
            print(seen["error"], file=sys.stderr)
            return 1
        from PIL import Image

        Image.open(work_path / "tracking.png").convert("RGB").quantize(colors=256).save(
            ROOT / "docs" / "feature_tracking.png", optimize=True
        )
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
