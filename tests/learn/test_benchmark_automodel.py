"""The AutoModel pieces the benchmark relies on: search-only mode, greedy ensemble selection, bounded regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matforge.learn import AutoModel
from matforge.learn._pipeline import BoundedRegressor
from matforge.learn._search import Tuned, average_close_to_best, select_ensemble


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
    members = [t.model for t in select_ensemble("regression", y, [good, mirror, bad], None)]
    assert set(members) == {"a", "b"} and members.count("a") == members.count("b")
    assert select_ensemble("regression", y, [good], None) == [good]


def test_average_close_to_best_keeps_indistinguishable_candidates_only():
    rng = np.random.default_rng(0)
    y = rng.normal(0, 10, 400)
    noise = rng.normal(0, 1, (4, 400))
    best = Tuned("a", {"k": 1}, 0.8, 1, 0.0, y + noise[0])
    twin = Tuned("a", {"k": 2}, 0.8, 1, 0.0, y + noise[1])  # same error size, other rows: within noise of the best
    worse = Tuned("a", {"k": 3}, 1.6, 1, 0.0, y + 2 * noise[2])  # twice the error: significantly worse
    untested = Tuned("a", {"k": 4}, float("nan"), 1, 0.0, y)
    members = average_close_to_best(y, [worse, twin, untested, best])
    assert [t.params["k"] for t in members] == [1, 2] or [t.params["k"] for t in members] == [2, 1]
    # another model as close as the twin is not averaged in: only the best model's configurations are
    other = Tuned("b", {}, 0.8, 1, 0.0, y + noise[3])
    assert {t.params.get("k") for t in average_close_to_best(y, [best, other, twin])} == {1, 2}
    # the weights say which rows count: the best by weighted MAE leads
    weights = np.where(np.abs(noise[1]) < np.abs(noise[0]), 5.0, 1.0)
    assert average_close_to_best(y, [best, twin], sample_weight=weights)[0].params["k"] == 2
    assert average_close_to_best(y, [best]) == [best]
    assert len(average_close_to_best(y, [Tuned("a", {"k": i}, 0.0, 1, 0.0, y) for i in range(15)])) == 10


def test_average_close_to_best_does_not_let_a_worse_model_outvote_the_best():
    # the MatBench phonons failure: a heavy tail makes a clearly worse model "not significantly worse", and its
    # several configurations, counted once each, outweighed the best model in an equal average
    rng = np.random.default_rng(1)
    y = rng.standard_t(2, 300) * 50
    best = Tuned("trees", {}, 1.0, 1, 0.0, y + rng.normal(0, 20, 300))
    others = [Tuned("svm", {"C": c}, 1.2, 1, 0.0, y + rng.normal(0, 24, 300) + 2 * rng.standard_t(2, 300)) for c in range(4)]
    members = average_close_to_best(y, [best, *others], z=50.0)  # a wide z: every svm is "close"
    assert members == [best]


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


def _gapped(n=240, seed=0):
    """A band-gap-like target: exactly 0 ('metals') when a composition variable is below 0.25, else a smooth
    positive function of it, so the floor is a plateau no single smooth model fits well."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 0.5, n)
    frame = pd.DataFrame({"formula": [f"Cu{1 - x:.3f}Zn{x:.3f}" for x in a], "T": rng.uniform(0, 1, n)})
    return frame, np.where(a < 0.25, 0.0, 1.0 + 8 * (a - 0.25) + frame["T"])


