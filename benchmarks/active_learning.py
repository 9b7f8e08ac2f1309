"""Simulated discovery: how many experiments each suggestion strategy needs to find the best materials.

Protocol (Rohr et al., Chem. Sci. 11, 2696 (2020) style "acceleration factor"): every compound of the dataset
is a possible experiment whose outcome is hidden. Start from a random 5 % (one draw per seed, 10 seeds); each
round fit a fast surrogate (extra-trees on Magpie features computed once; its mean and its own spread, as a
trained run computes them for a forest member),
ask `matforge.design.acquisition` + `select_batch` (the code behind `matforge suggest`) for a batch, reveal it.
Stop when every compound of the top set (expt_gap: top 1 % band gaps; steels: top 5 yield strengths) has been
measured. Random picking needs on average ``n0 + (m - t)(N - n0 + 1)/(m - t + 1)`` experiments (t of the m top
compounds in the start set), rounded up to whole batches; acceleration = random / strategy, per seed.

    .venv/bin/python benchmarks/active_learning.py [--data-dir ../shared/data] [--seeds 10]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASETS = {
    # name: (folder/file, formula column, target column, top set size (None: 1 %), batch size)
    "expt_gap": ("matbench_expt_gap/matbench_expt_gap.csv", "composition", "gap expt", None, 46),
    "steels": ("matbench_steels/matbench_steels.csv", "composition", "yield strength", 5, 5),
}
STRATEGIES = ("greedy", "ucb", "ei", "pi", "max-uncertainty")


def featurize(formulas: list[str]) -> np.ndarray:
    from matforge.features import CompositionFeatures

    X = np.asarray(CompositionFeatures("magpie").fit_transform(formulas), dtype=float)
    # a feature undefined for a compound (e.g. no common oxidation state) takes the column median
    return np.where(np.isnan(X), np.nan_to_num(np.nanmedian(X, axis=0))[None, :], X)


def surrogate(X: np.ndarray, y: np.ndarray, seed: int):
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(n_estimators=40, max_features=0.3, min_samples_leaf=1, n_jobs=2, random_state=seed).fit(X, y)


def predict(model, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The forest's prediction and its own standard deviation, as a trained run computes it for one forest
    member (`prediction_variance`; with one-row leaves the spread of the trees' predictions, plus the
    spread of the targets sharing a leaf where compounds share a feature vector)."""
    from matforge.learn._uncertainty import prediction_variance

    return model.predict(X), np.sqrt(prediction_variance(model, X))


def random_expected(n: int, n0: int, m: int, found0: int, batch: int) -> float:
    left = m - found0
    if left == 0:
        return float(n0)
    draws = left * (n - n0 + 1) / (left + 1)
    return n0 + math.ceil(draws / batch) * batch


