"""The report writes its tables, four figures and a page that shows them, with what it was made from."""

import csv
from pathlib import Path

from osgeo import ogr

from rockglacier_plugin.core.report.figures import sector_counts
from rockglacier_plugin.core.report.html import ReportInputs, write_report
from tests.builders import square_wkt
from tests.conftest import require_module


def test_write_report__tables_figures_and_page_name_inventory_filter_and_version(tmp_path):
    require_module("matplotlib")
    records = [{"rg_id": f"r{i}", "upslope_con": c, "elev_mean_m": 4000.0 + 100 * i, "slope_mean_deg": 10.0 + i,
                "aspect_deg": 45.0 * i, "area_km2": 0.1, "vel_dslp_cm_yr": 10.0 * (i + 1), "vel_ok": 1, "source": "deep_learning"}
               for i, c in enumerate(["G", "G", "DMS", "T", None])]
    geometries = [ogr.CreateGeometryFromWkt(square_wkt(1000.0 * i, 0.0, 200.0)) for i in range(5)]
    inputs = ReportInputs(records, geometries, "inventory.gpkg|layername=rock_glaciers", "\"review\" <> 'rejected'",
                          "EPSG:32644", "9.9.9", total_features=7, candidates=records)
    out = write_report(inputs, str(tmp_path / "report.html"), str(tmp_path / "t2.csv"), str(tmp_path / "t3.csv"))
    page = (tmp_path / "report.html").read_text()
    for text in ("inventory.gpkg|layername=rock_glaciers", "&quot;review&quot; &lt;&gt; &#x27;rejected&#x27;", "9.9.9", "5 of 7"):
        assert text in page
    assert len(out.figure_paths) == 4
    for path in out.figure_paths:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"src='{path.split('/')[-1]}'" in page
    with open(tmp_path / "t2.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["class"], r["count"]) for r in rows] == [("G", "2"), ("GF", "0"), ("DMS", "1"), ("T", "1"), ("all", "5")]


def test_sector_counts__sector_edges_at_22_5_degrees_belong_to_the_clockwise_sector():
    assert sector_counts([337.5, 22.4999, 22.5, 67.5, 359.9, -10.0]) == [4, 1, 1, 0, 0, 0, 0, 0]
