"""Inventory field specs as QGIS fields, for Qt5 and Qt6 builds of QGIS."""

from __future__ import annotations

from typing import Any, Iterable, Optional

from qgis.core import Qgis, QgsField, QgsFields

from ..core.inventory.schema import ROCK_GLACIER_FIELDS, FieldSpec

_QGIS_USES_QMETATYPE = Qgis.QGIS_VERSION_INT >= 33800


def _qt_type(field_type: str) -> Any:
    if _QGIS_USES_QMETATYPE:
        from qgis.PyQt.QtCore import QMetaType

        return {
            "text": QMetaType.Type.QString,
            "real": QMetaType.Type.Double,
            "integer": QMetaType.Type.Int,
        }[field_type]
    from qgis.PyQt.QtCore import QVariant

    return {"text": QVariant.String, "real": QVariant.Double, "integer": QVariant.Int}[field_type]


def qgs_field(spec: FieldSpec) -> QgsField:
    """The QgsField of a schema field (``core.inventory.schema.FieldSpec``)."""
    return QgsField(spec.name, _qt_type(spec.type))


def qgs_fields(specs: Iterable[FieldSpec]) -> QgsFields:
    """QGIS fields of a schema table, in its order."""
    fields = QgsFields()
    for spec in specs:
        fields.append(qgs_field(spec))
    return fields


def _matches(field: QgsField, spec: FieldSpec) -> bool:
    if spec.type == "integer":
        return field.isNumeric() and field.type() != _qt_type("real")
    return field.type() == _qt_type(spec.type)


def inventory_fields(input_fields: QgsFields, written: Iterable[str]) -> tuple[QgsFields, list[str]]:
    """Input fields followed by the missing rock_glaciers fields (schema order).

    Fields in ``written`` that exist in the input with an incompatible type are replaced by the
    schema's type, keeping their position. Returns the fields and a note per replaced field.
    """
    written = set(written)
    specs = {spec.name: spec for spec in ROCK_GLACIER_FIELDS}
    fields = QgsFields()
    notes: list[str] = []
    present = set()
    for field in input_fields:
        name = field.name()
        present.add(name)
        spec: Optional[FieldSpec] = specs.get(name)
        if spec is not None and name in written and not _matches(field, spec):
            notes.append(
                f"Field '{name}' was {field.typeName()} in the input; the output stores it as "
                f"{spec.type} as the inventory schema requires."
            )
            fields.append(qgs_field(spec))
        else:
            fields.append(field)
    for spec in ROCK_GLACIER_FIELDS:
        if spec.name not in present:
            fields.append(qgs_field(spec))
    return fields, notes
