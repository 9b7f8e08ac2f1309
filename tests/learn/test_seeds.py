"""Seed averaging: a stage with time left refits its networks with further seeds and averages them."""

from __future__ import annotations

import copy
import time
from dataclasses import replace

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, is_classifier, is_regressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from matforge.learn import AutoModel, load_run, train
from matforge.learn._automodel import _distinct_configurations
from matforge.models import MODELS, ModelSpec
from matforge.models._seeds import SeedAveraged
from matforge.report._sections import members_text


def test_seed_averaged_is_the_mean_of_its_estimators(classification_table):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 3)), rng.normal(size=80)
    regressor = SeedAveraged([RandomForestRegressor(20, random_state=s) for s in range(3)]).fit(X, y)
    assert is_regressor(regressor) and len(regressor.estimators_) == 3
    single = [e.predict(X) for e in regressor.estimators_]
    assert not np.allclose(single[0], single[1])  # the seeds differ
    np.testing.assert_allclose(regressor.predict(X), np.mean(single, axis=0))
    labels = np.where(X[:, 0] > 0, "a", "b")
    classifier = SeedAveraged([RandomForestClassifier(20, random_state=s) for s in range(2)]).fit(X, labels)
    assert is_classifier(classifier) and list(classifier.classes_) == ["a", "b"]
    np.testing.assert_allclose(classifier.predict_proba(X), np.mean([e.predict_proba(X) for e in classifier.estimators_], axis=0))
    assert set(classifier.predict(X)) <= {"a", "b"} and classifier.score(X, labels) > 0.9
    # estimators fitted already are adopted as they are
    fitted = [RandomForestRegressor(10, random_state=s).fit(X, y) for s in range(2)]
    adopted = SeedAveraged.adopt(fitted)
    assert adopted.estimators_[0] is fitted[0] and adopted.n_features_in_ == 3
    np.testing.assert_allclose(adopted.predict(X), (fitted[0].predict(X) + fitted[1].predict(X)) / 2)


class SeededOffset(RegressorMixin, BaseEstimator):
    """Predicts the mean target plus an offset drawn from its seed, after `delay` seconds of 'fitting'."""

    def __init__(self, seed=0, delay=0.0):
        self.seed = seed
        self.delay = delay

    def fit(self, X, y):
        time.sleep(self.delay)
        self.value_ = float(np.mean(y)) + float(np.random.default_rng(self.seed).normal())
        return self

    def predict(self, X):
        return np.full(len(X), self.value_)


@pytest.fixture
def seeded():
    MODELS["seeded"] = ModelSpec("seeded", "mean + seed offset", ("regression",), lambda task, p, seed, n_jobs: SeededOffset(seed, p["delay"]), lambda t: {}, {"delay": 0.0}, "test double, not a model of anything", reseed=True)
    yield "seeded"
    del MODELS["seeded"]


def test_a_stage_with_time_left_averages_further_seeds_of_a_network(regression_table, seeded, monkeypatch):
    import matforge.learn._automodel as automodel

    monkeypatch.setattr(automodel, "RESEED_MAX", 4)
    X, y = regression_table[["formula", "anneal_T_K"]], regression_table["hardness"]
    kwargs = dict(models=seeded, ensemble=1, max_trials=1, preset="magpie_extended", seed=3, evaluate=False, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[])
    model = AutoModel(budget=30, **kwargs).fit(X, y)
    assert model.best_model_ == seeded and model.final_configurations_[0]["seeds"] == 4
    step = model.predictor_.members[0].named_steps["model"]
    assert isinstance(step, SeedAveraged) and [e.seed for e in step.estimators_] == [3, 4, 5, 6]
    offsets = [float(np.random.default_rng(s).normal()) for s in (3, 4, 5, 6)]
    np.testing.assert_allclose(model.predict(X), y.mean() + np.mean(offsets))
    assert [t["seed_seconds"] >= 0 for t in model.final_tuned_ if t["model"] == seeded] == [True]
    # a model that does not gain from seeds (ridge) is never refitted
    assert "seeds" not in AutoModel(budget=30, **{**kwargs, "models": "ridge"}).fit(X, y).final_configurations_[0]
    # no time left: one seed, no wrapper
    F, values = model.featurizer_.transform(X), y.to_numpy(dtype=float)
    late = model._stage("final", F, values, np.arange(len(X)), 0.0, None, None)
    assert late["seeds"] == {} and not isinstance(late["member_pipelines"][0].named_steps["model"], SeedAveraged)
    # one more seed only where the time left holds the margin times the member's measured fit (0.2 s here)
    monkeypatch.setitem(MODELS, seeded, replace(MODELS[seeded], defaults={"delay": 0.2}))
    soon = model._stage("final", F, values, np.arange(len(X)), time.monotonic() + 0.7, None, None)
    assert soon["seeds"] in ({}, {id(soon["picks"][0]): 2})  # at most one more: 0.2 s x 1.1 after a 0.2 s trial + fit


