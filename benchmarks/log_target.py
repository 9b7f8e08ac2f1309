"""Regression on a log scale (`--log-target auto`) against the target's own scale (`no`), side by side.

Data: two MatBench v0.1 tasks whose targets are strictly positive with a long right tail, learned here from the
composition alone (the `formula` column; the structures are not read): matbench_jdft2d (636 exfoliation
energies, meV/atom, skewness 5.4) and matbench_phonons (1,265 last phonon-DOS peaks, cm^-1, skewness 2.8).
Not MatBench's composition leaderboard (these are structure tasks there); the point is the comparison.

Protocol: the official folds (folds_matbench_v0.1.csv); in fold k only the rows with test_fold != k reach
`AutoModel(evaluate=False)` (default models and preset, seed 0, `--budget` seconds and at most 40 trials per
model); test MAE per fold. The two settings run as two processes at the same time, so they share the machine
alike; the budget binds before the trial cap, so each figure carries the search's timing noise.

    python benchmarks/log_target.py [--data-dir ../shared/data] [--budget 120] [--tasks jdft2d,phonons]

Prints a table and writes benchmarks/results/log_target.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TASKS = {
    "jdft2d": ("matbench_jdft2d", "exfoliation_en", "meV/atom"),
    "phonons": ("matbench_phonons", "last phdos peak", "cm^-1"),
}


def run_setting(data_dir: str, task: str, log_target, budget: float, seed: int) -> dict:
    import pandas as pd

    from matforge.data import prepare_dataset
    from matforge.learn import AutoModel

    folder, target, _ = TASKS[task]
    frame = pd.read_csv(Path(data_dir) / folder / f"{folder}.csv", usecols=["formula", target])
    test_fold = pd.read_csv(Path(data_dir) / folder / "folds_matbench_v0.1.csv")["test_fold"].to_numpy()
    folds = []
    for k in range(5):
        start = time.monotonic()
        train = frame[test_fold != k].reset_index(drop=True)
        test = frame[test_fold == k].reset_index(drop=True)
        data = prepare_dataset(train, target, task="regression")
        model = AutoModel(
            task="regression", budget=budget, preset="auto", formula_cols=data.formula_cols, numeric_cols=data.numeric_cols,
            categorical_cols=data.categorical_cols, seed=seed, evaluate=False, ensemble=5, log_target=log_target,
        )  # fmt: skip
        model.fit(data.frame, data.y, data.groups, sample_weight=data.weights)
        predicted = model.predict(test[["formula"]])
        on_log, members = model.members_on_log_scale_, len(model.final_configurations_)
        folds.append({
            "fold": k, "mae": float(np.mean(np.abs(predicted - test[target].to_numpy(dtype=float)))), "log_target": model.log_target_,
            "members_on_log_scale": on_log, "members": members, "best_model": model.best_model_, "seconds": round(time.monotonic() - start, 1),
        })  # fmt: skip
        print(f"{task} log_target={log_target} fold {k}: MAE {folds[-1]['mae']:.2f} ({on_log}/{members} members on the log scale, {folds[-1]['seconds']:.0f} s)", flush=True)
    return {"task": task, "log_target": log_target, "mae": float(np.mean([f["mae"] for f in folds])), "folds": folds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", default="jdft2d,phonons")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "log_target.json"))
    args = parser.parse_args()
    tasks = [t for t in args.tasks.split(",") if t]
    start = time.monotonic()
    results = []
    with ProcessPoolExecutor(2) as pool:  # the two settings of a task side by side
        for task in tasks:
            jobs = [pool.submit(run_setting, args.data_dir, task, setting, args.budget, args.seed) for setting in ("auto", False)]
            results += [job.result() for job in jobs]
    print("\n| task | unit | --log-target no | --log-target auto | members on the log scale (auto) |\n|---|---|---|---|---|")
    for task in tasks:
        by = {r["log_target"]: r for r in results if r["task"] == task}
        on = sum(f["members_on_log_scale"] for f in by["auto"]["folds"]), sum(f["members"] for f in by["auto"]["folds"])
        print(f"| {task} | {TASKS[task][2]} | {by[False]['mae']:.2f} | {by['auto']['mae']:.2f} | {on[0]} of {on[1]} |")
    out = {
        "benchmark": __doc__.splitlines()[0], "protocol": " ".join(__doc__.split("\n\n")[1:3]).replace("\n", " "),
        "budget_per_fold_s": args.budget, "seed": args.seed, "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "wall_seconds": round(time.monotonic() - start), "results": results,
    }  # fmt: skip
    path = Path(args.out)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(out, indent=1) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    main()
