"""The inventory schema: layer names, field names, types and allowed values.

One table that every algorithm, the dock and the exports read, so outputs chain without renaming
(see the design note ``inventory-schema.md``). Names are lower-case ASCII with units in the name.
Types are plain strings ("text", "real", "integer") mapped to QGIS or OGR types by the adapters.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

FieldType = Literal["text", "real", "integer"]

ROCK_GLACIER_LAYER = "rock_glaciers"
REFERENCE_POINT_LAYER = "reference_points"


@dataclass(frozen=True)
class FieldSpec:
    """One attribute of an inventory layer."""

    name: str
    type: FieldType
    description: str


class UpslopeConnection(str, Enum):
    """RGIK upslope-connection classes (how a rock glacier is fed)."""

    GLACIER = "G"
    GLACIER_FOREFIELD = "GF"
    DEBRIS_MANTLED_SLOPE = "DMS"
    TALUS = "T"
    POLY_CONNECTED = "P"
    OTHER = "O"


class Source(str, Enum):
    """Where a landform came from (the ``source`` field)."""

    INSAR = "insar"
    DEEP_LEARNING = "deep_learning"
    MANUAL = "manual"


class Review(str, Enum):
    """A landform's review state (the ``review`` field)."""

    CANDIDATE = "candidate"
    ACCEPTED = "accepted"
    MODIFIED = "modified"
    REJECTED = "rejected"


ROCK_GLACIER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("rg_id", "text", "unique id: prefix + zero-padded number, e.g. wkl037"),
    FieldSpec("source", "text", "insar, deep_learning or manual"),
    FieldSpec("review", "text", "candidate, accepted, modified or rejected"),
    FieldSpec("upslope_con", "text", "upslope connection G, GF, DMS, T, P, O; NULL = not classified"),
    FieldSpec("upslope_suggested", "text", "class suggested from glacier outlines (G or GF)"),
    FieldSpec("activity", "text", "active, transitional, relict, uncertain"),
    FieldSpec("area_km2", "real", "planimetric area on the WGS84 ellipsoid (local equal-area projection)"),
    FieldSpec("elev_min_m", "real", "lowest DEM elevation inside the polygon"),
    FieldSpec("elev_max_m", "real", "highest DEM elevation inside the polygon"),
    FieldSpec("elev_mean_m", "real", "area-weighted mean DEM elevation inside the polygon"),
    FieldSpec("slope_mean_deg", "real", "area-weighted mean terrain slope inside the polygon"),
    FieldSpec("aspect_deg", "real", "circular mean downslope azimuth, clockwise from north, 0-360"),
    FieldSpec("aspect_class", "text", "N, NE, E, SE, S, SW, W, NW"),
    FieldSpec("lon", "real", "centroid longitude, WGS84 degrees"),
    FieldSpec("lat", "real", "centroid latitude, WGS84 degrees"),
    FieldSpec("vel_dslp_cm_yr", "real", "mean downslope surface velocity"),
    FieldSpec("vel_err_cm_yr", "real", "propagated 1-sigma uncertainty of vel_dslp_cm_yr"),
    FieldSpec("vel_rel_err", "real", "vel_err_cm_yr / abs(vel_dslp_cm_yr)"),
    FieldSpec("vel_valid_frac", "real", "fraction of pixels kept after coherence and projection masks"),
    FieldSpec("vel_max_cm_yr", "real", "moving-area candidates: 95th percentile of the downslope velocity inside the polygon"),
    FieldSpec("vel_max_err_cm_yr", "real", "1-sigma error of vel_max_cm_yr"),
    FieldSpec("coh_share", "real", "moving-area candidates: share of the polygon with coherence >= the minimum"),
    FieldSpec("pairs_seen", "integer", "moving-area candidates: pairs in which the area moves"),
    FieldSpec("pairs_covering", "integer", "moving-area candidates: pairs that see the area coherently"),
    FieldSpec(
        "vel_pair", "text", "acquisition dates YYYYMMDD-YYYYMMDD (two joined by + when ascending and descending are combined)"
    ),
    FieldSpec("vel_geometry", "text", "viewing geometry of the value: ascending, descending or ascending+descending"),
    FieldSpec("vel_ok", "integer", "1 when the velocity passes the quality criteria"),
    FieldSpec("kin_class", "text", "RGIK kinematic class; undefined when vel_ok = 0"),
    FieldSpec("vel_reason", "text", "why vel_ok = 0, and flags such as a negative (upslope) mean"),
    FieldSpec("dl_prob_mean", "real", "mean model probability inside the polygon"),
    FieldSpec("match_rg_id", "text", "rg_id of the existing polygon a candidate overlaps"),
    FieldSpec("edited_at", "text", "ISO-8601 time of the last edit in the dock"),
    FieldSpec("edited_by", "text", "user of the last edit in the dock"),
    FieldSpec("comment", "text", "free text"),
    FieldSpec("attr_note", "text", "what made this landform's DEM attributes partial or empty (rockglacier:attributes)"),
)

