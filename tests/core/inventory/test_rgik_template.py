"""The RGIK export read back by an independent reader written from docs/rgik.md: random inventories in
random UTM zones, both layouts; the template table and the documentation say the same."""

import math
import random
import re

import pytest
from osgeo import ogr, osr

from rockglacier_plugin.core.inventory.rgik_export import THREE_FILES, output_paths, write_rgik
from rockglacier_plugin.core.inventory.rgik_template import LAYERS
from tests.rgik_reader import check_rgik_export, layer_doc

UPSLOPE = ["G", "GF", "DMS", "T", "P", "O", "g", "", None, "landslide?"]
ACTIVITY = ["active", "Active uncertain", "relict_uncertain", "RELICT", "transitional", "uncertain", "", None, "dormant"]


def _utm(zone: int, south: bool) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG((32700 if south else 32600) + zone)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _blob(rng: random.Random, cx: float, cy: float) -> bytes:
    """A random star-shaped polygon, now and then a self-intersecting bow tie (repaired by the export)."""
    if rng.random() < 0.1:
        wkt = f"POLYGON(({cx} {cy},{cx + 300} {cy + 300},{cx + 300} {cy},{cx} {cy + 300},{cx} {cy}))"
        return bytes(ogr.CreateGeometryFromWkt(wkt).ExportToWkb())
    n = rng.randint(5, 14)
    points = []
    for i in range(n):
        angle = 2 * math.pi * i / n
        radius = rng.uniform(80, 400)
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    points.append(points[0])
    return bytes(ogr.CreateGeometryFromWkt("POLYGON((" + ",".join(f"{x} {y}" for x, y in points) + "))").ExportToWkb())


def _record(rng: random.Random, index: int) -> dict:
    velocity = rng.choice([None, float("nan"), -12.0, rng.uniform(0, 500)])
    return {
        "rg_id": f"rg{index:03d}",
        "upslope_con": rng.choice(UPSLOPE),
        "activity": rng.choice(ACTIVITY),
        "vel_dslp_cm_yr": velocity,
        "vel_ok": rng.choice([0, 1, 1, None]),
        "vel_rel_err": rng.choice([None, 0.05, 0.15, 0.4]),
        "vel_err_cm_yr": 2.0,
        "vel_pair": rng.choice(["20190701-20200705", "", None]),
        "review": rng.choice(["accepted", "modified", "rejected", "candidate", None]),
        "comment": rng.choice([None, "check front"]),
        "area_km2": rng.uniform(0.03, 1.0),
        "elev_mean_m": rng.uniform(3000, 5500),
    }


def _decimal_degrees(text: str) -> float:
    """A PrimaryID coordinate as the La Sal RoGI README defines it: decimal degrees x 10^4 and a hemisphere letter."""
    value = int(text[:-1]) / 1e4
    return -value if text[-1] in "SW" else value


@pytest.mark.parametrize("seed", range(12))
def test_random_inventories__the_export_is_valid_by_the_documented_reader(tmp_path, seed):
    rng = random.Random(seed)
    zone, south = rng.randint(1, 60), rng.random() < 0.4
    srs = _utm(zone, south)
    northing = rng.uniform(3.6e6, 6.0e6) if south else rng.uniform(3.0e6, 5.5e6)
    records, polygons = [], []
    for index in range(rng.randint(0, 25)):
        records.append(_record(rng, index))
        polygons.append(None if rng.random() < 0.05 else _blob(rng, rng.uniform(3e5, 7e5), northing + rng.uniform(0, 5e4)))
    layout = rng.choice(["single", THREE_FILES])
    path = str(tmp_path / "inventory.gpkg")
    counts = write_rgik(path, records, polygons, srs.ExportToWkt(), layout=layout)
    paths = output_paths(path, layout)
    rows, problems = check_rgik_export(paths)
    assert problems == []
    expected = [r for r, p in zip(records, polygons) if r["review"] != "rejected" and p is not None]
    assert counts.landforms == len(rows["PM"]) == len(expected)
    assert [m["WorkingID"] for m in rows["PM"]] == [r["rg_id"] for r in expected]
    to_wgs84 = osr.CoordinateTransformation(srs, _wgs84())
    for marker in rows["PM"]:  # PrimaryID encodes the marker's own position, truncated to 10^-4 degree
        lon, lat, _ = to_wgs84.TransformPoint(*ogr.CreateGeometryFromWkt(marker["_geometry"]).GetPoint_2D())
        found = re.match(r"RGU(\d{6}[NS])(\d{7}[EW])$", marker["PrimaryID"])
        assert 0 <= abs(lat) - abs(_decimal_degrees(found.group(1))) < 1e-4 + 1e-9
        assert 0 <= abs(lon) - abs(_decimal_degrees(found.group(2))) < 1e-4 + 1e-9
        assert (lat < 0) == found.group(1).endswith("S") and (lon < 0) == found.group(2).endswith("W")
    assert sorted(set(counts.paths)) == sorted(set(paths.values()))


def _wgs84() -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def test_three_file_layout__names_the_files_pm_ma_go_each_with_its_layer_in_a_folder_made_for_them(tmp_path):
    folder = tmp_path / "new" / "folder"
    paths = output_paths(str(folder / "west_kunlun.gpkg"), THREE_FILES)
    write_rgik(
        str(folder / "west_kunlun.gpkg"),
        [{"rg_id": "a"}],
        [_blob(random.Random(1), 5e5, 4e6)],
        _utm(44, False).ExportToWkt(),
        layout=THREE_FILES,
    )
    assert sorted(p.name for p in folder.iterdir()) == ["west_kunlun_GO.gpkg", "west_kunlun_MA.gpkg", "west_kunlun_PM.gpkg"]
    for layer in LAYERS:
        dataset = ogr.Open(paths[layer.short])
        assert [dataset.GetLayer(i).GetName() for i in range(dataset.GetLayerCount())] == [layer.layer]


def test_the_template_table_and_the_documentation_say_the_same():
    for layer in LAYERS:
        doc = layer_doc(layer.short)
        assert (doc.layer, doc.geometry) == (layer.layer, layer.geometry)
        documented = [(f.name, f.kind, f.required, tuple(f.values) if f.values else None) for f in doc.fields]
        ours = [(f.name, f.kind, f.required, tuple(str(v) for v in f.domain) if f.domain else None) for f in layer.fields]
        assert documented == ours


def test_the_reader_catches_a_wrong_word_a_missing_field_and_a_null(tmp_path):
    """The oracle can fail: misspelt words, a malformed id and a missing field are refused (NULLs in required fields
    cannot even be written: the columns are NOT NULL)."""
    srs = _utm(19, True)
    path = str(tmp_path / "bad.gpkg")
    write_rgik(path, [{"rg_id": "a", "upslope_con": "T"}], [_blob(random.Random(2), 4e5, 6e6)], srs.ExportToWkt())
    dataset = ogr.Open(path, 1)
    dataset.ExecuteSQL("UPDATE primary_markers SET \"Upsl.Con.\" = 'Talus connected', PrimaryID = 'RG-1'")
    dataset.ExecuteSQL("ALTER TABLE geomorphological_outlines DROP COLUMN RelIndex")
    dataset = None
    _, problems = check_rgik_export(output_paths(path, "single"))
    assert any("'Talus connected' is not one of" in p for p in problems)
    assert any("PrimaryID = 'RG-1' does not match" in p for p in problems)
    assert any("field RelIndex missing" in p for p in problems)
