"""How many mini-batches the composition attention model needs at 10^5 rows: one fit alone per setting.

MatBench mp_e_form (composition only), official v0.1 fold 0: the model is fitted on the fold's 106,201
training rows (its own 10 % validation split for early stopping inside) and scored once on the 26,551 test
rows. Target standardized with the training rows' mean and standard deviation, as AutoModel does
(``scale_target``). Everything else is the library default; only ``max_steps`` and the seed change. One
thread, so that the seconds compare across rows of one run (on a shared machine they still vary with load:
the load average is recorded per row).

Usage: ``python benchmarks/attention_steps.py [--steps 15000,24000] [--seeds 0] [--fold 0]``.
Writes ``benchmarks/results/attention_steps.json`` (rows merged by steps/seed/fold).
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--steps", default="15000,24000")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import pandas as pd
    import torch

    from matforge.chem import fraction_matrix
    from matforge.models._attention import CompositionAttention

    torch.set_num_threads(args.threads)
    folder = args.data_dir / TASK
    if not folder.is_dir():
        print(f"{folder}: not found; pass --data-dir (the folder holding {TASK}/)", file=sys.stderr)
        return 2
    table = pd.read_csv(folder / f"{TASK}_composition.csv")
    folds = pd.read_csv(folder / "folds_matbench_v0.1.csv")["test_fold"].to_numpy()
    X = fraction_matrix(table["formula"].to_numpy()).astype(np.float32)
    y = table["target"].to_numpy(dtype=np.float32)
    train, test = folds != args.fold, folds == args.fold
    mean, std = y[train].mean(), y[train].std()
    rows = json.loads(RESULTS.read_text())["results"] if RESULTS.exists() else []
    for steps in [int(s) for s in args.steps.split(",")]:
        for seed in [int(s) for s in args.seeds.split(",")]:
            load = os.getloadavg()[0]
            start, cpu = time.perf_counter(), time.process_time()
            model = CompositionAttention(max_steps=steps, max_time=1e9, random_state=seed).fit(X[train], (y[train] - mean) / std)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            mae = float(np.abs(model.predict(X[test]) * std + mean - y[test]).mean())
            row = {"fold": args.fold, "max_steps": steps, "seed": seed, "mae_ev_per_atom": round(mae, 5),
                   "steps_run": int(model.n_steps_), "epochs": int(model.n_epochs_), "fit_seconds": round(seconds, 1),
                   "cpu_seconds": round(cpu, 1), "ms_per_step": round(1000 * seconds / model.n_steps_, 1),
                   "load_average_1min_start_end": [round(load, 2), round(os.getloadavg()[0], 2)]}  # fmt: skip
            print(json.dumps(row), flush=True)
            rows = [r for r in rows if (r["fold"], r["max_steps"], r["seed"]) != (args.fold, steps, seed)] + [row]
    rows.sort(key=lambda r: (r["fold"], r["max_steps"], r["seed"]))
    out = {"benchmark": "composition_attention alone, mp_e_form official fold, by max_steps",
           "protocol": {"data": f"{TASK}_composition.csv with folds_matbench_v0.1.csv (shared data, see its MANIFEST.md)",
                        "model": "CompositionAttention library defaults except max_steps and random_state; max_time off",
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
