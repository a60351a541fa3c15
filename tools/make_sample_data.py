"""Write the bundled sample scene (seeded, synthetic): a mountain DEM in UTM 44N, rock-glacier
lobes pointing downslope, and glacier outlines above some of them.

Usage: python -m tools.make_sample_data [folder]   (default: sample_data/)
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from benchmarks.synthetic_scene import (  # noqa: E402
    ORIGIN,
    lobe_wkt,
    mountain_dem,
    write_dem,
    write_polygon_layer,
)

SIZE_PX, PIXEL_M = 1200, 10.0


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    z = mountain_dem(SIZE_PX, PIXEL_M, seed=7)
    write_dem(folder / "dem_utm44n.tif", z, PIXEL_M)
    gy, gx = np.gradient(z.astype(np.float64), PIXEL_M)  # rows run south: d/dnorth = -gy
    rng = np.random.default_rng(3)
    lobes, glaciers = [], []
    while len(lobes) < 14:
        row, col = rng.integers(150, SIZE_PX - 150, size=2)
        d_east, d_north = -gx[row, col], gy[row, col]  # downslope direction
        slope = math.degrees(math.atan(math.hypot(d_east, d_north)))
        if not 12.0 < slope < 35.0:
            continue
        angle = math.atan2(d_north, d_east)  # from east, anticlockwise
        x = ORIGIN[0] + (col + 0.5) * PIXEL_M
        y = ORIGIN[1] - (row + 0.5) * PIXEL_M
        length, width = rng.uniform(250, 450), rng.uniform(120, 200)
        lobes.append(lobe_wkt(x, y, length, width, angle))
        kind = len(lobes) % 3  # 1: glacier touching upslope, 2: glacier 250 m upslope, 0: none
        if kind:
            gap = 0.0 if kind == 1 else 250.0
            # lobe root at 0.85 x length upslope of its centre; the glacier front reaches 1.15 x 300 m
            distance = 0.85 * length + 1.15 * 300.0 + gap - 5.0
            gx0, gy0 = x - distance * math.cos(angle), y - distance * math.sin(angle)
            glaciers.append(lobe_wkt(gx0, gy0, 300.0, 400.0, angle))
    write_polygon_layer(folder / "rock_glaciers.gpkg", lobes, "rock_glaciers")
    write_polygon_layer(folder / "glaciers.gpkg", glaciers, "glaciers")
    print(
        f"Sample scene written to {folder}: dem_utm44n.tif ({SIZE_PX} x {SIZE_PX} px, {PIXEL_M:.0f} m), "
        f"{len(lobes)} rock glaciers, {len(glaciers)} glaciers"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "sample_data")
