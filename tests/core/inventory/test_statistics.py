"""Table 2 and Table 3 against pandas (an independent implementation of the same statistics)."""

import math

import numpy as np
import pytest

from rockglacier_plugin.core.inventory.statistics import (
    CLASS_TABLE_COLUMNS,
    class_table,
    missing_counts,
    velocity_table,
)
from tests.conftest import require_module


def _inventory(seed: int, n: int = 60) -> list[dict]:
    rng = np.random.default_rng(seed)
    classes = ["G", "GF", "DMS", "T", "P", None, "gf", "X"]  # lower case counts, unknown codes do not
    records = []
    for i in range(n):
        velocity = float(rng.lognormal(3.0, 1.0)) if rng.random() < 0.8 else None
        records.append(
            {
                "rg_id": f"rg{i:03d}",
                "upslope_con": classes[rng.integers(len(classes))],
                "elev_mean_m": float(rng.normal(5000, 300)) if rng.random() < 0.9 else None,
                "slope_mean_deg": float(rng.uniform(5, 35)),
                "area_km2": float(rng.uniform(0.03, 1.5)) if rng.random() < 0.95 else float("nan"),
                "vel_dslp_cm_yr": velocity,
                "vel_err_cm_yr": None if velocity is None else float(rng.uniform(0.5, 5)),
                "vel_ok": int(rng.random() < 0.7) if velocity is not None else 0,
            }
        )
    return records


def _frame(records):
    pandas = require_module("pandas")
    frame = pandas.DataFrame(records)
    frame["cls"] = (
        frame["upslope_con"].str.upper().where(frame["upslope_con"].str.upper().isin(["G", "GF", "DMS", "T", "P", "O"]))
    )
    return frame


def _close(ours, theirs):
    if theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
        return ours is None
    return ours == pytest.approx(theirs, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_class_table__matches_pandas_groupby_with_sample_sd(seed):
    records = _inventory(seed)
    frame = _frame(records)
    table = {row["class"]: row for row in class_table(records)}
    assert list(table) == ["G", "GF", "DMS", "T", "P", "all"]  # O absent, P present
    for name, row in table.items():
        group = frame if name == "all" else frame[frame["cls"] == name]
        assert row["count"] == len(group)
        for field in ("elev_mean_m", "slope_mean_deg", "area_km2"):
            assert _close(row[f"{field}_mean"], group[field].mean())
            assert _close(row[f"{field}_sd"], group[field].std(ddof=1) if group[field].count() > 1 else None)
        assert _close(row["area_km2_total"], group["area_km2"].sum() if group["area_km2"].count() else None)
    assert set(CLASS_TABLE_COLUMNS) == set(next(iter(table.values())))


@pytest.mark.parametrize("seed", [0, 3])
def test_velocity_table__uses_only_vel_ok_landforms_and_reports_the_fastest_ones_error(seed):
    records = _inventory(seed)
    frame = _frame(records)
    moving = frame[(frame["vel_ok"] == 1) & frame["vel_dslp_cm_yr"].notna()]
    for row in velocity_table(records):
        group = moving if row["class"] == "all" else moving[moving["cls"] == row["class"]]
        assert row["count_with_velocity"] == len(group)
        assert _close(row["vel_mean_cm_yr"], group["vel_dslp_cm_yr"].mean())
        assert _close(row["vel_sd_cm_yr"], group["vel_dslp_cm_yr"].std(ddof=1) if len(group) > 1 else None)
        assert _close(row["vel_median_cm_yr"], group["vel_dslp_cm_yr"].median())
        if len(group):
            fastest = group.loc[group["vel_dslp_cm_yr"].idxmax()]
            assert row["vel_max_cm_yr"] == fastest["vel_dslp_cm_yr"]
            assert row["vel_max_err_cm_yr"] == fastest["vel_err_cm_yr"]


def test_class_table__empty_inventory_gives_the_four_classes_and_all_with_zero_counts():
    rows = class_table([])
    assert [(r["class"], r["count"], r["elev_mean_m_mean"]) for r in rows] == [
        ("G", 0, None),
        ("GF", 0, None),
        ("DMS", 0, None),
        ("T", 0, None),
        ("all", 0, None),
    ]


def test_missing_counts__null_nan_empty_text_and_unknown_classes_count_as_missing():
    records = [
        {"upslope_con": "X", "elev_mean_m": float("nan"), "aspect_class": ""},
        {"upslope_con": "G", "elev_mean_m": 4000.0, "aspect_class": "N"},
        {},
    ]
    assert missing_counts(records, ["upslope_con", "elev_mean_m", "aspect_class"]) == {
        "upslope_con": 2,
        "elev_mean_m": 2,
        "aspect_class": 2,
    }
