"""Uncertainty is measured: conformal coverage holds on fresh data, the domain guard flags far inputs."""

from __future__ import annotations

import numpy as np
import pytest

from matforge.learn import DomainGuard, IntervalCalibrator, ProbabilityCalibrator


def test_conformal_intervals_cover_about_ninety_percent_of_new_heteroscedastic_data():
    rng = np.random.default_rng(0)
    spread = rng.uniform(0.1, 2.0, 4000)
    residual = rng.normal(0, spread)
    folds = rng.integers(0, 5, 4000)
    cal = IntervalCalibrator(level=0.9).fit(residual[:2000], spread[:2000], folds[:2000])
    covered = np.abs(residual[2000:]) <= cal.half_width(spread[2000:])
    assert 0.87 <= covered.mean() <= 0.93
    assert 0.87 <= cal.cv_coverage_ <= 0.93
    assert np.all(cal.std(spread) > 0)


def test_platt_calibration_fixes_overconfident_probabilities():
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.05, 0.95, 5000)
    y = (rng.uniform(size=5000) < truth).astype(int)
    overconfident = np.clip(truth + 0.8 * (truth - 0.5), 0.01, 0.99)
    cal = ProbabilityCalibrator().fit(np.column_stack([1 - overconfident, overconfident]), y)
    fixed = cal.transform(np.column_stack([1 - overconfident, overconfident]))[:, 1]
    assert np.mean((fixed - truth) ** 2) < np.mean((overconfident - truth) ** 2) / 2


def test_domain_guard_flags_points_far_from_training_data():
    rng = np.random.default_rng(2)
    train = rng.normal(size=(500, 4))
    guard = DomainGuard().fit(train)
    assert guard.predict(rng.normal(size=(200, 4))).mean() > 0.9
    assert not guard.predict(np.full((5, 4), 8.0)).any()


def test_domain_guard_bounded_check_gives_the_brute_force_answer_near_far_and_at_the_threshold():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(3)
    # correlated features with a few directions of large variance, as composition features are
    train = rng.normal(size=(300, 40)) @ rng.normal(size=(40, 40)) * np.linspace(3, 0.1, 40)
    guard = DomainGuard().fit(train)
    near = train[rng.integers(0, 300, 1500)] + rng.normal(scale=0.5, size=(1500, 40))
    far = rng.normal(scale=6.0, size=(1500, 40)) * train.std(axis=0)
    queries = np.vstack([near, far, train])
    queries[::97, 3] = np.nan  # imputed with the training median, as in the brute-force reference
    brute = NearestNeighbors(n_neighbors=guard.k_).fit(guard.scaler_.transform(guard.imputer_.transform(train)))
    dist, _ = brute.kneighbors(guard.scaler_.transform(guard.imputer_.transform(queries)))
    reference = dist.mean(axis=1)
    np.testing.assert_allclose(guard.distance(queries), reference, rtol=1e-7, atol=1e-7)
    inside = guard.predict(queries)
    assert 0.05 < inside.mean() < 0.95  # both sides of the threshold are exercised
    settled = np.abs(reference - guard.threshold_) > 1e-6 * guard.threshold_
    np.testing.assert_array_equal(inside[settled], reference[settled] <= guard.threshold_)
    # the bound really is below the distance, so no row inside the domain is ever ruled out by it
    from matforge.learn._uncertainty import _BOUND_MARGIN

    Z = guard._scaled(queries)
    assert np.all(guard._lower_bound(Z) * (1 - _BOUND_MARGIN) <= reference)
    nearest, _ = brute.kneighbors(guard.scaler_.transform(guard.imputer_.transform(queries)), n_neighbors=1)
    assert np.all(guard._group_bound(Z) * (1 - _BOUND_MARGIN) <= nearest[:, 0] + 1e-7)
    # rows that are nearly all inside: the per-row bound would rule out none, so it is judged on a sample and
    # skipped; on far rows it pays. The answers are the brute-force ones either way
    bounded, original = [], guard._lower_bound
    guard._lower_bound = lambda Z: bounded.append(len(Z)) or original(Z)
    rows = np.r_[:1500, 3000:3300, :1500]
    inside = guard.predict(queries[rows])
    np.testing.assert_array_equal(inside[settled[rows]], reference[rows][settled[rows]] <= guard.threshold_)
    assert bounded == [1024]  # the sample alone
    assert guard._bound_pays(guard._scaled(queries[np.r_[1500:3000, 1500:3000]]), guard.threshold_)



