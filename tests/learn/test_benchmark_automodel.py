"""The AutoModel pieces the benchmark relies on: search-only mode, greedy ensemble selection, bounded regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matforge.learn import AutoModel
from matforge.learn._pipeline import BoundedRegressor
from matforge.learn._search import Tuned, select_ensemble


def _alloys(n=80, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 0.5, n)
    frame = pd.DataFrame({"formula": [f"Cu{1 - x:.3f}Zn{x:.3f}" for x in a], "T": rng.uniform(0, 1, n)})
    return frame, 3 * a + frame["T"] + rng.normal(0, 0.01, n)


def test_select_ensemble_weights_complementary_members():
    y = np.zeros(100)
    noise = np.random.default_rng(0).normal(0, 1, 100)
    good = Tuned("a", {}, 0.8, 1, 0.0, y + noise)
    mirror = Tuned("b", {}, 0.8, 1, 0.0, y - noise)  # errors cancel with a's
    bad = Tuned("c", {}, 5.0, 1, 0.0, y + 5)
    members = select_ensemble("regression", y, [good, mirror, bad], None)
    assert set(members) == {"a", "b"} and members.count("a") == members.count("b")
    assert select_ensemble("regression", y, [good], None) == ["a"]


def test_search_only_mode_skips_outer_loop_and_predicts():
    frame, y = _alloys()
    model = AutoModel(models=["ridge", "knn"], budget=300, max_trials=3, evaluate=False, ensemble=2, seed=1).fit(frame, y)
    assert model.splits_ == [] and model.resumed_folds_ == 0
    assert set(np.unique(model.oof_fold_)) == {0, 1, 2}  # inner-CV folds stand in for the outer ones
    assert model.cv_scores_["mae"]["mean"] < 0.1
    assert np.isfinite(model.predictor_.intervals.q_level_)
    table = model.predict_table(frame.head(5))
    assert np.allclose(table["prediction"], y[:5], atol=0.2) and {"uncertainty", "in_domain"} <= set(table.columns)
    again = AutoModel(models=["ridge", "knn"], budget=300, max_trials=3, evaluate=False, ensemble=2, seed=1).fit(frame, y)
    np.testing.assert_array_equal(again.predict(frame), model.predict(frame))


def test_bounded_regressor_clips_to_training_range():
    from sklearn.linear_model import LinearRegression

    X = np.arange(10, dtype=float)[:, None]
    model = BoundedRegressor(LinearRegression()).fit(X, 2 * X[:, 0])
    np.testing.assert_allclose(model.predict(np.array([[-5.0], [4.0], [50.0]])), [0.0, 8.0, 18.0])


def test_balanced_threshold_balances_recalls_on_imbalanced_scores():
    from matforge.learn._pipeline import balanced_threshold

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(900, bool), np.ones(100, bool)]
    p = np.r_[rng.uniform(0.0, 0.3, 900), rng.uniform(0.2, 0.45, 100)]  # positives never reach 0.5
    cut = balanced_threshold(y, p)
    assert 0.2 <= cut <= 0.3
    recall_pos, recall_neg = (p[y] >= cut).mean(), (p[~y] < cut).mean()
    assert 0.5 * (recall_pos + recall_neg) >= 0.8
    assert balanced_threshold(np.ones(5, bool), np.linspace(0, 1, 5)) == 0.5
    assert balanced_threshold(np.array([0, 0, 1, 1], bool), np.array([0.1, 0.2, 0.8, 0.9])) == pytest.approx(0.5)
