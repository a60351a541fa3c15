"""Pixel IoU of a mapped raster against reference polygons, counted by hand on a small grid."""

import numpy as np
import pytest
from osgeo import ogr

from rockglacier_plugin.core.inventory import pixel_agreement as module
from tests.builders import srs_from_epsg, write_raster

X0, Y0 = 500000.0, 4000000.0


def test_pixel_agreement__counts_intersection_and_union_over_valid_pixels(tmp_path, monkeypatch):
    mapped = np.zeros((40, 40), dtype=np.float32)
    mapped[10:20, 10:20] = 0.9  # 100 px mapped (probability)
    mapped[0, 0] = -1.0  # no-data
    path = write_raster(tmp_path / "p.tif", mapped, (X0, 10.0, 0, Y0, 0, -10.0), epsg=32644, nodata=-1.0)
    # reference: pixels 15..24 in both directions (100 px), overlap 5 x 5 = 25
    corners = [(X0 + 150, Y0 - 150), (X0 + 250, Y0 - 150), (X0 + 250, Y0 - 250), (X0 + 150, Y0 - 250), (X0 + 150, Y0 - 150)]
    square = "POLYGON((" + ",".join(f"{x} {y}" for x, y in corners) + "))"
    wkb = bytes(ogr.CreateGeometryFromWkt(square).ExportToWkb())
    monkeypatch.setattr(module, "BLOCK_ROWS", 7)  # blocks that cut through both squares
    result = module.pixel_agreement(str(path), [wkb], srs_from_epsg(32644).ExportToWkt())
    assert (result.intersection_px, result.union_px) == (25, 175)
    assert result.iou == pytest.approx(25 / 175)
