"""User reference points: multipoints give every part; the nearest labelled part wins; per-pair names."""

import pytest
from osgeo import ogr

from rockglacier_plugin.core.errors import InputVectorError, ParameterError
from rockglacier_plugin.core.insar.landform_velocity import ReferencePoints
from rockglacier_plugin.core.insar.reference import nearest_point_index
from rockglacier_plugin.core.insar.velocity_rasters import per_pair_paths


def _wkb(wkt):
    return ogr.CreateGeometryFromWkt(wkt).ExportToWkb()


def test_reference_points__every_part_of_a_multipoint_is_a_candidate_with_the_features_id():
    points = ReferencePoints.from_wkb(
        [_wkb("MULTIPOINT((0 0),(100 0))"), _wkb("POINT(50 50)"), None], ["wkl001", None, "wkl002"], "EPSG:32644"
    )
    assert list(points.xy) == [(0.0, 0.0), (100.0, 0.0), (50.0, 50.0)]
    assert list(points.rg_ids) == ["wkl001", "wkl001", None]


def test_reference_points__nearest_part_of_the_landforms_multipoint_is_used():
    # parts at columns 0 and 90 (10 m pixels); the landform centre at column 100 is nearer the second
    assert nearest_point_index([(0, 0), (0, 90)], ["wkl001", "wkl001"], "wkl001", (0, 100), (10.0, 10.0), 50.0) == 1


def test_reference_points__a_point_of_another_landform_is_not_borrowed():
    assert nearest_point_index([(0, 99)], ["wkl002"], "wkl001", (0, 100), (10.0, 10.0), 1000.0) is None


def test_reference_points__empty_layer_is_explained():
    with pytest.raises(InputVectorError, match="REFERENCE_POINTS has no point"):
        ReferencePoints.from_wkb([None], [None], "EPSG:4326")


def test_per_pair_paths__two_pairs_with_the_same_dates_are_refused():
    with pytest.raises(ParameterError, match="same dates"):
        per_pair_paths("/out/v.tif", ["20070716-20070831", "20070716-20070831"])
