"""Choose the NEU classifier configuration without looking at the test images.

The benchmark's seed-0 stratified 80/20 split leaves 1440 training images; this script splits THEM again
(stratified 80/20, seed 1) into 1152 fitting and 288 development images and compares image sizes and
ensembles by the development log loss (and errors). The 360 test images of `neu_defects.py` are never
read. Each configuration is a single MicroResNet (width 24, --epochs, no early stop) per SIZE:SEED;
ensembles are scored by averaging the saved development probabilities of all seeds of one size and epochs,
exactly what `MicrographClassifier(ensemble=K)` does. Files are kept per size, seed and epochs in --work.

    .venv/bin/python benchmarks/neu_defects_select.py 96:0 128:0 96:1 96:2 128:1 [--work runs/neu_select]
    .venv/bin/python benchmarks/neu_defects_select.py --work runs/neu_select      # only summarize

Writes benchmarks/results/neu_defects_selection.json.
"""

from __future__ import annotations

import argparse
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


def scores(proba: np.ndarray, y: np.ndarray) -> dict:
    return {"dev_errors": int((proba.argmax(1) != y).sum()),
            "dev_accuracy": float((proba.argmax(1) == y).mean()),
            "dev_log_loss": float(-np.log(proba[np.arange(len(y)), y] + 1e-12).mean())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("configs", nargs="*", help="SIZE:SEED to train, e.g. 96:0")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "neu_select")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--note", default="", help="free text stored in the JSON (e.g. how the runs were made)")
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
        clf = MicrographClassifier(image_size=size, width=24, epochs=args.epochs, patience=args.epochs, seed=seed)
        clf.fit([images[i] for i in fit_idx], np.asarray(classes)[y[fit_idx]])
        seconds = time.perf_counter() - start
        proba = clf.predict_proba([images[i] for i in dev_idx])
        np.save(args.work / f"dev_{size}_{seed}_{args.epochs}.npy", proba)
        record = {"size": size, "seed": seed, "epochs": args.epochs, **scores(proba, y[dev_idx]),
                  "seconds": round(seconds, 1)}
        print(json.dumps(record), flush=True)
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")

    runs = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
    groups: dict[tuple[int, int], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["size"], run["epochs"]), []).append(run)
    table = []
    for (size, epochs), members in sorted(groups.items()):
        members = sorted(members, key=lambda r: r["seed"])
        probas = [np.load(args.work / f"dev_{size}_{r['seed']}_{epochs}.npy") for r in members]
        single = [scores(p, y[dev_idx]) for p in probas]
        table.append({"image_size": size, "epochs": epochs, "networks": 1, "seeds": [r["seed"] for r in members],
                      "dev_errors_mean": float(np.mean([s["dev_errors"] for s in single])),
                      "dev_log_loss_mean": float(np.mean([s["dev_log_loss"] for s in single])),
                      "seconds_per_network": float(np.mean([r["seconds"] for r in members]))})
        if len(probas) > 1:
            ensemble = scores(np.mean(probas, axis=0), y[dev_idx])
            table.append({"image_size": size, "epochs": epochs, "networks": len(probas),
                          "seeds": [r["seed"] for r in members],
                          "dev_errors_mean": float(ensemble["dev_errors"]),
                          "dev_log_loss_mean": ensemble["dev_log_loss"],
                          "seconds_per_network": float(np.mean([r["seconds"] for r in members]))})
    result = {
        "purpose": "choose the configuration of benchmarks/neu_defects.py on training images only",
        "protocol": {"outer_split": "neu_defects.py stratified 80/20, seed 0 (its 360 test images never read)",
                     "inner_split": f"stratified 80/20 of the 1440 training images, seed 1: {len(fit_idx)} fit, "
                                    f"{len(dev_idx)} development",
                     "model": "MicroResNet width 24, no early stop (patience = epochs), 8-fold TTA",
                     "criterion": "development log loss; errors as a check"},
        "runs": runs,
        "table": table,
        "machine_cores": os.cpu_count(),
        "threads": args.threads,
        **({"note": args.note} if args.note else {}),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'size':>6}{'epochs':>8}{'networks':>10}{'dev errors':>12}{'dev log loss':>14}{'s/network':>11}")
    for row in table:
        print(f"{row['image_size']:>6}{row['epochs']:>8}{row['networks']:>10}{row['dev_errors_mean']:>12.1f}"
              f"{row['dev_log_loss_mean']:>14.4f}{row['seconds_per_network']:>11.0f}")
    print(f"of {len(dev_idx)} development images; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
