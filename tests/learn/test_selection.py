"""NMI relevance/redundancy feature selection: picks informative, non-redundant columns, fits inside pipelines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matforge.learn import AutoModel
from matforge.learn._selection import RelevanceRedundancySelector, binned_codes, nmi_with


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    X[:, 2] = X[:, 0] + rng.normal(0, 1e-3, n)  # a near copy of column 0: relevant but redundant
    y = X[:, 0] + X[:, 1]
    return X, y


def test_nmi_is_one_for_a_copy_and_near_zero_for_noise():
    X, _ = _data()
    codes = binned_codes(X, 16)
    nmi = nmi_with(codes, codes[:, 0], 16)
    assert nmi[0] == 1.0 and nmi[2] > 0.8 and nmi[3:].max() < 0.1


def test_selects_relevant_and_skips_redundant_copy():
    X, y = _data()
    selector = RelevanceRedundancySelector(n_features=2).fit(X, y)
    kept = set(np.flatnonzero(selector.support_).tolist())
    assert 1 in kept and len(kept & {0, 2}) == 1
    assert selector.transform(X).shape == (len(X), 2)
    labels = np.where(X[:, 1] > 0, "a", "b")
    assert RelevanceRedundancySelector(n_features=1, task="classification").fit(X, labels).order_[0] == 1
    assert RelevanceRedundancySelector(n_features=50).fit(X, y).support_.all()  # fewer columns than asked


def test_automodel_selects_inside_each_fit():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 0.5, 60)
    frame = pd.DataFrame({"formula": [f"Cu{1 - x:.3f}Zn{x:.3f}" for x in a]})
    model = AutoModel(models=["ridge"], budget=60, max_trials=2, evaluate=False, select_features=5, seed=0).fit(frame, 3 * a)
    pipeline = model.predictor_.members[0]
    assert pipeline.named_steps["select_features"].support_.sum() == 5
    assert model.cv_scores_["mae"]["mean"] < 0.2
