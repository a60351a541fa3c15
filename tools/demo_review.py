"""`make demo`'s stand-in for the analyst who reviews InSAR moving-area candidates in the dock.

A moving area that overlaps one of the generator's outlines is what the analyst would keep and
outline against the imagery: it gets that outline (review = modified, as the dock's Modify does);
one that overlaps none is rejected. Usage: python tools/demo_review.py CANDIDATES OUTLINES OUTPUT
(the output is a copy of CANDIDATES' rock_glaciers layer with the decisions).
"""

from __future__ import annotations

import shutil
import sys

from osgeo import ogr

ogr.UseExceptions()


def main(candidates: str, outlines: str, output: str) -> int:
    shutil.copyfile(candidates, output)
    source = ogr.Open(outlines)  # kept open while its layer is read
    truth = [feature.GetGeometryRef().Clone() for feature in source.GetLayer(0)]
    dataset = ogr.Open(output, update=1)
    layer = dataset.GetLayerByName("rock_glaciers")
    kept = 0
    for feature in layer:
        geometry = feature.GetGeometryRef()
        overlapping = [outline for outline in truth if outline.Intersects(geometry)]
        if overlapping:
            feature.SetGeometry(ogr.ForceToMultiPolygon(max(overlapping, key=lambda o: o.Intersection(geometry).GetArea())))
            feature.SetField("review", "modified")
            kept += 1
        else:
            feature.SetField("review", "rejected")
        layer.SetFeature(feature)
    dataset = None
    print(f"Stand-in review: {kept} InSAR candidate(s) kept and outlined (review = modified), the others rejected.")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
