"""The CNN classifier learns a synthetic texture problem and writes a usable run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matforge.errors import InputError
from matforge.micro import MicrographClassifier, classify, load_class_folders, read_image, train_classifier

SMALL = {"image_size": 32, "width": 8, "epochs": 15, "patience": 15, "batch_size": 16}


@pytest.fixture(scope="module")
def trained_run(grain_size_folders, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "grain_size"
    clf = train_classifier(grain_size_folders, out, test_fraction=0.25, seed=0, **SMALL)
    return clf, out


def test_learns_fine_versus_coarse_grains(trained_run):
    clf, _ = trained_run
    assert clf.metrics_["protocol"]["n_test"] == 10
    assert clf.metrics_["test"]["accuracy"] >= 0.9
    assert clf.metrics_["test"]["roc_auc"] >= 0.95


def test_run_folder_holds_model_card_metrics_and_self_contained_report(trained_run):
    _, out = trained_run
    card = json.loads((out / "model" / "card.json").read_text())
    assert card["classes"] == ["coarse", "fine"] and card["seed"] == 0 and card["image_size"] == 32
    assert {"torch", "numpy", "matforge"} <= set(card["versions"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "classification"
    assert sum(map(sum, metrics["test"]["confusion_matrix"])) == 10
    report = (out / "report.html").read_text()
    assert "data:image/png;base64," in report and "Confusion matrix" in report
    assert "http://" not in report and "https://" not in report
    assert (out / "model" / "weights.safetensors").stat().st_size > 1000


def test_classify_reloads_the_run_and_keeps_input_order(trained_run, grain_size_folders, tmp_path):
    clf, out = trained_run
    table = classify(out, grain_size_folders / "fine", tmp_path / "pred.csv")
    files = sorted(p.name for p in (grain_size_folders / "fine").iterdir())
    assert [p.split("/")[-1] for p in table["image"]] == files
    assert set(table.columns) >= {"image", "prediction", "confidence", "prob_coarse", "prob_fine"}
    np.testing.assert_allclose(table[["prob_coarse", "prob_fine"]].sum(1), 1, atol=1e-5)
    # The reloaded network gives the probabilities of the one in memory.
    images = [read_image(p) for p in table["image"]]
    np.testing.assert_allclose(table["prob_fine"], clf.predict_proba(images)[:, 1], atol=1e-5)
    assert (tmp_path / "pred.csv").read_text().startswith("image,prediction,confidence")


def test_same_seed_gives_the_same_model(grain_size_folders):
    data = load_class_folders(grain_size_folders)
    pick = np.r_[0:8, 20:28]  # eight of each class
    images = [read_image(data.paths[i]) for i in pick]
    labels = np.asarray(data.classes)[data.labels[pick]]
    params = {**SMALL, "epochs": 2}
    a = MicrographClassifier(seed=3, **params).fit(images, labels).predict_proba(images)
    b = MicrographClassifier(seed=3, **params).fit(images, labels).predict_proba(images)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_pretrained_weights_start_the_network(trained_run, grain_size_folders):
    _, out = trained_run
    data = load_class_folders(grain_size_folders)
    images = [read_image(p) for p in data.paths]
    labels = np.asarray(data.classes)[data.labels]
    # No training epoch at all: the pretrained network alone must already separate the classes.
    clf = MicrographClassifier(**{**SMALL, "epochs": 1, "lr": 1e-9}, pretrained=out).fit(images, labels)
    assert (clf.predict(images) == labels).mean() >= 0.9
    with pytest.raises(InputError, match="do not fit"):
        MicrographClassifier(**{**SMALL, "width": 16}, pretrained=out).fit(images, labels)


def test_too_few_images_for_a_test_split_is_an_input_error(grain_size_folders):
    with pytest.raises(InputError, match="stratified test set"):
        train_classifier(grain_size_folders, None, test_fraction=0.01, **SMALL)


def test_ensemble_averages_its_members_and_its_first_member_is_the_single_network(grain_size_folders):
    from matforge.micro._nets import MicroResNetEnsemble

    data = load_class_folders(grain_size_folders)
    pick = np.r_[0:8, 20:28]
    images = [read_image(data.paths[i]) for i in pick]
    labels = np.asarray(data.classes)[data.labels[pick]]
    params = {**SMALL, "epochs": 2}
    ensemble = MicrographClassifier(seed=3, ensemble=2, **params).fit(images, labels)
    single = MicrographClassifier(seed=3, **params).fit(images, labels)
    assert isinstance(ensemble.net_, MicroResNetEnsemble) and len(ensemble.net_.members) == 2
    assert sorted({h["member"] for h in ensemble.history_}) == [0, 1]
    # Each member alone, as a one-network classifier, gives the probabilities the ensemble averages.
    alone = []
    for member in ensemble.net_.members:
        one = MicrographClassifier(seed=3, **params)
        one.classes_, one.in_channels_, one.net_ = ensemble.classes_, ensemble.in_channels_, member
        alone.append(one.predict_proba(images))
    np.testing.assert_allclose(ensemble.predict_proba(images), np.mean(alone, axis=0), atol=1e-5)
    np.testing.assert_allclose(alone[0], single.predict_proba(images), atol=1e-6)
    assert not np.allclose(alone[0], alone[1], atol=1e-3)  # seeds 3 and 4 give different networks
    with pytest.raises(InputError, match="ensemble"):
        MicrographClassifier(ensemble=0, **params).fit(images, labels)
    # sizes the network cannot train on are refused before any work
    for option, value, word in (("epochs", 0, "epochs"), ("width", 0, "width"), ("image_size", 4, "image_size"), ("image_size", 24.5, "image_size")):
        with pytest.raises(InputError, match=word):
            MicrographClassifier(**{**params, option: value}).fit(images, labels)