def campaign(X, Z, y, top: set[int], start: np.ndarray, strategy: str, batch: int, seed: int, diversity: float, cap: int) -> dict:
    from matforge.design import acquisition, select_batch

    measured = list(start)
    found = [len(top & set(measured))]
    half = None
    rounds = 0
    while len(top & set(measured)) < len(top) and len(measured) < cap:
        rest = np.setdiff1d(np.arange(len(y)), measured)
        model = surrogate(X[measured], y[measured], seed + rounds)
        mean, std = predict(model, X[rest])
        values = acquisition(mean, std, float(np.max(y[measured])), strategy, "max", kappa=2.0)
        picks = rest[select_batch(values, Z[rest], min(batch, len(rest)), diversity=diversity)]
        measured += picks.tolist()
        rounds += 1
        hits = len(top & set(measured))
        found.append(hits)
        if half is None and hits >= math.ceil(len(top) / 2):
            half = len(measured)
    complete = len(top & set(measured)) == len(top)
    # a campaign stopped at the cap has not found everything: its count is a lower bound (acceleration an upper one)
    return {"experiments": len(measured), "found_all": complete, "found": len(top & set(measured)), "half": half if half is not None else (len(start) if found[0] >= math.ceil(len(top) / 2) else None), "rounds": rounds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--diversity", type=float, default=0.0, help="batch spread of select_batch (0: plain top-K)")
    parser.add_argument("--max-fraction", type=float, default=0.35, help="stop a campaign after this fraction of the dataset was measured")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "active_learning.json"))
    args = parser.parse_args(argv)
    started = time.time()
    results: dict = {}
    for name in args.datasets.split(","):
        path, formula_col, target, m, batch = DATASETS[name]
        frame = pd.read_csv(Path(args.data_dir) / path)
        y = frame[target].to_numpy(dtype=float)
        t0 = time.time()
        X = featurize(frame[formula_col].tolist())
        Z = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        featurize_s = time.time() - t0
        n = len(y)
        m = m or math.ceil(0.01 * n)
        top = set(np.argsort(-y, kind="stable")[:m].tolist())
        n0 = math.ceil(0.05 * n)
        per: dict = {s: [] for s in args.strategies.split(",")}
        baseline = []
        for seed in range(args.seeds):
            start = np.random.default_rng(seed).choice(n, n0, replace=False)
            expected = random_expected(n, n0, m, len(top & set(start.tolist())), batch)
            baseline.append(expected)
            for strategy in per:
                t1 = time.time()
                result = campaign(X, Z, y, top, start, strategy, batch, seed, args.diversity, max(n0 + batch, math.ceil(args.max_fraction * n)))
                result.update(seed=seed, random_expected=expected, seconds=round(time.time() - t1, 2), acceleration=expected / result["experiments"])
                per[strategy].append(result)
                print(f"{name:9s} seed {seed} {strategy:16s} {result['experiments']:5d} experiments{'' if result['found_all'] else ' (cap, not all found)'} (random ≈ {expected:.0f}) ×{result['acceleration']:.2f}  {result['seconds']:.1f}s", file=sys.stderr, flush=True)
        summary = {}
        for strategy, runs in per.items():
            acc = np.array([r["acceleration"] for r in runs])
            exp = np.array([r["experiments"] for r in runs])
            summary[strategy] = {
                "acceleration": float(acc.mean()), "acceleration_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                "acceleration_min": float(acc.min()), "acceleration_max": float(acc.max()),
                "experiments_mean": float(exp.mean()), "experiments_std": float(exp.std(ddof=1)) if len(exp) > 1 else 0.0,
                "found_all_runs": int(sum(r["found_all"] for r in runs)),
                "experiments_to_half_mean": float(np.mean([r["half"] for r in runs if r["half"] is not None])) if any(r["half"] is not None for r in runs) else None, "runs": runs,
            }  # fmt: skip
        summary["random"] = {"acceleration": 1.0, "experiments_mean": float(np.mean(baseline)), "experiments_std": float(np.std(baseline, ddof=1)) if len(baseline) > 1 else 0.0, "note": "analytic expectation of random picking from the same start sets"}
        summary["_protocol"] = {"n_compounds": n, "top_set": m, "start": n0, "batch": batch, "seeds": args.seeds, "target": target, "data": str(Path(args.data_dir) / path), "featurize_seconds": round(featurize_s, 1), "surrogate": "ExtraTreesRegressor(n_estimators=40, max_features=0.3), mean ± std over trees, Magpie features", "ucb_kappa": 2.0, "diversity": args.diversity, "cap_fraction": args.max_fraction,
                                "metric": "experiments (start set included) until every compound of the top set is measured; acceleration = analytic random expectation / experiments, per seed; capped runs give an upper bound"}
        results[name] = summary
    results["_machine"] = {"cores": os.cpu_count(), "python": platform.python_version(), "wall_seconds": round(time.time() - started, 1), "load_average": os.getloadavg()}
    print(f"\n{'dataset':10s} {'strategy':16s} {'experiments':>18s} {'acceleration (mean ± sd, min-max)':>36s}")
    for name, summary in results.items():
        if name.startswith("_"):
            continue
        for strategy, row in summary.items():
            if strategy.startswith("_"):
                continue
            acc = f"{row['acceleration']:.2f} ± {row.get('acceleration_std', 0):.2f} ({row.get('acceleration_min', 1):.2f}-{row.get('acceleration_max', 1):.2f})"
            done = f"  {row['found_all_runs']}/{len(row['runs'])} found all" if "runs" in row else ""
            print(f"{name:10s} {strategy:16s} {row['experiments_mean']:10.0f} ± {row['experiments_std']:5.0f} {acc:>36s}{done}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
