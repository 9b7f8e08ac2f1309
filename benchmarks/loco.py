"""Interpolation vs. extrapolation: the same model scored by random 5-fold, composition-grouped 5-fold,
chemical-system 5-fold and leave-one-cluster-out CV (Meredig et al., Mol. Syst. Des. Eng. 3, 819 (2018)).

The model is fixed so the protocols alone differ: Magpie features → matforge's pipeline for a registry model
at its default configuration (no tuning; ``--models`` picks which). A dummy model that predicts the training
mean is scored on the same folds: under LOCO a model must beat it to show any extrapolation at all.

    .venv/bin/python benchmarks/loco.py [--data-dir ../shared/data] [--models extra_trees,lightgbm]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATASETS = {"expt_gap": ("matbench_expt_gap", "gap expt", "eV"), "steels": ("matbench_steels", "yield strength", "MPa")}
PROTOCOL_ORDER = ("kfold", "group", "chemsys", "loco")
FOLDS, SEED = 5, 0


def run_dataset(name: str, data_dir: Path, models: list[str]) -> dict:
    from matforge.data import prepare_dataset, read_table
    from matforge.explore import describe_clusters, per_group_errors
    from matforge.features._table import TableFeaturizer
    from matforge.learn import make_splits, protocol_groups, score_predictions
    from matforge.learn._pipeline import build_pipeline
    from matforge.models import get_model

    folder, target, unit = DATASETS[name]
    path = data_dir / folder / f"{folder}.csv"
    dataset = prepare_dataset(read_table(path), target)
    formulas = dataset.frame[dataset.formula_cols[0]].to_numpy(dtype=object)
    featurizer = TableFeaturizer(dataset.formula_cols, dataset.numeric_cols, dataset.categorical_cols, presets=("magpie",)).fit(dataset.frame)
    F = featurizer.transform(dataset.frame)
    y = dataset.y.to_numpy(dtype=float)
    out = {"data": str(path), "target": target, "unit": unit, "n_samples": len(y), "notes": dataset.notes, "protocols": {}}
    for protocol in PROTOCOL_ORDER:
        start = time.monotonic()
        splits = make_splits("regression", y, dataset.groups, FOLDS, SEED, protocol)
        labels = protocol_groups(protocol, dataset.groups, folds=FOLDS, seed=SEED)
        fold_of = np.empty(len(y), dtype=int)
        for k, (_, test) in enumerate(splits):
            fold_of[test] = k
        entry = {"folds": len(splits), "n_groups": int(len(np.unique(labels))), "test_sizes": [len(t) for _, t in splits], "models": {}}
        dummy = np.empty(len(y))
        for train, test in splits:
            dummy[test] = y[train].mean()
        for model in ["dummy_mean", *models]:
            pred = dummy
            if model != "dummy_mean":
                spec = get_model(model)
                pred = np.empty(len(y))
                for train, test in splits:
                    pipeline = build_pipeline(spec, "regression", dict(spec.defaults), columns=featurizer.feature_sets_["main"] + featurizer.feature_sets_["process"], categorical=dataset.categorical_cols, seed=SEED)
                    pred[test] = pipeline.fit(F.iloc[train], y[train]).predict(F.iloc[test])
            per_fold = [score_predictions("regression", y[test], pred[test]) for _, test in splits]
            entry["models"][model] = {
                "mae_mean": float(np.mean([s["mae"] for s in per_fold])),
                "mae_std": float(np.std([s["mae"] for s in per_fold])),
                "mae_pooled": float(np.mean(np.abs(pred - y))),
                "r2_pooled": float(score_predictions("regression", y, pred)["r2"]),
                "mae_folds": [float(s["mae"]) for s in per_fold],
            }
            if protocol == "loco" and model != "dummy_mean":
                errors = per_group_errors(pd.DataFrame({"y_true": y, "y_pred": pred, "fold": fold_of}))
                described = describe_clusters(fold_of, formulas)[0].set_index("cluster")
                for column in ("top_elements", "enriched_elements", "central_formula"):
                    errors[column] = described.loc[errors["group"], column].to_numpy()
                entry["models"][model]["per_cluster"] = errors.to_dict("records")
        entry["seconds"] = time.monotonic() - start
        out["protocols"][protocol] = entry
    return out


def main(argv: list[str] | None = None) -> int:
    from threadpoolctl import threadpool_limits

    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=root.parent / "shared" / "data")
    parser.add_argument("--datasets", default="steels,expt_gap")
    parser.add_argument("--models", default="extra_trees,lightgbm")
    parser.add_argument("--out", type=Path, default=root / "benchmarks" / "results" / "loco.json")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    start = time.monotonic()
    results = {}
    # one thread per process: on a shared 2-core machine OpenMP spin-waiting makes more threads slower
    with threadpool_limits(1):
        for name in [d for d in args.datasets.split(",") if d]:
            results[name] = run_dataset(name, args.data_dir, models)
    report = {
        "benchmark": "loco",
        "protocol": {
            "features": "magpie (145 composition features, matforge.features)",
            "models": {m: "matforge build_pipeline at the registry's default configuration, no tuning" for m in models} | {"dummy_mean": "training-fold mean"},
            "folds": FOLDS, "seed": SEED,
            "cv": {
                "kfold": "shuffled KFold(5)",
                "group": "GroupKFold(5) over reduced compositions",
                "chemsys": "GroupKFold(5) over chemical systems (element sets)",
                "loco": "leave-one-cluster-out: k-means (k=5, 10 restarts) on standardized Magpie features of each composition",
            },
            "data": "MatBench v0.1 via prepare_dataset (duplicate compositions merged to their median target)",
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "threads_per_process": 1},
            "wall_seconds": None,
        },
        "results": results,
    }  # fmt: skip
    report["protocol"]["wall_seconds"] = time.monotonic() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    _print_table(results, models)
    return 0


def _print_table(results: dict, models: list[str]) -> None:
    print(f"{'dataset':10s} {'model':12s} " + " ".join(f"{p:>17s}" for p in PROTOCOL_ORDER) + "  loco/kfold")
    for name, result in results.items():
        for model in ["dummy_mean", *models]:
            cells = [result["protocols"][p]["models"][model] for p in PROTOCOL_ORDER]
            ratio = cells[-1]["mae_mean"] / cells[0]["mae_mean"]
            print(f"{name:10s} {model:12s} " + " ".join(f"{c['mae_mean']:9.3f} ± {c['mae_std']:5.3f}" for c in cells) + f"  {ratio:9.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
