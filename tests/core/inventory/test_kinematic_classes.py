"""RGIK kinematic classes: boundaries belong to the upper class; upslope and unusable are undefined."""

import pytest

from rockglacier_plugin.core.inventory.kinematic_classes import kinematic_class


@pytest.mark.parametrize(
    "v, expected",
    [
        (0.99, "< 1 cm/yr"),
        (1.0, "1-3 cm/yr"),
        (29.9, "10-30 cm/yr"),
        (30.0, "30-100 cm/yr"),
        (300.0, "> 300 cm/yr"),
        (-5.0, "undefined"),
        (None, "undefined"),
    ],
)
def test_kinematic_class__semi_orders_of_magnitude_with_upper_boundaries(v, expected):
    assert kinematic_class(v) == expected
