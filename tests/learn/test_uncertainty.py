"""Uncertainty is measured: conformal coverage holds on fresh data, the domain guard flags far inputs."""

from __future__ import annotations

import numpy as np

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
