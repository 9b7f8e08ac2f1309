"""Are matforge's 90 % prediction intervals honest? Coverage on out-of-fold targets, measured.

Trains `matforge.learn.train` (nested grouped CV, the demo's four models, a modest budget) on the shared Matbench
steels and expt_gap tables, then reads the out-of-fold predictions of each run: every row's residual is
compared with the interval the run would have given it with quantiles calibrated on the *other* outer
folds (cross-conformal), at every nominal level. Target: the 90 % intervals cover 85-95 % of the rows.

    python benchmarks/calibration.py [--data-dir ../shared/data] [--budget-steels 60] [--budget-gap 240] [--models default]

Prints a table and writes benchmarks/results/calibration.json (protocol, machine, wall time, curves, the mean
width and interval score of the 90 % intervals).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TASKS = {
    "steels": ("matbench_steels/matbench_steels.csv", "yield strength", "MPa"),
    "expt_gap": ("matbench_expt_gap/matbench_expt_gap.csv", "gap expt", "eV"),
}


def measure(name: str, data_dir: Path, budget: float, seed: int, cv: int, work: Path, models: str | None) -> dict:
    from matforge.data import read_table
    from matforge.learn import train
    from matforge.report import coverage_curve, miscalibration_area

    relative, target, unit = TASKS[name]
    frame = read_table(data_dir / relative)
    frame = frame.drop(columns=[c for c in frame.columns if str(c).startswith("Unnamed") or str(c) == ""])
    start = time.perf_counter()
    run = train(frame, target, work / name, budget=budget, seed=seed, cv=cv, models=models)
    wall = time.perf_counter() - start
    metrics = json.loads((run / "metrics.json").read_text())
    oof = pd.read_csv(run / "oof_predictions.csv")
    curve = coverage_curve(oof)
    at90 = curve.loc[np.isclose(curve["nominal"], 0.9)].iloc[0]
    half = np.abs(oof["y_true"] - oof["y_pred"])
    width, score = interval_widths(oof)
    return {
        "data": str(data_dir / relative), "target": target, "unit": unit, "rows": int(metrics["n_samples"]),
        "budget_seconds": budget, "train_wall_seconds": round(wall, 1), "best_model": metrics["best_model"], "protocol": metrics["protocol"],
        "cv_mae": metrics["cv"]["mae"]["mean"], "coverage_90": float(at90["conformal"]),
        "coverage_90_gaussian_reading": float(at90["gaussian"]),
        "cv_coverage_90_from_metrics": metrics["uncertainty"]["cv_coverage"],
        "miscalibration_area": miscalibration_area(curve), "miscalibration_area_gaussian": miscalibration_area(curve, "gaussian"),
        "median_abs_residual": float(np.median(half)), "median_uncertainty": float(np.median(oof["y_std"])),
        # how well the width follows the error: the mean width of the 90 % intervals, and their interval score
        # (lower is better; it rewards narrow intervals and charges misses)
        "mean_width_90": float(width.mean()), "interval_score_90": float(score.mean()),
        "within_target_85_95": bool(0.85 <= at90["conformal"] <= 0.95),
        "curve": curve.round(4).to_dict(orient="list"),
    }  # fmt: skip


def interval_widths(oof: pd.DataFrame, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cross-conformal interval width at `level` (quantile of |y - ŷ| / uncertainty from the other
    outer folds, times its own uncertainty) and its interval score (Gneiting & Raftery, JASA 102, 359 (2007):
    the width plus 2 / (1 - level) times the distance by which the interval misses the target)."""
    residual = np.abs(oof["y_true"] - oof["y_pred"]).to_numpy(float)
    std, folds = oof["y_std"].to_numpy(float), oof["fold"].to_numpy()
    z = residual / std
    width = np.zeros(len(z))
    for fold in np.unique(folds):
        held = folds == fold
        other = z[~held]
        width[held] = 2 * np.quantile(other, min(1.0, level * (1 + 1 / max(1, len(other))))) * std[held]
    return width, width + 2 / (1 - level) * np.maximum(residual - width / 2, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--budget-steels", type=float, default=60.0)
    parser.add_argument("--budget-gap", type=float, default=240.0)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", default="steels,expt_gap")
    parser.add_argument("--models", default="lightgbm,extra_trees,knn,ridge", help="comma-separated, or 'default' for train's default set")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "calibration.json")
    args = parser.parse_args()
    budgets = {"steels": args.budget_steels, "expt_gap": args.budget_gap}
    start = time.perf_counter()
    results = {}
    models = None if args.models == "default" else args.models
    # run folders go to benchmarks/cache (git-ignored), not /tmp, which other jobs on a shared machine clean
    work = ROOT / "benchmarks" / "cache" / "calibration"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        for name in args.tasks.split(","):
            results[name] = measure(name, args.data_dir, budgets[name], args.seed, args.cv, Path(tmp), models)
            print(f"{name}: 90 % coverage {results[name]['coverage_90']:.3f}", flush=True)
    print(f"{'task':10s} {'rows':>6s} {'model':40s} {'MAE':>9s} {'cover90':>8s} {'gauss90':>8s} {'mis.area':>8s} {'width90':>9s} {'IS90':>9s}")
    for name, r in results.items():
        print(
            f"{name:10s} {r['rows']:6d} {r['best_model'][:40]:40s} {r['cv_mae']:9.4g} {r['coverage_90']:8.3f} {r['coverage_90_gaussian_reading']:8.3f} "
            f"{r['miscalibration_area']:8.3f} {r['mean_width_90']:9.4g} {r['interval_score_90']:9.4g}"
        )  # fmt: skip
    payload = {
        "benchmark": "calibration of 90 % prediction intervals on out-of-fold targets",
        "protocol": {
            "cv": f"nested grouped {args.cv}-fold CV (matforge.learn.train; inner folds and repeats per task under results.*.protocol; greedy ensemble selection)", "folds": args.cv,
            "models": args.models, "budget_seconds": budgets,
            "seed": args.seed, "coverage": "cross-conformal: quantiles of |y-ŷ|/uncertainty from the other outer folds",
            "data_source": "/work/shared/data (Matbench v0.1 steels, expt_gap)",
        },
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "wall_seconds": round(time.perf_counter() - start, 1),
        "results": results,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
