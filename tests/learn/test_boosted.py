"""A base regressor on the leading columns, its residuals fitted by a booster on the others."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from matforge.models import MODELS
from matforge.models._boosted import ResidualBoostedRegressor


def _table(n: int, seed: int):
    """Three leading 'fraction' columns the base sees and two others; the target has a linear part in the
    first and a step in the fourth that a linear base on the first three cannot express."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, 5))
    y = 3 * X[:, 0] - X[:, 1] + 2.0 * (X[:, 3] > 0.5)
    return X, y


def test_the_booster_learns_what_the_base_cannot_see_and_the_prediction_is_the_sum():
    lightgbm = pytest.importorskip("lightgbm")
    X, y = _table(600, 0)
    X_test, y_test = _table(200, 1)
    booster = lightgbm.LGBMRegressor(n_estimators=200, learning_rate=0.1, num_leaves=7, verbose=-1, random_state=0)
    model = ResidualBoostedRegressor(LinearRegression(), booster, n_base_columns=3).fit(X, y)
    base_alone = LinearRegression().fit(X[:, :3], y)
    mae = np.abs(model.predict(X_test) - y_test).mean()
    base_mae = np.abs(base_alone.predict(X_test[:, :3]) - y_test).mean()
    assert mae < 0.2 * base_mae, (mae, base_mae)
    expected = model.base_.predict(X_test[:, :3]) + model.booster_.predict(X_test[:, 3:])
    np.testing.assert_allclose(model.predict(X_test), expected)
    # the booster sees only the columns after the base's, and splits mostly on the step the base left
    assert model.booster_.n_features_in_ == 2
    step = X_test[:, 3] > 0.5
    correction = model.booster_.predict(X_test[:, 3:])
    assert correction[step].mean() - correction[~step].mean() > 1.5
    assert clone(model).get_params()["n_base_columns"] == 3


def test_with_the_prediction_the_booster_corrects_a_bias_that_depends_on_the_base_estimate():
    """The truth saturates (tanh of a linear score) where a linear base cannot; the other columns are noise, so
    only a booster that sees the base's estimate can learn the correction."""
    lightgbm = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, (1200, 5))
    y = np.tanh(2.0 * (X[:, 0] + X[:, 1] + X[:, 2]))
    train, test = slice(0, 900), slice(900, None)
    booster = lightgbm.LGBMRegressor(n_estimators=200, learning_rate=0.1, num_leaves=7, verbose=-1, random_state=0)
    maes = {}
    for flag in (False, True):
        model = ResidualBoostedRegressor(LinearRegression(), booster, n_base_columns=3, with_prediction=flag).fit(X[train], y[train])
        maes[flag] = np.abs(model.predict(X[test]) - y[test]).mean()
        assert model.booster_.n_features_in_ == 2 + flag
    base_mae = np.abs(LinearRegression().fit(X[train, :3], y[train]).predict(X[test, :3]) - y[test]).mean()
    assert maes[False] > 0.8 * base_mae, (maes, base_mae)  # noise columns: nothing to correct from
    assert maes[True] < 0.4 * base_mae, (maes, base_mae)


def test_a_model_saved_before_the_prediction_column_existed_still_predicts():
    lightgbm = pytest.importorskip("lightgbm")
    X, y = _table(300, 5)
    booster = lightgbm.LGBMRegressor(n_estimators=20, num_leaves=7, verbose=-1, random_state=0)
    model = ResidualBoostedRegressor(LinearRegression(), booster, n_base_columns=3).fit(X, y)
    expected = model.predict(X)
    del model.with_prediction  # as unpickled from an older matforge
    np.testing.assert_allclose(model.predict(X), expected)


def test_without_a_booster_it_is_the_base_on_its_columns():
    X, y = _table(100, 2)
    model = ResidualBoostedRegressor(LinearRegression(), None, n_base_columns=3).fit(X, y)
    assert model.booster_ is None
    np.testing.assert_allclose(model.predict(X), LinearRegression().fit(X[:, :3], y).predict(X[:, :3]))


def test_sample_weights_reach_both_stages():
    """Corrupted rows at weight 0 leave both linear stages exactly as the clean rows alone fit them."""
    X, y = _table(200, 3)
    corrupted = y.copy()
    corrupted[:50] += 100.0
    weights = np.r_[np.zeros(50), np.ones(150)]
    weighted = ResidualBoostedRegressor(LinearRegression(), LinearRegression(), n_base_columns=3).fit(X, corrupted, sample_weight=weights)
    clean = ResidualBoostedRegressor(LinearRegression(), LinearRegression(), n_base_columns=3).fit(X[50:], y[50:])
    np.testing.assert_allclose(weighted.predict(X), clean.predict(X), atol=1e-8)


def test_the_boosted_attention_model_reads_the_fractions_then_the_main_features():
    spec = MODELS["composition_attention_boosted"]
    sets = {"main": ["mean Number", "range Number"], "fractions": [f"frac {i}" for i in range(118)], "process": ["T"]}
    assert spec.uses_fractions and spec.tasks == ("regression",)
    assert spec.columns(sets) == sets["fractions"] + sets["main"] + sets["process"]
    assert MODELS["composition_attention"].columns(sets) == sets["fractions"] + sets["process"]
    assert MODELS["lightgbm"].columns(sets) == sets["main"] + sets["process"]
    pytest.importorskip("torch")
    estimator = spec.build("regression", spec.defaults)
    assert estimator.n_base_columns == 118 and estimator.booster.get_params()["objective"] == "regression_l1"
    assert estimator.with_prediction
    assert spec.build("regression", {"boost_trees": 0}).booster is None


def test_the_attention_models_cut_for_a_budget_train_a_share_of_their_steps_and_trees():
    pytest.importorskip("torch")
    import torch

    from matforge.models._attention import auto_size

    spec = MODELS["composition_attention_boosted"]
    steps = auto_size(torch.device("cpu"))["max_steps"]
    half, share = spec.cheaper(spec.defaults, 0.5)
    # a fixed share of the work: the searched parameters (boost_trees among its choices) stay what the search knows
    assert share == 0.5 and half == {**spec.defaults, "_steps_share": 0.5}
    estimator = spec.build("regression", half)
    assert estimator.base.max_steps == steps // 2 and estimator.booster.get_params()["n_estimators"] == spec.defaults["boost_trees"] // 2
    # at least a quarter, never more than the default; the timing share is taken of a cut configuration
    assert spec.cheaper(spec.defaults, 0.01)[1] == 0.25 and spec.cheaper(spec.defaults, 2.0) == (spec.defaults, 1.0)
    assert spec.timing(half)[0]["_steps_share"] == pytest.approx(0.05)
    # a cut configuration is cut from what it trains (a last seed of a cut member): the share returned is of that
    again, share = spec.cheaper(half, 0.8)
    assert again["_steps_share"] == pytest.approx(0.4) and share == pytest.approx(0.8)
    assert spec.cheaper(half, 0.1) == ({**half, "_steps_share": 0.25}, 0.5) and spec.cheaper(half, 1.5) == (half, 1.0)
    network = MODELS["composition_attention"].build("regression", MODELS["composition_attention"].cheaper(MODELS["composition_attention"].defaults, 0.5)[0])
    assert network.max_steps == steps // 2
