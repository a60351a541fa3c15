"""The RGIK inventory templates as one table: layers, fields, types, value domains and where each
comes from (``docs/rgik.md`` lists the same, with the citations spelled out).

RGIK's Rock Glacier Inventories (RoGI) come as three layer sets per area (Rouyet et al. 2025):
primary markers (PM, points locating and characterising each rock-glacier unit), moving areas (MA,
InSAR polygons by velocity class) and geomorphological outlines (GO, restricted and extended
outlines). Field names are the template's (with their dots), checked against an independent
public reader of RGIK inventories (PyRoGI, see ``SOURCES``). Value words are RGIK's categories as
that reader encodes them; their exact spelling in the template's drop-down lists could not be read
here and is marked ``spelling unverified`` in ``docs/rgik.md``. Change a word here only: the
export, its help and the docs test read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: Where the facts come from (keys used by ``TemplateField.source``).
SOURCES: dict[str, str] = {
    "pyrogi": (
        "PyRoGI (github.com/pyzak117/PyRogi, commit d939cfa91570f2d21a706f8693ca322831699fe9, 2025-12-10): "
        "src/pyrogi/rgu.py (RockGlacierUnit docstring: the template's field names), src/pyrogi/graphical_chart.json "
        "(the value categories of activity, upslope connection and kinematic attribute), src/pyrogi/rogi.py "
        "get_mas_scores (moving areas' Vel.Class read as an integer code ordered by speed)"
    ),
    "rouyet2025": (
        "Rouyet, L. et al. (2025): Rock Glacier Inventories (RoGIs) in 12 areas worldwide using a multi-operator "
        "consensus-based procedure, Earth Syst. Sci. Data 17, 4125-4157, doi:10.5194/essd-17-4125-2025; data "
        "doi:10.5281/zenodo.14501398 (three GeoPackages per area: PM, MA, GO; GO holds restricted and extended outlines)"
    ),
    "rgik2023": (
        "RGIK (2023a): Guidelines for inventorying rock glaciers: baseline and practical concepts, version 1.0, "
        "doi:10.51363/unifr.srr.2023.002; and RGIK (2023b): Rock glacier velocity as an associated parameter of ECV "
        "Permafrost: baseline concepts, version 3.2 (as quoted by ESA Permafrost_cci, 13 Dec 2024: RGV is a time "
        "series of annualised surface velocity values in m/y per rock-glacier unit). The PDFs could not be read "
        "on this machine"
    ),
    "ours": "rockglacier's own field (not in the template; kept so the numbers behind the classes travel with the file)",
}


@dataclass(frozen=True)
class TemplateField:
    """One field of RGIK's template layer: name, type, width and the value list it takes."""

    name: str
    kind: str  # "text", "integer" or "real"
    source: str  # key of SOURCES
    domain: Optional[tuple] = None  # allowed values (None: free)
    required: bool = False  # never NULL in our export


#: Acti.Cl.: RGIK's activity classes (PyRoGI: active, active_uncertain, transitional, relict_uncertain, relict, uncertain).
ACTIVITY_CLASSES: tuple[str, ...] = ("Active", "Active uncertain", "Transitional", "Relict uncertain", "Relict", "Uncertain")
#: Upsl.Con.: RGIK's upslope connections (PyRoGI: talus, debris-mantled_slope, landslide, glacier_forefield, glacier,
#: poly, uncertain, unknown, other).
UPSLOPE_CONNECTIONS: tuple[str, ...] = (
    "Talus",
    "Debris-mantled slope",
    "Landslide",
    "Glacier forefield",
    "Glacier",
    "Poly",
    "Uncertain",
    "Unknown",
    "Other",
)
#: Kin.Att.: RGIK's semi-orders of magnitude, slowest first, then Undefined (PyRoGI: inf_cm, cm, cm_to_dm, dm, dm_to_m,
#: m, sup_m, undefined). Their bounds in cm/yr are ``kinematic_classes.KINEMATIC_CLASSES``, in the same order.
KINEMATIC_ATTRIBUTES: tuple[str, ...] = ("< cm/y", "cm/y", "cm/y to dm/y", "dm/y", "dm/y to m/y", "m/y", "> m/y", "Undefined")
KINEMATIC_UNDEFINED = "Undefined"
#: Out.Type (PyRoGI writes both).
OUTLINE_TYPES: tuple[str, ...] = ("Extended", "Restricted")
#: Rel.Kin.: reliability of the kinematic attribute (our three levels; RGIK's words unverified).
RELIABILITY: tuple[str, ...] = ("High", "Medium", "Low")
#: Vel.Class: 1 + index of the class in KINEMATIC_ATTRIBUTES (1 = < cm/y ... 7 = > m/y); codes ordered by speed.
VELOCITY_CLASS_CODES: tuple[int, ...] = tuple(range(1, 8))