REFERENCE_POINT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("rg_id", "text", "rock glacier this reference serves"),
    FieldSpec("method", "text", "manual or auto"),
    FieldSpec(
        "rung",
        "text",
        "rung of the reference ladder: flat, moderate_slope, steep_slope, low_coherence, wider_radius, surroundings, "
        "robust_median, or manual",
    ),
    FieldSpec("distance_m", "real", "distance from the landform's outline to the reference, metres"),
    FieldSpec("elev_diff_m", "real", "reference elevation minus the landform's mean elevation, metres"),
    FieldSpec("coherence", "real", "mean coherence of the reference patch"),
    FieldSpec("vel_los_cm_yr", "real", "LOS velocity subtracted (towards the satellite)"),
    FieldSpec("sigma_cm_yr", "real", "1-sigma error of the reference velocity (enters vel_err_cm_yr)"),
    FieldSpec("vel_pair", "text", "interferogram the value comes from, YYYYMMDD-YYYYMMDD"),
)

VELOCITY_PAIR_LAYER = "velocity_pairs"

#: One row per landform and pair or velocity product: RGIK's Rock Glacier Velocity series.
VELOCITY_PAIR_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("rg_id", "text", "rock glacier"),
    FieldSpec("vel_pair", "text", "pair or product period YYYYMMDD-YYYYMMDD"),
    FieldSpec("date_start", "text", "first acquisition, ISO date"),
    FieldSpec("date_end", "text", "last acquisition, ISO date"),
    FieldSpec("days", "integer", "days between them"),
    FieldSpec("vel_dslp_cm_yr", "real", "mean downslope velocity over the period"),
    FieldSpec("vel_err_cm_yr", "real", "its propagated 1-sigma error"),
    FieldSpec("vel_valid_frac", "real", "fraction of the landform kept by the masks"),
    FieldSpec("vel_ok", "integer", "1 when the value passes the quality criteria"),
    FieldSpec("kin_class", "text", "RGIK kinematic class; undefined when vel_ok = 0"),
    FieldSpec("vel_reason", "text", "why vel_ok = 0"),
    FieldSpec("vel_geometry", "text", "ascending or descending (when known)"),
    FieldSpec("source", "text", "the interferogram or product file"),
)

#: Fields that ``rockglacier:attributes`` computes (and overwrites when present).
ATTRIBUTE_FIELDS: tuple[str, ...] = (
    "rg_id",
    "upslope_suggested",
    "area_km2",
    "elev_min_m",
    "elev_max_m",
    "elev_mean_m",
    "slope_mean_deg",
    "aspect_deg",
    "aspect_class",
    "lon",
    "lat",
    "attr_note",
)


def field_spec(name: str) -> FieldSpec:
    """The spec of a rock-glacier field by name; ``KeyError`` names the valid ones."""
    for spec in ROCK_GLACIER_FIELDS:
        if spec.name == name:
            return spec
    valid = ", ".join(spec.name for spec in ROCK_GLACIER_FIELDS)
    raise KeyError(f"'{name}' is not a field of the rock_glaciers layer; valid fields: {valid}")
