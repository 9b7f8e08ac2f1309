"""Does `--budget` hold? `matforge train`'s fit time against the budget asked for, on real tables.

Each run is `matforge.learn.train` with the default pipeline (nested grouped 5-fold CV, seed 0) on one table and
one budget. Reported per run: the seconds `AutoModel.fit` took (featurizing, the nested CV and the final fit:
what the budget covers), that time over the budget, the wall time of the whole command (reading, checks, report
included), the plan (`metrics.json` → `protocol.repeat_plan`: inner-CV repeats and how many models each stage
evaluates whatever the deadline), the models no stage reached, the best model and the headline score.

Tables (from the shared data folder, MANIFEST.md in each):
- matbench_steels: 312 steel compositions, yield strength (MPa), MAE.
- polymer_tg_800: 800 rows (seed 0) of PolyMetriX' polymer Tg table, PSMILES -> Tg (K), MAE; 742 feature
  columns, the wide-table case.
- matbench_expt_gap: 4,604 compositions, experimental band gap (eV), MAE; zero-inflated (a gate per model).
- matbench_glass: 5,680 compositions, glass forming (bool), ROC-AUC.

Wall-clock figures depend on the machine and its load: compare runs of one invocation only.

    python benchmarks/budget.py [--data-dir ../shared/data] [--budgets 60,120] [--tables steels,polymer_tg_800]
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

TABLES = {
    "steels": ("matbench_steels/matbench_steels.csv", "yield strength", "mae"),
    "polymer_tg_800": ("polymer_tg_polymetrix/Polymer_Tg.csv", "Exp_Tg(K)", "mae"),
    "expt_gap": ("matbench_expt_gap/matbench_expt_gap.csv", "gap expt", "mae"),
    "glass": ("matbench_glass/matbench_glass.csv", "gfa", "roc_auc"),
}


def _table(data_dir: Path, name: str):
    import pandas as pd

    path, target, _ = TABLES[name]
    frame = pd.read_csv(data_dir / path)
    if name == "polymer_tg_800":
        return frame[["PSMILES", target]].sample(800, random_state=0).reset_index(drop=True)
    return frame.drop(columns=[c for c in frame.columns if c.startswith("Unnamed")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--budgets", default="60,120", help="comma-separated seconds")
    parser.add_argument("--tables", default=",".join(TABLES), help=f"comma-separated, from {', '.join(TABLES)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "budget.json"))
    args = parser.parse_args()

    import pandas as pd

    from matforge.learn import load_run, train, unreached_models

    budgets = [float(b) for b in args.budgets.split(",") if b]
    tables = [t for t in args.tables.split(",") if t]
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        parser.error(f"unknown tables {unknown}; choose from {sorted(TABLES)}")
    commit = os.popen(f"git -C {ROOT} describe --always --dirty 2>/dev/null").read().strip() or None  # "-dirty": uncommitted changes ran
    results = {
        "protocol": {"cv": "nested grouped 5-fold, default models and preset (matforge train)", "seed": args.seed, "budgets": budgets, "data_dir": args.data_dir, "cores": os.cpu_count(), "machine": platform.platform(), "commit": commit},
        "runs": [],
    }  # fmt: skip
    for name in tables:
        frame = _table(Path(args.data_dir), name)
        target, metric = TABLES[name][1], TABLES[name][2]
        for budget in budgets:
            start = time.time()
            with tempfile.TemporaryDirectory() as tmp:
                run = load_run(train(frame, target, Path(tmp) / name, budget=budget, seed=args.seed))
                board = pd.read_csv(run.path / "leaderboard.csv")
            wall = time.time() - start
            m = run.metrics
            results["runs"].append({
                "table": name, "rows": m["n_samples"], "budget": budget, "fit_seconds": round(m["fit_seconds"], 1), "fit_over_budget": round(m["fit_seconds"] / budget, 2),
                "wall_seconds": round(wall, 1), "plan": m["protocol"].get("repeat_plan"), "inner_repeats": m["protocol"]["inner_repeats"], "models": m["models_tried"],
                "unreached": unreached_models(board), "best_model": m["best_model"], "metric": metric, "score": m["cv"][metric],
            })  # fmt: skip
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(results, indent=2) + "\n")  # after every run: a partial table survives
    print(f"{'table':16s} {'rows':>5s} {'budget':>7s} {'fit s':>7s} {'fit/budget':>10s} {'wall s':>7s} {'repeats':>7s} {'floor':>5s} {'score':>16s}  best model; not reached")
    for r in results["runs"]:
        floor = r["plan"]["floor_models"] if r["plan"] else "-"
        score = f"{r['metric']} {r['score']['mean']:.4g}"
        print(f"{r['table']:16s} {r['rows']:5d} {r['budget']:7.0f} {r['fit_seconds']:7.1f} {r['fit_over_budget']:10.2f} {r['wall_seconds']:7.1f} {r['inner_repeats']:7d} {floor!s:>5s} {score:>16s}  {r['best_model']}; {', '.join(r['unreached']) or '-'}")


if __name__ == "__main__":
    main()
