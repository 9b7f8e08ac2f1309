"""Micrograph classification: `MicrographClassifier` (fit/predict), `train_classifier`, `classify`."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from matforge.errors import InputError
from matforge.files import atomic_dir, atomic_file, refuse_overwrite_input
from matforge.micro._augment import (
    FLATTEN_MODES,
    MIX_MODES,
    dihedral,
    flatten_background,
    mix_batch,
    random_crop,
    random_dihedral,
    random_photometric,
    random_resized_crop,
    standardize,
)
from matforge.micro._io import ClassFolderDataset, image_paths, load_class_folders, read_image
from matforge.micro._nets import MicroResNet, MicroResNetEnsemble
from matforge.micro._runs import data_hash, images_to_tensor, load_model, save_model, versions, write_json
from matforge.micro._training import TrainingSchedule, pick_device, seeded_generator, train_network

__all__ = ["MicrographClassifier", "train_classifier", "classify", "classification_metrics"]

# Training crops are taken from images resized to CROP_MARGIN x image_size; prediction sees that whole
# resized image (the network pools globally), so training and prediction look at the same scale.
CROP_MARGIN = 1.125


class MicrographClassifier:
    """CNN classifier for micrographs (defect types, phases, processing routes), scikit-learn style.

    Parameters
    ----------
    image_size : side of the square training crops in pixels; images are first resized so that their
        shorter side is `image_size * 1.125`. Coarser than the original trades fine texture for speed.
    width : channels of the first ResNet stage (network size grows with width squared).
    epochs, patience, lr, batch_size : training schedule (AdamW, warm-up + cosine, early stopping).
    val_fraction : share of the training images held out (stratified) to choose the epoch to keep.
    tta : average predictions over the 8 flips/quarter turns of each image (test-time augmentation).
    mix : "none", "mixup" or "cutmix": train on pairs of images blended (mixup) or with a box of one pasted
        into the other (cutmix), with the class targets mixed in the same proportion (see `mix_batch`).
    mix_alpha : concentration of the Beta(alpha, alpha) mixing proportion; None takes 0.2 for mixup and
        1.0 for cutmix (the published defaults). Smaller alpha mixes less.
    label_smoothing : share of each target spread evenly over all classes (Szegedy et al. 2016); keeps the
        network from growing over-confident on a few hundred images.
    swa_epochs : 0, or stochastic weight averaging (Izmailov et al., UAI 2018) over the last `swa_epochs`
        epochs: the cosine learning rate stops at `swa_lr` x `lr` there and the network returned is the
        average of the weights after each of those epochs (no early stopping; the validation split only
        reports). Costs no extra training time.
    swa_lr : learning rate of the averaging epochs as a share of `lr`.
    flatten : "gaussian" (default), "plane" or "none": remove each image's slowly varying background
        (uneven illumination, a tilted sample) after resizing, at training AND prediction time (recorded in the
        model card, so `classify` does the same): "plane" subtracts a fitted linear gradient, "gaussian" also a
        Gaussian blur of the rest (see `flatten_background`). Default since round 5 of the NEU configuration
        choice (docs/micro.md): development errors 0.7 instead of 3.7 per network. Models saved before it
        have no "flatten" in their card and load as "none".
    flatten_sigma : blur standard deviation of "gaussian" as a share of the resized image's side (0.25 keeps
        features up to about a quarter of the image).
    crop_scale_min : None for fixed `image_size` training crops; or scale jitter: square crops covering a
        random share in [crop_scale_min, 1] of the resized image's area, resized to `image_size`
        (magnifications about 0.89x to 0.89x / sqrt(crop_scale_min) of what prediction sees).
    pretrained : path of a `weights.safetensors` (or a run folder) of a MicroResNet with the same width and
        channels, to start from (transfer learning); its class layer is replaced when the classes differ.
    ensemble : number of networks trained one after another (seeds `seed`, `seed + 1`, ...; each with its own
        validation split) whose class probabilities are averaged. Costs `ensemble` times the training and
        prediction time; removes much of the seed-to-seed variance of a single network.
    seed : seeds the split, initialisation and augmentation; the same seed gives the same model on CPU.
    device : "cpu", "cuda", ...; default the GPU when present.

    Attributes after `fit`: `classes_`, `in_channels_`, `net_` (a MicroResNet, or a MicroResNetEnsemble when
    `ensemble` > 1), `history_` (per-epoch losses/scores, with the member index).

    Example
    -------
    >>> clf = MicrographClassifier(image_size=32, epochs=5).fit(images, ["ferrite", "pearlite", ...])
    >>> clf.predict(images[:2])
    """

    def __init__(
        self,
        *,
        image_size: int = 96,
        width: int = 24,
        epochs: int = 40,
        patience: int = 10,
        lr: float = 3e-3,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        tta: bool = True,
        mix: str = "none",
        mix_alpha: float | None = None,
        label_smoothing: float = 0.1,
        swa_epochs: int = 0,
        swa_lr: float = 0.25,
        flatten: str = "gaussian",
        flatten_sigma: float = 0.25,
        crop_scale_min: float | None = None,
        pretrained: str | os.PathLike | None = None,
        ensemble: int = 1,
        seed: int = 0,
        device: str | None = None,
    ) -> None:
        self.image_size = image_size
        self.width = width
        self.epochs = epochs
        self.patience = patience
        self.lr = lr
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.tta = tta
        self.mix = mix
        self.mix_alpha = mix_alpha
        self.label_smoothing = label_smoothing
        self.swa_epochs = swa_epochs
        self.swa_lr = swa_lr
        self.flatten = flatten
        self.flatten_sigma = flatten_sigma
        self.crop_scale_min = crop_scale_min
        self.pretrained = pretrained
        self.ensemble = ensemble
        self.seed = seed
        self.device = device

    @property
    def mix_alpha_(self) -> float | None:
        """The Beta concentration actually used (the mode's published default when `mix_alpha` is None)."""
        return MIX_MODES.get(self.mix) if self.mix_alpha is None else float(self.mix_alpha)

    @property
    def load_size_(self) -> int:
        return int(round(self.image_size * CROP_MARGIN))

    def fit(self, images: Sequence[np.ndarray], labels: Sequence) -> MicrographClassifier:
        """Train on `images` (float arrays in [0, 1], any size, grey or RGB) with class `labels`."""
        labels = np.asarray([str(x) for x in labels])
        if len(images) != len(labels):
            raise InputError(f"{len(images)} images but {len(labels)} labels")
        self.classes_ = sorted(set(labels.tolist()))
        if len(self.classes_) < 2:
            raise InputError("only one class in the training labels", hint="A classifier needs at least two classes")
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise InputError("epochs must be a whole number, at least 1", value=self.epochs)
        if int(self.image_size) != self.image_size or self.image_size < 16:
            # the network halves the side four times (stem and three stages): below 16 px the last stage sees
            # less than one pixel of the crop
            raise InputError("image_size must be a whole number of pixels, at least 16", value=self.image_size, hint="The network halves the side four times; 64-128 px suit most micrographs")
        if int(self.width) != self.width or self.width < 1:
            raise InputError("width must be a whole number of channels, at least 1", value=self.width)
        if int(self.ensemble) != self.ensemble or self.ensemble < 1:
            raise InputError("ensemble must be a whole number of networks, at least 1", value=self.ensemble)
        if self.mix not in MIX_MODES:
            raise InputError("unknown mix", value=self.mix, hint=f"One of {', '.join(MIX_MODES)}")
        if self.mix_alpha_ is not None and not self.mix_alpha_ > 0:
            raise InputError("mix_alpha must be positive", value=self.mix_alpha)
        if not 0 <= self.label_smoothing < 1:
            raise InputError("label_smoothing must be in [0, 1)", value=self.label_smoothing)
        if int(self.swa_epochs) != self.swa_epochs or not 0 <= self.swa_epochs < self.epochs:
            raise InputError("swa_epochs must be a whole number from 0 to epochs - 1", value=self.swa_epochs,
                             hint=f"epochs is {self.epochs}; the averaging epochs come at the end of training")
        if self.swa_epochs and not 0 < self.swa_lr <= 1:
            raise InputError("swa_lr must be in (0, 1], a share of the peak learning rate", value=self.swa_lr)
        if self.flatten not in FLATTEN_MODES:
            raise InputError("unknown flatten", value=self.flatten, hint=f"One of {', '.join(FLATTEN_MODES)}")
        if self.flatten == "gaussian" and not 0 < self.flatten_sigma <= 1:
            raise InputError("flatten_sigma must be in (0, 1], a share of the image side", value=self.flatten_sigma)
        if self.crop_scale_min is not None and not 0 < self.crop_scale_min <= 1:
            raise InputError("crop_scale_min must be in (0, 1], a share of the image area", value=self.crop_scale_min)
        y = np.searchsorted(self.classes_, labels)
        self.in_channels_ = 3 if any(img.ndim == 3 for img in images) else 1
        device = pick_device(self.device)
        x_all = self._inputs(images)
        members, self.history_ = [], []
        for k in range(self.ensemble):
            description = "training classifier" if self.ensemble == 1 else f"training classifier {k + 1}/{self.ensemble}"
            net, history = self._fit_member(x_all, y, k, device, description)
            members.append(net)
            self.history_ += [{"member": k, **h} for h in history]
        self.net_ = members[0] if self.ensemble == 1 else MicroResNetEnsemble(members)
        self.training_hash_ = data_hash(images)
        return self

    def _fit_member(
        self, x_all: torch.Tensor, y: np.ndarray, member: int, device: torch.device, description: str
    ) -> tuple[MicroResNet, list[dict]]:
        """Train ensemble member `member` (seed `seed + member`: its own validation split, initialisation and
        augmentation draws; member 0 is the single network of `ensemble=1`)."""
        from sklearn.model_selection import train_test_split

        seed = self.seed + member
        generator = seeded_generator(seed)
        counts = np.bincount(y)
        if self.val_fraction > 0 and counts.min() >= 2 and round(self.val_fraction * len(y)) >= len(self.classes_):
            train_idx, val_idx = train_test_split(
                np.arange(len(y)), test_size=self.val_fraction, stratify=y, random_state=seed
            )
        else:  # too few images to spare a validation set: select on the training images themselves
            train_idx = val_idx = np.arange(len(y))
        x_train, y_train = x_all[train_idx], torch.as_tensor(y[train_idx])
        x_val = standardize(x_all[val_idx]).to(device)
        y_val = torch.as_tensor(y[val_idx]).to(device)

        net = MicroResNet(self.in_channels_, len(self.classes_), self.width)
        if self.pretrained is not None:
            _load_pretrained(net, self.pretrained, member)
        net.to(device)
        order: list[int] = []

        def batch() -> tuple[torch.Tensor, torch.Tensor]:
            nonlocal order
            if len(order) < self.batch_size:
                order += torch.randperm(len(train_idx), generator=generator).tolist()
            idx, order = order[: self.batch_size], order[self.batch_size :]
            if self.crop_scale_min is None:
                x, _ = random_crop(x_train[idx], self.image_size, generator=generator)
            else:
                x = random_resized_crop(x_train[idx], self.image_size, self.crop_scale_min, generator=generator)
            x, _ = random_dihedral(x, generator=generator)
            x = standardize(random_photometric(x, generator=generator))
            if self.mix == "none":
                return x.to(device), y_train[idx].to(device)
            targets = torch.nn.functional.one_hot(y_train[idx], len(self.classes_)).float()
            x, targets = mix_batch(x, targets, self.mix, self.mix_alpha_, generator=generator)
            return x.to(device), targets.to(device)

        def validate(model: torch.nn.Module) -> tuple[float, float]:
            logits = torch.cat([model(chunk) for chunk in x_val.split(256)])
            loss = torch.nn.functional.cross_entropy(logits, y_val).item()
            return loss, (logits.argmax(1) == y_val).float().mean().item()

        schedule = TrainingSchedule(
            epochs=self.epochs,
            steps_per_epoch=max(1, math.ceil(len(train_idx) / self.batch_size)),
            lr=self.lr,
            patience=self.patience,
            warmup_epochs=min(2, self.epochs),
            swa_epochs=int(self.swa_epochs),
            swa_lr=self.swa_lr,
        )
        # Targets are class indices, or class probabilities when mixing; cross_entropy takes both.
        history = train_network(
            net,
            batch,
            lambda out, tgt: torch.nn.functional.cross_entropy(out, tgt, label_smoothing=self.label_smoothing),
            validate,
            schedule,
            device=device,
            description=description,
        )
        return net, history

    def predict_proba(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities, shape (n_images, n_classes), columns in the order of `classes_`."""
        if not hasattr(self, "net_"):
            raise InputError("this classifier is not fitted yet", hint="Call fit() or load a run folder")
        device = next(self.net_.parameters()).device
        x_all = self._inputs(images)
        out = []
        self.net_.eval()
        with torch.no_grad():
            for chunk in x_all.split(128):
                x = standardize(chunk).to(device)
                views = range(8) if self.tta else range(1)
                probs = sum(torch.softmax(self.net_(dihedral(x, k)), dim=1) for k in views) / len(views)
                out.append(probs.cpu())
        return torch.cat(out).numpy()

    def _inputs(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """Images resized to `load_size_` and, with `flatten`, background-flattened: the one path of both fit
        and predict, so a model never sees differently prepared images at prediction time."""
        x = images_to_tensor(list(images), self.load_size_, self.in_channels_)
        return flatten_background(x, self.flatten, self.flatten_sigma)

    def predict(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Predicted class names."""
        return np.asarray(self.classes_)[self.predict_proba(images).argmax(1)]

    def card(self) -> dict:
        """Everything needed to rebuild the network and its inputs, written to model/card.json."""
        return {
            "kind": "classifier",
            "network": "MicroResNet",
            "classes": self.classes_,
            "image_size": self.image_size,
            "load_size": self.load_size_,
            "in_channels": self.in_channels_,
            "width": self.width,
            "tta": self.tta,
            "mix": self.mix,
            "mix_alpha": self.mix_alpha_,
            "label_smoothing": self.label_smoothing,
            "swa_epochs": int(self.swa_epochs),
            "swa_lr": self.swa_lr,
            "flatten": self.flatten,
            "flatten_sigma": self.flatten_sigma,
            "crop_scale_min": self.crop_scale_min,
            "ensemble": self.ensemble,
            "seed": self.seed,
            "pretrained": None if self.pretrained is None else str(self.pretrained),
            "training_data_sha256": self.training_hash_,
            "versions": versions(),
        }

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, *, device: str | None = None) -> MicrographClassifier:
        """Load the classifier stored in a run folder of `train_classifier`."""
        card, state = load_model(run_dir, "classifier")
        clf = cls(image_size=card["image_size"], width=card["width"], tta=card["tta"], seed=card["seed"],
                  ensemble=card.get("ensemble", 1), mix=card.get("mix", "none"), mix_alpha=card.get("mix_alpha"),
                  label_smoothing=card.get("label_smoothing", 0.1), swa_epochs=card.get("swa_epochs", 0),
                  swa_lr=card.get("swa_lr", 0.25), flatten=card.get("flatten", "none"),
                  flatten_sigma=card.get("flatten_sigma", 0.25), crop_scale_min=card.get("crop_scale_min"),
                  device=device)
        clf.classes_, clf.in_channels_ = list(card["classes"]), card["in_channels"]
        clf.training_hash_ = card.get("training_data_sha256", "")
        members = [MicroResNet(clf.in_channels_, len(clf.classes_), clf.width) for _ in range(clf.ensemble)]
        clf.net_ = members[0] if clf.ensemble == 1 else MicroResNetEnsemble(members)
        clf.net_.load_state_dict(state)
        clf.net_.to(pick_device(device)).eval()
        return clf


def _load_pretrained(net: MicroResNet, path: str | os.PathLike, member: int = 0) -> None:
    """Start `net` from saved MicroResNet weights; from an ensemble's weights, member `member` (cycling)."""
    from safetensors.torch import load_file

    path = Path(path)
    if path.is_dir():
        path = path / "model" / "weights.safetensors"
    if not path.is_file():
        raise InputError("pretrained weights file not found", file=str(path))
    try:
        state = load_file(str(path))
    except Exception as err:
        raise InputError(f"cannot read pretrained weights ({err})", file=str(path)) from None
    n_members = len({k.split(".")[1] for k in state if k.startswith("members.")})
    if n_members:
        prefix = f"members.{member % n_members}."
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    own = net.state_dict()
    body = {k: v for k, v in state.items() if not k.startswith("head.")}
    mismatched = [k for k, v in body.items() if k not in own or own[k].shape != v.shape]
    if mismatched or not body:
        raise InputError(
            "pretrained weights do not fit this network",
            file=str(path),
            value=mismatched[:3],
            hint="Use weights of a MicroResNet with the same --width and the same grey/colour channels",
        )
    head = {k: v for k, v in state.items() if k.startswith("head.") and own[k].shape == v.shape}
    net.load_state_dict({**own, **body, **head})


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[str]) -> dict:
    """accuracy, balanced_accuracy, f1_macro, roc_auc (one-vs-rest macro) and the confusion matrix."""
    from sklearn import metrics

    y_pred = proba.argmax(1)
    labels = np.arange(len(classes))
    present = np.unique(y_true)
    if len(present) < 2:
        auc = float("nan")
    elif len(classes) == 2:
        auc = metrics.roc_auc_score(y_true, proba[:, 1])
    else:
        auc = metrics.roc_auc_score(y_true, proba[:, present] / proba[:, present].sum(1, keepdims=True),
                                    multi_class="ovr", labels=present)
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)),
        "roc_auc": float(auc),
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def train_classifier(
    data: str | os.PathLike | ClassFolderDataset,
    out: str | os.PathLike | None = None,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    **params,
) -> MicrographClassifier:
    """Train a `MicrographClassifier` on a folder with one sub-folder per class and report a held-out test.

    A stratified `test_fraction` of the images (seeded) is never seen in training; its accuracy,
    balanced accuracy, macro F1, ROC AUC and confusion matrix go to `metrics.json` and `report.html`.
    With `out`, writes the run folder: model/ (weights + card.json), metrics.json, history.csv,
    test_predictions.csv, report.html. `params` go to `MicrographClassifier`. Returns the fitted
    classifier with `metrics_` (the test metrics) set.
    """
    from sklearn.model_selection import train_test_split

    dataset = data if isinstance(data, ClassFolderDataset) else load_class_folders(data)
    source = str(data) if not isinstance(data, ClassFolderDataset) else None
    if out is not None and source is not None and Path(out).resolve() == Path(source).resolve():
        raise InputError("--out is the data folder", file=str(out), hint="Choose another --out folder")
    images = [read_image(p) for p in dataset.paths]
    n_classes = len(dataset.classes)
    if not 0 < test_fraction < 1:
        raise InputError("the test fraction must be between 0 and 1 (a share of the images)", value=test_fraction)
    n_test = math.ceil(test_fraction * len(images))
    if n_test < n_classes or len(images) - n_test < n_classes:
        raise InputError(
            f"cannot hold out a stratified test set of {test_fraction:g} from {len(images)} images in {n_classes} classes",
            hint="Add images or change --test-fraction",
        )
    idx = np.arange(len(images))
    train_idx, test_idx = train_test_split(idx, test_size=n_test, stratify=dataset.labels, random_state=seed)
    names = np.asarray(dataset.classes)
    start = time.perf_counter()
    clf = MicrographClassifier(seed=seed, **params).fit([images[i] for i in train_idx], names[dataset.labels[train_idx]])
    fit_seconds = time.perf_counter() - start
    test_images = [images[i] for i in test_idx]
    proba = clf.predict_proba(test_images)
    # Classes are sorted in both dataset and classifier, so indices agree.
    scores = classification_metrics(dataset.labels[test_idx], proba, clf.classes_)
    clf.metrics_ = {
        "task": "classification",
        "target": "class",
        "n_samples": len(images),
        "protocol": {"name": "stratified_holdout", "folds": 1, "seed": seed, "test_fraction": test_fraction,
                     "n_train": len(train_idx), "n_test": len(test_idx)},
        "best_model": "MicroResNet",
        "classes": clf.classes_,
        "test": scores,
        "ensemble": clf.ensemble,
        "epochs_trained": len(clf.history_),
        "epochs_per_member": [sum(h["member"] == k for h in clf.history_) for k in range(clf.ensemble)],
        "fit_seconds": round(fit_seconds, 1),
        "device": str(next(clf.net_.parameters()).device),
    }
    if out is not None:
        predictions = pd.DataFrame({"image": [str(dataset.paths[i]) for i in test_idx],
                                    "y_true": names[dataset.labels[test_idx]],
                                    "y_pred": names[proba.argmax(1)]})
        for k, name in enumerate(clf.classes_):
            predictions[f"prob_{name}"] = proba[:, k]
        with atomic_dir(out) as tmp:
            save_model(tmp, clf.net_, {**clf.card(), "metrics": scores})
            write_json(tmp / "metrics.json", clf.metrics_)
            pd.DataFrame(clf.history_).to_csv(tmp / "history.csv", index=False)
            predictions.to_csv(tmp / "test_predictions.csv", index=False)
            from matforge.micro._report import classifier_report

            classifier_report(tmp / "report.html", clf, test_images, dataset.labels[test_idx], proba, predictions["image"])
    return clf


def classify(
    run_dir: str | os.PathLike, images: str | os.PathLike | Sequence[str | os.PathLike], out: str | os.PathLike | None = None,
    *, device: str | None = None,
) -> pd.DataFrame:
    """Predict the class of each image (a file, a folder of images, or a list of files) with a trained run.

    Returns (and with `out`, writes as CSV) one row per image in input order: `image`, `prediction`,
    `confidence` (the top probability) and `prob_<class>` for every class.
    """
    paths = image_paths(images)
    if out is not None:
        refuse_overwrite_input(out, *paths)
    clf = MicrographClassifier.from_run(run_dir, device=device)
    proba = clf.predict_proba([read_image(p) for p in paths])
    table = pd.DataFrame({"image": [str(p) for p in paths], "prediction": np.asarray(clf.classes_)[proba.argmax(1)],
                          "confidence": proba.max(1)})
    for k, name in enumerate(clf.classes_):
        table[f"prob_{name}"] = proba[:, k]
    if out is not None:
        with atomic_file(out) as tmp:
            table.to_csv(tmp, index=False)
    return table
