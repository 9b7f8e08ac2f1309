"""Forests that predict the conditional median (quantile regression forests), on data with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from matforge.models import get_model
from matforge.models._median_forest import MedianForestRegressor, weighted_leaf_quantile


@pytest.mark.parametrize("n", [1, 2, 5, 6])
def test_equal_weights_give_the_ordinary_median(n):
    rng = np.random.default_rng(n)
    y_sorted = np.sort(rng.normal(size=n))
    weights = sp.csr_matrix(np.ones((1, n)))
    assert weighted_leaf_quantile(weights, y_sorted, 0.5)[0] == pytest.approx(np.median(y_sorted))


def test_integer_weights_count_like_repeated_rows():
    y_sorted = np.array([0.0, 1.0, 2.0, 10.0])
    weights = sp.csr_matrix(np.array([[1.0, 1.0, 5.0, 0.0], [3.0, 0.0, 0.0, 1.0], [0.0, 2.0, 0.0, 2.0]]))
    repeated = [np.repeat(y_sorted, row.astype(int)) for row in weights.toarray()]
    np.testing.assert_allclose(weighted_leaf_quantile(weights, y_sorted, 0.5), [np.median(r) for r in repeated])
    np.testing.assert_allclose(weighted_leaf_quantile(weights, y_sorted, 0.9), [2.0, 10.0, 10.0])


def test_sample_weights_count_in_the_median():
    # a constant feature cannot be split: every tree is one leaf holding all rows
    X = np.zeros((3, 1))
    y = np.array([0.0, 1.0, 2.0])
    forest = MedianForestRegressor(n_estimators=5, random_state=0)
    assert forest.fit(X, y).predict([[0.0]])[0] == 1.0
    assert forest.fit(X, y, sample_weight=[1.0, 1.0, 5.0]).predict([[0.0]])[0] == 2.0


@pytest.mark.parametrize("kind", ["extra_trees", "random_forest"])
def test_predicts_the_conditional_median_of_skewed_noise_not_its_mean(kind):
    # y = 2 x + exponential noise: conditional median 2 x + ln 2, conditional mean 2 x + 1
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (3000, 1))
    y = 2 * X[:, 0] + rng.exponential(1.0, 3000)
    grid = np.linspace(0.2, 0.8, 50).reshape(-1, 1)
    median = MedianForestRegressor(kind, n_estimators=100, min_samples_leaf=20, random_state=0).fit(X, y)
    offset = median.predict(grid) - 2 * grid[:, 0]
    assert np.mean(offset) == pytest.approx(np.log(2), abs=0.08)
    mean_offset = median.forest_.predict(grid) - 2 * grid[:, 0]
    assert np.mean(mean_offset) == pytest.approx(1.0, abs=0.08)
    low, high = median.predict_quantiles(grid, 0.1), median.predict_quantiles(grid, 0.9)
    assert np.all(low <= median.predict(grid)) and np.all(median.predict(grid) <= high)
    # exponential quantiles: 0.105 and 2.303 above 2 x
    assert np.mean(high - low) == pytest.approx(np.log(10) - np.log(10 / 9), abs=0.25)


def test_prediction_blocks_do_not_change_a_row(monkeypatch):
    from matforge.models import _median_forest

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] + rng.normal(0, 0.3, 300)
    forest = MedianForestRegressor(n_estimators=30, min_samples_leaf=3, random_state=0).fit(X, y)
    whole = forest.predict(X[:100])
    monkeypatch.setattr(_median_forest, "_BLOCK", 7)
    np.testing.assert_array_equal(forest.predict(X[:100]), whole)


def test_forest_regressors_default_to_the_median_and_classifiers_are_unchanged():
    import optuna
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestRegressor

    for name in ("extra_trees", "random_forest", "extra_trees_fractions"):
        spec = get_model(name)
        assert isinstance(spec.build("regression"), MedianForestRegressor)
        assert not isinstance(spec.build("classification"), MedianForestRegressor)
        trial = optuna.trial.FixedTrial(dict(spec.defaults))
        assert "leaf_statistic" in spec.sample(trial, "regression")
        assert "leaf_statistic" not in spec.sample(trial, "classification")
        # a median forest averages the medians of 6 groups of its trees; the search leaves that fixed
        assert spec.build("regression").groups == 6 and "groups" not in spec.sample(trial, "regression")
    assert isinstance(get_model("extra_trees").build("classification"), ExtraTreesClassifier)
    assert isinstance(get_model("random_forest").build("regression", {"leaf_statistic": "mean"}), RandomForestRegressor)


def test_one_group_is_the_pooled_forest_and_every_group_is_the_mean_of_the_trees_medians():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    y = X[:, 0] + rng.exponential(1.0, 200)
    pooled = MedianForestRegressor(n_estimators=12, min_samples_leaf=4, random_state=0, groups=1).fit(X, y)
    # one group: a single weighted median over every tree's leaf co-membership weights
    np.testing.assert_allclose(pooled.predict(X[:50]), weighted_leaf_quantile(_co_membership(pooled, X[:50], range(12)), pooled.y_sorted_, 0.5))
    per_tree = MedianForestRegressor(n_estimators=12, min_samples_leaf=4, random_state=0, groups=12).fit(X, y)
    # each tree's own weighted median of the rows in x's leaf, averaged over the trees
    leaves, train_leaves = pooled.forest_.apply(X[:50]), pooled.forest_.apply(X)
    expected = np.mean([[np.median(y[train_leaves[:, t] == leaves[i, t]]) for t in range(12)] for i in range(50)], axis=1)
    np.testing.assert_allclose(per_tree.predict(X[:50]), expected)
    # three groups of four trees: the mean of the three sub-forests' pooled medians
    thirds = MedianForestRegressor(n_estimators=12, min_samples_leaf=4, random_state=0, groups=3).fit(X, y)
    sub = [weighted_leaf_quantile(_co_membership(pooled, X[:50], range(4 * g, 4 * g + 4)), pooled.y_sorted_, 0.5) for g in range(3)]
    np.testing.assert_allclose(thirds.predict(X[:50]), np.mean(sub, axis=0))


def _co_membership(forest, X, trees):
    """(rows x training rows in target order) leaf co-membership weights of the given trees, built densely."""
    leaves, train = forest.forest_.apply(X)[:, list(trees)], forest.train_leaves_[:, list(trees)]
    same = leaves[:, None, :] == train[None, :, :]
    return sp.csr_matrix((same / same.sum(axis=1, keepdims=True)).mean(axis=2))


def test_groups_are_at_least_one_and_at_most_the_trees():
    with pytest.raises(ValueError, match="groups"):
        MedianForestRegressor(n_estimators=5, groups=0).fit(np.zeros((4, 1)), np.arange(4.0))
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(60, 2)), rng.normal(size=60)
    per_tree = MedianForestRegressor(n_estimators=4, groups=4, random_state=0).fit(X, y).predict(X)
    np.testing.assert_array_equal(MedianForestRegressor(n_estimators=4, groups=6, random_state=0).fit(X, y).predict(X), per_tree)
