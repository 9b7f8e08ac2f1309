"""Regression on a log scale (`AutoModel(log_target=...)`, `matforge train --log-target`): chosen only for a
strictly positive, right-skewed target, searched model by model, and a clear error where it cannot apply."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from matforge.cli.app import main
from matforge.errors import InputError
from matforge.learn import AutoModel, load_run, train
from matforge.learn._pipeline import is_log_skewed, log_target_option


def _exponential(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """y = exp(1.2 a + 0.3 b + noise): lognormal, and linear on the log scale (a ridge model's known answer)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    y = np.exp(1.2 * frame["a"] + 0.3 * frame["b"] + rng.normal(0, 0.2, n)).to_numpy()
    return frame, y


def _fit(frame, y, log_target, models="ridge", **kw):
    return AutoModel(task="regression", models=models, budget=60, cv=3, max_trials=kw.pop("max_trials", 4), log_target=log_target, numeric_cols=list(frame.columns), seed=0, **kw).fit(frame, pd.Series(y))


def test_is_log_skewed_only_for_positive_right_tailed_targets():
    rng = np.random.default_rng(0)
    assert is_log_skewed(np.exp(rng.normal(0, 1, 500)))  # lognormal: skewness about 6
    assert not is_log_skewed(rng.normal(10, 1, 500))  # symmetric
    assert not is_log_skewed(rng.uniform(1, 2, 500))
    assert not is_log_skewed(np.r_[0.0, np.exp(rng.normal(0, 1, 499))])  # a zero: no logarithm
    assert not is_log_skewed(-np.exp(rng.normal(0, 1, 500)))  # left tail


def test_log_scale_recovers_an_exponential_law_that_ridge_cannot_fit_directly():
    frame, y = _exponential()
    plain, logged = _fit(frame, y, False), _fit(frame, y, True)
    assert plain.log_target_ is False and logged.log_target_ is True
    assert all(c["params"]["_log_target"] for c in logged.final_configurations_)
    assert logged.cv_scores_["mae"]["mean"] < 0.8 * plain.cv_scores_["mae"]["mean"]
    assert (logged.predict(frame) > 0).all()


def test_auto_searches_both_scales_on_a_skewed_target():
    frame, y = _exponential()
    model = _fit(frame, y, "auto", max_trials=8)
    assert model.log_target_ == "search"
    # the known answer: the law is linear in log(y), so the log scale wins the search
    assert {c["params"]["_log_target"] for c in model.final_configurations_} == {True}


def test_auto_leaves_a_symmetric_target_exactly_as_before():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(150, 3)), columns=["a", "b", "c"])
    y = 2.0 * frame["a"].to_numpy() + rng.normal(0, 0.1, 150) + 10.0
    auto, off = _fit(frame, y, "auto", models="ridge,decision_tree"), _fit(frame, y, False, models="ridge,decision_tree")
    assert auto.log_target_ is False
    assert all("_log_target" not in c["params"] for c in auto.final_configurations_)
    # the trial cap binds, so the same seed gives the same run: nothing changed but the setting's name
    assert np.array_equal(auto.oof_, off.oof_)
    assert np.array_equal(auto.predict(frame), off.predict(frame))


def test_log_of_a_target_that_is_not_positive_is_a_clear_error():
    frame, y = _exponential()
    with pytest.raises(InputError, match="strictly positive"):
        _fit(frame, y - 1.0, True)
    with pytest.raises(InputError, match="log-target must be auto, yes or no"):
        log_target_option("sometimes")
    assert log_target_option("yes", [1.0, 2.0]) is True


def test_run_folder_records_the_scale_and_predicts_after_loading(tmp_path):
    frame, y = _exponential(180)
    table = frame.assign(strength=y)
    out = tmp_path / "run"
    train(table, "strength", out, models="ridge", cv=3, budget=60, max_trials=4, log_target=True)
    run = load_run(out)
    log_scale = run.metrics["log_target"]
    assert log_scale["setting"] == "always" and log_scale["members_on_log_scale"] == log_scale["members"] >= 1
    assert json.loads((out / "model" / "card.json").read_text())["log_target"]["setting"] == "always"
    predicted = run.predictor.predict_table(table[["a", "b", "c"]])["prediction"].to_numpy()
    assert (predicted > 0).all()
    assert np.median(np.abs(np.log(predicted) - np.log(y))) < 0.3  # the noise on the log scale is 0.2


def test_cli_refuses_log_of_a_non_positive_target_before_writing(tmp_path, capsys):
    frame, y = _exponential(60)
    data = tmp_path / "t.csv"
    frame.assign(strength=y - 1.0).to_csv(data, index=False)
    out = tmp_path / "run"
    assert main(["train", str(data), "--target", "strength", "--log-target", "yes", "--out", str(out), "--budget", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "strictly positive" in err and "\n" not in err
    assert not out.exists() and not (tmp_path / ".run.partial").exists()


def test_by_default_the_log_scale_is_searched_where_it_applies_and_ignored_elsewhere(tmp_path):
    frame, y = _exponential(120)
    data = tmp_path / "t.csv"
    frame.assign(strength=y).to_csv(data, index=False)
    out = tmp_path / "run"
    argv = ["train", str(data), "--target", "strength", "--models", "ridge", "--cv", "3", "--budget", "30", "--max-trials", "4"]
    assert main([*argv, "--out", str(out)]) == 0
    assert load_run(out).metrics["log_target"]["setting"] == "searched"
    # a target with values at or below zero has no logarithm: the default leaves it alone, without an error
    shifted = AutoModel(task="regression", models="ridge", budget=30, cv=3, max_trials=2, numeric_cols=list(frame.columns)).fit(frame, pd.Series(y - 1.0))
    assert shifted.log_target_ is False
