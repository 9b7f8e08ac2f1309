"""Micrograph segmentation: `MicrographSegmenter` (compact U-Net), `train_segmenter`, `segment`.

Built for the few-image regime of materials work (U-Net on 24-30 labelled flakes or phase maps): every
training step draws random patches from the labelled images with the eight flips/quarter turns and
brightness/contrast/gamma/noise changes, and the loss adds soft Dice to cross-entropy so that a minority
phase (pores, a few % of pixels) is not ignored. Large images are predicted in overlapping tiles.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from matforge.errors import InputError
from matforge.files import atomic_dir, refuse_overwrite_input
from matforge.micro._augment import random_crop, random_dihedral, random_photometric
from matforge.micro._io import MaskPairDataset, image_paths, load_mask_pairs, read_image, to_gray
from matforge.micro._nets import MicroUNet
from matforge.micro._report import overlay
from matforge.micro._runs import data_hash, load_model, save_model, versions, write_json
from matforge.micro._training import TrainingSchedule, pick_device, seeded_generator, train_network

__all__ = ["MicrographSegmenter", "train_segmenter", "segment", "segmentation_metrics"]

def _channels_first(image: np.ndarray, in_channels: int) -> np.ndarray:
    if image.ndim == 2:
        return np.repeat(image[None], in_channels, axis=0)
    if in_channels == 1:
        return to_gray(image)[None]
    return np.moveaxis(image, -1, 0)


def _normalize(x: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
    """Standardize with whole-image statistics (B, 2), so a patch and the full image are scaled alike."""
    return (x - stats[:, :1, None, None]) / stats[:, 1:, None, None]


def _image_stats(image: np.ndarray) -> torch.Tensor:
    return torch.tensor([float(image.mean()), float(image.std()) + 1e-5])


def segmentation_metrics(truths: Sequence[np.ndarray], preds: Sequence[np.ndarray], n_classes: int) -> dict:
    """IoU (Jaccard) and Dice per class and pixel accuracy, pooled over all pixels of all images."""
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    for truth, pred in zip(truths, preds, strict=True):
        confusion += np.bincount(truth.ravel() * n_classes + pred.ravel(), minlength=n_classes**2).reshape(n_classes, n_classes)
    tp = np.diag(confusion).astype(float)
    fp, fn = confusion.sum(0) - tp, confusion.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou, dice = tp / (tp + fp + fn), 2 * tp / (2 * tp + fp + fn)
    return {"iou": iou, "dice": dice, "pixel_accuracy": float(tp.sum() / confusion.sum())}


class MicrographSegmenter:
    """U-Net semantic segmentation of micrographs (phases, pores, flakes), scikit-learn style.

    Parameters
    ----------
    patch_size : side of the square training patches in pixels (a multiple of 2**depth).
    width, depth : channels of the first level and number of poolings of the U-Net.
    epochs, steps_per_epoch, patience, lr, batch_size : training schedule (AdamW, warm-up + cosine,
        early stopping on validation mean IoU).
    val_fraction : share of the training images held out to choose the epoch (none when fewer than 4).
    tile_size : images larger than this are predicted in overlapping tiles of this side.
    seed, device : as in `MicrographClassifier`.

    Attributes after `fit`: `n_classes_`, `in_channels_`, `mask_values_`, `net_`, `history_`.
    """

    def __init__(
        self,
        *,
        patch_size: int = 64,
        width: int = 16,
        depth: int = 3,
        epochs: int = 60,
        steps_per_epoch: int = 20,
        patience: int = 15,
        lr: float = 3e-3,
        batch_size: int = 8,
        val_fraction: float = 0.15,
        tile_size: int = 256,
        seed: int = 0,
        device: str | None = None,
    ) -> None:
        self.patch_size = patch_size
        self.width = width
        self.depth = depth
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.patience = patience
        self.lr = lr
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.tile_size = tile_size
        self.seed = seed
        self.device = device

    def fit(self, images: Sequence[np.ndarray], masks: Sequence[np.ndarray], mask_values: Sequence[int] | None = None) -> MicrographSegmenter:
        """Train on `images` (float [0, 1]) and `masks` (class indices 0..K-1, same height and width)."""
        multiple = 2**self.depth
        if self.patch_size % multiple:
            raise InputError(f"patch_size must be a multiple of {multiple}", value=self.patch_size)
        if len(images) != len(masks) or not images:
            raise InputError(f"{len(images)} images but {len(masks)} masks")
        for k, (image, mask) in enumerate(zip(images, masks, strict=True)):
            if image.shape[:2] != mask.shape:
                raise InputError(f"image {k} is {image.shape[:2]} but its mask is {mask.shape}")
        self.n_classes_ = int(max(m.max() for m in masks)) + 1
        if self.n_classes_ < 2:
            raise InputError("masks hold a single class", hint="Masks need at least two classes")
        self.mask_values_ = list(mask_values) if mask_values is not None else list(range(self.n_classes_))
        self.in_channels_ = 3 if any(img.ndim == 3 for img in images) else 1
        device = pick_device(self.device)
        generator = seeded_generator(self.seed)
        n = len(images)
        n_val = int(round(self.val_fraction * n)) if n >= 4 else 0
        order = torch.randperm(n, generator=generator).tolist()
        val_idx, train_idx = (order[:n_val], order[n_val:]) if n_val else (order, order)

        # Pad every image to at least one patch (reflect) so any image can give a random patch.
        def padded(i: int) -> tuple[torch.Tensor, torch.Tensor]:
            x = torch.from_numpy(_channels_first(images[i], self.in_channels_).astype(np.float32))
            m = torch.from_numpy(np.asarray(masks[i], dtype=np.int64))
            ph, pw = max(0, self.patch_size - x.shape[1]), max(0, self.patch_size - x.shape[2])
            if ph or pw:
                # reflect needs a pad smaller than the image; a patch more than twice an image's side repeats its edge
                mode = "reflect" if ph < x.shape[1] and pw < x.shape[2] else "replicate"
                x = torch.nn.functional.pad(x[None], (0, pw, 0, ph), mode=mode)[0]
                m = torch.nn.functional.pad(m[None, None].float(), (0, pw, 0, ph), mode=mode)[0, 0].long()
            return x, m

        train = [padded(i) for i in train_idx]
        stats = torch.stack([_image_stats(images[i]) for i in train_idx])
        net = MicroUNet(self.in_channels_, self.n_classes_, self.width, self.depth).to(device)

        def batch() -> tuple[torch.Tensor, torch.Tensor]:
            pick = torch.randint(0, len(train), (self.batch_size,), generator=generator).tolist()
            xs, ms = [], []
            for i in pick:  # images may differ in size, so crop one at a time
                x, m = random_crop(train[i][0][None], self.patch_size, train[i][1][None], generator=generator)
                xs.append(x)
                ms.append(m)
            x, m = random_dihedral(torch.cat(xs), torch.cat(ms), generator=generator)
            x = _normalize(random_photometric(x, generator=generator), stats[pick])
            return x.to(device), m.to(device)

        def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            probs = torch.softmax(logits, 1)
            onehot = torch.nn.functional.one_hot(target, self.n_classes_).permute(0, 3, 1, 2).float()
            inter = (probs * onehot).sum((0, 2, 3))
            dice = (2 * inter + 1) / (probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3)) + 1)
            return torch.nn.functional.cross_entropy(logits, target) + (1 - dice).mean()

        def validate(model: torch.nn.Module) -> tuple[float, float]:
            self.net_ = model
            preds = [self._predict_logits(images[i], device) for i in val_idx]
            truths = [torch.as_tensor(np.asarray(masks[i], dtype=np.int64)) for i in val_idx]
            loss = float(np.mean([torch.nn.functional.cross_entropy(p[None], t[None]).item() for p, t in zip(preds, truths, strict=True)]))
            scores = segmentation_metrics([t.numpy() for t in truths], [p.argmax(0).numpy() for p in preds], self.n_classes_)
            return loss, float(np.nanmean(scores["iou"]))

        schedule = TrainingSchedule(epochs=self.epochs, steps_per_epoch=self.steps_per_epoch, lr=self.lr,
                                    patience=self.patience, warmup_epochs=min(3, self.epochs), min_epochs=self.epochs // 3)
        self.history_ = train_network(net, batch, loss_fn, validate, schedule, device=device, description="training U-Net")
        self.net_ = net
        self.training_hash_ = data_hash(list(images) + list(masks))
        return self

    def _predict_logits(self, image: np.ndarray, device: torch.device) -> torch.Tensor:
        """Class logits (K, H, W) on the CPU; tiles of `tile_size` with a 1/8 overlap, averaged."""
        x = torch.from_numpy(_channels_first(image, self.in_channels_).astype(np.float32))
        stats = _image_stats(image)
        x = (x - stats[0]) / stats[1]
        multiple = 2**self.depth
        h, w = x.shape[1:]
        tile = max(multiple, self.tile_size - self.tile_size % multiple)
        if max(h, w) <= tile:
            th, tw = math.ceil(h / multiple) * multiple, math.ceil(w / multiple) * multiple
        else:
            th = tw = tile
        H, W = max(h, th), max(w, tw)
        x = torch.nn.functional.pad(x[None], (0, W - w, 0, H - h), mode="reflect" if (W - w < w and H - h < h) else "replicate")[0]
        step = max(multiple, tile - tile // 8)
        tops = sorted({*range(0, max(1, H - th + 1), step), H - th})
        lefts = sorted({*range(0, max(1, W - tw + 1), step), W - tw})
        logits = torch.zeros((self.n_classes_, H, W))
        weight = torch.zeros((1, H, W))
        self.net_.eval()
        with torch.no_grad():
            for top in tops:
                for left in lefts:
                    window = x[None, :, top : top + th, left : left + tw].to(device)
                    logits[:, top : top + th, left : left + tw] += self.net_(window)[0].cpu()
                    weight[:, top : top + th, left : left + tw] += 1
        return (logits / weight)[:, :h, :w]

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Class index per pixel (H, W) of one image of any size."""
        if not hasattr(self, "net_"):
            raise InputError("this segmenter is not fitted yet", hint="Call fit() or load a run folder")
        device = next(self.net_.parameters()).device
        return self._predict_logits(image, device).argmax(0).numpy()

    def card(self) -> dict:
        return {
            "kind": "segmenter",
            "network": "MicroUNet",
            "n_classes": self.n_classes_,
            "mask_values": self.mask_values_,
            "in_channels": self.in_channels_,
            "width": self.width,
            "depth": self.depth,
            "patch_size": self.patch_size,
            "tile_size": self.tile_size,
            "seed": self.seed,
            "training_data_sha256": self.training_hash_,
            "versions": versions(),
        }

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, *, device: str | None = None) -> MicrographSegmenter:
        """Load the segmenter stored in a run folder of `train_segmenter`."""
        card, state = load_model(run_dir, "segmenter")
        seg = cls(patch_size=card["patch_size"], width=card["width"], depth=card["depth"],
                  tile_size=card["tile_size"], seed=card["seed"], device=device)
        seg.n_classes_, seg.mask_values_, seg.in_channels_ = card["n_classes"], card["mask_values"], card["in_channels"]
        seg.training_hash_ = card.get("training_data_sha256", "")
        seg.net_ = MicroUNet(seg.in_channels_, seg.n_classes_, seg.width, seg.depth)
        seg.net_.load_state_dict(state)
        seg.net_.to(pick_device(device)).eval()
        return seg


