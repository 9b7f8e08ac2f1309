"""AutoModel: recovers a known answer, never lets a test fold into tuning, resumes after an interrupt."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from matforge.learn import AutoModel, cut_defaults, load_run, train
from matforge.models import MODELS, ModelSpec

SEEN: list[frozenset] = []


class RowSpy(RegressorMixin, BaseEstimator):
    """Remembers the row ids (column 0 = the 'row_id' process column) of every fit, predicts their mean target."""

    def fit(self, X, y):
        SEEN.append(frozenset(np.asarray(X)[:, -1].round().astype(int).tolist()))
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.fixture
def spy_model():
    MODELS["row_spy"] = ModelSpec("row_spy", "spy", ("regression",), lambda task, p, seed, n_jobs: RowSpy(), lambda t: {}, {}, "test double, not a model of anything")
    SEEN.clear()
    yield "row_spy"
    del MODELS["row_spy"]


def test_tuned_model_recovers_a_function_of_mean_electronegativity(regression_table):
    model = AutoModel(models="ridge,extra_trees", budget=20, cv=3, seed=0, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[])
    model.fit(regression_table[["formula", "anneal_T_K"]], regression_table["hardness"])
    assert model.cv_scores_["r2"]["mean"] >= 0.9
    assert model.task_ == "regression"
    assert set(model.leaderboard_["model"]) == {"ridge", "extra_trees"}


def test_nested_cv_never_fits_on_a_test_fold(regression_table, spy_model):
    table = regression_table.assign(row_id=np.arange(len(regression_table)))
    model = AutoModel(models=spy_model, budget=5, cv=4, inner_cv=3, ensemble=1, max_trials=1, seed=0, formula_cols=["formula"], numeric_cols=["row_id"], categorical_cols=[])
    model.fit(table[["formula", "row_id"]], table["hardness"])
    # the plan's timing fit (`AutoModel._plan`), on part of the first outer fold's training rows
    probe, stages = SEEN[0], SEEN[1:]
    assert probe <= set(model.splits_[0][0].tolist()) and not probe & set(model.splits_[0][1].tolist())
    # inner folds of the default trial (the inner CV is repeated on small tables) + the refit of the chosen configuration
    fits_per_stage = 3 * model._stage_repeats(len(table)) + 1
    assert model._stage_repeats(len(table)) == 3  # the spy costs nothing: the budget pays for the repeats
    assert len(stages) == fits_per_stage * (len(model.splits_) + 1)
    for k, (train_rows, test_rows) in enumerate(model.splits_):
        for seen in stages[k * fits_per_stage : (k + 1) * fits_per_stage]:
            assert seen <= set(train_rows.tolist())
            assert not seen & set(test_rows.tolist())
    assert (model.oof_fold_ >= 0).all()


class SleepyTrees(RegressorMixin, BaseEstimator):
    """A mean predictor whose fit takes a millisecond a tree: a model with a cheaper default (fewer trees)."""

    def __init__(self, n_estimators=400):
        self.n_estimators = n_estimators

    def fit(self, X, y):
        time.sleep(0.001 * self.n_estimators)
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.fixture
def sleepy_model():
    # a fit of 50 ms: a model whose default configuration costs time
    MODELS["sleepy"] = ModelSpec("sleepy", "slow mean", ("regression",), lambda task, p, seed, n_jobs: SleepyTrees(50), lambda t: {}, {}, "test double, not a model of anything")
    yield "sleepy"
    del MODELS["sleepy"]


def test_a_budget_below_the_floor_drops_the_repeats_and_the_models_it_cannot_pay_for(regression_table, sleepy_model, tmp_path):
    from matforge.learn import unreached_models

    X, y = regression_table[["formula", "anneal_T_K"]], regression_table["hardness"]
    kwargs = dict(models=f"{sleepy_model},ridge", ensemble=2, cv=3, max_trials=1, preset="magpie_extended", seed=0, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[])
    # half a second for the whole fit: the floor (the two models' default trials, 3 x 3 inner fits) cannot fit
    tight = AutoModel(budget=0.5, **kwargs).fit(X, y)
    assert tight.plan_["inner_repeats"] == 1 and tight.plan_["floor_models"] == 1 and tight._stage_repeats(len(X)) == 1
    assert tight.plan_["probe_seconds"][sleepy_model] >= 0.05
    assert unreached_models(tight.leaderboard_) == ["ridge"] and tight.best_model_ == sleepy_model
    # a stage past its deadline still evaluates the models it is required to (the final stage: every outer
    # fold's members), beyond the floor
    F, values = tight.featurizer_.transform(X), y.to_numpy(dtype=float)
    late = dict(F=F, y=values, groups=np.arange(len(X)), deadline=0.0, storage=None, progress=None)
    assert set(tight._stage("final", **late)["fitted"]) == {sleepy_model}
    assert set(tight._stage("final", **late, required=frozenset({"ridge"}))["fitted"]) == {sleepy_model, "ridge"}
    # that stage timed ridge's default trial for the next ones; a model past the floor whose default trial is
    # known to end beyond the deadline is skipped before the deadline comes
    assert 0 < tight._default_cost["ridge"] < 60
    soon = dict(late, deadline=time.monotonic() + 60)
    tight._default_cost["ridge"] = 120.0
    assert set(tight._stage("final", **soon)["fitted"]) == {sleepy_model}
    tight._default_cost["ridge"] = 0.0
    assert set(tight._stage("final", **soon)["fitted"]) == {sleepy_model, "ridge"}
    ample = AutoModel(budget=600, **kwargs).fit(X, y)
    assert ample.plan_["inner_repeats"] == 3 and ample.plan_["floor_models"] == 2 and ample._stage_repeats(len(X)) == 3
    assert unreached_models(ample.leaderboard_) == []
    # the run folder says so: the model card's protocol, the report's model-selection text
    run = train(regression_table, "hardness", tmp_path / "tight", budget=0.5, **{k: v for k, v in kwargs.items() if k not in ("formula_cols", "numeric_cols", "categorical_cols")})
    protocol = json.loads((run / "metrics.json").read_text())["protocol"]  # (load_run refuses the test double)
    assert protocol["inner_repeats"] == 1 and protocol["repeat_plan"]["floor_models"] == 1
    report = (run / "report.html").read_text()
    assert "never reached within the budget (ridge)" in report and "not repeated" in report


@pytest.fixture
def sleepy_trees():
    from matforge.models._registry import _fewer_trees

    MODELS["sleepy_trees"] = ModelSpec("sleepy_trees", "slow mean, its time in proportion to its trees", ("regression",), lambda task, p, seed, n_jobs: SleepyTrees(p["n_estimators"]), lambda t: {}, {"n_estimators": 400}, "test double, not a model of anything", cheaper=_fewer_trees)
    yield "sleepy_trees"
    del MODELS["sleepy_trees"]


def test_a_first_model_whose_default_cannot_fit_the_budget_is_cut_to_fit(regression_table, sleepy_trees, tmp_path):
    X, y = regression_table[["formula", "anneal_T_K"]], regression_table["hardness"]
    kwargs = dict(models=sleepy_trees, cv=3, max_trials=1, preset="magpie_extended", seed=0, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[])
    # a second for the whole fit: one default trial (3 inner fits + the refit of 0.4 s each) overruns every stage
    tight = AutoModel(budget=1.0, **kwargs).fit(X, y)
    assert tight.plan_["default_scale"][sleepy_trees] < 0.5
    # each stage corrects the cut by what the default trial took in the stage before; the final stage's cut is
    # the one the saved model searched from
    trees = tight.plan_["default_cut"][sleepy_trees]["n_estimators"]
    assert trees[0] == 400 and trees[1] < 200 and [c["params"]["n_estimators"] for c in tight.final_configurations_] == [trees[1]]
    assert tight._default_scale[sleepy_trees] == trees[1] / 400
    # a budget that pays for the default keeps it
    ample = AutoModel(budget=600, **kwargs).fit(X, y)
    assert ample.plan_["default_scale"] == {} and [c["params"]["n_estimators"] for c in ample.final_configurations_] == [400]
    # the run folder says so: the model card's plan, the words `matforge train` prints, the report
    run = train(regression_table, "hardness", tmp_path / "cut", budget=1.0, **{k: v for k, v in kwargs.items() if k not in ("formula_cols", "numeric_cols", "categorical_cols")})
    protocol = json.loads((run / "metrics.json").read_text())["protocol"]
    cut = protocol["repeat_plan"]["default_cut"][sleepy_trees]["n_estimators"]
    assert cut[0] == 400 and cut[1] < 400
    assert cut_defaults(protocol) == f"sleepy_trees n_estimators 400 -> {cut[1]}"
    # the attention models' cut is a share of their training steps, said in words
    steps = {"repeat_plan": {"default_cut": {"composition_attention_boosted": {"_steps_share": [1.0, 0.81234]}}}}
    assert cut_defaults(steps) == "composition_attention_boosted share of training steps 1 -> 0.812"
    assert f"cut before the search (sleepy_trees n_estimators 400 -&gt; {cut[1]})" in (run / "report.html").read_text()


def test_a_stage_keeps_back_the_default_trials_of_the_models_after_a_search(regression_table, monkeypatch):
    import matforge.learn._automodel as automodel

    X, y = regression_table[["formula", "anneal_T_K"]], regression_table["hardness"]
    model = AutoModel(models="ridge,knn,extra_trees", budget=5, cv=3, ensemble=1, max_trials=1, preset="magpie_extended", seed=0, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[]).fit(X, y)
    budgets, real = {}, automodel.tune

    def spy(spec, *args, budget, **kwargs):
        budgets[spec.name] = budget
        return real(spec, *args, budget=budget, **kwargs)

    monkeypatch.setattr(automodel, "tune", spy)
    stage = dict(F=model.featurizer_.transform(X), y=y.to_numpy(dtype=float), groups=np.arange(len(X)), storage=None, progress=None)
    # known default trials: k-NN 30 s fits the 100 s left, extra trees' 1,000 s do not (and past the floor of one
    # model it is skipped): ridge searches in 70 % of the 70 s not kept back, shared by the three models
    model._default_cost = {"ridge": 0.0, "knn": 30.0, "extra_trees": 1000.0}
    assert set(model._stage("final", deadline=time.monotonic() + 100, **stage)["fitted"]) == {"ridge", "knn"}
    assert budgets["ridge"] == pytest.approx(0.7 * 70 / 3, abs=0.5)
    # a model the stage must evaluate is kept back for whatever it costs
    model._default_cost = {"ridge": 0.0, "knn": 30.0, "extra_trees": 1000.0}
    model._stage("final", deadline=time.monotonic() + 100, required=frozenset({"extra_trees"}), **stage)
    assert budgets["ridge"] == 0.0


def test_the_final_stage_fits_the_domain_guard_within_its_deadline(regression_table, monkeypatch):
    import matforge.learn._automodel as automodel

    X, y = regression_table[["formula", "anneal_T_K"]], regression_table["hardness"]
    model = AutoModel(models="ridge", budget=5, cv=3, ensemble=1, max_trials=1, preset="magpie_extended", seed=0, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[]).fit(X, y)
    # the saved guard measures the saved featurizer's main columns and the process columns
    assert model.predictor_.domain_columns == model.featurizer_.feature_sets_["main"] + ["anneal_T_K"]
    events, budgets, real_tune, real_fit = [], {}, automodel.tune, automodel.DomainGuard.fit

    def spy(spec, *args, budget, **kwargs):
        events.append("search")
        budgets[spec.name] = budget
        return real_tune(spec, *args, budget=budget, **kwargs)

    def slow_fit(guard, rows, y=None):
        events.append("guard")
        time.sleep(2.0)  # a large table's guard (44.5 s for 106,201 x 200 rows)
        return real_fit(guard, rows)

    monkeypatch.setattr(automodel, "tune", spy)
    monkeypatch.setattr(automodel.DomainGuard, "fit", slow_fit)
    stage = dict(F=model.featurizer_.transform(X), y=y.to_numpy(dtype=float), groups=np.arange(len(X)), storage=None, progress=None)
    model._default_cost = {"ridge": 0.0}
    result = model._stage("final", deadline=time.monotonic() + 100, **stage)
    # fitted before the searches, so the 2 s come out of what they share: 70 % of the 98 s left
    assert events == ["guard", "search"]
    assert budgets["ridge"] == pytest.approx(0.7 * 98, abs=0.5)
    guard, columns = result["domain"]
    assert columns == model.predictor_.domain_columns and guard.train_.shape == (len(X), len(columns))
    # an outer fold's stage fits none
    assert model._stage("fold0", deadline=time.monotonic() + 100, **stage)["domain"] is None and events.count("guard") == 1


def test_a_model_past_the_floor_whose_default_would_overrun_is_cut_to_fit_when_the_cut_keeps_most_of_it(regression_table, monkeypatch):
    import matforge.learn._automodel as automodel

    X, y = regression_table[["formula", "anneal_T_K"]], regression_table["hardness"]
    model = AutoModel(models="ridge,extra_trees", budget=5, cv=3, ensemble=1, max_trials=1, preset="magpie_extended", seed=0, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[]).fit(X, y)
    budgets, real = {}, automodel.tune

    def spy(spec, *args, budget, **kwargs):
        budgets[spec.name] = (budget, spec.defaults["n_estimators"] if "n_estimators" in spec.defaults else None)
        return real(spec, *args, budget=budget, **kwargs)

    monkeypatch.setattr(automodel, "tune", spy)
    stage = dict(F=model.featurizer_.transform(X), y=y.to_numpy(dtype=float), groups=np.arange(len(X)), storage=None, progress=None)
    # extra trees' default trial known at 150 s, 100 s left past the floor of one model: two-thirds of its 300
    # trees fit, so it runs cut to them, and ridge's search leaves it all that time
    model._default_scale, model._default_cost = {}, {"ridge": 0.0, "extra_trees": 150.0}
    assert set(model._stage("final", deadline=time.monotonic() + 100, **stage)["fitted"]) == {"ridge", "extra_trees"}
    assert budgets["ridge"][0] == 0.0 and 180 <= budgets["extra_trees"][1] <= 200
    assert model._default_scale["extra_trees"] == pytest.approx(budgets["extra_trees"][1] / 300)
    # at 250 s, 40 % would fit: less than half of it, so it is skipped
    model._default_scale, model._default_cost = {}, {"ridge": 0.0, "extra_trees": 250.0}
    budgets.clear()
    assert set(model._stage("final", deadline=time.monotonic() + 100, **stage)["fitted"]) == {"ridge"}
    assert "extra_trees" not in budgets and budgets["ridge"][0] == pytest.approx(0.7 * 100 / 2, abs=0.5)


def test_a_model_too_dear_to_time_whole_is_timed_on_a_share_of_its_work(regression_table, sleepy_model):
    from matforge.learn import unreached_models

    FITS: list[int] = []

    class CountedTrees(SleepyTrees):
        def fit(self, X, y):
            FITS.append(self.n_estimators)
            return super().fit(X, y)

    # a default fit of 2 s, timed on a tenth of its trees (as the attention models are, `_timing_steps`)
    MODELS["dear"] = ModelSpec("dear", "slow mean", ("regression",), lambda task, p, seed, n_jobs: CountedTrees(p["n_estimators"]), lambda t: {}, {"n_estimators": 2000}, "test double, not a model of anything", timing=lambda p: ({**p, "n_estimators": p["n_estimators"] // 10}, 0.1))
    try:
        X, y = regression_table[["formula", "anneal_T_K"]], regression_table["hardness"]
        model = AutoModel(models=f"{sleepy_model},dear", budget=3, evaluate=False, ensemble=2, max_trials=1, preset="magpie_extended", seed=0, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[]).fit(X, y)
        # the probe fitted 200 trees (0.2 s) and read 2 s: the default trial (4 such fits) cannot fit the stage,
        # so the model is left out of the floor and skipped, never fitted at its default
        assert FITS == [200] and model.plan_["probe_seconds"]["dear"] >= 2.0
        assert model.plan_["floor_models"] == 1 and unreached_models(model.leaderboard_) == ["dear"]
    finally:
        del MODELS["dear"]


def test_a_search_starts_no_trial_that_would_end_past_its_budget():
    import pandas as pd

    from matforge.learn._search import tune

    # each trial: 3 inner fits of 0.1 s. Optuna's own timeout would start a fourth trial at 0.9 s (ending at
    # 1.2 s); the search stops once the mean trial no longer fits what is left
    spec = ModelSpec("sleepy_fit", "slow mean", ("regression",), lambda task, p, seed, n_jobs: SleepyTrees(100), lambda t: {}, {}, "test double, not a model of anything")
    F, y = pd.DataFrame({"x": np.arange(30.0)}), np.arange(30.0)
    result = tune(spec, "regression", F, y, np.arange(30), columns=["x"], categorical=[], classes=None, budget=1.0, seed=0, storage=None, study_name="s", inner_folds=3, max_trials=50)
    assert result.n_trials in (2, 3) and result.seconds < 1.05
    assert result.default_seconds == pytest.approx(0.3, abs=0.1)
    # the default trial runs whatever the budget, and nothing after it where it alone used the budget up
    alone = tune(spec, "regression", F, y, np.arange(30), columns=["x"], categorical=[], classes=None, budget=0.5, seed=0, storage=None, study_name="s", inner_folds=3, max_trials=50)
    assert alone.n_trials == 1


def test_a_model_that_averages_seeds_searches_on_only_where_the_random_start_fits():
    from dataclasses import replace

    import pandas as pd

    from matforge.learn._search import STARTUP_TRIALS, tune

    # trials of 0.3 s as above: 1.2 s holds three more after the default, not the sampler's five random ones,
    # so a model that reseeds keeps its default and leaves the time to its seeds; 2.6 s holds them
    spec = ModelSpec("sleepy_net", "slow mean", ("regression",), lambda task, p, seed, n_jobs: SleepyTrees(100), lambda t: {}, {}, "test double, not a model of anything", reseed=True)
    F, y = pd.DataFrame({"x": np.arange(30.0)}), np.arange(30.0)
    kwargs = dict(columns=["x"], categorical=[], classes=None, seed=0, storage=None, study_name="s", inner_folds=3, max_trials=50)
    assert STARTUP_TRIALS == 5
    assert tune(spec, "regression", F, y, np.arange(30), budget=1.2, **kwargs).n_trials == 1
    assert tune(replace(spec, reseed=False), "regression", F, y, np.arange(30), budget=1.2, **kwargs).n_trials > 1
    assert tune(spec, "regression", F, y, np.arange(30), budget=2.6, **kwargs).n_trials > 1


def test_same_seed_gives_the_same_run(regression_table):
    kwargs = dict(models="ridge", budget=60, max_trials=3, cv=3, seed=7, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[])
    first = AutoModel(**kwargs).fit(regression_table[["formula", "anneal_T_K"]], regression_table["hardness"])
    second = AutoModel(**kwargs).fit(regression_table[["formula", "anneal_T_K"]], regression_table["hardness"])
    np.testing.assert_allclose(first.oof_, second.oof_)


def test_interrupted_training_resumes_from_finished_folds(regression_table, tmp_path, monkeypatch):
    from matforge.learn import _automodel

    out = tmp_path / "run"
    original = _automodel.AutoModel._stage
    calls = {"n": 0}

    def interrupt_on_third_stage(self, name, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(_automodel.AutoModel, "_stage", interrupt_on_third_stage)
    # a budget that the 3-trial cap always reaches first: on a loaded machine a clock-bound stage ends after fewer
    # trials, and the resumed and fresh runs would then differ for a reason that is not the resume. The preset is
    # fixed because with this budget `auto` would screen two presets per stage (at budget 60 it screened none)
    with pytest.raises(KeyboardInterrupt):
        train(regression_table, "hardness", out, models="ridge", preset="magpie_extended", budget=600, cv=4, seed=0, max_trials=3)
    assert not out.exists()
    partial = tmp_path / ".run.partial"
    assert (partial / "fold_0.npz").exists() and (partial / "fold_1.npz").exists()
    monkeypatch.setattr(_automodel.AutoModel, "_stage", original)
    train(regression_table, "hardness", out, models="ridge", preset="magpie_extended", budget=600, cv=4, seed=0, max_trials=3, resume=True)
    run = load_run(out)
    assert run.metrics["resumed_folds"] == 2
    assert not partial.exists()
    fresh = train(regression_table, "hardness", tmp_path / "fresh", models="ridge", preset="magpie_extended", budget=600, cv=4, seed=0, max_trials=3)
    assert load_run(fresh).metrics["cv"]["mae"]["mean"] == pytest.approx(run.metrics["cv"]["mae"]["mean"], rel=1e-9)


def test_classification_gives_calibrated_probabilities_and_contract_metrics(classification_table, tmp_path):
    out = train(classification_table, "kind", tmp_path / "cls", models="logistic,knn", budget=8, cv=3, seed=0)
    run = load_run(out)
    assert run.metrics["task"] == "classification"
    assert set(run.metrics["cv"]) == {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc"}
    assert run.metrics["cv"]["accuracy"]["mean"] > 0.85
    predictions = run.predict(classification_table.head(20))
    proba = predictions[["proba_ionic", "proba_metallic"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert predictions["prediction"].isin(["ionic", "metallic"]).all()


def test_sample_weights_reach_the_fits_and_the_scores(regression_table):
    """Rows of weight 0 (here: targets corrupted by a large offset) change neither the models nor the scores."""
    X = regression_table[["formula", "anneal_T_K"]]
    y = regression_table["hardness"].to_numpy()
    bad = np.random.default_rng(0).random(len(y)) < 0.25
    corrupted = np.where(bad, y + 20.0, y)
    kwargs = dict(models="ridge", budget=30, max_trials=2, cv=3, ensemble=1, seed=0, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[])
    weighted = AutoModel(**kwargs).fit(X, corrupted, sample_weight=(~bad).astype(float))
    plain = AutoModel(**kwargs).fit(X, corrupted)
    error = {name: np.abs(m.predict(X[~bad]) - y[~bad]).mean() for name, m in (("weighted", weighted), ("plain", plain))}
    assert error["weighted"] < 0.2 * error["plain"]
    # the reported scores count the clean rows only: each fold's MAE is that of its clean rows
    for k, score in enumerate(weighted.cv_scores_["mae"]["folds"]):
        rows = (weighted.oof_fold_ == k) & ~bad
        assert score == pytest.approx(np.abs(weighted.oof_[rows] - corrupted[rows]).mean())
    with pytest.raises(Exception, match="sample_weight"):
        AutoModel(**kwargs).fit(X, corrupted, sample_weight=np.ones(3))


def test_integer_weights_fit_like_repeated_rows(regression_table):
    """A merged row of weight n is fitted and scored as its n rows would be (least squares: exactly)."""
    from matforge.learn._pipeline import score_predictions
    from matforge.learn._search import fit_pipeline
    from matforge.models import get_model

    F = regression_table[["anneal_T_K"]].assign(chi=regression_table["hardness"] ** 0.5)
    y = regression_table["hardness"].to_numpy()
    w = np.random.default_rng(1).integers(1, 4, len(y)).astype(float)
    repeat = np.repeat(np.arange(len(y)), w.astype(int))
    options = dict(columns=["anneal_T_K", "chi"], categorical=[], seed=0, n_jobs=1)
    weighted = fit_pipeline(get_model("linear"), "regression", {}, F, y, sample_weight=w, **options)
    repeated = fit_pipeline(get_model("linear"), "regression", {}, F.iloc[repeat], y[repeat], **options)
    plain = fit_pipeline(get_model("linear"), "regression", {}, F, y, **options)
    np.testing.assert_allclose(weighted.predict(F), repeated.predict(F), rtol=1e-9, atol=1e-9)
    assert np.abs(weighted.predict(F) - plain.predict(F)).max() > 1e-6
    noisy = y + np.random.default_rng(2).normal(0, 0.1, len(y))
    for metric, value in score_predictions("regression", y, noisy, sample_weight=w).items():
        assert value == pytest.approx(score_predictions("regression", y[repeat], noisy[repeat])[metric])


def test_small_tables_score_trials_by_the_mean_of_repeated_inner_cv():
    import pandas as pd

    from matforge.learn._automodel import SMALL_ROWS
    from matforge.learn._pipeline import make_splits
    from matforge.learn._search import _score, fit_pipeline, predict_with, tune

    rng = np.random.default_rng(0)
    F = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = F["a"].to_numpy() * 2 + rng.normal(0, 0.5, 60)
    groups = np.arange(60)
    spec = MODELS["ridge"]
    common = dict(columns=["a", "b", "c"], categorical=[], classes=None, budget=10, seed=3, storage=None, max_trials=1)
    tuned = tune(spec, "regression", F, y, groups, study_name="repeated", inner_repeats=3, **common)
    scores, oof = [], []
    for repeat in range(3):
        pred = np.zeros(60)
        for fit_rows, test in make_splits("regression", y, groups, 3, 3 + repeat):
            pipeline = fit_pipeline(spec, "regression", spec.defaults, F.iloc[fit_rows], y[fit_rows], columns=["a", "b", "c"], categorical=[], seed=3, n_jobs=1)
            pred[test] = predict_with(pipeline, "regression", F.iloc[test], None)
        scores.append(_score("regression", y, pred, None))
        oof.append(pred)
    assert tuned.score == pytest.approx(np.mean(scores))
    np.testing.assert_allclose(tuned.oof, np.mean(oof, axis=0))
    once = tune(spec, "regression", F, y, groups, study_name="once", inner_repeats=1, **common)
    assert once.score == pytest.approx(scores[0]) and once.score != pytest.approx(tuned.score)
    model = AutoModel()
    assert model._inner_repeats(SMALL_ROWS) == 3 and model._inner_repeats(SMALL_ROWS + 1) == 1


def test_inner_folds_are_three_or_as_given_and_two_above_large_tables():
    from matforge.learn._automodel import SMALL_ROWS
    from matforge.models._registry import LARGE_ROWS

    auto = AutoModel()
    assert [auto._inner_folds(n) for n in (SMALL_ROWS, SMALL_ROWS + 1, LARGE_ROWS, LARGE_ROWS + 1)] == [3, 3, 3, 2]
    given = AutoModel(inner_cv=4)
    assert given._inner_folds(100) == given._inner_folds(LARGE_ROWS) == 4 and given._inner_folds(LARGE_ROWS + 1) == 2


def test_the_estimator_and_matforge_train_share_their_defaults():
    """A notebook user's `AutoModel()` gets the feature preset and target handling `matforge train` gets."""
    import inspect

    from matforge.cli.train import train as train_cli

    model, options = AutoModel(), inspect.signature(train).parameters
    cli = {name: p.default.default for name, p in inspect.signature(train_cli).parameters.items() if hasattr(p.default, "default")}
    for name in ("preset", "zero_inflated", "log_target", "ensemble", "max_trials", "budget", "cv", "seed"):
        assert getattr(model, name) == options[name].default == cli[name], name
