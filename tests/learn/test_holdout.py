"""Above `LARGE_ROWS` rows a stage fits and scores one of its two inner folds (a holdout): searches, ensemble
selection and a fit without outer folds then work on the held-out rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matforge.learn import AutoModel
from matforge.learn._pipeline import make_splits
from matforge.learn._search import Tuned, average_close_to_best, predicted_rows, select_ensemble, tune
from matforge.models import get_model
from matforge.models._registry import LARGE_ROWS


def _linear(n=240, seed=0):
    rng = np.random.default_rng(seed)
    F = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    return F, F.to_numpy() @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(0, 0.1, n)


def test_a_search_on_one_scored_fold_predicts_and_scores_that_fold_alone():
    F, y = _linear()
    groups = np.arange(len(y))
    tuned = tune(get_model("ridge"), "regression", F, y, groups, columns=list(F.columns), categorical=[], classes=None, budget=0.0, seed=0, storage=None, study_name="holdout", inner_folds=2, max_trials=1, scored_folds=1)
    train, test = make_splits("regression", y, groups, 2, 0)[0]
    rows = predicted_rows(tuned.oof)
    assert np.array_equal(np.flatnonzero(rows), np.sort(test)) and np.isnan(tuned.oof[train]).all()
    assert tuned.score == pytest.approx(np.abs(tuned.oof[test] - y[test]).mean())
    whole = tune(get_model("ridge"), "regression", F, y, groups, columns=list(F.columns), categorical=[], classes=None, budget=0.0, seed=0, storage=None, study_name="whole", inner_folds=2, max_trials=1)
    assert predicted_rows(whole.oof).all() and np.allclose(whole.oof[test], tuned.oof[test])
    auto = AutoModel(inner_cv=3)
    assert [auto._scored_folds(n) for n in (LARGE_ROWS, LARGE_ROWS + 1)] == [3, 1]


def test_member_rules_weigh_the_rows_every_candidate_predicted():
    rng = np.random.default_rng(0)
    y = np.zeros(200)
    noise = rng.normal(0, 1, 200)
    held = np.arange(200) < 100

    def partial(values):
        return np.where(held, values, np.nan)

    good, mirror = Tuned("a", {}, 0.8, 1, 0.0, partial(y + noise)), Tuned("b", {}, 0.8, 1, 0.0, partial(y - noise))
    bad = Tuned("c", {}, 5.0, 1, 0.0, partial(y + 5))
    members = [t.model for t in select_ensemble("regression", y, [good, mirror, bad], None)]
    assert set(members) == {"a", "b"} and members.count("a") == members.count("b")
    twin = Tuned("a", {"k": 2}, 0.8, 1, 0.0, partial(y + rng.normal(0, 1, 200)))
    worse = Tuned("a", {"k": 3}, 1.6, 1, 0.0, partial(y + 3 * rng.normal(0, 1, 200)))
    assert [t.params.get("k") for t in average_close_to_best(y, [good, twin, worse])] in ([None, 2], [2, None])


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_above_large_rows_a_fit_without_outer_folds_scores_and_calibrates_on_the_holdout(monkeypatch, task):
    import matforge.learn._automodel as automodel

    monkeypatch.setattr(automodel, "LARGE_ROWS", 100)  # the 240 rows below count as large
    monkeypatch.setattr(automodel, "SMALL_ROWS", 50)  # and not as small (no repeated inner CV)
    F, y = _linear()
    target = y if task == "regression" else np.where(y > 0, "metal", "insulator")
    model = AutoModel(task=task, models=["ridge" if task == "regression" else "logistic", "lightgbm"], budget=5, evaluate=False, numeric_cols=list(F.columns), formula_cols=[], categorical_cols=[], max_trials=2, seed=0).fit(F, target)
    assert model._scored_folds(240) == 1 and model._inner_folds(240) == 2
    held = model.oof_fold_ >= 0
    assert set(model.oof_fold_.tolist()) == {-1, 0} and 0.4 < held.mean() < 0.6
    assert np.isfinite(model.oof_[held]).all() and np.isnan(model.oof_[~held]).all()
    metric = "mae" if task == "regression" else "roc_auc"
    assert np.isfinite(model.cv_scores_[metric]["mean"]) and len(model.cv_scores_[metric]["folds"]) == 1
    assert np.isfinite(model.leaderboard_[f"{metric}_mean"]).all()
    table = model.predict_table(F.head(20))
    if task == "regression":
        assert np.isfinite(table[["prediction", "lower_90", "upper_90"]].to_numpy()).all()
        assert model.cv_scores_["mae"]["mean"] < 0.3  # a linear target with noise 0.1: the holdout's MAE
    else:
        assert np.isfinite(table[["proba_insulator", "proba_metal"]].to_numpy()).all() and model.decision_threshold_ is not None


def test_the_report_names_a_holdout_inner_cv():
    from matforge.report._sections import _inner

    assert _inner({"inner_folds": 2, "inner_scored_folds": 1}) == "a holdout: 1 of 2 inner folds fitted and scored"
    assert _inner({"inner_folds": 3, "inner_scored_folds": 3}) == _inner({"inner_folds": 3}) == "inner 3-fold CV"
