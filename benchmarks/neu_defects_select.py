"""Choose the NEU classifier configuration without looking at the test images.

The benchmark's seed-0 stratified 80/20 split leaves 1440 training images; this script splits THEM again
(stratified 80/20, seed 1) into 1152 fitting and 288 development images and compares image sizes,
training options and ensembles by the development log loss (and errors). The 360 test images of
`neu_defects.py` are never read. Each configuration is a single MicroResNet (--width, --epochs, no early
stop, the options given) per SIZE:SEED; k-network ensembles are scored by averaging the saved development
probabilities of k seeds of one configuration, exactly what `MicrographClassifier(ensemble=k)` does, and
the scores are averaged over every k-subset of the seeds run. Files are kept per configuration and seed
in --work.

    .venv/bin/python benchmarks/neu_defects_select.py 96:0 128:0 96:1 96:2 128:1 [--work runs/neu_select]
    .venv/bin/python benchmarks/neu_defects_select.py --work runs/neu_select      # only summarize

Writes benchmarks/results/neu_defects_selection.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATASET = "neu_det_steel_defects"


def dev_split(data_dir: Path) -> tuple[list[Path], np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Image paths, class indices, class names, fitting and development indices (test images excluded)."""
    from sklearn.model_selection import train_test_split

    paths = sorted((data_dir / DATASET / "IMAGES").glob("*.jpg"))
    labels = np.array([p.stem.rsplit("_", 1)[0] for p in paths])
    classes = sorted(set(labels.tolist()))
    y = np.searchsorted(classes, labels)
    n_test = int(np.ceil(0.2 * len(paths)))  # as train_classifier(test_fraction=0.2, seed=0) in neu_defects.py
    train_idx, _ = train_test_split(np.arange(len(paths)), test_size=n_test, stratify=y, random_state=0)
    fit_idx, dev_idx = train_test_split(train_idx, test_size=0.2, stratify=y[train_idx], random_state=1)
    return paths, y, classes, fit_idx, dev_idx


def tempered_log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    """Log loss after the one temperature (p ** (1/T), renormalized) that minimizes it on these images.

    Label smoothing and mixing train the network towards softer probabilities, which raises the plain log
    loss of correct answers without changing how well the classes are separated; one fitted temperature
    (Guo et al., ICML 2017) puts such configurations on the same footing.
    """
    logp = np.log(proba + 1e-12)
    best = np.inf
    for t in np.exp(np.linspace(np.log(0.1), np.log(3.0), 200)):
        z = logp / t
        z -= z.max(1, keepdims=True)
        best = min(best, float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean()))
    return best


def scores(proba: np.ndarray, y: np.ndarray) -> dict:
    return {"dev_errors": int((proba.argmax(1) != y).sum()),
            "dev_accuracy": float((proba.argmax(1) == y).mean()),
            "dev_log_loss": float(-np.log(proba[np.arange(len(y)), y] + 1e-12).mean()),
            "dev_log_loss_tempered": tempered_log_loss(proba, y)}


# Training options compared besides image size; runs recorded before they existed used these values.
DEFAULTS = {"width": 24, "mix": "none", "mix_alpha": None, "label_smoothing": 0.1, "swa_epochs": 0, "swa_lr": 0.25,
            "flatten": "none", "flatten_sigma": 0.25, "crop_scale_min": None}


def config_name(run: dict) -> str:
    """File-name tag of a run's options; empty for the defaults, so older files keep their names."""
    opts = {**DEFAULTS, **{k: run[k] for k in DEFAULTS if k in run}}
    parts = [f"w{opts['width']}"] if opts["width"] != 24 else []
    if opts["mix"] != "none":
        parts.append(f"{opts['mix']}{'' if opts['mix_alpha'] is None else opts['mix_alpha']}")
    if opts["label_smoothing"] != 0.1:
        parts.append(f"ls{opts['label_smoothing']}")
    if opts["swa_epochs"]:
        parts.append(f"swa{opts['swa_epochs']}" + ("" if opts["swa_lr"] == 0.25 else f"lr{opts['swa_lr']}"))
    if opts["flatten"] != "none":
        parts.append(f"flat{opts['flatten']}" + (f"{opts['flatten_sigma']}" if opts["flatten"] == "gaussian" else ""))
    if opts["crop_scale_min"] is not None:
        parts.append(f"rrc{opts['crop_scale_min']}")
    return "_".join(parts)


