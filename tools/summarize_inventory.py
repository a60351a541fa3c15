"""Print an inventory's rock_glaciers layer as a table, with counts per suggested class."""

from __future__ import annotations

import sys
from collections import Counter

from osgeo import ogr

COLUMNS = ("rg_id", "area_km2", "elev_min_m", "elev_max_m", "elev_mean_m", "slope_mean_deg", "aspect_deg", "aspect_class", "upslope_suggested")


def fmt(column: str, value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if column.endswith("km2") else f"{value:.1f}"
    return str(value)


def main(path: str) -> int:
    ogr.UseExceptions()
    dataset = ogr.Open(path)  # keep a reference: the layer dies with its dataset
    layer = dataset.GetLayerByName("rock_glaciers")
    rows = [feature.items() for feature in layer]
    print(f"\n{path}: {len(rows)} rock glaciers")
    print("  ".join(f"{c:>14s}" for c in COLUMNS))
    for row in rows:
        print("  ".join(f"{fmt(c, row[c]):>14s}" for c in COLUMNS))
    counts = Counter(row["upslope_suggested"] or "none" for row in rows)
    print("upslope_suggested:", ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
