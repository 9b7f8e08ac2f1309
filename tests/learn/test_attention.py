"""The CrabNet/Roost-like attention model learns composition functions with known answers."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from matforge.chem import ELEMENT_SYMBOLS  # noqa: E402
from matforge.models._attention import CompositionAttention, fraction_encoding  # noqa: E402

ELEMENTS = ["Fe", "Ni", "Cr", "Al", "Ti", "Cu"]


def _compositions(n: int, seed: int) -> np.ndarray:
    """Random binary/ternary alloys of six elements as (n, 118) fraction rows."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, len(ELEMENT_SYMBOLS)), dtype=np.float32)
    for row in X:
        chosen = rng.choice(len(ELEMENTS), size=rng.integers(2, 4), replace=False)
        row[[ELEMENT_SYMBOLS.index(ELEMENTS[i]) for i in chosen]] = rng.dirichlet(np.ones(len(chosen)))
    return X


def _pair_interaction(X: np.ndarray) -> np.ndarray:
    """A mixing term no fraction-weighted average can express: 8·x_Fe·x_Al − 6·x_Ni·x_Ti + x_Cu."""
    col = {e: X[:, ELEMENT_SYMBOLS.index(e)] for e in ELEMENTS}
    return 8 * col["Fe"] * col["Al"] - 6 * col["Ni"] * col["Ti"] + col["Cu"]


def test_learns_a_pair_interaction_that_the_composition_mean_cannot():
    X, X_test = _compositions(1500, 0), _compositions(300, 1)
    y, y_test = _pair_interaction(X), _pair_interaction(X_test)
    model = CompositionAttention(d_model=32, n_layers=1, lr=3e-3, max_epochs=60, patience=15, batch_size=64, random_state=0).fit(X, y)
    mae = np.abs(model.predict(X_test) - y_test).mean()
    baseline = np.abs(y_test - np.median(y)).mean()
    # the per-element linear part alone (least squares on the fractions) leaves the pair terms unexplained
    linear = np.linalg.lstsq(X, y, rcond=None)[0]
    linear_mae = np.abs(X_test @ linear - y_test).mean()
    assert mae < 0.1 * baseline and mae < 0.2 * linear_mae, (mae, baseline, linear_mae)
    assert model.max_elements_ == 3