@pytest.mark.parametrize("copies", [0, 300])
def test_nearest_distances_screened_in_float32_are_the_float64_brute_force_ones(copies):
    """The float32 screen keeps every true neighbour: the distances equal scikit-learn's brute force to float64
    rounding, with far, near and tied rows, few and many training rows, and many copies of one row (where the
    screen cannot narrow the candidates and all rows get float64 distances)."""
    from sklearn.neighbors import NearestNeighbors

    from matforge.learn._uncertainty import _nearest_distances, _Rows

    rng = np.random.default_rng(copies)
    train = rng.normal(size=(2000, 30)) @ rng.normal(size=(30, 30)) * 4.0
    train = np.vstack([train, np.repeat(train[:1], copies, axis=0)])
    queries = np.vstack([train[:50] + rng.normal(scale=1e-3, size=(50, 30)), rng.normal(scale=20.0, size=(50, 30)), train[:50], train[:1]])
    # squared distances, to float64 rounding of the norms (the square root magnifies it next to a distance of 0)
    scale = 1e-12 * np.max(np.sum(train**2, axis=1))
    for k in (1, 5, 40):
        dist, _ = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(train).kneighbors(queries)
        np.testing.assert_allclose(_nearest_distances(queries, _Rows(train), k) ** 2, dist**2, rtol=1e-9, atol=scale)
    few = train[:6]
    dist, _ = NearestNeighbors(n_neighbors=6, algorithm="brute").fit(few).kneighbors(queries)
    np.testing.assert_allclose(_nearest_distances(queries, _Rows(few), 6) ** 2, dist**2, rtol=1e-9, atol=scale)

def test_a_forest_members_variance_is_that_of_its_trees_in_the_targets_units():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import ExtraTreesRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from matforge.learn._uncertainty import prediction_variance
    from matforge.models import get_model
    from matforge.models._median_forest import MedianForestRegressor

    rng = np.random.default_rng(4)
    X = rng.uniform(size=(300, 3))
    y = np.exp(2 * X[:, 0] + rng.normal(0, 0.3, 300))
    new = rng.uniform(size=(50, 3))
    # a forest on log(y), inside a pipeline: the trees are compared after exp(.), where the target lives
    logged = make_pipeline(StandardScaler(), TransformedTargetRegressor(ExtraTreesRegressor(40, random_state=0), func=np.log, inverse_func=np.exp, check_inverse=False)).fit(X, y)
    forest, scaled = logged[-1].regressor_, logged[0].transform(new)
    per_tree = np.exp(np.column_stack([t.predict(scaled.astype(np.float32)) for t in forest.estimators_]))
    np.testing.assert_allclose(prediction_variance(logged, new), per_tree.var(axis=1), rtol=1e-9)
    median = MedianForestRegressor(n_estimators=30, random_state=0).fit(X, y)
    per_tree = np.column_stack([t.predict(new.astype(np.float32)) for t in median.forest_.estimators_])
    np.testing.assert_allclose(prediction_variance(median, new), per_tree.var(axis=1), rtol=1e-9)
    # leaves of several rows: the variance of the training targets under the forest's neighbour weights
    wide = ExtraTreesRegressor(20, min_samples_leaf=4, random_state=0).fit(X, y)
    weights = np.zeros((len(new), len(X)))
    for tree in wide.estimators_:
        same = tree.apply(new.astype(np.float32))[:, None] == tree.apply(X.astype(np.float32))[None, :]
        weights += same / same.sum(axis=1, keepdims=True) / len(wide.estimators_)
    mean = weights @ y
    np.testing.assert_allclose(prediction_variance(wide, new), weights @ y**2 - mean**2, rtol=1e-6)
    # merged duplicates fill leaves with equal targets, whose impurity scikit-learn can leave a hair below zero
    twins = np.repeat(X[:100], 4, axis=0)
    dup = ExtraTreesRegressor(20, min_samples_leaf=3, random_state=0).fit(twins, np.repeat(1000 * y[:100] + 5000.3, 4))
    assert (prediction_variance(dup, twins) >= 0).all()
    # boosting has no trees to compare: no variance of its own
    assert prediction_variance(get_model("lightgbm").build("regression", seed=0).fit(X, y), new) is None
    assert prediction_variance(make_pipeline(StandardScaler(), get_model("ridge").build("regression", seed=0)).fit(X, y), new) is None


def test_a_zero_inflated_members_variance_is_that_of_its_mixture():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression

    from matforge.learn._pipeline import ZeroInflatedRegressor
    from matforge.learn._uncertainty import prediction_variance

    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 3))
    y = np.where(X[:, 0] > 0, 1.0 + X[:, 1] ** 2, 0.0)
    trees = ZeroInflatedRegressor(RandomForestRegressor(30, random_state=0)).fit(X, y)
    p = trees.predict_above(X)
    per_tree = np.column_stack([t.predict(X.astype(np.float32)) for t in trees.regressor_.estimators_])
    mean, var = per_tree.mean(axis=1), per_tree.var(axis=1)
    np.testing.assert_allclose(prediction_variance(trees, X), p * var + p * (1 - p) * (mean - trees.floor_) ** 2, rtol=1e-9, atol=1e-12)
    # a regressor without trees still leaves the gate's doubt: where "above the floor" is a coin toss
    X = rng.normal(size=(2000, 3))
    y = np.where(X[:, 0] + rng.normal(0, 0.5, 2000) > 0, 2.0 + np.abs(X[:, 1]), 0.0)
    line = ZeroInflatedRegressor(LinearRegression()).fit(X, y)
    new = np.column_stack([np.r_[rng.uniform(-0.1, 0.1, 100), rng.uniform(2.5, 3, 50), rng.uniform(-3, -2.5, 50)], rng.normal(size=(200, 2))])
    p, variance = line.predict_above(new), prediction_variance(line, new)
    np.testing.assert_allclose(variance, p * (1 - p) * (line.regressor_.predict(new) - line.floor_) ** 2, rtol=1e-9, atol=1e-12)
    assert variance[:100].mean() > 10 * variance[100:].mean()


