"""TabM beside a residual MLP and extra trees, and TabM averaged with the trees: MatBench glass (and steels), official v0.1 folds, no search.

Per fold, on the fold's training rows only: the composition features (`magpie_wide` for glass, the 410 columns
the default pipeline's `auto` preset picks there; `magpie_extended` for steels), then three models built as the
library builds them (`build_pipeline`: imputation, standardization, for regression a standardized target):
`tabm` with its registry defaults (k = 32 members, 2 blocks of 256, piecewise-linear embeddings on 48 quantile
bins, 16 wide; AdamW 2e-3, weight decay 3e-4; early stopping on a 10 % validation split), `deep_mlp` (the
residual MLP) with its registry defaults, and extra trees (500 trees, `max_features` 0.3 for glass as in
docs/benchmark.md's glass experiments, 0.7 for steels). Scores on the fold's test rows: ROC-AUC (glass) or MAE
(steels) of each model and of TabM averaged with the trees (for glass the average of the two models' ranks of
the test rows, for steels of their predictions). Seed 0, torch and the trees on ``--threads`` threads (default 2).

Usage: ``python benchmarks/tabm_vs_trees.py [--tasks glass,steels] [--folds 0,1,2,3,4] [--data-dir ../shared/data]
[--results PATH]`` (glass: about 5-10 min a fold on 2 cores). Writes ``benchmarks/results/tabm_vs_trees.json``
(rows merged by task and fold, so an interrupted run resumes by naming the folds left), or PATH.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "tabm_vs_trees.json"
SETTINGS = {"glass": ("gfa", "magpie_wide", "classification", 0.3), "steels": ("yield strength", "magpie_extended", "regression", 0.7)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--tasks", default="glass")
    parser.add_argument("--folds", default="0,1,2,3,4")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import pandas as pd
    import torch
    from scipy.stats import rankdata
    from sklearn.metrics import roc_auc_score

    from matforge.features._table import TableFeaturizer
    from matforge.learn import build_pipeline
    from matforge.models import MODELS

    torch.set_num_threads(args.threads)
    rows = json.loads(args.results.read_text())["results"] if args.results.exists() else []
    for task in args.tasks.split(","):
        target, preset, kind, max_features = SETTINGS[task]
        folder = args.data_dir / f"matbench_{task}"
        if not folder.is_dir():
            print(f"error: {folder} not found; pass --data-dir (the shared MatBench folders)")
            return 2
        table = pd.read_csv(folder / f"matbench_{task}.csv")
        folds = pd.read_csv(folder / "folds_matbench_v0.1.csv")["test_fold"].to_numpy()
        formulas = table[["composition"]].rename(columns={"composition": "formula"})
        y = table[target].to_numpy()
        y = y.astype(float) if kind == "regression" else y.astype(bool)
        for k in [int(f) for f in args.folds.split(",")]:
            train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            featurizer = TableFeaturizer(["formula"], [], [], presets=(preset,)).fit(formulas.iloc[train])
            F = featurizer.transform(formulas)
            row = {"task": task, "fold": k, "preset": preset}
            predictions = {}
            for name, params in (("tabm", MODELS["tabm"].defaults), ("deep_mlp", MODELS["deep_mlp"].defaults), ("extra_trees", {**MODELS["extra_trees"].defaults, "n_estimators": 500, "max_features": max_features})):
                spec = MODELS[name]
                pipeline = build_pipeline(spec, kind, params, columns=spec.columns(featurizer.feature_sets_), categorical=[], seed=0, n_jobs=args.threads)
                start = time.perf_counter()
                pipeline.fit(F.iloc[train], y[train])
                row[f"{name}_seconds"] = round(time.perf_counter() - start, 1)
                predictions[name] = pipeline.predict_proba(F.iloc[test])[:, 1] if kind == "classification" else pipeline.predict(F.iloc[test])
            if kind == "classification":
                predictions["average"] = rankdata(predictions["tabm"]) + rankdata(predictions["extra_trees"])
                row.update({f"{name}_roc_auc": round(float(roc_auc_score(y[test], p)), 5) for name, p in predictions.items()})
            else:
                predictions["average"] = (predictions["tabm"] + predictions["extra_trees"]) / 2
                row.update({f"{name}_mae": round(float(np.abs(p - y[test]).mean()), 5) for name, p in predictions.items()})
            print(json.dumps(row), flush=True)
            rows = sorted([r for r in rows if (r["task"], r["fold"]) != (task, k)] + [row], key=lambda r: (r["task"], r["fold"]))
            summary = {}
            for t in sorted({r["task"] for r in rows}):
                mine = [r for r in rows if r["task"] == t]
                keys = [key for key in mine[0] if key.endswith(("_roc_auc", "_mae"))]
                summary[t] = {"folds": [r["fold"] for r in mine], **{key: round(float(np.mean([r[key] for r in mine])), 5) for key in keys}}
            out = {"protocol": __doc__.split("\n\n")[1].replace("\n", " "), "mean_over_folds": summary, "results": rows}
            tmp = args.results.with_name(args.results.name + ".part")
            tmp.write_text(json.dumps(out, indent=1) + "\n")
            tmp.replace(args.results)
    for t, s in summary.items():
        print(t, json.dumps(s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
