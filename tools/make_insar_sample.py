"""Write a seeded synthetic InSAR sample (the same builder the tests use): a cone with creeping
lobes, one 46-day ALOS-1 pair (unwrapped phase with noise, ramp and atmosphere), coherence and
DEM, plus the true mean downslope velocities. Usage: python tools/make_insar_sample.py [folder]"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.builders import write_polygons  # noqa: E402
from tests.insar_builders import EPSG, cone_scene  # noqa: E402


def main(folder: Path) -> None:
    scene = cone_scene(folder, seed=1, aspects_deg=(20.0, 70.0, 110.0, 160.0, 250.0))
    ids = [f"wkl{i:03d}" for i in range(len(scene.landforms_wkt))]
    write_polygons(folder / "landforms.gpkg", scene.landforms_wkt, epsg=EPSG, attributes={"rg_id": ids})
    (folder / "truth.json").write_text(json.dumps(dict(zip(ids, scene.velocity_dslp_cm_per_yr)), indent=2))
    print(f"InSAR sample written to {folder}: {scene.unwrapped_true.name}, coherence.tif, dem.tif, landforms.gpkg")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "sample_data" / "insar")