def test_classifies_by_an_element_pair_and_uses_a_process_column():
    rng = np.random.default_rng(2)
    X = _compositions(900, 3)
    temperature = rng.uniform(300, 1300, size=(len(X), 1)).astype(np.float32)
    fe_al = X[:, ELEMENT_SYMBOLS.index("Fe")] * X[:, ELEMENT_SYMBOLS.index("Al")]
    label = np.where((fe_al > 0.05) | (temperature[:, 0] > 1100), "B2", "fcc")
    data = np.hstack([X, temperature])
    model = CompositionAttention(task="classification", d_model=32, n_layers=1, lr=3e-3, max_epochs=60, patience=15, batch_size=64, random_state=0)
    model.fit(data[:700], label[:700])
    accuracy = (model.predict(data[700:]) == label[700:]).mean()
    assert accuracy > 0.9, accuracy
    proba = model.predict_proba(data[700:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert model.extra_mean_.shape == (1,) and 600 < model.extra_mean_[0] < 1000


def test_more_elements_than_seen_in_training_and_an_empty_row_still_predict():
    X = _compositions(200, 4)
    model = CompositionAttention(d_model=16, n_layers=1, max_epochs=3, random_state=0).fit(X, _pair_interaction(X))
    wide = np.zeros((2, len(ELEMENT_SYMBOLS)), dtype=np.float32)
    wide[0, [ELEMENT_SYMBOLS.index(e) for e in ELEMENTS]] = 1 / len(ELEMENTS)  # six elements, trained on ≤ 3
    pred = model.predict(wide)  # row 1 has no element at all (an unparsable formula imputed to zeros)
    assert np.isfinite(pred).all()


def test_a_prediction_does_not_depend_on_the_other_rows_of_its_batch():
    # each batch gets only as many tokens as its most complex row: binaries predicted alone (2 tokens) must
    # equal the same binaries predicted beside ternaries (3 tokens, the padding masked out)
    X = _compositions(300, 7)
    model = CompositionAttention(d_model=16, n_layers=2, max_epochs=2, random_state=0).fit(X, _pair_interaction(X))
    binary = (X > 0).sum(axis=1) == 2
    assert binary.any() and (~binary).any()
    np.testing.assert_allclose(model.predict(X[binary]), model.predict(X)[binary], rtol=1e-5, atol=1e-6)


def test_fraction_encoding_separates_close_and_tiny_fractions():
    import torch

    encoded = fraction_encoding(torch.tensor([0.45, 0.5, 0.001, 0.01]))
    assert encoded.shape == (4, 26)
    assert torch.linalg.norm(encoded[0] - encoded[1]) > 0.3
    assert torch.linalg.norm(encoded[2] - encoded[3]) > 0.3


def test_large_tables_get_the_attention_model_and_two_inner_folds():
    from matforge.learn import AutoModel
    from matforge.models import default_models

    large = default_models("regression", 60_000)
    assert "composition_attention_boosted" in large and "extra_trees" not in large and "lightgbm" in large
    assert "composition_attention" in default_models("classification", 60_000)
    assert "composition_attention" not in default_models("regression", 5_000)
    model = AutoModel(inner_cv=3)
    assert model._inner_folds(60_000) == 2 and model._inner_folds(5_000) == 3


@pytest.mark.parametrize("name", ["composition_attention", "composition_attention_boosted"])
def test_automodel_trains_and_saves_the_attention_model_on_formulas(tmp_path, name):
    import pandas as pd

    from matforge.learn import load_run, train

    rng = np.random.default_rng(5)
    X = _compositions(160, 6)
    formulas = ["".join(f"{ELEMENT_SYMBOLS[j]}{X[i, j]:.3f}" for j in np.flatnonzero(X[i])) for i in range(len(X))]
    table = pd.DataFrame({"formula": formulas, "y": _pair_interaction(X) + rng.normal(0, 0.01, len(X))})
    path = tmp_path / "alloys.csv"
    table.to_csv(path, index=False)
    train(path, target="y", out=tmp_path / "run", models=name, budget=5, cv=2, seed=0)
    run = load_run(tmp_path / "run")
    assert run.metrics["best_model"] == name
    pred = run.predict(table.head(5))
    assert np.isfinite(pred["prediction"]).all()


def test_rows_of_weight_zero_do_not_move_the_fit():
    """`sample_weight` weights each row's loss (shared by every torch model): corrupted rows at weight 0 are ignored."""
    X, X_test = _compositions(600, 6), _compositions(200, 7)
    y, y_test = _pair_interaction(X), _pair_interaction(X_test)
    bad = np.random.default_rng(8).random(len(y)) < 0.3
    corrupted = np.where(bad, y + 5.0, y)
    options = dict(d_model=16, n_layers=1, lr=3e-3, loss="mse", max_epochs=40, patience=40, batch_size=64, random_state=0)
    weighted = CompositionAttention(**options).fit(X, corrupted, sample_weight=(~bad).astype(float))
    plain = CompositionAttention(**options).fit(X, corrupted)
    error_weighted = np.abs(weighted.predict(X_test) - y_test).mean()
    error_plain = np.abs(plain.predict(X_test) - y_test).mean()
    assert error_weighted < 0.3 * error_plain and error_plain > 1.0, (error_weighted, error_plain)


def test_device_defaults_to_the_cpu_here_and_the_weights_stay_numpy():
    import torch

    from matforge.errors import InputError
    from matforge.models._torch import ResidualMLP, pick_device

    X = _compositions(200, 5)
    y = _pair_interaction(X)
    settings = dict(d_model=16, n_layers=1, max_epochs=3, batch_size=64, random_state=0)
    auto = CompositionAttention(**settings).fit(X, y)
    cpu = CompositionAttention(**settings, device="cpu").fit(X, y)
    if not torch.cuda.is_available():
        assert pick_device() == torch.device("cpu")
        np.testing.assert_array_equal(auto.predict(X), cpu.predict(X))
    assert all(isinstance(v, np.ndarray) for v in cpu.state_.values())
    # a model saved before `device` existed has no such attribute: it still predicts, on the default device
    before = cpu.predict(X[:5])
    del cpu.device
    np.testing.assert_allclose(cpu.predict(X[:5]), before, atol=1e-4)
    with pytest.raises(InputError, match="unknown torch device 'gpu0'"):
        ResidualMLP(max_epochs=1, device="gpu0").fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="device 'cuda' asked for, but this machine has 0 CUDA GPU"):
            CompositionAttention(max_epochs=1, device="cuda").fit(X, y)


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_a_model_trained_on_the_gpu_predicts_the_same_on_the_cpu():
    X = _compositions(400, 6)
    y = _pair_interaction(X)
    model = CompositionAttention(d_model=16, n_layers=1, max_epochs=5, batch_size=64, random_state=0, device="cuda").fit(X, y)
    on_gpu = model.predict(X)
    model.device = "cpu"
    np.testing.assert_allclose(model.predict(X), on_gpu, atol=1e-4)


def test_a_fit_stopped_by_its_time_bound_still_ends_with_its_rate_annealed(monkeypatch):
    """The cosine runs over max_steps or max_time, whichever runs out first: a time-bound fit is not cut off at a high rate."""
    import torch

    rates = []
    step = torch.optim.AdamW.step

    def recording_step(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", recording_step)
    X = _compositions(400, 9)
    options = dict(d_model=16, n_layers=1, lr=1e-3, max_epochs=100_000, patience=100_000, batch_size=64, random_state=0, device="cpu")
    model = CompositionAttention(max_steps=10**7, max_time=1.5, **options).fit(X, _pair_interaction(X))
    assert 10 < model.n_steps_ < 10**7 and model.schedule_progress_ == 1.0
    assert rates[0] == pytest.approx(1e-3, rel=0.05) and rates[-1] < 0.1 * 1e-3, (rates[0], rates[-1])
    # a step-bound fit: the cosine over the steps, as before
    rates.clear()
    model = CompositionAttention(max_steps=50, max_time=1e9, **options).fit(X, _pair_interaction(X))
    assert model.n_steps_ == 50 and len(rates) == 50 and rates[-1] < 0.01 * 1e-3 and model.schedule_progress_ == 1.0


def test_auto_sizes_follow_the_device_and_explicit_sizes_are_kept():
    import torch

    from matforge.models import MODELS
    from matforge.models._attention import auto_size

    assert auto_size(torch.device("cpu")) == {"d_model": 64, "n_layers": 2, "batch_size": 256, "max_steps": 24000}
    assert auto_size(torch.device("cuda", 0)) == {"d_model": 256, "n_layers": 3, "batch_size": 512, "max_steps": 14000}
    X = _compositions(200, 10)
    y = _pair_interaction(X)
    auto = CompositionAttention(max_epochs=1, random_state=0, device="cpu").fit(X, y)
    assert (auto.d_model_, auto.n_layers_, auto.batch_size_, auto.max_steps_) == (64, 2, 256, 24000)
    assert auto.get_params()["d_model"] == "auto" and auto.state_["project.weight"].shape[0] == 64
    given = CompositionAttention(d_model=16, n_layers=1, batch_size=32, max_steps=5, max_epochs=50, random_state=0, device="cpu").fit(X, y)
    assert (given.d_model_, given.n_layers_, given.batch_size_, given.max_steps_, given.n_steps_) == (16, 1, 32, 5, 5)
    # a model saved before "auto" existed holds plain numbers and no size_ attributes: it still predicts the same
    before = given.predict(X[:5])
    for name in ("d_model_", "n_layers_", "batch_size_", "max_steps_"):
        delattr(given, name)
    np.testing.assert_allclose(given.predict(X[:5]), before, atol=1e-6)
    # the registry's default configuration leaves the sizes to the device
    spec = MODELS["composition_attention"]
    model = spec.build("regression", spec.defaults, seed=0)
    assert (model.d_model, model.n_layers, model.batch_size, model.max_steps) == ("auto",) * 4


def test_networks_fit_and_predict_on_the_threads_asked_for(monkeypatch):
    import torch

    from matforge.models import MODELS

    seen = []
    forward = torch.nn.TransformerEncoder.forward

    def counting(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.TransformerEncoder, "forward", counting)
    X = _compositions(64, 0)
    before = torch.get_num_threads()
    # the registry hands AutoModel's n_jobs on (`matforge train --n-jobs`), as it does to every other model
    network = MODELS["composition_attention"].build("regression", {}, seed=0, n_jobs=1)
    assert network.n_jobs == 1
    network.set_params(max_steps=3).fit(X, _pair_interaction(X)).predict(X)
    assert seen and set(seen) == {1} and torch.get_num_threads() == before
    seen.clear()
    CompositionAttention(max_steps=3, random_state=0).fit(X, _pair_interaction(X))
    assert set(seen) == {before}  # n_jobs None: torch's own default
