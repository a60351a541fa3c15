"""Rock Glacier Velocity series: annual (and whole-year) windows only, annualised m/yr, every left-out row with why."""

import pytest

from rockglacier_plugin.core.inventory.rgv import WindowRule, rgv_series, window_years


def _row(rg_id, start, end, velocity=50.0, error=5.0, ok=1, reason=None, geometry="descending"):
    from datetime import date

    days = (date.fromisoformat(end) - date.fromisoformat(start)).days
    return {
        "rg_id": rg_id,
        "vel_pair": start.replace("-", "") + "-" + end.replace("-", ""),
        "date_start": start,
        "date_end": end,
        "days": days,
        "vel_dslp_cm_yr": velocity,
        "vel_err_cm_yr": error,
        "vel_valid_frac": 0.8,
        "vel_ok": ok,
        "vel_reason": reason,
        "vel_geometry": geometry,
        "source": "pair.tif",
    }


@pytest.mark.parametrize("days, years", [(365, 1), (321, 1), (410, 1), (730, 2), (1100, 3)])
def test_window_years__whole_years_within_the_season_tolerance_are_accepted(days, years):
    assert window_years(days, WindowRule()) == (years, None)


@pytest.mark.parametrize(
    "days, why",
    [
        (12, "shorter than one year"),
        (46, "shorter than one year"),
        (320, "shorter than one year"),
        (411, "different seasons"),
        (548, "different seasons"),
        (900, "different seasons"),
    ],
)
def test_window_years__seasonal_and_off_season_windows_are_refused_with_why(days, why):
    years, reason = window_years(days, WindowRule())
    assert years is None and why in reason and f"{days}-day window" in reason


def test_window_years__multi_annual_only_when_allowed():
    assert (
        window_years(730, WindowRule(allow_multi_annual=False))[1] == "730-day window: 2 years (multi-annual windows not allowed)"
    )
    assert window_years(380, WindowRule(season_tolerance_days=10))[0] is None


def test_rgv_series__annualised_m_per_yr_from_annual_pairs_and_every_other_row_left_out_with_its_reason():
    ids = {"rg001": "RGU350000N0790000E", "rg002": "RGU350100N0790000E"}
    rows = [
        _row("rg001", "2019-08-01", "2020-08-03", velocity=64.0, error=4.0),
        _row("rg001", "2018-08-05", "2019-08-01", velocity=58.0, error=8.0, geometry="ascending"),
        _row("rg001", "2019-07-16", "2019-08-31", velocity=90.0),  # a summer pair: seasonal
        _row("rg001", "2017-08-01", "2019-08-01", velocity=55.0, error=3.0),  # two years
        _row("rg002", "2019-08-01", "2020-08-01", ok=0, reason="coherent share 0.21 < 0.4"),
        _row("rg002", "2019-08-01", "2020-08-01", velocity=-8.0),
        _row("rg009", "2019-08-01", "2020-08-01"),  # not in the inventory
        {**_row("rg002", "2019-08-01", "2020-08-01"), "date_end": None},
    ]
    series = rgv_series(rows, ids)
    got = [
        (r["WorkingID"], r["Period.Start"], r["Window"], r["RGV_m_yr"], r["RGV.Err_m_yr"], r["Rel.RGV"], r["Kin.Att."])
        for r in series.rows
    ]
    assert got == [
        ("rg001", "2017-08-01", "multi-annual (2 years)", pytest.approx(0.55), pytest.approx(0.03), "High", "dm/y to m/y"),
        ("rg001", "2018-08-05", "annual", pytest.approx(0.58), pytest.approx(0.08), "Medium", "dm/y to m/y"),
        ("rg001", "2019-08-01", "annual", pytest.approx(0.64), pytest.approx(0.04), "High", "dm/y to m/y"),
    ]
    assert {r["PrimaryID"] for r in series.rows} == {"RGU350000N0790000E"}
    assert "ascending" in series.rows[1]["Method"]
    reasons = [(r["WorkingID"], r["Reason"]) for r in series.left_out]
    assert reasons == [
        ("rg001", "46-day window: shorter than one year (a seasonal velocity, not an annual one)"),
        ("rg002", "failed the quality criteria: coherent share 0.21 < 0.4"),
        ("rg002", "moves upslope (-8.0 cm/yr): not creep; check the reference"),
        ("rg009", "not in the inventory (or rejected there)"),
        ("rg002", "no start or end date"),
    ]
    assert len(series.rows) + len(series.left_out) == len(rows)
