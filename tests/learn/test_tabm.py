"""TabM learns functions with known answers, averages its members, and fits its embeddings on training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tabm")

import torch  # noqa: E402

from matforge.models._tabm import TabM  # noqa: E402


def _steps(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Five columns, one of them constant; the target is a staircase in x0 plus a kink in x1 (x2, x3 are noise)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 5))
    X[:, 4] = 3.0
    y = np.floor(3 * X[:, 0]) + 2 * np.abs(X[:, 1])
    return X, y


def test_learns_a_staircase_that_a_linear_model_cannot():
    X, y = _steps(1200, 0)
    X_test, y_test = _steps(400, 1)
    model = TabM(k=8, d_block=64, n_bins=16, d_embedding=8, max_epochs=60, patience=10, batch_size=64, random_state=0).fit(X, y)
    mae = np.abs(model.predict(X_test) - y_test).mean()
    design = np.c_[X, np.ones(len(X))]
    linear = np.linalg.lstsq(design, y, rcond=None)[0]
    linear_mae = np.abs(np.c_[X_test, np.ones(len(X_test))] @ linear - y_test).mean()
    assert mae < 0.3 * linear_mae, (mae, linear_mae)
    # the constant column is left out of the network; every other column has bin edges
    assert list(model.columns_) == [0, 1, 2, 3]
    assert len(model.bins_) == 4


def test_bins_come_from_the_training_rows_not_the_validation_split():
    X, y = _steps(200, 2)
    X[:, 0] = np.arange(200)  # a column whose range tells which rows the edges were taken from
    model = TabM(k=4, d_block=32, n_bins=8, d_embedding=4, max_epochs=2, random_state=4).fit(X, y)
    validation = np.random.default_rng(4).permutation(200)[:20]  # the shared loop's split (_TorchEstimator._fit)
    assert 199 in validation  # (seed chosen so): edges from all rows would end at 199
    training = np.setdiff1d(np.arange(200), validation)
    edges = model.bins_[0]
    assert edges.min() == pytest.approx(training.min()) and edges.max() == pytest.approx(training.max())


def test_class_probabilities_are_the_members_average():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    y = np.where(X[:, 0] + X[:, 1] ** 2 > 0.5, "glass", "crystal")
    model = TabM(task="classification", k=6, d_block=32, n_bins=8, d_embedding=4, max_epochs=60, batch_size=32, random_state=0).fit(X, y)
    proba = model.predict_proba(X[:50])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    module = model._module().train()  # training mode: every member's logits
    torch.manual_seed(0)
    with torch.no_grad():
        module.tabm.eval()  # no dropout, but the per-member output of training mode
        members = torch.softmax(module.tabm(torch.as_tensor(X[:50], dtype=torch.float32)[:, module.columns]), dim=-1)
    assert members.shape == (50, 6, 2)
    np.testing.assert_allclose(proba, members.mean(dim=1).numpy(), atol=1e-5)
    assert (model.predict(X) == y).mean() > 0.9


def test_predictions_in_chunks_equal_one_pass(monkeypatch):
    X, y = _steps(300, 5)
    model = TabM(k=4, d_block=32, n_bins=8, d_embedding=4, max_epochs=3, random_state=0).fit(X, y)
    assert model._chunk_rows() >= len(X)  # one pass at this size
    whole = model.predict(X)
    monkeypatch.setattr(TabM, "_chunk_rows", lambda self: 7)
    np.testing.assert_allclose(model.predict(X), whole, rtol=1e-5, atol=1e-6)


def test_chunks_shrink_with_members_and_embedded_columns():
    small = TabM(k=4, d_embedding=4)
    small.columns_, small.bins_ = np.arange(10), [np.zeros(2)] * 10
    wide = TabM(k=32, d_embedding=16)
    wide.columns_, wide.bins_ = np.arange(410), [np.zeros(2)] * 410
    assert wide._chunk_rows() * 32 * 410 * 16 <= 2**25  # 128 MB of activations
    assert wide._chunk_rows() < 1000 < small._chunk_rows()


def test_members_give_the_prediction_and_a_per_row_variance_wider_off_the_data():
    from matforge.learn import build_pipeline
    from matforge.learn._uncertainty import prediction_variance
    from matforge.models import MODELS

    X, y = _steps(600, 6)
    X_near, X_far = _steps(100, 7)[0], _steps(100, 8)[0]
    X_far[:, :4] *= 4.0  # outside the training range of every varying column
    model = TabM(k=8, d_block=64, n_bins=16, d_embedding=8, max_epochs=40, patience=10, batch_size=64, random_state=0).fit(X, y)
    members = model.predict_members(X_near)
    assert members.shape == (100, 8)
    np.testing.assert_allclose(members.mean(axis=1), model.predict(X_near), rtol=1e-5, atol=1e-5)
    # through the library's pipeline (standardized target): the variance of the members, in the target's units
    spec = MODELS["tabm"]
    params = {**spec.defaults, "k": 8, "d_block": 64, "n_bins": 16, "d_embedding": 8}
    names = [f"x{i}" for i in range(5)]
    pipeline = build_pipeline(spec, "regression", params, columns=names, categorical=[], seed=0)
    pipeline.set_params(**{k: 40 for k in pipeline.get_params() if k.endswith("max_epochs")})
    pipeline.fit(pd.DataFrame(X, columns=names), y)
    near, far = (prediction_variance(pipeline, pd.DataFrame(A, columns=names)) for A in (X_near, X_far))
    assert near is not None and near.shape == (100,) and np.all(near >= 0) and np.ptp(near) > 0
    assert np.median(far) > np.median(near)
