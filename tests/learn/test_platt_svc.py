"""PlattSVC: the support-vector classifier's probabilities without scikit-learn's deprecated SVC(probability=True)."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.svm import SVC

from matforge.models._svc import PlattSVC


def _blobs(n_per_class, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(loc=2.0 * k, size=(n, 2)) for k, n in enumerate(n_per_class)])
    y = np.concatenate([np.full(n, f"c{k}") for k, n in enumerate(n_per_class)])
    return X, y


def test_no_deprecation_warning_and_probabilities_sum_to_one():
    X, y = _blobs([30, 30, 30])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = PlattSVC(C=1.0, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (90, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert list(model.classes_) == ["c0", "c1", "c2"]
    assert (model.predict(X) == y).mean() > 0.8


def test_ranks_held_out_rows_as_well_as_libsvm_platt_scaling():
    X, y = _blobs([150, 150], seed=1)
    Xt, yt = _blobs([200, 200], seed=2)
    ours = PlattSVC(C=1.0, random_state=0).fit(X, y).predict_proba(Xt)[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        libsvm = SVC(C=1.0, probability=True, random_state=0).fit(X, y).predict_proba(Xt)[:, 1]
    positive = yt == "c1"
    assert roc_auc_score(positive, ours) == pytest.approx(roc_auc_score(positive, libsvm), abs=0.005)
    # calibrated to the same degree: the mean probability of the true class agrees too
    assert np.mean(np.where(positive, ours, 1 - ours)) == pytest.approx(np.mean(np.where(positive, libsvm, 1 - libsvm)), abs=0.03)


@pytest.mark.parametrize("rare", [1, 2, 3])
def test_rare_classes_fit_where_calibrated_cv_would_refuse(rare):
    X, y = _blobs([40, 20, rare])
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    model = PlattSVC(C=10.0, random_state=0).fit(X, y, sample_weight=w)
    assert model.calibrated_ == (rare >= 2)
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 3) and np.allclose(proba.sum(axis=1), 1.0)
    # the rare class is more probable at its own rows' centre than at the other classes'
    centres = model.predict_proba([[0.0, 0.0], [2.0, 2.0], [4.0, 4.0]])[:, 2]
    assert centres[2] > max(centres[0], centres[1])


def test_binary_single_row_class_falls_back_to_the_decision_values():
    X, y = _blobs([30, 1])
    model = PlattSVC(C=10.0).fit(X, y)
    assert not model.calibrated_
    d = SVC(C=10.0).fit(X, y).decision_function(X)
    assert np.allclose(model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-d)))


def test_same_seed_same_probabilities_and_clones():
    X, y = _blobs([25, 25])
    a = PlattSVC(C=3.0, random_state=4).fit(X, y).predict_proba(X)
    b = clone(PlattSVC(C=3.0, random_state=4)).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)
