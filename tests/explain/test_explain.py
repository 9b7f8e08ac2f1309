"""Explanations against synthetic models with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matforge import explain
from matforge.cli.app import main
from matforge.learn import load_run, train


def _design_table(n: int = 150, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.uniform(-1, 1, n), "x2": rng.uniform(-1, 1, n), "x3": rng.uniform(0, 10, n)})
    frame["phase"] = np.select([frame["x1"] < -0.3, frame["x1"] < 0.3], ["low", "mid"], "high")
    frame["y"] = 3.0 * frame["x1"] - 2.0 * frame["x2"] + rng.normal(0, 0.05, n)
    return frame


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """Three phases whose boundaries depend on x1 only; x2, x3 are irrelevant design parameters."""
    frame = _design_table().drop(columns=["y"])
    return train(frame, "phase", tmp_path_factory.mktemp("cls") / "run", budget=5, models="logistic,knn", cv=3)


@pytest.fixture(scope="module")
def regressor(tmp_path_factory):
    frame = _design_table().drop(columns=["phase"])
    return train(frame, "y", tmp_path_factory.mktemp("reg") / "run", budget=5, models="ridge", cv=3, ensemble=1)


def _features(run_dir):
    run = load_run(run_dir)
    table = pd.read_parquet(run_dir / "model" / "train_data.parquet")
    return run, explain.features_of(run.predictor, table), table


def test_sensitivity_matrix_is_dominated_by_the_only_relevant_feature(classifier):
    run, F, _ = _features(classifier)
    sensitivity = explain.sensitivity_matrix(run.predictor, F, max_rows=None)
    matrix = sensitivity.pivot(index="feature", columns="output", values="per_std")
    strength = matrix.abs().max(axis=1)
    assert strength.idxmax() == "x1"
    assert strength["x1"] > 5 * max(strength["x2"], strength["x3"])
    # increasing x1 moves rows from the low phase to the high phase
    assert matrix.loc["x1", "P(high)"] > 0 > matrix.loc["x1", "P(low)"]
    # probabilities sum to one, so their changes sum to zero
    assert abs(matrix.loc["x1"].sum()) < 1e-6


def test_sensitivity_of_a_linear_model_is_its_slope(regressor):
    run, F, _ = _features(regressor)
    per_unit = explain.sensitivity_matrix(run.predictor, F, max_rows=None).set_index("feature")["per_unit"]
    assert per_unit["x1"] == pytest.approx(3.0, rel=0.05)
    assert per_unit["x2"] == pytest.approx(-2.0, rel=0.05)
    assert abs(per_unit["x3"]) < 0.05


def test_partial_dependence_of_a_linear_model_is_a_line_with_its_slope(regressor):
    run, F, _ = _features(regressor)
    curve = explain.partial_dependence(run.predictor, F, "x1", grid=10)
    slope = np.polyfit(curve["value"], curve["y"], 1)[0]
    assert slope == pytest.approx(3.0, rel=0.05)
    assert len(curve) == 10 and curve["value"].is_monotonic_increasing


def test_permutation_importance_ranks_the_relevant_feature_first(classifier, regressor):
    for run_dir, target in ((classifier, "phase"), (regressor, "y")):
        run, F, table = _features(run_dir)
        importance = explain.permutation_importance(run.predictor, F, table[target].to_numpy(), n_repeats=3, seed=1)
        assert importance["feature"].iloc[0] == "x1"
        assert importance.set_index("feature").loc["x3", "importance"] < 0.2 * importance["importance"].iloc[0]


def test_explain_cli_writes_csv_tables(classifier, tmp_path):
    out = tmp_path / "why"
    assert main(["explain", str(classifier), "--out", str(out)]) == 0
    sensitivity = pd.read_csv(out / "sensitivity_matrix.csv")
    assert set(sensitivity["output"]) == {"P(high)", "P(low)", "P(mid)"} and set(sensitivity["feature"]) == {"x1", "x2", "x3"}
    assert (out / "permutation_importance.csv").exists()
    assert "no SHAP values" in (out / "README.txt").read_text()
    # a table without the target: no importance, still the matrix
    data = tmp_path / "new.csv"
    _design_table(20, seed=3).drop(columns=["phase", "y"]).to_csv(data, index=False)
    assert main(["explain", str(classifier), str(data), "--out", str(tmp_path / "new")]) == 0
    assert not (tmp_path / "new" / "permutation_importance.csv").exists()
    assert main(["explain", str(classifier), str(data), "--out", str(data)]) == 2


def test_shap_values_of_lightgbm_add_up_to_its_prediction(tmp_path):
    frame = _design_table().drop(columns=["phase"])
    run_dir = train(frame, "y", tmp_path / "run", budget=5, models="lightgbm", cv=2, ensemble=1)
    run, F, _ = _features(run_dir)
    shap = explain.shap_values(run.predictor, F, max_rows=None)
    prediction = run.predictor.members[0].predict(F)
    np.testing.assert_allclose(shap.base[0] + shap.values[:, :, 0].sum(axis=1), prediction, atol=1e-6)
    assert shap.mean_abs().index[0] == "x1"
    assert main(["explain", str(run_dir), "--out", str(tmp_path / "why")]) == 0
    table = pd.read_csv(tmp_path / "why" / "shap_values.csv")
    assert len(table) == len(F) and {"row", "x1", "x2", "x3", "base_value"} <= set(table.columns)


def _mean_forest(monkeypatch):
    """extra_trees with the leaf mean only (the search would otherwise try the median forest first)."""
    from dataclasses import replace

    from matforge.models import _registry

    spec = _registry.MODELS["extra_trees"]
    fixed = {**spec.defaults, "leaf_statistic": "mean"}
    monkeypatch.setitem(_registry.MODELS, "extra_trees", replace(spec, defaults=fixed, space=lambda trial: {}, regression_space=lambda trial: {"leaf_statistic": "mean"}))


def test_shap_values_of_a_scikit_learn_forest_add_up_to_its_prediction(tmp_path, monkeypatch):
    pytest.importorskip("shap", reason="SHAP for forests needs pip install 'matforge[explain]'")
    _mean_forest(monkeypatch)
    frame = _design_table(80).drop(columns=["phase"])
    run_dir = train(frame, "y", tmp_path / "run", budget=3, models="extra_trees", cv=2, ensemble=1)
    run, F, _ = _features(run_dir)
    shap = explain.shap_values(run.predictor, F, member_names=run.card["final_members"], max_rows=15)
    member = run.predictor.members[0]
    np.testing.assert_allclose(shap.base[0] + shap.values[:, :, 0].sum(axis=1), member[-1].predict(shap.data.to_numpy()), rtol=1e-6, atol=1e-6)
    assert shap.member == "extra_trees" and shap.space == "target units"


def test_a_median_forest_is_not_offered_to_shap_because_its_values_would_not_add_up(tmp_path):
    frame = _design_table(80).drop(columns=["phase"])
    run_dir = train(frame, "y", tmp_path / "run", budget=3, max_trials=1, models="extra_trees", cv=2, ensemble=1)
    run = load_run(run_dir)
    assert type(run.predictor.members[0][-1]).__name__ == "MedianForestRegressor"
    assert explain.tree_member(run.predictor, run.card["final_members"]) is None


def test_shap_member_is_named_by_the_predictors_own_member_list():
    from lightgbm import LGBMRegressor
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline

    from matforge.learn._predictor import Predictor

    ridge, boosted = Pipeline([("model", Ridge())]), Pipeline([("model", LGBMRegressor())])
    # ensemble selection picked ridge twice (weight 2) and LightGBM once; the card lists distinct names by rank
    predictor = Predictor(members=[ridge, ridge, boosted], member_names=["ridge", "ridge", "lightgbm"])
    assert explain.tree_member(predictor, ["lightgbm", "ridge"]) == (2, "lightgbm")
    saved_before = Predictor(members=[boosted, ridge])  # a predictor saved before it kept the names
    assert explain.tree_member(saved_before, ["lightgbm", "ridge"]) == (0, "lightgbm")
