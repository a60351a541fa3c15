"""The feature-tracking run's outputs, written alike by ``rockglacier:featuretracking`` (Processing sinks) and the
region command (``python -m rockglacier_plugin.region track``, OGR): the layers' names and fields, and each point's
values, defined once here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Optional

from ..inventory.schema import FieldSpec

POINT_LAYER, LANDFORM_LAYER = "feature_tracking_points", "rock_glaciers"
POINT_FIELDS = (
    FieldSpec("east_m", "real", "displacement east, m"),
    FieldSpec("north_m", "real", "displacement north, m"),
    FieldSpec("disp_m", "real", "displacement, m"),
    FieldSpec("rate_m_yr", "real", "displacement rate, m/yr"),
    FieldSpec("dir_deg", "real", "azimuth of the displacement, degrees clockwise from north"),
    FieldSpec("corr", "real", "normalised cross-correlation at the peak"),
    FieldSpec("stable", "integer", "1 on stable ground"),
    FieldSpec("valid", "integer", "1 when kept by the filters"),
    FieldSpec("above_lod", "integer", "1 when valid and above the LoD"),
    FieldSpec("reason", "text", "why the point has no valid displacement"),
)
LANDFORM_FIELDS = (
    FieldSpec("ft_vel_m_yr", "real", "median rate of the valid points inside, m/yr"),
    FieldSpec("ft_vel_err_m_yr", "real", "its error: LoD over the period and the points' spread, m/yr"),
    FieldSpec("ft_dir_deg", "real", "azimuth of the median displacement, degrees clockwise from north"),
    FieldSpec("ft_spread_m_yr", "real", "spread of the valid points' rates (1.4826 MAD), m/yr"),
    FieldSpec("ft_points", "integer", "valid points inside"),
    FieldSpec("ft_above_lod", "real", "share of them above the LoD"),
    FieldSpec("ft_lod_m", "real", "level of detection of the pair, m"),
    FieldSpec("ft_period", "text", "first/second date (YYYY-MM-DD/YYYY-MM-DD)"),
    FieldSpec("ft_method", "text", "how it was measured"),
    FieldSpec("ft_reason", "text", "why there is no rate"),
)


def point_rows(result: Any) -> list[dict[str, Any]]:
    """Each point's values of POINT_FIELDS (measurements None where nothing was matched)."""
    p, above = result.points, result.above_lod
    rows = []
    for i in range(len(p.x)):
        measured = p.east_m[i] == p.east_m[i]
        values = [
            float(v) if measured else None
            for v in (p.east_m[i], p.north_m[i], p.displacement_m[i], p.rate_m_per_yr[i], p.direction_deg[i], p.correlation[i])
        ]
        valid = p.reason[i] is None
        values += [int(p.stable[i]), int(valid), int(above[i]), p.reason[i]]
        rows.append({spec.name: value for spec, value in zip(POINT_FIELDS, values)})
    return rows


@dataclass(frozen=True)
class TrackingOptions:
    """What the user sets, in the units of the dialog and the command line (metres, m/yr)."""

    kind: str = "image"  # "image" or "dem"
    illumination_azimuth_deg: Optional[float] = None  # DEMs: None = multidirectional
    spacing_m: float = 5.0
    template_m: float = 16.0
    max_velocity_m_per_yr: float = 3.0
    min_correlation: float = 0.4


#: The numbers the user sets: (Processing name, label, TrackingOptions field, minimum, maximum); the flag is --name-lower.
NUMBERS: tuple[tuple[str, str, str, float, float], ...] = (
    ("SPACING_M", "Grid spacing, m", "spacing_m", 0.01, 100000.0),
    ("TEMPLATE_M", "Template size, m", "template_m", 0.01, 100000.0),
    ("MAX_VELOCITY_M_YR", "Largest expected velocity, m/yr", "max_velocity_m_per_yr", 0.001, 1000.0),
    ("MIN_CORRELATION", "Minimum correlation", "min_correlation", -1.0, 1.0),
)

#: The illuminations offered, as (label, azimuth) (None = multidirectional).
ILLUMINATIONS: tuple[tuple[str, Optional[float]], ...] = (
    ("Multidirectional (225, 270, 315, 360 deg)", None),
    ("From 315 deg (NW)", 315.0),
    ("From 45 deg (NE)", 45.0),
    ("From 135 deg (SE)", 135.0),
    ("From 225 deg (SW)", 225.0),
)


def tracking_setup(
    first_path: str, second_path: str, given_dates: tuple[Optional[date], Optional[date]], options: TrackingOptions
) -> tuple[Any, Any, list[str]]:
    """(TrackingInputs, TrackingSettings, what to tell the user) from the rasters and the options: dates given, else
    from the files; sizes in pixels of the first raster; the search radius from the largest velocity over the period."""
    from ..raster.io import open_raster, raster_grid
    from ..tracking.dates import image_date
    from ..tracking.displacements import TrackingSettings
    from ..tracking.feature_tracking import TrackingInputs, search_radius_px

    names = ("DATE_1", "DATE_2")
    datasets = [open_raster(path, what) for path, what in zip((first_path, second_path), ("IMAGE_1", "IMAGE_2"))]
    dates, notes = [], []
    for dataset, path, given, name in zip(datasets, (first_path, second_path), given_dates, names):
        found, source = image_date(dataset, path, given, name)
        notes.append(f"{name}: {found} ({source}).")
        dates.append(found)
    grid = raster_grid(datasets[0], 1, "IMAGE_1")
    pixel_m = abs(grid.geotransform[1]) * grid.linear_unit_m
    inputs = TrackingInputs(
        first_path,
        second_path,
        dates[0],
        dates[1],
        options.kind,
        options.illumination_azimuth_deg,
        max(1, int(round(options.spacing_m / pixel_m))),
    )
    template_px = max(5, int(round(options.template_m / pixel_m)) | 1)
    radius = search_radius_px(options.max_velocity_m_per_yr, max(inputs.years, 1e-6), pixel_m)
    settings = TrackingSettings(
        template_px=template_px,
        search_radius_px=radius,
        min_correlation=options.min_correlation,
        neighbour_radius_px=4.0 * inputs.spacing_px,
    )
    notes.append(
        f"Template {template_px} px ({template_px * pixel_m:g} m), search radius {radius} px ({radius * pixel_m:g} m: "
        f"{options.max_velocity_m_per_yr:g} m/yr over {inputs.years:.2f} years), points every {inputs.spacing_px} px."
    )
    return inputs, settings, notes
