"""The RGIK export: vocabulary, markers inside their outlines, rejected landforms left out, moving areas."""

import math

import numpy as np
import pytest
from osgeo import gdal, ogr

from rockglacier_plugin.core.inventory.moving_areas import class_codes, moving_areas
from rockglacier_plugin.core.inventory.rgik import kinematic_attribute, primary_marker_values
from rockglacier_plugin.core.inventory.rgik_export import write_rgik
from tests.builders import read_layer, srs_from_epsg, write_raster

X0, Y0 = 500000.0, 4000000.0


def _crescent_wkb(cx, cy, r_out=300.0, r_in=220.0, n=60):
    """A 'C' shape whose centroid lies outside it."""
    outer = [(cx + r_out * math.cos(t), cy + r_out * math.sin(t)) for t in np.linspace(0.3, 2 * math.pi - 0.3, n)]
    inner = [(cx + r_in * math.cos(t), cy + r_in * math.sin(t)) for t in np.linspace(2 * math.pi - 0.3, 0.3, n)]
    ring = outer + inner + [outer[0]]
    return bytes(ogr.CreateGeometryFromWkt("POLYGON((" + ",".join(f"{x} {y}" for x, y in ring) + "))").ExportToWkb())


def test_primary_marker_values__map_our_codes_to_rgik_words_and_hide_unusable_velocities():
    values = primary_marker_values(
        {
            "rg_id": "wkl001",
            "upslope_con": "DMS",
            "activity": "active",
            "vel_dslp_cm_yr": 45.0,
            "vel_ok": 1,
            "vel_rel_err": 0.15,
            "vel_pair": "20070716-20070831",
        },
        "RGU350000N0790000E",
    )
    assert (
        values["PrimaryID"],
        values["WorkingID"],
        values["Upsl.Con."],
        values["Acti.Cl."],
        values["Kin.Att."],
        values["Rel.Kin."],
        values["Kin.Period"],
    ) == ("RGU350000N0790000E", "wkl001", "Debris-mantled slope", "Active", "dm/y to m/y", "Medium", "2007-07-16/2007-08-31")
    unusable = primary_marker_values(
        {"rg_id": "wkl002", "vel_dslp_cm_yr": 45.0, "vel_ok": 0, "activity": "relict_uncertain"}, None
    )
    assert (unusable["Upsl.Con."], unusable["Kin.Att."], unusable["Vel_cm_yr"], unusable["Kin.Period"], unusable["Acti.Cl."]) == (
        "Unknown",
        "Undefined",
        None,
        None,
        "Relict uncertain",
    )
    assert kinematic_attribute({"vel_dslp_cm_yr": -20.0, "vel_ok": 1}) == "Undefined"


def test_write_rgik_geopackage__markers_lie_inside_even_crescents_and_rejected_are_left_out(tmp_path):
    crescent = _crescent_wkb(X0, Y0)
    records = [{"rg_id": "a", "review": "accepted"}, {"rg_id": "b", "review": "rejected"}, {"rg_id": "c"}]
    counts = write_rgik(str(tmp_path / "rgik.gpkg"), records, [crescent, crescent, None], srs_from_epsg(32644).ExportToWkt())
    assert counts.landforms == 1 and "c has no geometry" in counts.skipped[0]
    markers = read_layer(tmp_path / "rgik.gpkg", "primary_markers")
    outlines = read_layer(tmp_path / "rgik.gpkg", "geomorphological_outlines")
    assert [m["WorkingID"] for m in markers] == ["a"] and outlines[0]["Out.Type"] == "Extended"
    assert outlines[0]["PrimaryID"] == markers[0]["PrimaryID"] and markers[0]["PrimaryID"].startswith("RGU")
    polygon = ogr.CreateGeometryFromWkb(crescent)
    assert not polygon.Contains(polygon.Centroid())  # the naive marker would be outside
    assert polygon.Contains(ogr.CreateGeometryFromWkt(markers[0]["_wkt"]))
    assert not (tmp_path / "rgik.partial.gpkg").exists()


def test_class_codes__boundaries_belong_to_the_upper_class():
    assert class_codes(np.array([0.99, 1.0, 2.99, 3.0, 300.0])).tolist() == [0, 2, 2, 3, 7]