def npy_path(work: Path, run: dict) -> Path:
    tag = config_name(run)
    return work / f"dev_{run['size']}_{run['seed']}_{run['epochs']}{'_' + tag if tag else ''}.npy"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("configs", nargs="*", help="SIZE:SEED to train, e.g. 96:0")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "neu_select")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--width", type=int, default=DEFAULTS["width"])
    parser.add_argument("--mix", default=DEFAULTS["mix"], choices=["none", "mixup", "cutmix"])
    parser.add_argument("--mix-alpha", type=float, default=DEFAULTS["mix_alpha"])
    parser.add_argument("--label-smoothing", type=float, default=DEFAULTS["label_smoothing"])
    parser.add_argument("--swa-epochs", type=int, default=DEFAULTS["swa_epochs"])
    parser.add_argument("--swa-lr", type=float, default=DEFAULTS["swa_lr"])
    parser.add_argument("--flatten", default=DEFAULTS["flatten"], choices=["none", "plane", "gaussian"])
    parser.add_argument("--flatten-sigma", type=float, default=DEFAULTS["flatten_sigma"])
    parser.add_argument("--crop-scale-min", type=float, default=DEFAULTS["crop_scale_min"])
    parser.add_argument("--note", default="", help="free text appended to the JSON's note (how the runs were made)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "neu_defects_selection.json")
    args = parser.parse_args(argv)

    import torch

    from matforge.micro import MicrographClassifier, read_image

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    paths, y, classes, fit_idx, dev_idx = dev_split(args.data_dir)
    if not paths:
        print(f"error: no NEU images under {args.data_dir}; pass --data-dir", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    log_path = args.work / "pilot.jsonl"
    if args.configs:
        images = {i: read_image(paths[i]) for i in np.r_[fit_idx, dev_idx]}
    for spec in args.configs:
        size, seed = map(int, spec.split(":"))
        start = time.perf_counter()
        options = {"width": args.width, "mix": args.mix, "mix_alpha": args.mix_alpha,
                   "label_smoothing": args.label_smoothing, "swa_epochs": args.swa_epochs, "swa_lr": args.swa_lr,
                   "flatten": args.flatten, "flatten_sigma": args.flatten_sigma, "crop_scale_min": args.crop_scale_min}
        clf = MicrographClassifier(image_size=size, epochs=args.epochs, patience=args.epochs, seed=seed, **options)
        clf.fit([images[i] for i in fit_idx], np.asarray(classes)[y[fit_idx]])
        seconds = time.perf_counter() - start
        proba = clf.predict_proba([images[i] for i in dev_idx])
        record = {"size": size, "seed": seed, "epochs": args.epochs, **options, **scores(proba, y[dev_idx]),
                  "seconds": round(seconds, 1)}
        np.save(npy_path(args.work, record), proba)
        print(json.dumps(record), flush=True)
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")

    runs = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
    dev_names = [paths[i].stem for i in dev_idx]
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        groups.setdefault((run["size"], run["epochs"], config_name(run)), []).append(run)
    table = []
    for (size, epochs, tag), members in sorted(groups.items()):
        members = sorted(members, key=lambda r: r["seed"])
        probas = [np.load(npy_path(args.work, r)) for r in members]
        single = [scores(p, y[dev_idx]) for p in probas]
        common = {"image_size": size, "epochs": epochs, "options": tag or "default",
                  "seeds": [r["seed"] for r in members],
                  "seconds_per_network": float(np.mean([r["seconds"] for r in members]))}
        # Which development images each network gets wrong: the same few hard images for every seed means
        # more networks cannot fix them; different images per seed is what averaging can correct.
        wrong = {str(r["seed"]): [dev_names[i] for i in np.flatnonzero(p.argmax(1) != y[dev_idx])]
                 for r, p in zip(members, probas)}
        table.append({**common, "networks": 1, "dev_wrong_images_per_seed": wrong,
                      "dev_errors_mean": float(np.mean([s["dev_errors"] for s in single])),
                      "dev_log_loss_mean": float(np.mean([s["dev_log_loss"] for s in single])),
                      "dev_log_loss_tempered_mean": float(np.mean([s["dev_log_loss_tempered"] for s in single]))})
        # Ensembles of k networks: scores averaged over every k of the seeds run, so that the choice of
        # ensemble size does not hang on which seeds happen to be combined.
        for k in range(2, len(probas) + 1):
            subsets = [scores(np.mean([probas[i] for i in c], axis=0), y[dev_idx])
                       for c in itertools.combinations(range(len(probas)), k)]
            row = {}
            if k == len(probas):  # the one ensemble of all seeds: the images it still gets wrong
                mean = np.mean(probas, axis=0)
                row["dev_wrong_images"] = [dev_names[i] for i in np.flatnonzero(mean.argmax(1) != y[dev_idx])]
            table.append({**common, "networks": k, "subsets": len(subsets), **row,
                          **{f"{key}_mean": float(np.mean([s[key] for s in subsets]))
                             for key in ("dev_errors", "dev_log_loss", "dev_log_loss_tempered")}})
    result = {
        "purpose": "choose the configuration of benchmarks/neu_defects.py on training images only",
        "protocol": {"outer_split": "neu_defects.py stratified 80/20, seed 0 (its 360 test images never read)",
                     "inner_split": f"stratified 80/20 of the 1440 training images, seed 1: {len(fit_idx)} fit, "
                                    f"{len(dev_idx)} development",
                     "model": "MicroResNet (width 24 unless the run says otherwise), no early stop "
                              "(patience = epochs), 8-fold TTA",
                     "criterion": "development log loss; errors as a check"},
        "runs": runs,
        "table": table,
        "machine_cores": os.cpu_count(),
        "threads": args.threads,
    }
    previous = json.loads(args.out.read_text()).get("note", "") if args.out.exists() else ""
    note = " ".join(part for part in (previous, args.note) if part)
    if note:
        result["note"] = note
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'size':>6}{'epochs':>8}{'options':>14}{'networks':>10}{'dev errors':>12}{'dev log loss':>14}"
          f"{'tempered':>10}{'s/network':>11}")
    for row in table:
        print(f"{row['image_size']:>6}{row['epochs']:>8}{row['options']:>14}{row['networks']:>10}"
              f"{row['dev_errors_mean']:>12.1f}{row['dev_log_loss_mean']:>14.4f}"
              f"{row['dev_log_loss_tempered_mean']:>10.4f}{row['seconds_per_network']:>11.0f}")
    print(f"of {len(dev_idx)} development images; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
