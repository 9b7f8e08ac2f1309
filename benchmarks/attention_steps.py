"""How many mini-batches the composition attention model needs at 10^5 rows: one fit alone per setting.

MatBench mp_e_form (composition only), official v0.1 fold 0: the model is fitted on the fold's 106,201
training rows (its own 10 % validation split for early stopping inside) and scored once on the 26,551 test
rows. Target standardized with the training rows' mean and standard deviation, as AutoModel does
(``scale_target``). Everything else is the library default; only ``max_steps`` and the seed change, unless
the size options are given. One thread, so that the seconds compare across rows of one run (on a shared
machine they still vary with load: the load average is recorded per row).

Usage: ``python benchmarks/attention_steps.py [--steps 15000,24000] [--seeds 0] [--fold 0]
[--device cuda] [--d-model 64] [--layers 2] [--batch-size 256]``. On a GPU (``--device cuda``; by default the
GPU when present, as for every matforge network) a larger model trained for more steps is what CrabNet does.
Writes ``benchmarks/results/attention_steps.json`` (rows merged by fold/steps/seed/device/size).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "attention_steps.json"
TASK = "matbench_mp_e_form"


def load_mp_e_form(data_dir: Path):
    """(table, official test fold of each row, element fractions as float32), or None after saying why."""
    import pandas as pd

    from matforge.chem import fraction_matrix

    folder = data_dir / TASK
    if not folder.is_dir():
        print(f"{folder}: not found; pass --data-dir (the folder holding {TASK}/)", file=sys.stderr)
        return None
    table = pd.read_csv(folder / f"{TASK}_composition.csv")
    folds = pd.read_csv(folder / "folds_matbench_v0.1.csv")["test_fold"].to_numpy()
    return table, folds, fraction_matrix(table["formula"].to_numpy()).astype(np.float32)


def load_with_features(data_dir: Path):
    """`load_mp_e_form`'s (table, folds, fractions) with the targets and the `magpie_extended` features (float32,
    what the boosted attention model's trees see), or None after saying why."""
    from matforge.features._table import TableFeaturizer

    loaded = load_mp_e_form(data_dir)
    if loaded is None:
        return None
    table, folds, X = loaded
    F = TableFeaturizer(["formula"], [], [], presets=("magpie_extended",)).fit(table[["formula"]]).transform(table[["formula"]])
    return table, folds, X, F.to_numpy(dtype=np.float32), table["target"].to_numpy(dtype=float)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--steps", default="15000,24000")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ...; default: the GPU when present")
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    import torch

    from matforge.models._attention import CompositionAttention
    from matforge.models._torch import pick_device

    torch.set_num_threads(args.threads)
    loaded = load_mp_e_form(args.data_dir)
    if loaded is None:
        return 2
    table, folds, X = loaded
    y = table["target"].to_numpy(dtype=np.float32)
    train, test = folds != args.fold, folds == args.fold
    mean, std = y[train].mean(), y[train].std()
    rows = json.loads(RESULTS.read_text())["results"] if RESULTS.exists() else []
    device = str(pick_device(args.device))
    size = {"d_model": args.d_model, "n_layers": args.layers, "batch_size": args.batch_size}

    def key(r):  # rows written before the size options were CPU runs of the defaults
        return (r["fold"], r["max_steps"], r["seed"], r.get("device", "cpu"), r.get("d_model", 64), r.get("n_layers", 2), r.get("batch_size", 256))
    for steps in [int(s) for s in args.steps.split(",")]:
        for seed in [int(s) for s in args.seeds.split(",")]:
            load = os.getloadavg()[0]
            start, cpu = time.perf_counter(), time.process_time()
            model = CompositionAttention(max_steps=steps, max_time=1e9, random_state=seed, device=device, **size).fit(X[train], (y[train] - mean) / std)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            mae = float(np.abs(model.predict(X[test]) * std + mean - y[test]).mean())
            row = {"fold": args.fold, "max_steps": steps, "seed": seed, "device": device, **size, "mae_ev_per_atom": round(mae, 5),
                   "steps_run": int(model.n_steps_), "epochs": int(model.n_epochs_), "fit_seconds": round(seconds, 1),
                   "cpu_seconds": round(cpu, 1), "ms_per_step": round(1000 * seconds / model.n_steps_, 1),
                   "load_average_1min_start_end": [round(load, 2), round(os.getloadavg()[0], 2)]}  # fmt: skip
            print(json.dumps(row), flush=True)
            rows = [r for r in rows if key(r) != key(row)] + [row]
    rows.sort(key=key)
    out = {"benchmark": "composition_attention alone, mp_e_form official fold, by max_steps",
           "protocol": {"data": f"{TASK}_composition.csv with folds_matbench_v0.1.csv (shared data, see its MANIFEST.md)",
                        "model": "CompositionAttention library defaults except max_steps, random_state and the size fields of a row; max_time off",
                        "target": "standardized with the training rows' mean/std", "threads": args.threads,
                        "machine_cores": os.cpu_count()},
           "versions": {"torch": torch.__version__}, "results": rows}  # fmt: skip
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1) + "\n")
    tmp.replace(RESULTS)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
