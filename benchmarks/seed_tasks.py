"""Seed tasks of the train workflow on real published data, with the default pipeline.

- Perovskite formability (Bartel et al., Sci. Adv. 2019, TableS1, 576 ABX3 solids): classify `exp_label` from
  the compositions and the authors' oxidation states and Shannon radii (their τ descriptor alone: ~92%).
  The paper's model outputs (t_pred, tau_pred, tau_prob) and the train/test flag are dropped.
- Steel yield strength (MatBench steels, 312 alloys): regression from composition.

Protocol: `matforge.learn.train` (nested, grouped 5-fold CV, seed 0) with the budget given; prints a table and
writes benchmarks/results/seed_tasks.json.

    python benchmarks/seed_tasks.py [--data-dir ../shared/data] [--budget 120]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TASKS = [
    ("perovskite_bartel2019", "perovskite_bartel2019/TableS1.csv", "exp_label", "t_pred,tau_pred,tau_prob,is_train", "accuracy", 0.94),
    ("matbench_steels", "matbench_steels/matbench_steels.csv", "yield strength", None, "mae", None),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "seed_tasks.json"))
    args = parser.parse_args()

    from matforge.learn import load_run, train

    results = {"protocol": {"cv": "nested grouped 5-fold; inner folds and repeats per task (tasks.*.protocol, from the run's metrics.json); default models and preset; members as AutoModel picks them (greedy ensemble selection; regression up to 1,000 rows: equal average of the best model's configurations within 2 SE of the best)", "seed": args.seed, "budget_seconds_per_task": args.budget, "data_dir": args.data_dir, "cores": os.cpu_count(), "machine": platform.platform()}, "tasks": {}}
    for name, path, target, drop, metric, goal in TASKS:
        start = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            run = load_run(train(Path(args.data_dir) / path, target, Path(tmp) / name, drop=drop, budget=args.budget, seed=args.seed))
        results["tasks"][name] = {
            "target": target, "task": run.metrics["task"], "n_samples": run.metrics["n_samples"], "best_model": run.metrics["best_model"],
            "protocol": run.metrics["protocol"], "cv": run.metrics["cv"], "headline_metric": metric, "goal": goal, "wall_seconds": round(time.time() - start, 1),
        }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'task':24s} {'metric':10s} {'mean':>10s} {'std':>8s} {'goal':>6s}  best model")
    for name, r in results["tasks"].items():
        m = r["cv"][r["headline_metric"]]
        print(f"{name:24s} {r['headline_metric']:10s} {m['mean']:10.4f} {m['std']:8.4f} {str(r['goal'] or '-'):>6s}  {r['best_model']}")


if __name__ == "__main__":
    main()
