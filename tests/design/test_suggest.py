"""Acquisition functions against closed forms, diverse batches, and suggestions from a space."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from matforge.design import acquisition, select_batch, suggest
from matforge.design._suggest import append_rows
from matforge.errors import InputError


def test_expected_improvement_matches_closed_form():
    mean, std, best = np.array([1.0, 2.0, 0.0]), np.array([0.5, 1.0, 2.0]), 1.5
    z = (mean - best) / std
    expected = (mean - best) * norm.cdf(z) + std * norm.pdf(z)
    np.testing.assert_allclose(acquisition(mean, std, best, "ei"), expected)
    np.testing.assert_allclose(acquisition(mean, std, best, "pi"), norm.cdf(z))
    np.testing.assert_allclose(acquisition(mean, std, best, "ucb", kappa=2.0), mean + 2 * std)
    np.testing.assert_allclose(acquisition(mean, std, best, "max-uncertainty"), std)
    np.testing.assert_allclose(acquisition(mean, std, best, "greedy", "min"), -mean)


def test_target_goal_ei_prefers_candidates_near_the_target():
    values = acquisition(np.array([5.0, 7.0, 10.0]), np.array([0.3, 0.3, 0.3]), -2.5, "ei", "target:5")
    assert values[0] > values[1] > values[2] == 0


def test_batch_is_diverse_and_deterministic():
    # two clusters; the better cluster has many near-copies
    features = np.vstack([np.zeros((10, 2)) + np.linspace(0, 0.01, 10)[:, None], np.ones((3, 2)) * 5])
    values = np.r_[np.linspace(10, 9, 10), [8.0, 7.9, 7.8]]
    plain = select_batch(values, features, 3, diversity=0)
    spread = select_batch(values, features, 3, diversity=1.0)
    assert plain.tolist() == [0, 1, 2]
    assert 10 in spread.tolist() and spread[0] == 0
    assert spread.tolist() == select_batch(values, features, 3, diversity=1.0).tolist()


def test_suggest_from_space_excludes_measured(surrogate, fe_ni_cr_space):
    done = pd.DataFrame({"formula": ["Fe60Ni10Cr30"], "T": [500]})
    picks = suggest(surrogate, fe_ni_cr_space, batch=4, strategy="ucb", best=9.0, exclude=done)
    assert len(picks) == 4 and picks["rank"].tolist() == [1, 2, 3, 4]
    assert not ((picks["formula"] == "Fe0.6Ni0.1Cr0.3") & (picks["T"] == 500)).any()
    assert picks["formula"].nunique() + picks["T"].nunique() > 2
    with pytest.raises(InputError, match="best"):
        suggest(surrogate, fe_ni_cr_space, batch=2, strategy="ei")


def test_append_rows_checks_columns():
    data = pd.DataFrame({"formula": ["Fe"], "y": [1.0]})
    combined, added = append_rows(data, pd.DataFrame({"formula": ["Ni"], "y": [2.0], "prediction": [1.5]}))
    assert combined["y"].tolist() == [1.0, 2.0] and list(combined.columns) == ["formula", "y"] and added == 1
    with pytest.raises(InputError, match="'y'"):
        append_rows(data, pd.DataFrame({"formula": ["Ni"]}))
    with pytest.raises(InputError, match="filled in"):
        append_rows(data, pd.DataFrame({"formula": ["Ni"], "y": [np.nan]}))
    # the new rows must hold what the table holds: numbers in a column of numbers, formulas that parse
    table = pd.DataFrame({"formula": ["Fe2O3", "NiO", "CuO", "ZnO"], "y": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(InputError) as info:
        append_rows(table, pd.DataFrame({"formula": ["MgO", "Fe2Xx", "CoO"], "y": ["high", 2.5, None]}), new_source="new.csv")
    assert [(p.row, p.column) for p in info.value.problems] == [(0, "y"), (1, "formula")] and info.value.file == "new.csv"