def train_segmenter(
    data: str | os.PathLike | MaskPairDataset,
    out: str | os.PathLike | None = None,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    **params,
) -> MicrographSegmenter:
    """Train a `MicrographSegmenter` on `DIR/images` + `DIR/masks` and score held-out images.

    A seeded random `test_fraction` of the images (at least one) is kept out of training; IoU and Dice per
    class, mean IoU and pixel accuracy on them go to `metrics.json`. With `out`, writes the run folder:
    model/ (weights + card.json), metrics.json, history.csv, report.html. Returns the fitted segmenter
    with `metrics_` set.
    """
    dataset = data if isinstance(data, MaskPairDataset) else load_mask_pairs(data)
    n = len(dataset.images)
    n_test = max(1, int(round(test_fraction * n)))
    if n - n_test < 1 or not 0 < test_fraction < 1:
        raise InputError(f"cannot hold out {test_fraction:g} of {n} image(s) for testing", hint="Add images")
    order = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = order[:n_test], order[n_test:]
    start = time.perf_counter()
    seg = MicrographSegmenter(seed=seed, **params).fit(
        [dataset.images[i] for i in train_idx], [dataset.masks[i] for i in train_idx], dataset.mask_values
    )
    fit_seconds = time.perf_counter() - start
    preds = [seg.predict(dataset.images[i]) for i in test_idx]
    truths = [dataset.masks[i] for i in test_idx]
    scores = segmentation_metrics(truths, preds, seg.n_classes_)
    per_class = lambda values: {str(v): float(s) for v, s in zip(seg.mask_values_, values, strict=True)}  # noqa: E731
    test = {"iou": per_class(scores["iou"]), "dice": per_class(scores["dice"]),
            "mean_iou": float(np.nanmean(scores["iou"])), "pixel_accuracy": scores["pixel_accuracy"]}
    seg.metrics_ = {
        "task": "segmentation",
        "target": "mask",
        "n_samples": n,
        "protocol": {"name": "random_holdout", "folds": 1, "seed": seed, "test_fraction": test_fraction,
                     "n_train": len(train_idx), "n_test": len(test_idx),
                     "test_images": [dataset.image_paths[i].name for i in test_idx]},
        "best_model": "MicroUNet",
        "test": test,
        "epochs_trained": len(seg.history_),
        "fit_seconds": round(fit_seconds, 1),
        "device": str(next(seg.net_.parameters()).device),
    }
    if out is not None:
        with atomic_dir(out) as tmp:
            save_model(tmp, seg.net_, {**seg.card(), "metrics": test})
            write_json(tmp / "metrics.json", seg.metrics_)
            pd.DataFrame(seg.history_).to_csv(tmp / "history.csv", index=False)
            from matforge.micro._report import segmenter_report

            examples = [(dataset.image_paths[i].name, dataset.images[i], dataset.masks[i], p)
                        for i, p in zip(test_idx, preds, strict=True)]
            segmenter_report(tmp / "report.html", seg, examples)
    return seg


