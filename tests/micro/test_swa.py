"""Stochastic weight averaging: the schedule holds its floor, the result is the mean of the last epochs' weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from matforge.errors import InputError
from matforge.micro import MicrographClassifier, load_class_folders, read_image, train_classifier
from matforge.micro._training import TrainingSchedule, _lr_factor, train_network

SMALL = {"image_size": 32, "width": 8, "epochs": 15, "patience": 15, "batch_size": 16}


def _linear_problem(schedule: TrainingSchedule, score: float | None = None):
    """Train a linear model (no BatchNorm, so averaging touches parameters only); return it, its history and
    the weights seen by every validation call (after each epoch, and once more for an average)."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    true_w = torch.tensor([[1.0, -2.0, 0.5]])
    net = torch.nn.Linear(3, 1)
    seen = []

    def batch():
        x = torch.randn(8, 3, generator=generator)
        return x, x @ true_w.T + 0.3 * torch.randn(8, 1, generator=generator)

    def validate(model):
        seen.append(model.weight.detach().clone())
        # A constant score never improves, so plain training stops after `patience` epochs.
        return 1.0, (score if score is not None else -float(((model.weight - true_w) ** 2).sum()))

    history = train_network(net, batch, torch.nn.functional.mse_loss, validate, schedule, device=torch.device("cpu"))
    return net, history, seen


def test_lr_floor_is_held_after_the_cosine():
    assert _lr_factor(0, 10, 100) == pytest.approx(0.1)
    assert _lr_factor(100, 10, 100) == pytest.approx(0.0)
    assert _lr_factor(55, 10, 100, floor=0.25) == pytest.approx(0.25 + 0.75 * 0.5)
    assert _lr_factor(100, 10, 100, floor=0.25) == _lr_factor(500, 10, 100, floor=0.25) == pytest.approx(0.25)


def test_swa_returns_the_mean_of_the_last_epochs_and_ignores_early_stopping():
    schedule = TrainingSchedule(epochs=8, steps_per_epoch=5, lr=0.05, warmup_epochs=1, patience=1,
                                swa_epochs=3, swa_lr=0.5)
    net, history, seen = _linear_problem(schedule, score=0.0)
    assert len(history) == 8  # patience 1 with a constant score would stop at epoch 2 without averaging
    assert [h["lr"] for h in history[-3:]] == pytest.approx([0.025] * 3)
    assert history[3]["lr"] > 0.025
    expected = torch.stack(seen[5:8]).mean(0)
    torch.testing.assert_close(net.weight.detach(), expected)
    torch.testing.assert_close(seen[-1], expected)  # the reported SWA scores are those of the returned weights
    assert set(history[-1]) >= {"swa_val_loss", "swa_val_score"}
    assert "swa_val_score" not in history[0]


def test_without_swa_the_best_epoch_is_kept_and_early_stopping_works():
    schedule = TrainingSchedule(epochs=8, steps_per_epoch=5, lr=0.05, warmup_epochs=1, patience=1)
    net, history, seen = _linear_problem(schedule, score=0.0)
    assert len(history) == 2
    torch.testing.assert_close(net.weight.detach(), seen[0])


def test_swa_classifier_learns_grain_size_and_reloads(grain_size_folders, tmp_path):
    clf = train_classifier(grain_size_folders, tmp_path / "swa", test_fraction=0.25, seed=0, swa_epochs=5, **SMALL)
    assert clf.metrics_["test"]["accuracy"] >= 0.9
    assert clf.metrics_["epochs_per_member"] == [15]
    card = json.loads((tmp_path / "swa" / "model" / "card.json").read_text())
    assert (card["swa_epochs"], card["swa_lr"]) == (5, 0.25)
    reloaded = MicrographClassifier.from_run(tmp_path / "swa")
    assert reloaded.swa_epochs == 5
    images = [read_image(p) for p in load_class_folders(grain_size_folders).paths[:4]]
    np.testing.assert_allclose(reloaded.predict_proba(images), clf.predict_proba(images), atol=1e-5)


@pytest.mark.parametrize("options", [{"swa_epochs": 15}, {"swa_epochs": -1}, {"swa_epochs": 2.5},
                                     {"swa_epochs": 3, "swa_lr": 0.0}, {"swa_epochs": 3, "swa_lr": 1.5}])
def test_bad_swa_options_are_input_errors(options):
    images = [np.random.default_rng(k).random((40, 40)) for k in range(8)]
    with pytest.raises(InputError, match="swa"):
        MicrographClassifier(**{**SMALL, **options}).fit(images, ["a", "b"] * 4)

