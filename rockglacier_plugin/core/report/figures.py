"""The report's figures as PNG files, drawn with matplotlib's Agg backend (no display needed).

Each function takes plain records (one dict per landform) and writes one PNG; classes are drawn in
the inventory's colours (``inventory.colours``) in the tables' row order.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..inventory.colours import CLASS_COLOURS, UNCLASSIFIED_COLOUR, fraction
from ..inventory.landform_kinematics import landform_velocity
from ..inventory.statistics import class_of, table_classes
from ..numbers import finite

Record = Mapping[str, Any]
SECTORS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
DPI = 110


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot

    return pyplot


def colour(code: Optional[str]) -> tuple[float, float, float]:
    """The class's fill as matplotlib's (r, g, b) in 0-1."""
    fill = CLASS_COLOURS[code][1] if code in CLASS_COLOURS else UNCLASSIFIED_COLOUR[1]
    red, green, blue = fraction(fill[:3])
    return red, green, blue


def _by_class(records: Sequence[Record], value: Any) -> list[tuple[str, list[float]]]:
    """Per class, the finite values of ``value`` (a field name, or a function of the record)."""
    read = value if callable(value) else (lambda r: finite(r.get(value)))
    groups = []
    for code in table_classes(records):
        values = [read(r) for r in records if class_of(r) == code]
        groups.append((code, [v for v in values if v is not None]))
    return groups


def _velocity_cm_per_yr(record: Record) -> Optional[float]:
    measured = landform_velocity(record)
    return measured.velocity_cm_per_yr if measured else None


def _save(figure: Any, path: str) -> str:
    """Write the figure with everything it draws inside the image (tick labels, titles, a legend outside the axes)."""
    figure.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.15)
    _pyplot().close(figure)
    return path


def _box_and_points(axes: Any, groups: list[tuple[str, list[float]]], label: str) -> None:
    """Box plots with every landform as a jittered point (classes with no value are left empty)."""
    rng = np.random.default_rng(0)
    for position, (code, values) in enumerate(groups, start=1):
        if not values:
            continue
        box = axes.boxplot(
            [values],
            positions=[position],
            widths=0.55,
            patch_artist=True,
            showfliers=False,
            medianprops={"color": "black"},
            manage_ticks=False,
        )
        box["boxes"][0].set_facecolor(colour(code) + (0.45,))
        axes.scatter(
            position + rng.uniform(-0.15, 0.15, len(values)),
            values,
            s=10,
            color=colour(code),
            edgecolors="black",
            linewidths=0.3,
            zorder=3,
        )
    axes.set_xticks(range(1, len(groups) + 1))
    axes.set_xticklabels([f"{code}\n(n={len(values)})" for code, values in groups])
    # every class in its own slot, half a slot of margin each side (each boxplot call reset the limits to its own box:
    # the first class sat on the axis, and a class without values left the last one cut at the edge)
    axes.set_xlim(0.5, len(groups) + 0.5)
    axes.set_ylabel(label)
    axes.grid(axis="y", alpha=0.3)


def altitude_figure(records: Sequence[Record], path: str) -> str:
    """Mean elevation of the landforms per class (the paper's Figure 8)."""
    figure, axes = _pyplot().subplots(figsize=(6.5, 4.2))
    _box_and_points(axes, _by_class(records, "elev_mean_m"), "mean elevation (m)")
    axes.set_title("Altitude distribution by upslope connection")
    return _save(figure, path)


def velocity_figure(records: Sequence[Record], path: str) -> str:
    """The landforms' velocity per class (the paper's Figure 12): InSAR's downslope velocity where vel_ok = 1, else
    feature tracking's rate (``landform_kinematics``)."""
    figure, axes = _pyplot().subplots(figsize=(6.5, 4.2))
    _box_and_points(axes, _by_class(records, _velocity_cm_per_yr), "surface velocity (cm/yr)")
    axes.set_title("Surface velocity by upslope connection (InSAR vel_ok = 1, else feature tracking)")
    return _save(figure, path)


def sector_counts(aspects_deg: Sequence[float]) -> list[int]:
    """Landforms per 45-degree sector centred on N, NE, ... (N = 337.5-22.5 degrees).

    >>> sector_counts([0.0, 350.0, 22.4, 22.5, 180.0])
    [3, 1, 0, 0, 1, 0, 0, 0]
    """
    counts = [0] * len(SECTORS)
    for aspect in aspects_deg:
        counts[int(((aspect % 360.0) + 22.5) // 45.0) % 8] += 1
    return counts


def aspect_figure(records: Sequence[Record], path: str) -> str:
    """An aspect rose per class (the paper's Figure 9): landforms per 45-degree sector."""
    groups = _by_class(records, "aspect_deg")
    pyplot = _pyplot()
    figure, axes_list = pyplot.subplots(1, len(groups), figsize=(2.9 * len(groups), 3.2), subplot_kw={"projection": "polar"})
    figure.subplots_adjust(wspace=0.55)  # room for each rose's W and E labels
    angles = np.radians(np.arange(0.0, 360.0, 45.0))
    for axes, (code, values) in zip(np.atleast_1d(axes_list), groups):
        axes.set_theta_zero_location("N")
        axes.set_theta_direction(-1)  # clockwise, as azimuths
        if values:
            counts = sector_counts(values)
            axes.bar(angles, counts, width=math.radians(40.0), color=colour(code), edgecolor="black", linewidth=0.4)
            axes.set_yticks(sorted({round(max(counts) * f) for f in (0.5, 1.0)} - {0}))
            axes.set_rlabel_position(67.5)
        else:
            axes.set_yticks([])
        axes.set_xticks(angles)
        axes.set_xticklabels(SECTORS, fontsize=7)
        axes.tick_params(axis="y", labelsize=6)
        axes.set_title(f"{code} (n={len(values)})", fontsize=9)
    figure.text(0.5, 0.0, "radius: landforms per 45-degree sector (aspect, clockwise from north)", ha="center", fontsize=8)
    return _save(figure, path)


def _rings(geometry: Any) -> list[np.ndarray]:
    """Exterior rings of a polygon or multipolygon (OGR) as (n, 2) arrays."""
    from osgeo import ogr

    flat = ogr.GT_Flatten(geometry.GetGeometryType())
    polygons = [geometry] if flat == ogr.wkbPolygon else [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())]
    return [np.array(p.GetGeometryRef(0).GetPoints())[:, :2] for p in polygons if p.GetGeometryCount()]


def axis_titles(crs_wkt: str) -> tuple[str, str]:
    """The map's axis titles for a CRS: longitude/latitude in degrees, or easting/northing in its linear unit.

    >>> axis_titles('EPSG:4326'), axis_titles('EPSG:32644'), axis_titles('')
    (('longitude (deg)', 'latitude (deg)'), ('easting (m)', 'northing (m)'), ('x', 'y'))
    """
    if not crs_wkt:
        return "x", "y"
    from osgeo import osr

    srs = osr.SpatialReference()
    if srs.SetFromUserInput(crs_wkt) != 0:
        return "x", "y"
    if srs.IsGeographic():
        return "longitude (deg)", "latitude (deg)"
    unit = {"metre": "m", "meter": "m", "foot": "ft", "us survey foot": "US ft"}.get(
        srs.GetLinearUnitsName().lower(), srs.GetLinearUnitsName()
    )
    return f"easting ({unit})", f"northing ({unit})"


def _map_bounds(geometries: Sequence[Any], margin: float = 0.08) -> Optional[tuple[float, float, float, float]]:
    """(xmin, ymin, xmax, ymax) of the geometries with ``margin`` of their size around (at least a little)."""
    envelopes = [g.GetEnvelope() for g in geometries if g is not None]
    if not envelopes:
        return None
    xmin, xmax = min(e[0] for e in envelopes), max(e[1] for e in envelopes)
    ymin, ymax = min(e[2] for e in envelopes), max(e[3] for e in envelopes)
    pad = margin * max(xmax - xmin, ymax - ymin) or 1.0
    return xmin - pad, ymin - pad, xmax + pad, ymax + pad


def map_figure(
    records: Sequence[Record],
    geometries: Sequence[Any],
    crs_name: str,
    path: str,
    crs_wkt: str = "",
    dem_path: Optional[str] = None,
) -> str:
    """Overview map of the landforms in their class colours (``geometries``: OGR, one per record), over the shaded
    relief of ``dem_path`` when given (``relief``)."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    from .relief import relief_background

    figure, axes = _pyplot().subplots(figsize=(8.5, 6.0))
    bounds = _map_bounds(geometries)
    relief = relief_background(dem_path, crs_wkt, bounds) if dem_path and bounds and crs_wkt else None
    if relief is not None:
        axes.imshow(
            relief.shade, extent=relief.extent, cmap="gray", vmin=0, vmax=255, alpha=0.75, interpolation="bilinear", zorder=0
        )
    rings, faces = [], []
    for record, geometry in zip(records, geometries):
        if geometry is None:
            continue
        for ring in _rings(geometry):
            rings.append(ring)
            faces.append(colour(class_of(record)))
    axes.add_collection(PolyCollection(rings, facecolors=faces, edgecolors="black", linewidths=0.3))
    # centroids as dots too: at the scale of a mountain range the outlines are smaller than a pixel
    centres = [
        (g.Centroid().GetX(), g.Centroid().GetY(), colour(class_of(r))) for r, g in zip(records, geometries) if g is not None
    ]
    if centres:
        axes.scatter(
            [c[0] for c in centres],
            [c[1] for c in centres],
            s=6,
            c=[c[2] for c in centres],
            edgecolors="black",
            linewidths=0.2,
            zorder=3,
        )
    axes.autoscale_view()
    if bounds is not None:
        axes.set_xlim(bounds[0], bounds[2])
        axes.set_ylim(bounds[1], bounds[3])
    axes.set_aspect("equal")
    background = ", shaded relief of the DEM" if relief is not None else ""
    axes.set_title(f"Inventory overview ({crs_name}{background})", fontsize=10)
    x_title, y_title = axis_titles(crs_wkt)
    axes.set_xlabel(x_title, fontsize=8)
    axes.set_ylabel(y_title, fontsize=8)
    axes.tick_params(labelsize=7)
    codes = table_classes(records)
    handles = [Patch(facecolor=colour(c), edgecolor="black", label=CLASS_COLOURS[c][0]) for c in codes]
    if any(class_of(r) is None for r in records):
        handles.append(Patch(facecolor=colour(None), edgecolor="black", label=UNCLASSIFIED_COLOUR[0]))
    axes.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    axes.ticklabel_format(useOffset=False, style="plain")
    return _save(figure, path)