def test_less_than_a_whole_fit_left_buys_one_last_seed_cut_to_it(regression_table, seeded, monkeypatch):
    import matforge.learn._automodel as automodel

    # the double's cheaper form scales its 'fitting' delay, as the attention models' scales their steps
    monkeypatch.setitem(MODELS, seeded, replace(MODELS[seeded], cheaper=lambda p, f: ({**p, "delay": p["delay"] * f}, f)))
    X, y = regression_table[["formula", "anneal_T_K"]], regression_table["hardness"]
    model = AutoModel(models=seeded, ensemble=1, max_trials=1, budget=30, preset="magpie_extended", seed=3, evaluate=False, formula_cols=["formula"], numeric_cols=["anneal_T_K"], categorical_cols=[]).fit(X, y)
    F, values = model.featurizer_.transform(X), y.to_numpy(dtype=float)
    stage = model._stage("final", F, values, np.arange(len(X)), 0.0, None, None)
    pick = replace(stage["picks"][0], params={"delay": 0.01})
    fitted = stage["member_pipelines"][0]

    def reseed(left: float):
        # the member's fit 'measured' at 10 s: `left` holds left / 11 s of a whole fit with the margin of 1.1
        pipelines = {id(pick): copy.deepcopy(fitted)}
        seeds, _, cut = model._reseed([pick], pipelines, {id(pick): 10.0}, F, values, None, time.monotonic() + left)
        return seeds.get(id(pick), 1), cut.get(id(pick)), pipelines[id(pick)].named_steps["model"]

    seeds, share, step = reseed(9.0)  # 0.82 of a fit: one last seed, cut to that share, and no more
    assert seeds == 2 and share == pytest.approx(9.0 / 11.0, abs=0.01)
    assert [(e.seed, e.delay) for e in step.estimators_] == [(3, 0.0), (4, pytest.approx(0.01 * share))]  # the stage's fit, then the cut one
    assert reseed(7.0)[:2] == (1, None)  # 0.64 of a fit: a cut that far costs accuracy, so no seed
    monkeypatch.setattr(automodel, "RESEED_MAX", 3)
    assert reseed(30.0)[:2] == (3, None)  # whole fits while they fit (instant here, so up to the cap)
    monkeypatch.setitem(MODELS, seeded, replace(MODELS[seeded], cheaper=None))
    assert reseed(9.0)[:2] == (1, None)  # no cheaper form: no cut seed
    final = _distinct_configurations([pick], {id(pick): 2}, {id(pick): 0.8181})
    assert final[0]["seeds"] == 2 and final[0]["last_seed_share"] == 0.818
    assert "(averaged over 2 seeds, the last cut to 82% of its work to fit the time left)" in members_text({"final_configurations": final})


def test_a_saved_run_keeps_its_seed_average(regression_table, monkeypatch, tmp_path):
    # scikit-learn's MLP stands in for the attention models (which reseed by default but need the [deep] extra)
    monkeypatch.setitem(MODELS, "mlp", replace(MODELS["mlp"], reseed=True))
    run = train(regression_table, "hardness", tmp_path / "run", models="mlp", budget=8, cv=2, max_trials=2, ensemble=1, preset="magpie_extended", seed=0)
    loaded = load_run(run)
    seeds = loaded.card["final_configurations"][0].get("seeds", 1)
    assert seeds >= 2
    member = loaded.predictor.members[0].named_steps["model"]
    assert isinstance(member, SeedAveraged) and len(member.estimators_) == seeds
    assert f"(averaged over {seeds} seeds)" in (run / "report.html").read_text()


def test_a_classifier_averages_the_probabilities_of_its_seeds(classification_table, monkeypatch):
    monkeypatch.setitem(MODELS, "mlp", replace(MODELS["mlp"], reseed=True))
    X, y = classification_table[["formula"]], classification_table["kind"]
    model = AutoModel(models="mlp", budget=6, max_trials=1, ensemble=1, evaluate=False, preset="magpie_extended", seed=0, formula_cols=["formula"], numeric_cols=[], categorical_cols=[]).fit(X, y)
    pipeline = model.predictor_.members[0]
    step = pipeline.named_steps["model"]
    assert isinstance(step, SeedAveraged) and len(step.estimators_) == model.final_configurations_[0]["seeds"] >= 2
    F = model.featurizer_.transform(X)
    inputs = pipeline[:-1].transform(F)
    np.testing.assert_allclose(pipeline.predict_proba(F), np.mean([e.predict_proba(inputs) for e in step.estimators_], axis=0))
    assert list(pipeline.classes_) == ["ionic", "metallic"] and (model.predict(X) == y.to_numpy()).mean() > 0.8
