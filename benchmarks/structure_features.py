"""Structure features by hand with matminer against matforge's, the same forest on both: MatBench phonons and
jdft2d, the 5 official folds.

What a user would assemble from matminer for a structure task: the Magpie statistics of each structure's
composition (``ElementProperty.from_preset("magpie")``), ``DensityFeatures``, ``GlobalSymmetryFeatures`` and
``SiteStatsFingerprint.from_preset("CrystalNNFingerprint_ops")`` (CrystalNN coordination and local order
parameters over the sites), each through ``featurize_dataframe`` with matminer's default multiprocessing on
all cores. matforge: ``featurize_structures(structures, ("magpie",))``, the same Magpie columns plus the 30
``StructureFeatures``, on one core. Both are then learned by one scikit-learn random forest (500 trees,
otherwise defaults, median imputation of missing values, ``random_state`` = `--seed`) on each official
training fold and scored by MAE on its test fold; the target as it is (no log scale), so that only the
features differ. Wall seconds of each featurization are recorded with the cores each used.

Features are cached under ``benchmarks/cache/structure_features/`` (matminer's take minutes); ``--fresh``
recomputes them. Writes ``benchmarks/results/structure_features.json``.

    python benchmarks/structure_features.py [--data-dir ../shared/data] [--tasks phonons,jdft2d] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from featurize_formulas import save_result  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "benchmarks" / "cache" / "structure_features"


def matminer_features(structures) -> tuple[np.ndarray, list[str], float]:
    import pandas as pd
    from matminer.featurizers.composition import ElementProperty
    from matminer.featurizers.structure import DensityFeatures, GlobalSymmetryFeatures, SiteStatsFingerprint

    frame = pd.DataFrame({"structure": structures})
    frame["composition"] = [s.composition for s in structures]
    start = time.perf_counter()
    blocks = []
    for featurizer, column in (
        (ElementProperty.from_preset("magpie"), "composition"), (DensityFeatures(), "structure"),
        (GlobalSymmetryFeatures(), "structure"), (SiteStatsFingerprint.from_preset("CrystalNNFingerprint_ops"), "structure"),
    ):  # fmt: skip
        out = featurizer.featurize_dataframe(frame[[column]], column, ignore_errors=True, pbar=False)
        labels = featurizer.feature_labels()
        blocks.append(out[labels].apply(lambda c: pd.to_numeric(c, errors="coerce")).to_numpy(dtype=float))
        print(f"  matminer {type(featurizer).__name__}: {time.perf_counter() - start:.0f} s so far", flush=True)
    seconds = time.perf_counter() - start
    names = [n for f in (ElementProperty.from_preset("magpie"), DensityFeatures(), GlobalSymmetryFeatures(), SiteStatsFingerprint.from_preset("CrystalNNFingerprint_ops")) for n in f.feature_labels()]
    return np.hstack(blocks), names, seconds


def matforge_features(structures) -> tuple[np.ndarray, list[str], float]:
    from matforge.features._structure import featurize_structures, structure_feature_names

    start = time.perf_counter()
    values = featurize_structures(structures, ("magpie",))
    return values, structure_feature_names(("magpie",)), time.perf_counter() - start


def cached(name: str, compute, fresh: bool) -> tuple[np.ndarray, list[str], float]:
    path = CACHE / f"{name}.npz"
    if path.exists() and not fresh:
        data = np.load(path, allow_pickle=False)
        return data["values"], data["names"].tolist(), float(data["seconds"])
    values, names, seconds = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, values=values, names=np.asarray(names), seconds=seconds)
    return values, names, seconds


def fold_maes(X: np.ndarray, y: np.ndarray, test_fold: np.ndarray, seed: int, n_jobs: int) -> list[float]:
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    X = np.where(np.isinf(X), np.nan, X)
    maes = []
    for k in range(5):
        train, test = test_fold != k, test_fold == k
        model = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), RandomForestRegressor(500, random_state=seed, n_jobs=n_jobs))
        model.fit(X[train], y[train])
        maes.append(float(np.mean(np.abs(model.predict(X[test]) - y[test]))))
    return maes


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--tasks", default="phonons,jdft2d")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2, help="threads of the forests")
    parser.add_argument("--fresh", action="store_true", help="recompute the cached features")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "structure_features.json")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    from matforge.benchmark._matbench import TASKS, load_task
    from matforge.data._structures import parse_structures

    result: dict = {
        "protocol": "MatBench v0.1 official folds (5); RandomForestRegressor(500 trees, other defaults, median imputation), "
        f"random_state {args.seed}, on the raw target; MAE on each test fold",
        "data": f"{args.data_dir} (matbench_<task>/ as shipped, with folds_matbench_v0.1.csv)",
        "matminer_features": "ElementProperty.from_preset('magpie') of the composition + DensityFeatures + GlobalSymmetryFeatures "
        "+ SiteStatsFingerprint.from_preset('CrystalNNFingerprint_ops'), featurize_dataframe, matminer's default n_jobs "
        f"(all {os.cpu_count()} cores), ignore_errors=True",
        "matforge_features": "featurize_structures(structures, ('magpie',)): the same 132 Magpie statistics + stoichiometry, "
        "valence and ionic columns (145) + 30 StructureFeatures, one core",
        "tasks": {},
    }
    print(f"{'task':10}{'features':10}{'columns':>9}{'featurize s':>13}{'MAE':>10}  folds")
    for name in args.tasks.split(","):
        frame, test_fold, _ = load_task(args.data_dir, name)
        y = frame[TASKS[name].target].to_numpy(dtype=float)
        structures = parse_structures(frame["structure"].to_numpy(dtype=object))
        entry = {"rows": len(frame), "target": TASKS[name].target}
        for side, compute in (("matminer", lambda s=structures: matminer_features(s)), ("matforge", lambda s=structures: matforge_features(s))):
            X, names, seconds = cached(f"{name}_{side}", compute, args.fresh)
            maes = fold_maes(X, y, test_fold, args.seed, args.n_jobs)
            entry[side] = {"columns": len(names), "featurize_seconds": round(seconds, 2), "ms_per_structure": round(1000 * seconds / len(frame), 2), "cores": os.cpu_count() if side == "matminer" else 1, "mae_folds": [round(m, 3) for m in maes], "mae_mean": round(float(np.mean(maes)), 3), "mae_std": round(float(np.std(maes)), 3)}
            print(f"{name:10}{side:10}{len(names):9d}{seconds:13.1f}{np.mean(maes):10.2f}  {' / '.join(f'{m:.2f}' for m in maes)}", flush=True)
        result["tasks"][name] = entry
    return save_result(result, args.out)


if __name__ == "__main__":
    main()