PM_FIELDS: tuple[TemplateField, ...] = (
    TemplateField("PrimaryID", "text", "pyrogi", required=True),
    TemplateField("WorkingID", "text", "pyrogi", required=True),
    TemplateField("Morpho.", "text", "pyrogi"),
    TemplateField("Upsl.Con.", "text", "pyrogi", UPSLOPE_CONNECTIONS, required=True),
    TemplateField("Upsl.Cur.", "text", "pyrogi"),
    TemplateField("Complet.", "text", "pyrogi"),
    TemplateField("Acti.Cl.", "text", "pyrogi", ACTIVITY_CLASSES, required=True),
    TemplateField("Destabili.", "text", "pyrogi"),
    TemplateField("Comment", "text", "pyrogi"),
    TemplateField("Assoc.RGS", "text", "pyrogi"),
    TemplateField("Acti.Ass.", "text", "pyrogi"),
    TemplateField("Kin.Att.", "text", "pyrogi", KINEMATIC_ATTRIBUTES, required=True),
    TemplateField("Rel.Kin.", "text", "pyrogi", RELIABILITY),
    TemplateField("Kin.Period", "text", "pyrogi"),
)
#: Our additional primary-marker fields (after the template's).
PM_EXTRA_FIELDS: tuple[TemplateField, ...] = tuple(
    TemplateField(name, "real", "ours")
    for name in ("Area_km2", "Elev.Mean_m", "Elev.Min_m", "Elev.Max_m", "Slope_deg", "Aspect_deg", "Vel_cm_yr", "Vel.Err_cm_yr")
) + (
    TemplateField("Kin.Method", "text", "ours", ("InSAR", "feature tracking")),
)  # the technique of Kin.Att. and Vel_cm_yr: InSAR or feature tracking

GO_FIELDS: tuple[TemplateField, ...] = (
    TemplateField("PrimaryID", "text", "pyrogi", required=True),
    TemplateField("WorkingID", "text", "pyrogi", required=True),
    TemplateField("Out.Type", "text", "pyrogi", OUTLINE_TYPES, required=True),
    TemplateField("RelFr", "integer", "pyrogi"),
    TemplateField("RelLeftLM", "integer", "pyrogi"),
    TemplateField("RelRightLM", "integer", "pyrogi"),
    TemplateField("RelUpsCon", "integer", "pyrogi"),
    TemplateField("RelIndex", "integer", "pyrogi"),
    TemplateField("Comment", "text", "pyrogi"),
)

MA_FIELDS: tuple[TemplateField, ...] = (
    TemplateField("Vel.Class", "integer", "pyrogi", VELOCITY_CLASS_CODES, required=True),
    TemplateField("MA.ID", "text", "ours", required=True),
    TemplateField("Vel.Label", "text", "ours", KINEMATIC_ATTRIBUTES[:-1], required=True),
    TemplateField("Kin.Period", "text", "ours"),
    TemplateField("Source", "text", "ours"),
    TemplateField("Area_km2", "real", "ours", required=True),
)


@dataclass(frozen=True)
class TemplateLayer:
    """One layer of RGIK's template: its name, geometry type and fields."""

    short: str  # PM, MA or GO: the file suffix of the three-file layout
    layer: str  # the layer's name inside the GeoPackage
    geometry: str  # "Point" or "MultiPolygon"
    fields: tuple[TemplateField, ...]


LAYERS: tuple[TemplateLayer, ...] = (
    TemplateLayer("PM", "primary_markers", "Point", PM_FIELDS + PM_EXTRA_FIELDS),
    TemplateLayer("MA", "moving_areas", "MultiPolygon", MA_FIELDS),
    TemplateLayer("GO", "geomorphological_outlines", "MultiPolygon", GO_FIELDS),
)


def template_layer(short: str) -> TemplateLayer:
    """The layer of a short name (PM, MA, GO)."""
    return next(layer for layer in LAYERS if layer.short == short)


def field_names(short: str) -> tuple[str, ...]:
    """Field names of a layer, in the order written.

    >>> field_names("GO")[:3]
    ('PrimaryID', 'WorkingID', 'Out.Type')
    """
    return tuple(f.name for f in template_layer(short).fields)
