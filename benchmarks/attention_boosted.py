"""The attention model alone and with LightGBM fitted to its residuals: MatBench mp_e_form, official v0.1 folds.

Per fold: `CompositionAttention` with the library defaults (24,000 steps, seed 0, one thread) on the fold's
training rows (target standardized with their mean and standard deviation, as AutoModel does), then LightGBM
(L1 objective, learning rate 0.05, 80 % rows and 50 % columns per tree, seed 0, one thread; 2,000 trees of 255
leaves on the `magpie_extended` features and the network's prediction since 2026-12-04, before that 1,000 trees
of 63 leaves on the features alone), fitted to the network's residuals on the training rows. Test MAE of the
network, of network + trees and of network + half the trees; the network's training MAE. No search, no
duplicate merge: the models alone, built as the default `composition_attention_boosted` (whose search also tries
0 / 1,000 / 4,000 trees and 63 / 127 / 511 leaves, and the attention model's own settings), only its time bound
lifted.

With ``--networks DIR`` the networks are not trained here: each fold's predictions are read from
``DIR/fold{k}.npz`` as written by ``benchmarks/attention_gpu.py fit`` (a larger network trained on a GPU), and
only the trees are fitted, the same booster to those networks' residuals.

With ``--merge-duplicates`` both models train on the fold's training rows merged as `prepare_dataset` merges
them when asked (``aggregate_duplicates=True``; the default up to 50,000 rows): one row per composition with the
median target, weighted by the rows it replaces; the test rows are scored one by one as always.

Usage: ``python benchmarks/attention_boosted.py [--folds 0,1,2,3,4] [--data-dir ../shared/data]
[--networks DIR | --merge-duplicates] [--results PATH]`` (10-40 min per fold on one CPU thread; 2-3 min with ``--networks``).
Writes ``benchmarks/results/attention_boosted.json`` (rows merged by fold), or PATH.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "attention_boosted.json"
TASK = "matbench_mp_e_form"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--folds", default="0,1,2,3,4")
    parser.add_argument("--networks", type=Path, default=None, help="folder of fold{k}.npz from attention_gpu.py fit")
    parser.add_argument("--merge-duplicates", action="store_true", help="train on the merged training rows")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    # the same rows and folds as attention_steps.py (a script's own folder is on sys.path)
    import torch
    from attention_steps import load_with_features

    from matforge.chem import ELEMENT_SYMBOLS
    from matforge.models import MODELS

    torch.set_num_threads(1)
    loaded = load_with_features(args.data_dir)
    if loaded is None:
        return 2
    table, folds, X, F, y = loaded
    spec = MODELS["composition_attention_boosted"]
    both = np.hstack([X, F])  # the 118 fractions, then the main features: spec.columns' order
    rows = json.loads(args.results.read_text())["results"] if args.results.exists() else []
    for k in [int(f) for f in args.folds.split(",")]:
        train, test = folds != k, folds == k
        mean, std = y[train].mean(), y[train].std()
        start = time.perf_counter()
        model = spec.build("regression", spec.defaults, seed=0).set_params(base__max_time=1e9, base__device="cpu")
        extra = {}
        if args.merge_duplicates:
            from matforge.data._dataset import prepare_dataset

            merged = prepare_dataset(table[train].reset_index(drop=True), "target", task="regression", formula_cols="formula", aggregate_duplicates=True)
            rows_used = np.flatnonzero(train)[merged.row_ids]  # each merged row's first original row
            mean, std = merged.y.mean(), merged.y.std(ddof=0)  # standardized as the merged rows AutoModel is given
            model.fit(both[rows_used], (merged.y.to_numpy(dtype=float) - mean) / std, sample_weight=merged.weights)
            network = model.base_.predict(X) * std + mean
            booster = model.booster_
            extra = {"merged_training_rows": int(len(rows_used))}
        elif args.networks is None:
            model.fit(both[train], (y[train] - mean) / std)
            network = model.base_.predict(X) * std + mean
            booster = model.booster_
        else:  # the network was trained elsewhere on the same rows and standardization: fit only the trees
            saved = np.load(args.networks / f"fold{k}.npz")
            assert np.isclose(float(saved["target_mean"]), mean, atol=1e-5) and np.isclose(float(saved["target_std"]), std, atol=1e-5), "another fold's network"
            network = saved["prediction"].astype(float)
            rest = model.booster_input(both[train, len(ELEMENT_SYMBOLS) :], (network[train] - mean) / std)
            booster = clone(model.booster).fit(rest, (y[train] - network[train]) / std)
            extra = {"network": json.loads(str(saved["settings"]))}
        seconds = time.perf_counter() - start
        residual = y - network
        correction = booster.predict(model.booster_input(both[test, len(ELEMENT_SYMBOLS) :], (network[test] - mean) / std)) * std
        row = {"fold": k, "attention_mae": round(float(np.abs(residual[test]).mean()), 5), "attention_train_mae": round(float(np.abs(residual[train]).mean()), 5),
               "boosted_mae": round(float(np.abs(residual[test] - correction).mean()), 5), "half_boosted_mae": round(float(np.abs(residual[test] - 0.5 * correction).mean()), 5),
               "fit_seconds": round(seconds), **extra}  # fmt: skip
        print(json.dumps(row), flush=True)
        rows = sorted([r for r in rows if r["fold"] != k] + [row], key=lambda r: r["fold"])
        summary = {key: round(float(np.mean([r[key] for r in rows])), 5) for key in ("attention_mae", "boosted_mae", "half_boosted_mae")}
        paragraphs = __doc__.split("\n\n")
        protocol = " ".join([paragraphs[1]] + ([paragraphs[2]] if args.networks else []) + ([paragraphs[3]] if args.merge_duplicates else [])).replace("\n", " ")
        out = {"task": TASK, "protocol": protocol, "unit": "eV/atom", "mean_over_folds": summary, "results": rows}
        tmp = args.results.with_name(args.results.name + ".part")
        tmp.write_text(json.dumps(out, indent=1) + "\n")
        tmp.replace(args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
