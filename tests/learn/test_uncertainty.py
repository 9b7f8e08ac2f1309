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
