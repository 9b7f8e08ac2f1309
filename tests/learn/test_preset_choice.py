"""Choosing the feature preset per stage (`AutoModel(preset="auto")`, `screen_columns`): the screen finds the
columns that carry a known signal, keeps the smaller set when the extra columns are noise, and sees only the
training rows of the stage it serves."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from matforge.errors import InputError
from matforge.learn import AutoModel, _automodel, train
from matforge.learn._automodel import AUTO_PRESETS
from matforge.learn._search import screen_columns


def _table(n: int = 300, noise_columns: int = 40, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, noise_columns)), columns=[f"n{i}" for i in range(noise_columns)])
    frame["signal"] = rng.uniform(0, 1, n)
    y = 3.0 * frame["signal"].to_numpy() + rng.normal(0, 0.05, n)
    return frame, y


def _screen(candidates, frame, y, task="regression", classes=None):
    return screen_columns(candidates, task, frame, y, np.arange(len(y)), categorical=[], classes=classes, inner_folds=3, inner_repeats=1, seed=0)


def test_screen_takes_the_larger_set_when_it_holds_the_signal():
    frame, y = _table()
    noise = [f"n{i}" for i in range(5)]
    chosen, scores = _screen({"small": noise, "large": noise + ["signal"]}, frame, y)
    assert chosen == "large"
    assert scores["large"] < 0.5 * scores["small"]  # MAE: the signal explains nearly all of y


def test_screen_keeps_the_smaller_set_when_the_extra_columns_are_noise():
    frame, y = _table()
    chosen, scores = _screen({"small": ["signal"], "large": ["signal"] + [f"n{i}" for i in range(40)]}, frame, y)
    assert chosen == "small"
    assert scores["small"] < scores["large"]


def test_screen_breaks_ties_towards_the_first_candidate():
    frame, y = _table()
    chosen, scores = _screen({"first": ["signal", "n0"], "second": ["signal", "n0"]}, frame, y)
    assert chosen == "first"
    assert scores["first"] == scores["second"]


def test_screen_ranks_classification_by_roc_auc():
    frame, y = _table(seed=1)
    labels = np.where(y > np.median(y), "high", "low")
    chosen, scores = _screen({"noise": ["n0", "n1"], "signal": ["n0", "n1", "signal"]}, frame, labels, task="classification", classes=["high", "low"])
    assert chosen == "signal"
    assert scores["signal"] > 0.95 > scores["noise"]


def test_auto_preset_chooses_per_stage_and_saves_the_choice(regression_table, tmp_path):
    out = tmp_path / "run"
    # budget: the screen gets a tenth of each stage's share, enough for these 160 rows (max_trials keeps it short)
    train(regression_table, "hardness", out, models="ridge", cv=3, budget=200, max_trials=2, preset="auto")
    card = json.loads((out / "model" / "card.json").read_text())
    choice = card["feature_preset_choice"]
    assert card["feature_preset"] in AUTO_PRESETS
    assert set(choice["final_screen"]) == set(AUTO_PRESETS)
    # the chosen preset is the one the screen scored best (MAE), and the saved features are that preset's
    assert card["feature_preset"] == min(choice["final_screen"], key=choice["final_screen"].get)
    expected = AutoModel(preset=card["feature_preset"], formula_cols=["formula"], numeric_cols=[], categorical_cols=[])
    expected._roles(regression_table[["formula"]], regression_table["hardness"])
    assert [c for c in card["features"] if c != "anneal_T_K"] == expected._preset_columns(regression_table[["formula"]])[card["feature_preset"]]
    assert len(choice["outer_folds"]) == 3 and set(choice["outer_folds"]) <= set(AUTO_PRESETS)


def test_the_screen_sees_only_the_training_rows_of_its_stage(regression_table, monkeypatch):
    seen: list[frozenset] = []
    original = _automodel.screen_columns

    def spy(candidates, task, F, y, groups, **kwargs):
        seen.append(frozenset(F["row_id"].round().astype(int).tolist()))
        # the real screen on what it was given, one inner CV instead of three (the rows are what this test checks)
        return original(candidates, task, F, y, groups, **{**kwargs, "inner_repeats": 1})

    monkeypatch.setattr(_automodel, "screen_columns", spy)
    table = regression_table.assign(row_id=np.arange(len(regression_table)))
    model = AutoModel(models="ridge", budget=200, cv=4, max_trials=1, preset="auto", seed=0, formula_cols=["formula"], numeric_cols=["row_id"], categorical_cols=[])
    model.fit(table[["formula", "row_id"]], table["hardness"])
    assert len(seen) == len(model.splits_) + 1  # one screen per outer fold, one for the final fit
    for (train_rows, test_rows), rows in zip(model.splits_, seen[:-1], strict=True):
        assert rows == frozenset(train_rows.tolist())
        assert not rows & set(test_rows.tolist())
    assert seen[-1] == frozenset(range(len(table)))
    # the saved featurizer computes the chosen preset only, and predictions come out
    assert model.predict(table[["formula", "row_id"]].head(5)).shape == (5,)
    assert len(model.featurizer_.feature_sets_["main"]) == len(model._main_by_preset[model.preset_])
    # and the domain guard, fitted inside the final stage, measures those columns
    assert model.predictor_.domain_columns == model.featurizer_.feature_sets_["main"] + ["row_id"]


def test_a_single_preset_skips_the_screen(regression_table, monkeypatch):
    monkeypatch.setattr(_automodel, "screen_columns", lambda *a, **k: pytest.fail("screened a single preset"))
    model = AutoModel(models="ridge", budget=5, cv=2, max_trials=1, preset="magpie", formula_cols=["formula"], numeric_cols=[], categorical_cols=[])
    model.fit(regression_table[["formula"]], regression_table["hardness"])
    assert model.preset_ == "magpie" and model.preset_scores_ == {}


@pytest.mark.parametrize(("preset", "message"), [(("magpie_wide", "magpie_extended"), "is not part of"), (("auto",), "tuple of preset names")])
def test_bad_preset_candidates_are_clear_errors(regression_table, preset, message):
    model = AutoModel(models="ridge", budget=5, cv=2, preset=preset, formula_cols=["formula"], numeric_cols=[], categorical_cols=[])
    with pytest.raises(InputError, match=message):
        model.fit(regression_table[["formula"]], regression_table["hardness"])


def test_screen_within_its_time_scores_the_same_and_without_time_takes_the_first():
    frame, y = _table()
    noise = [f"n{i}" for i in range(5)]
    candidates = {"small": noise, "large": noise + ["signal"]}
    assert _screen(candidates, frame, y) == screen_columns(candidates, "regression", frame, y, np.arange(len(y)), categorical=[], classes=None, inner_folds=3, inner_repeats=1, seed=0, seconds=600.0)
    # no time for even the pilot's few hundred rows: no screen, the first (smaller) candidate
    big, y_big = _table(n=2000)
    assert screen_columns(candidates, "regression", big, y_big, np.arange(len(y_big)), categorical=[], classes=None, inner_folds=3, inner_repeats=1, seed=0, seconds=0.0) == ("small", {})