def test_moving_areas__one_polygon_per_connected_class_patch_with_its_area_and_period(tmp_path):
    velocity = np.full((100, 100), 0.2, dtype=np.float32)
    velocity[10:30, 10:40] = 50.0  # 20 x 30 px of 10 m = 0.06 km2, class 30-100
    velocity[60:70, 60:65] = 5.0  # 0.005 km2, class 3-10
    velocity[90:92, 90:92] = 20.0  # 4 px: noise for the median filter
    velocity[50, 20] = 500.0  # one noisy pixel
    velocity[0:5, 95:100] = -9999.0
    path = write_raster(tmp_path / "v.tif", velocity, (X0, 10.0, 0, Y0, 0, -10.0), epsg=32644, nodata=-9999.0, unit="cm/yr")
    dataset = gdal.Open(str(path), gdal.GA_Update)
    dataset.SetMetadata({"PAIR": "20070716-20070831"})
    dataset = None
    result = moving_areas(str(path), min_area_km2=0.004)
    found = sorted((a.velocity_class, round(a.area_km2, 6)) for a in result.areas)
    # the 3 x 3 median takes the four corner pixels off each rectangle and the 2 x 2 patch entirely
    assert found == [("3-10 cm/yr", 0.0046), ("30-100 cm/yr", 0.0596)]
    assert result.period == "2007-07-16/2007-08-31"
    counts = write_rgik(str(tmp_path / "rgik.gpkg"), [], [], srs_from_epsg(4326).ExportToWkt(), [result])
    rows = read_layer(tmp_path / "rgik.gpkg", "moving_areas")
    assert counts.moving_areas == 2 and rows[0]["Kin.Period"] == "2007-07-16/2007-08-31"
    assert sorted((r["Vel.Class"], r["Vel.Label"]) for r in rows) == [(3, "cm/y to dm/y"), (5, "dm/y to m/y")]
    assert ogr.CreateGeometryFromWkt(rows[0]["_wkt"]).GetEnvelope()[0] == pytest.approx(81.0, abs=0.5)  # reprojected to degrees


def test_moving_areas__with_landforms_only_the_areas_touching_one_are_kept(tmp_path):
    velocity = np.zeros((100, 100), dtype=np.float32)
    velocity[10:30, 10:30] = 50.0
    velocity[60:80, 60:80] = 50.0
    path = write_raster(tmp_path / "v.tif", velocity, (X0, 10.0, 0, Y0, 0, -10.0), epsg=32644, nodata=-9999.0, unit="cm/yr")
    landform = ogr.CreateGeometryFromWkt(
        f"POLYGON(({X0 + 150} {Y0 - 150},{X0 + 250} {Y0 - 150},{X0 + 250} {Y0 - 250},"
        f"{X0 + 150} {Y0 - 250},{X0 + 150} {Y0 - 150}))"
    )
    result = moving_areas(str(path), 0.001, [bytes(landform.ExportToWkb())], srs_from_epsg(32644).ExportToWkt())
    assert len(result.areas) == 1
    assert ogr.CreateGeometryFromWkb(result.areas[0].wkb).Intersects(landform)


#: Rows of a published RGIK-following inventory (Kluetmeier et al. 2026, La Sal Mountains, Utah;
#: github.com/ckluetmeier/InSAR_RoGI_LaSals_Utah commit 0d25c25, LaSal_UT_active_RoGI.csv: IPA_id, lon, lat).
#: Four ids, two of them impossible as degrees-minutes-seconds (minutes 70, 89) and two where rounding, not
#: truncation, would give another digit (38.44685929 -> 4469, -109.2589608 -> 2590).
LA_SAL_ROWS = (
    ("RGS384070N1092542W", -109.2542182, 38.4070164),
    ("RGU384466N1092589W", -109.2589608, 38.44660664),
    ("RGU384468N1092347W", -109.2347805, 38.44685929),
    ("RGS384056N1092710W", -109.2710761, 38.40560131),
)


@pytest.mark.parametrize("identifier, lon, lat", LA_SAL_ROWS)
def test_primary_id__reproduces_the_published_la_sal_ids_from_their_centroids(identifier, lon, lat):
    from rockglacier_plugin.core.inventory.rgik import primary_id, primary_id_position

    assert primary_id(lon, lat, prefix=identifier[:3]) == identifier
    back_lon, back_lat = primary_id_position(identifier)
    assert 0 <= abs(lon) - abs(back_lon) < 1e-4 and 0 <= abs(lat) - abs(back_lat) < 1e-4


def test_primary_id__written_ids_name_the_marker_within_11_m_by_an_independent_transform(tmp_path):
    """Markers exported from UTM 13N (La Sal's zone): the id read back as decimal degrees and projected with pyproj (not the
    OGR transform the writer uses) lies within one 10^-4 degree cell of the marker, never 3-36 km away as DMS digits did."""
    from pyproj import Transformer

    from rockglacier_plugin.core.inventory.rgik import primary_id_position

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32612", always_xy=True)
    centres = [to_utm.transform(lon, lat) for _, lon, lat in LA_SAL_ROWS]
    polygons = [bytes(ogr.CreateGeometryFromWkt(f"POINT({x} {y})").Buffer(60.0).ExportToWkb()) for x, y in centres]
    records = [{"rg_id": f"rg{i:03d}"} for i in range(len(polygons))]
    path = str(tmp_path / "lasal.gpkg")
    write_rgik(path, records, polygons, srs_from_epsg(32612).ExportToWkt())
    markers = read_layer(path, "primary_markers")
    assert len(markers) == 4
    for marker in markers:
        point = ogr.CreateGeometryFromWkt(marker["_wkt"])
        lon, lat = primary_id_position(marker["PrimaryID"])
        x, y = to_utm.transform(lon, lat)
        # the cell's corner towards the equator and Greenwich: within 0.0001 deg (<= 11.1 m north, <= 8.7 m east here)
        assert -0.5 < point.GetY() - y < 11.2 + 0.5 and -0.5 < x - point.GetX() < 8.8 + 0.5  # 0.5 m: grid convergence