def test_one_forest_member_gives_each_row_its_own_uncertainty_wider_where_the_data_are_noisy():
    """Before, one member meant no disagreement, and every row got the same interval."""
    import pandas as pd

    from matforge.learn import AutoModel

    rng = np.random.default_rng(6)
    X = pd.DataFrame({"x1": rng.uniform(size=600), "x2": rng.uniform(size=600)})
    noisy = X["x2"].to_numpy() > 0.5
    y = 3 * X["x1"].to_numpy() + rng.normal(0, np.where(noisy, 1.0, 0.05))
    model = AutoModel(models="extra_trees", ensemble=1, cv=3, budget=600, max_trials=2, seed=0, formula_cols=[], numeric_cols=["x1", "x2"], categorical_cols=[]).fit(X, y)
    assert model.predictor_.within_spread
    assert model.predictor_.member_names == ["extra_trees"]  # one member: no disagreement to scale by
    assert 0.85 <= model.predictor_.intervals.cv_coverage_ <= 0.95
    new = pd.DataFrame({"x1": rng.uniform(size=400), "x2": rng.uniform(size=400)})
    table = model.predict_table(new)
    quiet, loud = table["uncertainty"][new["x2"] <= 0.5], table["uncertainty"][new["x2"] > 0.5]
    assert table["uncertainty"].nunique() > 100
    # the floor of the scale (the median spread, `IntervalCalibrator`) keeps the ratio well below the noise's
    assert loud.median() > 1.2 * quiet.median()


def test_a_gaussian_process_members_variance_is_its_predictive_variance_and_grows_away_from_the_data():
    import pandas as pd

    from matforge.learn._pipeline import build_pipeline
    from matforge.learn._uncertainty import prediction_variance
    from matforge.models import get_model

    rng = np.random.default_rng(7)
    X = pd.DataFrame({"x": rng.uniform(0, 1, 80)})
    y = 100 + 20 * np.sin(6 * X["x"].to_numpy()) + rng.normal(0, 0.5, 80)
    spec = get_model("gaussian_process")
    member = build_pipeline(spec, "regression", spec.defaults, columns=["x"], categorical=[], seed=0).fit(X, y)
    new = pd.DataFrame({"x": [0.5, 0.52, 2.5, 3.0]})
    gp = member[-1].regressor_  # BoundedRegressor(GaussianProcessRegressor) behind the scaler: target units as they are
    _, std = gp.predict(member[:-1].transform(new), return_std=True)
    variance = prediction_variance(member, new)
    np.testing.assert_allclose(variance, std**2, rtol=1e-9)
    assert variance[2:].min() > 10 * variance[:2].max()


def test_a_member_picked_twice_is_predicted_once_and_weighs_twice():
    import copy

    import pandas as pd
    from sklearn.ensemble import ExtraTreesRegressor
    from sklearn.linear_model import Ridge

    from matforge.learn import Predictor

    rng = np.random.default_rng(8)
    F = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = F["a"].to_numpy() ** 2 + F["b"].to_numpy()
    forest, line = ExtraTreesRegressor(20, random_state=0).fit(F, y), Ridge().fit(F, y)
    calls = []

    class Counted(ExtraTreesRegressor):
        def predict(self, X):
            calls.append(1)
            return super().predict(X)

    counted = copy.deepcopy(forest)
    counted.__class__ = Counted
    shared = Predictor(members=[counted, counted, line], within_spread=True).predict_features(F)
    copies = Predictor(members=[forest, copy.deepcopy(forest), line], within_spread=True).predict_features(F)
    assert len(calls) == 1  # the prediction once; the variance reads the trees' leaves, not predict
    np.testing.assert_allclose(shared["prediction"], (2 * forest.predict(F) + line.predict(F)) / 3)
    np.testing.assert_allclose(shared["prediction"], copies["prediction"])


def test_domain_guard_threshold_from_a_subset_of_a_large_table_matches_all_rows(monkeypatch):
    import matforge.learn._uncertainty as uncertainty

    rng = np.random.default_rng(4)
    train = rng.normal(size=(3000, 6)) * np.linspace(2, 0.5, 6)
    every = DomainGuard().fit(train).threshold_
    # the same table as if it were large: the quantile from 1,000 rows, each against all 3,000
    monkeypatch.setattr(uncertainty, "_THRESHOLD_ROWS", 1000)
    subset = DomainGuard().fit(train)
    assert subset.threshold_ != every and abs(subset.threshold_ - every) < 0.05 * every
    assert len(subset.train_) == 3000  # predictions still measure against every training row
