"""The report: Table 2 and Table 3 as CSV, the figures as PNG and one HTML page that shows them all.

The page is plain HTML with relative links to the PNG files beside it, so it opens in any browser
and in QGIS's results viewer; it states the inventory, the filter, the date and the plugin version,
and how many landforms lack each attribute the tables use.
"""

from __future__ import annotations

import csv
import html
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Sequence

from ..inventory.review import ACCOUNTING_ROWS, review_accounting
from ..inventory.statistics import (
    CLASS_TABLE_COLUMNS,
    VELOCITY_TABLE_COLUMNS,
    class_table,
    missing_counts,
    velocity_table,
)
from . import figures

#: Attributes whose absence the report counts.
REPORTED_FIELDS = ("upslope_con", "elev_mean_m", "slope_mean_deg", "aspect_deg", "area_km2", "vel_dslp_cm_yr", "vel_ok")


@dataclass
class ReportInputs:
    """What ``rockglacier:report`` reads: the inventory and its optional tables."""

    records: Sequence[Mapping[str, Any]]  # the landforms the filter keeps
    geometries: Sequence[Any]  # OGR geometries in the layer's CRS, one per record (None allowed)
    inventory_name: str
    filter_expression: str
    crs_name: str
    plugin_version: str
    total_features: int  # before the filter
    candidates: Sequence[Mapping[str, Any]] = field(default_factory=list)  # deep-learning candidates, any review
    crs_wkt: str = ""  # for the map's axis titles (easting/northing in the CRS's unit, or degrees)
    dem_path: Optional[str] = None  # the map's shaded-relief background (none: the map shows the outlines alone)


@dataclass
class ReportOutputs:
    """What ``rockglacier:report`` writes: the HTML report and its figures and tables."""

    html_path: str
    class_table_path: Optional[str]
    velocity_table_path: Optional[str]
    figure_paths: list[str]


def write_table(path: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A CSV (comma, header row); None is an empty cell, floats keep full precision."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return path


#: Decimals shown per unit, so a column reads alike in every row (the CSV tables keep full precision).
DECIMALS_BY_UNIT = (("_km2", 3), ("_m", 0), ("_deg", 1), ("_cm_yr", 1))


def decimals(column: str) -> int:
    """Decimals for a column, from the unit its name ends with (2 for unitless shares).

    >>> [decimals(c) for c in ("area_km2_total", "elev_mean_m_sd", "slope_mean_deg_mean", "vel_max_err_cm_yr", "share")]
    [3, 0, 1, 1, 2]
    """
    stem = column.removesuffix("_mean").removesuffix("_sd").removesuffix("_total")
    return next((digits for unit, digits in DECIMALS_BY_UNIT if stem.endswith(unit) or column.endswith(unit)), 2)


def _cell(value: Any, column: str = "") -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:,.{decimals(column)}f}"
    return html.escape(str(value))


def _html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(c), c)}</td>" for c in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figures(inputs: ReportInputs, folder: str, stem: str) -> list[tuple[str, str]]:
    def path(name: str) -> str:
        return os.path.join(folder, f"{stem}_{name}.png")

    records = inputs.records
    return [
        (
            "Map overview",
            figures.map_figure(records, inputs.geometries, inputs.crs_name, path("map"), inputs.crs_wkt, inputs.dem_path),
        ),
        ("Altitude distribution per class (cf. the paper's Figure 8)", figures.altitude_figure(records, path("altitude"))),
        ("Aspect per class (cf. Figure 9)", figures.aspect_figure(records, path("aspect"))),
        (
            "Surface velocity per class: InSAR (vel_ok = 1), else feature tracking (cf. Figure 12)",
            figures.velocity_figure(records, path("velocity")),
        ),
    ]


STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:70em}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right}th{background:#eee}td:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:.3em 0 1.2em}.meta td{text-align:left}"""


def _page(inputs: ReportInputs, classes: list, velocities: list, figure_list: list[tuple[str, str]]) -> str:
    missing = missing_counts(inputs.records, REPORTED_FIELDS)
    meta = [
        ("Inventory", inputs.inventory_name),
        ("Filter", inputs.filter_expression or "(none)"),
        ("Landforms kept", f"{len(inputs.records)} of {inputs.total_features}"),
        ("Created", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("Plugin", f"rockglacier {inputs.plugin_version}"),
    ]
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Rock-glacier inventory report</title>"
        f"<style>{STYLE}</style></head><body><h1>Rock-glacier inventory report</h1>",
        "<table class='meta'>" + "".join(f"<tr><th>{k}</th><td>{html.escape(str(v))}</td></tr>" for k, v in meta) + "</table>",
        "<h2>Landforms per upslope-connection class (Table 2)</h2>",
        _html_table(classes, CLASS_TABLE_COLUMNS),
        "<p>Sample standard deviations; each statistic uses the landforms that have the attribute.</p>",
        "<h2>Velocities per class (Table 3)</h2>",
        _html_table(velocities, VELOCITY_TABLE_COLUMNS),
        "<p>Each landform's velocity is InSAR's downslope velocity where it passed its criteria (vel_ok = 1), else "
        "feature tracking's rate above its level of detection (count_feature_tracking of them); "
        "vel_max_err_cm_yr is the error of the fastest landform.</p>",
        "<h2>Missing attributes</h2>",
        _html_table(
            [{"attribute": k, "landforms without it": v} for k, v in missing.items()], ("attribute", "landforms without it")
        ),
    ]
    if inputs.candidates:
        accounting = review_accounting(inputs.candidates)
        parts += [
            "<h2>Deep-learning candidates and their review</h2>",
            _html_table([{"": row, "count": accounting[row]} for row in ACCOUNTING_ROWS], ("", "count")),
        ]
    for title, png in figure_list:
        parts.append(f"<h2>{html.escape(title)}</h2><img src='{html.escape(os.path.basename(png))}' alt='{html.escape(title)}'>")
    return "\n".join(parts + ["</body></html>"])


def write_report(
    inputs: ReportInputs, html_path: str, class_table_path: Optional[str] = None, velocity_table_path: Optional[str] = None
) -> ReportOutputs:
    """Compute the tables, draw the figures beside ``html_path`` and write the page."""
    folder = os.path.dirname(os.path.abspath(html_path))
    os.makedirs(folder, exist_ok=True)
    classes, velocities = class_table(inputs.records), velocity_table(inputs.records)
    if class_table_path:
        write_table(class_table_path, classes, CLASS_TABLE_COLUMNS)
    if velocity_table_path:
        write_table(velocity_table_path, velocities, VELOCITY_TABLE_COLUMNS)
    figure_list = _figures(inputs, folder, os.path.splitext(os.path.basename(html_path))[0])
    with open(html_path, "w", encoding="utf-8") as handle:
        handle.write(_page(inputs, classes, velocities, figure_list))
    return ReportOutputs(html_path, class_table_path, velocity_table_path, [p for _, p in figure_list])