def segment(
    run_dir: str | os.PathLike, images: str | os.PathLike | Sequence[str | os.PathLike], out: str | os.PathLike | None = None,
    *, device: str | None = None,
) -> pd.DataFrame:
    """Segment each image (a file, a folder, or a list of files) with a trained run.

    With `out`, writes into that folder `<name>_mask.png` (pixel values as in the training masks),
    `<name>_overlay.png` and `fractions.csv`. Returns the table of area fractions: one row per image,
    `image` and `fraction_<mask value>` for every class.
    """
    from PIL import Image

    paths = image_paths(images)
    if out is not None:
        refuse_overwrite_input(out, *paths, *([images] if isinstance(images, (str, os.PathLike)) else []))
    seg = MicrographSegmenter.from_run(run_dir, device=device)
    values = np.asarray(seg.mask_values_)
    dtype = np.uint8 if values.max() < 256 else np.uint16
    rows, outputs = [], []
    for path in paths:
        image = read_image(path)
        pred = seg.predict(image)
        counts = np.bincount(pred.ravel(), minlength=seg.n_classes_) / pred.size
        rows.append({"image": str(path), **{f"fraction_{v}": float(c) for v, c in zip(values, counts, strict=True)}})
        outputs.append((path, values[pred].astype(dtype), overlay(image, pred)))
    table = pd.DataFrame(rows)
    if out is not None:
        stems = [path.stem for path, _, _ in outputs]
        with atomic_dir(out) as tmp:
            for path, mask, picture in outputs:
                # a.png and a.tif side by side: each keeps its own outputs, named by the whole file name
                name = path.stem if stems.count(path.stem) == 1 else path.name
                Image.fromarray(mask).save(tmp / f"{name}_mask.png")
                Image.fromarray(picture).save(tmp / f"{name}_overlay.png")
            table.to_csv(tmp / "fractions.csv", index=False)
    return table
