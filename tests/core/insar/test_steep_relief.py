"""Steep valleys (``tests/steep_builders.py``, 16 seeds): landforms with good coherence and projection
get a velocity with the truth inside 2 sigma, none is flagged ok with a wrong value, errors are honest."""

import pytest

from benchmarks.insar_steep_bench import _run_scenes, summarise


@pytest.mark.slow
def test_steep_valleys__references_found_and_velocities_within_their_errors(tmp_path):
    scores = summarise(_run_scenes(range(16), tmp_path, paper_rule=False))
    assert scores["good"] >= 60
    assert scores["no_reference"] == 0
    assert scores["ok_wrong_beyond_3_sigma"] == 0
    assert scores["share_good_faster_15_ok_within_2_sigma"] >= 0.90, scores
    assert scores["share_good_ok_within_2_sigma"] >= 0.90, scores  # the rest: slow lobes, relative error > 0.2
    assert 0.75 <= scores["z_spread"] <= 1.25, scores


@pytest.mark.slow
def test_steep_valleys__the_papers_flat_ground_rule_alone_fails_there(tmp_path):
    scores = summarise(_run_scenes(range(4), tmp_path, paper_rule=True))
    assert scores["no_reference"] >= 5 and scores["share_good_ok_within_2_sigma"] < 0.5