def test_zero_inflated_regressor_predicts_the_floor_and_beats_one_linear_model():
    from sklearn.linear_model import LinearRegression

    from matforge.learn._pipeline import ZeroInflatedRegressor, is_zero_inflated

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = np.where(X[:, 0] > 0, 1.0 + X[:, 0] + 0.5 * X[:, 1], 0.0)
    assert is_zero_inflated(y) and not is_zero_inflated(1.0 + X[:, 0] ** 2)
    model = ZeroInflatedRegressor(LinearRegression()).fit(X[:400], y[:400])
    pred, truth = model.predict(X[400:]), y[400:]
    assert model.floor_ == 0.0 and np.mean(pred[truth == 0] == 0.0) > 0.9
    # above the floor the regressor was fitted on those rows only: the linear law is recovered there
    above = (truth > 0) & (pred > 0)
    np.testing.assert_allclose(pred[above], truth[above], atol=1e-8)
    plain = LinearRegression().fit(X[:400], y[:400]).predict(X[400:])
    assert np.abs(pred - truth).mean() < 0.5 * np.abs(plain - truth).mean()
    # a target without a floor mass: a plain regressor on all rows
    flat = ZeroInflatedRegressor(LinearRegression()).fit(X, 2 * X[:, 0] + 10)
    assert flat.classifier_ is None and np.allclose(flat.predict(X[:3]), 2 * X[:3, 0] + 10)


def test_automodel_models_a_floor_mass_as_gate_plus_regressor_per_stage():
    from matforge.learn._pipeline import ZeroInflatedRegressor

    frame, y = _gapped()
    # the preset fixed: its screen (tests/learn/test_preset_choice.py) would be most of this test's time
    model = AutoModel(models=["ridge"], budget=300, max_trials=2, ensemble=1, cv=3, seed=0, preset="magpie_extended").fit(frame, y)
    assert model.zero_inflated_
    assert isinstance(model.predictor_.members[0].named_steps["model"], ZeroInflatedRegressor)
    pred = model.predict(frame)
    assert np.mean(pred[y == 0] == 0.0) > 0.9
    plain = AutoModel(models=["ridge"], budget=300, max_trials=2, ensemble=1, cv=3, seed=0, preset="magpie_extended", zero_inflated=False).fit(frame, y)
    assert not plain.zero_inflated_
    assert model.cv_scores_["mae"]["mean"] < 0.6 * plain.cv_scores_["mae"]["mean"]
    # the decision uses each stage's own training targets: one without a floor mass is a plain regression
    assert not model._zero_inflated(np.linspace(1, 2, 50))


def test_train_cli_records_the_zero_inflated_target(tmp_path):
    import json

    from matforge.cli.app import main

    frame, y = _gapped(120)
    frame["gap"] = y
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    out = tmp_path / "run"
    args = ["train", str(tmp_path / "gaps.csv"), "--target", "gap", "--out", str(out), "--models", "ridge", "--max-trials", "2", "--cv", "3", "--budget", "60"]
    assert main(args + ["--zero-inflated", "maybe"]) == 2 and not out.exists()
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["zero_inflated"]["floor"] == 0.0 and 0.3 < metrics["zero_inflated"]["share_at_floor"] < 0.7
    from matforge.learn import load_run

    table = load_run(out).predict(frame.drop(columns="gap"))
    assert np.mean(table["prediction"].to_numpy()[y == 0] == 0.0) > 0.8


def test_zero_inflated_prediction_is_the_median_of_the_mixture():
    from scipy.stats import norm
    from sklearn.dummy import DummyClassifier, DummyRegressor

    from matforge.learn._pipeline import ZeroInflatedRegressor

    # 40% at the floor, the rest N(5, 1), nothing predictable from X: the gate says P(above) = 0.6 everywhere
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 2))
    y = np.where(rng.uniform(size=4000) < 0.4, 0.0, rng.normal(5.0, 1.0, 4000))
    model = ZeroInflatedRegressor(DummyRegressor(), classifier=DummyClassifier(strategy="prior")).fit(X, y)
    median = 5.0 + norm.ppf((0.6 - 0.5) / 0.6)  # P(y <= m) = 0.4 + 0.6 Φ(m - 5) = 1/2
    np.testing.assert_allclose(model.predict(X[:5]), median, atol=0.15)
    assert abs(np.median(y) - median) < 0.15


def test_zero_inflated_option_accepts_words_and_refuses_others():
    from matforge.errors import InputError

    model = AutoModel(zero_inflated="no")
    model.task_ = "regression"
    assert model._zero_inflated(np.r_[np.zeros(50), np.linspace(1, 2, 50)]) is False
    model.zero_inflated = "maybe"
    with pytest.raises(InputError, match="zero-inflated"):
        model._zero_inflated(np.zeros(10))


