"""The report writes its tables, four figures and a page that shows them, with what it was made from."""

import csv
from pathlib import Path

import numpy as np
import pytest
from osgeo import ogr

from rockglacier_plugin.core.report.figures import sector_counts
from rockglacier_plugin.core.report.html import ReportInputs, write_report
from tests.builders import square_wkt
from tests.conftest import require_module


def test_write_report__tables_figures_and_page_name_inventory_filter_and_version(tmp_path):
    require_module("matplotlib")
    records = [
        {
            "rg_id": f"r{i}",
            "upslope_con": c,
            "elev_mean_m": 4000.0 + 100 * i,
            "slope_mean_deg": 10.0 + i,
            "aspect_deg": 45.0 * i,
            "area_km2": 0.1,
            "vel_dslp_cm_yr": 10.0 * (i + 1),
            "vel_ok": 1,
            "source": "deep_learning",
        }
        for i, c in enumerate(["G", "G", "DMS", "T", None])
    ]
    geometries = [ogr.CreateGeometryFromWkt(square_wkt(1000.0 * i, 0.0, 200.0)) for i in range(5)]
    inputs = ReportInputs(
        records,
        geometries,
        "inventory.gpkg|layername=rock_glaciers",
        "\"review\" <> 'rejected'",
        "EPSG:32644",
        "9.9.9",
        total_features=7,
        candidates=records,
    )
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


def _frame_is_background(path) -> bool:
    """Whether the image's outer 2 px are all background (nothing drawn reaches, or is cut at, its edge)."""
    from matplotlib import image

    pixels = image.imread(path)[..., :3]
    frame = np.concatenate(
        [pixels[:2].reshape(-1, 3), pixels[-2:].reshape(-1, 3), pixels[:, :2].reshape(-1, 3), pixels[:, -2:].reshape(-1, 3)]
    )
    return bool((frame > 0.97).all())


def test_report_map__a_wide_extent_keeps_tick_labels_legend_and_axis_titles_inside_the_image(tmp_path):
    require_module("matplotlib")
    from rockglacier_plugin.core.report import figures

    records = [{"upslope_con": c} for c in ("G", "GF", "DMS", "T", None)]
    # 400 km wide, 8 km tall: the case where the legend and the y tick labels were cut off
    geometries = [
        ogr.CreateGeometryFromWkt(square_wkt(500000.0 + 100000.0 * i, 4000000.0 + 2000.0 * (i % 2), 800.0)) for i in range(5)
    ]
    path = figures.map_figure(records, geometries, "EPSG:32644", str(tmp_path / "map.png"), "EPSG:32644")
    assert _frame_is_background(path)
    assert figures.axis_titles("EPSG:32644") == ("easting (m)", "northing (m)")
    for maker in (figures.aspect_figure, figures.altitude_figure):
        assert _frame_is_background(
            maker([{"upslope_con": "G", "aspect_deg": 10.0, "elev_mean_m": 4000.0}] * 3, str(tmp_path / f"{maker.__name__}.png"))
        )


def test_report_tables__each_column_shows_the_same_digits_in_every_row(tmp_path):
    require_module("matplotlib")
    records = [
        {"upslope_con": "G", "elev_mean_m": 4000.4, "slope_mean_deg": 12.34, "area_km2": a, "vel_dslp_cm_yr": v, "vel_ok": 1}
        for a, v in ((0.4, 1.5), (1.5, 0.42))
    ]
    write_report(ReportInputs(records, [None, None], "x", "", "EPSG:32644", "1", 2), str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()
    assert "<td>0.950</td>" in page and "<td>1.900</td>" in page  # area mean and total, 3 decimals whatever their size
    assert "<td>4,000</td>" in page and "4,000.4" not in page  # elevations in whole metres
    assert "<td>12.3</td>" in page and "<td>1.0</td>" in page and "0.9600" not in page  # slopes, velocities: one decimal


@pytest.mark.parametrize("field, keep", [("vel_dslp_cm_yr", True), ("elev_mean_m", False)])
def test_report_box_figures__every_class_sits_in_its_own_slot_away_from_the_axes(field, keep):
    """A class without values (no velocity for GF) kept the last class cut at the edge and the first on the axis: each
    class is centred in a slot of width 1 with half a slot of margin, whatever is empty."""
    require_module("matplotlib")
    from rockglacier_plugin.core.report import figures

    records = [
        {"upslope_con": code, field: value, "vel_ok": 1}
        for code, value in (("G", 4100.0), ("DMS", 4300.0), ("DMS", 4400.0), ("T", 4500.0), ("T", 4550.0))
    ]
    records.append({"upslope_con": "GF", field: None, "vel_ok": 1})
    pyplot = figures._pyplot()
    figure, axes = pyplot.subplots()
    groups = figures._by_class(records, figures._velocity_cm_per_yr if keep else field)
    figures._box_and_points(axes, groups, "value")
    left, right = axes.get_xlim()
    assert (left, right) == (0.5, len(groups) + 0.5)
    assert list(axes.get_xticks()) == list(range(1, len(groups) + 1))
    assert [t.get_text().split()[0] for t in axes.get_xticklabels()] == [code for code, _ in groups]
    pyplot.close(figure)


def test_report_map__drawn_over_the_shaded_relief_of_the_dem(tmp_path):
    """The map had no background: with a DEM its landforms sit on GDAL's hillshade (warped to the inventory's CRS from a
    DEM in another CRS); the pixels around the outlines are relief, not blank."""
    require_module("matplotlib")
    from matplotlib import image

    from rockglacier_plugin.core.report import figures
    from rockglacier_plugin.core.report.relief import relief_background
    from tests.builders import plane_dem, write_raster

    z, gt = plane_dem(400, 10.0, (600000.0, 5200000.0), 30.0, 200.0)
    z = z + 150.0 * np.sin(np.arange(400) / 25.0)[None, :]  # ridges, so the shading varies
    dem = write_raster(tmp_path / "dem.tif", z, gt, epsg=32632)
    records = [{"upslope_con": "T"}, {"upslope_con": "G"}]
    geometries = [ogr.CreateGeometryFromWkt(square_wkt(601000.0 + 1500.0 * i, 5198000.0, 300.0)) for i in range(2)]
    relief = relief_background(str(dem), "EPSG:32632", figures._map_bounds(geometries))
    assert relief is not None and np.nanstd(relief.shade) > 5.0
    plain = image.imread(figures.map_figure(records, geometries, "EPSG:32632", str(tmp_path / "plain.png"), "EPSG:32632"))
    shaded = image.imread(
        figures.map_figure(records, geometries, "EPSG:32632", str(tmp_path / "relief.png"), "EPSG:32632", str(dem))
    )
    assert plain.shape == shaded.shape
    assert shaded[..., :3].std() > plain[..., :3].std() * 1.2
    assert relief_background(str(dem), "EPSG:32632", (0.0, 0.0, 10.0, 10.0)) is None  # the DEM does not reach there
