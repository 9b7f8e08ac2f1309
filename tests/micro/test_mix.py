"""mixup / cutmix: targets are the same convex combination as the pixels, and a mixed classifier still learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from matforge.errors import InputError
from matforge.micro import MicrographClassifier, load_class_folders, read_image, train_classifier
from matforge.micro._augment import mix_batch

SMALL = {"image_size": 32, "width": 8, "epochs": 15, "patience": 15, "batch_size": 16}


def _batch(n: int = 6, n_classes: int = 3, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample i is the constant image i + 1, so every mixed pixel tells which two samples it came from."""
    x = (torch.arange(n, dtype=torch.float32) + 1).view(n, 1, 1, 1).expand(n, 1, size, size).clone()
    y = torch.nn.functional.one_hot(torch.arange(n) % n_classes, n_classes).float()
    return x, y


@pytest.mark.parametrize("seed", range(5))
def test_mixup_blends_pixels_and_targets_in_the_same_proportion(seed):
    x, y = _batch()
    mixed, targets = mix_batch(x, y, "mixup", 0.4, generator=torch.Generator().manual_seed(seed))
    np.testing.assert_allclose(targets.sum(1), 1, atol=1e-6)
    assert (targets >= 0).all()
    # Partner j of sample i: mixed = lam (i+1) + (1-lam)(j+1) and targets = lam y_i + (1-lam) y_j.
    value = mixed[:, 0, 0, 0]
    assert torch.allclose(mixed, value.view(-1, 1, 1, 1).expand_as(mixed))
    for i in range(len(x)):
        fits = []
        for j in range(len(x)):
            if j == i:
                fits.append(torch.allclose(targets[i], y[i], atol=1e-6) and abs(value[i] - (i + 1)) < 1e-5)
                continue
            lam = (value[i] - (j + 1)) / (i - j)
            fits.append(bool(-1e-6 <= lam <= 1 + 1e-6)
                        and torch.allclose(targets[i], lam * y[i] + (1 - lam) * y[j], atol=1e-5))
        assert any(fits)


@pytest.mark.parametrize("seed", range(5))
def test_cutmix_target_share_is_the_pasted_area(seed):
    x, y = _batch()
    mixed, targets = mix_batch(x, y, "cutmix", 1.0, generator=torch.Generator().manual_seed(seed))
    for i in range(len(x)):
        own = (mixed[i] == i + 1).float().mean()
        others = mixed[i][mixed[i] != i + 1].unique()
        assert len(others) <= 1  # one partner per sample
        expected = own * y[i]
        if len(others):
            expected = expected + (1 - own) * y[int(others[0]) - 1]
        np.testing.assert_allclose(targets[i], expected, atol=1e-6)


def test_unknown_mix_and_bad_alpha_are_input_errors():
    images = [np.random.default_rng(k).random((40, 40)) for k in range(8)]
    labels = ["a", "b"] * 4
    with pytest.raises(InputError, match="unknown mix"):
        MicrographClassifier(mix="blend", **SMALL).fit(images, labels)
    with pytest.raises(InputError, match="mix_alpha"):
        MicrographClassifier(mix="mixup", mix_alpha=0, **SMALL).fit(images, labels)


@pytest.mark.parametrize("mix", ["mixup", "cutmix"])
def test_mixed_training_learns_fine_versus_coarse_grains(grain_size_folders, tmp_path, mix):
    clf = train_classifier(grain_size_folders, tmp_path / mix, test_fraction=0.25, seed=0, mix=mix, **SMALL)
    assert clf.metrics_["test"]["accuracy"] >= 0.9
    assert clf.card()["mix"] == mix and clf.card()["mix_alpha"] == {"mixup": 0.2, "cutmix": 1.0}[mix]
    # The run folder reloads with its mixing options (they document how it was trained).
    reloaded = MicrographClassifier.from_run(tmp_path / mix)
    assert reloaded.mix == mix
    data = load_class_folders(grain_size_folders)
    images = [read_image(p) for p in data.paths[:4]]
    np.testing.assert_allclose(reloaded.predict_proba(images), clf.predict_proba(images), atol=1e-5)
