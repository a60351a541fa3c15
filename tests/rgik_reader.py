"""An independent reader of RGIK exports, written from ``docs/rgik.md`` (not from the writer's code).

It reads the field tables of the documentation (name, type, required, values or pattern) and checks a
written GeoPackage against them with plain GDAL/OGR: every documented layer and field present with its
type, required fields never NULL, every value in its documented domain, valid geometries of the
documented type, each primary marker inside the outline that carries its PrimaryID.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "rgik.md")
OGR_TYPES = {"text": "String", "integer": "Integer", "real": "Real"}


@dataclass
class DocField:
    name: str
    kind: str
    required: bool
    pattern: Optional[str]
    values: Optional[list]


@dataclass
class DocLayer:
    title: str
    layer: Optional[str]
    geometry: Optional[str]
    fields: list


def _cells(line: str) -> list:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _field(cells: list) -> DocField:
    name = cells[0].strip("`")
    values_cell = cells[3]
    pattern = values = None
    if values_cell.startswith("pattern"):
        pattern = re.search(r"`([^`]+)`", values_cell).group(1)
    elif re.fullmatch(r"`[^`]+`(,\s*`[^`]+`)*", values_cell):  # a list of values and nothing else: a closed domain
        values = re.findall(r"`([^`]+)`", values_cell)
    return DocField(name, cells[1], cells[2] == "yes", pattern, values)


def documented_layers(doc_path: str = DOC) -> dict:
    """Section title -> DocLayer, for every section with a field table."""
    layers: dict = {}
    title = None
    in_table = False
    with open(doc_path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("## "):
                title = line[3:].strip()
                in_table = False
                continue
            found = re.match(r"Layer `([^`]+)`, geometry (\w+)", line)
            if found and title:
                layers.setdefault(title, DocLayer(title, None, None, []))
                layers[title].layer, layers[title].geometry = found.group(1), found.group(2)
            if line.startswith("| field | type | required"):
                layers.setdefault(title, DocLayer(title, None, None, []))
                in_table = True
                continue
            if in_table and line.startswith("|---"):
                continue
            if in_table and line.startswith("| `"):
                layers[title].fields.append(_field(_cells(line)))
            elif in_table:
                in_table = False
    return layers


def layer_doc(short: str, doc_path: str = DOC) -> DocLayer:
    """The documented layer whose title ends with ``(short)``, e.g. PM."""
    return next(layer for title, layer in documented_layers(doc_path).items() if f"({short})" in title)


def check_field_value(spec: DocField, value) -> Optional[str]:
    """None when ``value`` fits the documented field, else what is wrong."""
    if value is None:
        return f"{spec.name} is NULL but required" if spec.required else None
    if spec.pattern and not re.match(spec.pattern, str(value)):
        return f"{spec.name} = {value!r} does not match {spec.pattern}"
    if spec.values is not None and str(value) not in spec.values:
        return f"{spec.name} = {value!r} is not one of {spec.values}"
    return None


def read_layer_checked(path: str, doc: DocLayer, layer_name: Optional[str] = None) -> tuple[list, list]:
    """(rows as dicts with '_geometry' WKT, problems) of one layer checked against its documentation."""
    from osgeo import ogr

    problems: list = []
    dataset = ogr.Open(path)
    if dataset is None:
        return [], [f"{path} does not open"]
    name = layer_name or doc.layer
    layer = dataset.GetLayerByName(name)
    if layer is None:
        return [], [f"{path} has no layer {name}"]
    definition = layer.GetLayerDefn()
    present = {
        definition.GetFieldDefn(i).GetName(): definition.GetFieldDefn(i).GetTypeName() for i in range(definition.GetFieldCount())
    }
    for spec in doc.fields:
        if spec.name not in present:
            problems.append(f"{name}: field {spec.name} missing")
        elif present[spec.name] != OGR_TYPES[spec.kind]:
            problems.append(f"{name}: field {spec.name} is {present[spec.name]}, documented {spec.kind}")
    if (
        doc.geometry not in (None, "None")
        and ogr.GeometryTypeToName(layer.GetGeomType()).replace(" ", "").lower() != doc.geometry.lower()
    ):
        problems.append(f"{name}: geometry {ogr.GeometryTypeToName(layer.GetGeomType())}, documented {doc.geometry}")
    rows = []
    for feature in layer:
        row = {spec.name: feature.GetField(spec.name) for spec in doc.fields if spec.name in present}
        geometry = feature.GetGeometryRef()
        row["_geometry"] = geometry.ExportToWkt() if geometry is not None else None
        if doc.geometry not in (None, "None") and (geometry is None or not geometry.IsValid()):
            problems.append(f"{name}: feature {feature.GetFID()} has no valid geometry")
        for spec in doc.fields:
            if spec.name in present:
                problem = check_field_value(spec, row[spec.name])
                if problem:
                    problems.append(f"{name} feature {feature.GetFID()}: {problem}")
        rows.append(row)
    return rows, problems


def check_rgik_export(paths: dict) -> tuple[dict, list]:
    """Read PM, MA and GO (``paths`` short -> GeoPackage) against the docs; markers must lie inside their outlines."""
    from osgeo import ogr

    rows, problems = {}, []
    for short in ("PM", "MA", "GO"):
        rows[short], found = read_layer_checked(paths[short], layer_doc(short))
        problems += found
    outlines = {}
    for outline in rows["GO"]:
        outlines.setdefault(outline["PrimaryID"], []).append(ogr.CreateGeometryFromWkt(outline["_geometry"]))
    for marker in rows["PM"]:
        point = ogr.CreateGeometryFromWkt(marker["_geometry"])
        if not any(o.Contains(point) for o in outlines.get(marker["PrimaryID"], [])):
            problems.append(f"PM {marker['PrimaryID']} ({marker['WorkingID']}) is not inside an outline with its PrimaryID")
    if len(rows["PM"]) != len(rows["GO"]):
        problems.append(f"{len(rows['PM'])} markers but {len(rows['GO'])} outlines")
    return rows, problems