def test_zero_inflated_gate_is_fitted_once_per_data_and_labels():
    from sklearn.linear_model import LinearRegression

    from matforge.learn._pipeline import ZeroInflatedRegressor

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = np.where(X[:, 0] > 0, 1.0 + X[:, 1] ** 2, 0.0)
    first = ZeroInflatedRegressor(LinearRegression()).fit(X, y)
    again = ZeroInflatedRegressor(LinearRegression()).fit(X.copy(), y)  # a new trial on the same rows
    assert again.classifier_ is first.classifier_
    np.testing.assert_array_equal(again.predict(X), first.predict(X))
    other = ZeroInflatedRegressor(LinearRegression()).fit(X, np.where(X[:, 1] > 0, 1.0, 0.0))  # other labels
    assert other.classifier_ is not first.classifier_


def test_search_keeps_the_next_best_distinct_configurations_with_their_predictions():
    from matforge.learn._pipeline import make_splits
    from matforge.learn._search import _score, fit_pipeline, predict_with, tune
    from matforge.models import MODELS

    rng = np.random.default_rng(0)
    F = pd.DataFrame(rng.normal(size=(90, 3)), columns=["a", "b", "c"])
    y = F["a"].to_numpy() * 2 + rng.normal(0, 0.5, 90)
    spec = MODELS["knn"]
    common = dict(columns=["a", "b", "c"], categorical=[], classes=None, budget=60, seed=0, storage=None, max_trials=8, study_name="keep")
    tuned = tune(spec, "regression", F, y, np.arange(90), keep=4, **common)
    assert 1 <= len(tuned.alternatives) <= 3
    configurations = [tuned.params] + [t.params for t in tuned.alternatives]
    assert all(a != b for i, a in enumerate(configurations) for b in configurations[i + 1 :])  # distinct
    scores = [tuned.score] + [t.score for t in tuned.alternatives]
    assert scores == sorted(scores)  # MAE: best first
    for t in tuned.alternatives:  # each alternative's predictions are its own inner CV, refitted here
        pred = np.zeros(90)
        for train, test in make_splits("regression", y, np.arange(90), 3, 0):
            pred[test] = predict_with(fit_pipeline(spec, "regression", t.params, F.iloc[train], y[train], columns=["a", "b", "c"], categorical=[], seed=0, n_jobs=1), "regression", F.iloc[test], None)
        np.testing.assert_allclose(t.oof, pred)
        assert t.score == pytest.approx(_score("regression", y, pred, None))
    assert tune(spec, "regression", F, y, np.arange(90), keep=1, **common).alternatives == []


def _deep_param(pipeline, name):
    """A hyper-parameter of the estimator inside a pipeline, through any wrappers (target scaling, clipping)."""
    return next(v for k, v in pipeline.get_params(deep=True).items() if k.endswith("__" + name))


def test_final_ensemble_may_average_several_configurations_of_one_model():
    frame, y = _alloys(120)
    y = y + np.random.default_rng(1).normal(0, 1.0, 120)  # noisy: errors of differently regularised fits partly cancel
    model = AutoModel(models=["ridge"], budget=300, max_trials=10, evaluate=False, ensemble=4, seed=0).fit(frame, y)
    configurations = model.final_configurations_
    members = model.predictor_.members
    assert model.best_model_ == "ridge" and len(configurations) >= 2
    assert sum(c["weight"] for c in configurations) == len(members)
    for c in configurations:  # every distinct configuration is its own fitted pipeline, in the members as often as picked
        fitted = [m for m in members if _deep_param(m, "alpha") == pytest.approx(c["params"]["alpha"])]
        assert len(fitted) == c["weight"] and len({id(m) for m in fitted}) == 1
    F = model.featurizer_.transform(frame.head(7))
    np.testing.assert_allclose(model.predict(frame.head(7)), np.mean([m.predict(F) for m in members], axis=0))
    single = AutoModel(models=["ridge"], budget=300, max_trials=10, evaluate=False, ensemble=1, seed=0).fit(frame, y)
    assert len(single.final_configurations_) == 1 and single._kept_trials(100) == 1
    assert model._kept_trials(50_000) == 4 and model._kept_trials(50_001) == 1
