"""Glass-transition temperature of homopolymers from their repeat unit: matforge's default pipeline on a
PSMILES column against what one would write by hand with RDKit and scikit-learn.

Data: `polymer_tg_polymetrix/Polymer_Tg.csv` (7,252 repeat units, experimental Tg in K; PolyMetriX curated
set, Kunchapu & Jablonka 2025; read from `--data-dir`, default ../shared/data). Protocol: 5-fold CV grouped by
polymer (`matforge.features.polymer_keys`: 329 rows are another row's polymer written differently, the
same graph in other SMILES, ``*C(F)(F)*`` and ``*C(*)(F)F``, or the chain cut at another atom,
``*CC1=CC=C(C(Br)=C1)C*`` and ``*CCc1ccc(*)c(Br)c1``; they never straddle train and test), folds from a
shuffle with `--seed`. Every model sees the training part of a fold only.

- matforge: `AutoModel(evaluate=False)` on the fold's training rows with the input the user would give (the
  PSMILES column; `prepare_dataset` merges the duplicate polymers), `--budget` seconds a fold, predictions of
  the test rows with `Predictor.predict_table`.
- by hand: RDKit Morgan fingerprint (radius 2, 2,048 bits) and scikit-learn's random forest (500 trees),
  the usual recipe of polymer-informatics tutorials.
- mean: the training mean.

MAE in K over all test rows, and over the 163 best-verified rows (curators' flag yellow/gold: two or more
agreeing sources) that fall in the test folds.

    python benchmarks/polymer_tg.py [--data-dir ../shared/data] [--budget 240] [--folds 0,1,2,3,4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from featurize_formulas import save_result  # noqa: E402

TARGET, INPUT = "Exp_Tg(K)", "PSMILES"


def folds_of(keys: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Each row's test fold: whole polymers (keys) shuffled with `seed` and dealt to folds of equal row counts."""
    from sklearn.model_selection import GroupKFold

    order = np.random.default_rng(seed).permutation(len(keys))
    fold = np.empty(len(keys), dtype=int)
    for k, (_, test) in enumerate(GroupKFold(n_folds).split(order, groups=keys[order])):
        fold[order[test]] = k
    return fold


def by_hand(train_smiles, y_train, test_smiles, seed: int) -> np.ndarray:
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator
    from sklearn.ensemble import RandomForestRegressor

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)

    def bits(smiles):
        return np.array([generator.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles], dtype=np.uint8)

    forest = RandomForestRegressor(n_estimators=500, n_jobs=-1, random_state=seed).fit(bits(train_smiles), y_train)
    return forest.predict(bits(test_smiles))


def matforge_fold(train: pd.DataFrame, test: pd.DataFrame, budget: float, seed: int, n_jobs: int) -> tuple[np.ndarray, dict]:
    from matforge.data import prepare_dataset
    from matforge.learn._automodel import AutoModel

    dataset = prepare_dataset(train[[INPUT, TARGET]], TARGET, smiles_cols=INPUT)
    model = AutoModel(task="regression", budget=budget, smiles_cols=dataset.smiles_cols, formula_cols=[], structure_cols=[], numeric_cols=[], categorical_cols=[],
                      seed=seed, n_jobs=n_jobs, evaluate=False)  # fmt: skip
    model.fit(dataset.frame, dataset.y, dataset.groups, sample_weight=dataset.weights)
    table = model.predictor_.predict_table(test[[INPUT]])
    return table["prediction"].to_numpy(dtype=float), {"best_model": model.best_model_, "merged_duplicates": dataset.duplicates_merged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
    parser.add_argument("--budget", type=float, default=240.0, help="seconds of matforge's search per fold")
    parser.add_argument("--folds", default="0,1,2,3,4")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "polymer_tg.json"))
    args = parser.parse_args()

    from matforge.features import polymer_keys

    frame = pd.read_csv(Path(args.data_dir) / "polymer_tg_polymetrix" / "Polymer_Tg.csv")
    keys = polymer_keys(frame[INPUT].to_numpy(dtype=object))
    fold = folds_of(keys, 5, args.seed)
    verified = frame["reliability"].isin(["yellow", "gold"]).to_numpy()
    rows, per_fold = [], []
    start = time.monotonic()
    for k in [int(f) for f in args.folds.split(",")]:
        train, test = frame[fold != k].reset_index(drop=True), frame[fold == k].reset_index(drop=True)
        t0 = time.monotonic()
        predicted, info = matforge_fold(train, test, args.budget, args.seed, args.n_jobs)
        seconds = time.monotonic() - t0
        t0 = time.monotonic()
        hand = by_hand(train[INPUT], train[TARGET].to_numpy(dtype=float), test[INPUT], args.seed)
        hand_seconds = time.monotonic() - t0
        mean = np.full(len(test), train[TARGET].mean())
        truth = test[TARGET].to_numpy(dtype=float)
        scores = {name: float(np.mean(np.abs(p - truth))) for name, p in (("matforge", predicted), ("by_hand", hand), ("mean", mean))}
        per_fold.append({"fold": k, "test_rows": int(len(test)), **{f"mae_{n}": v for n, v in scores.items()}, "seconds_matforge": seconds, "seconds_by_hand": hand_seconds, **info})
        print(f"fold {k}: matforge {scores['matforge']:.2f} K ({info['best_model']}, {seconds:.0f} s), by hand {scores['by_hand']:.2f} K ({hand_seconds:.0f} s), mean {scores['mean']:.2f} K", flush=True)
        rows.append(pd.DataFrame({"row": np.flatnonzero(fold == k), "fold": k, "y_true": truth, "matforge": predicted, "by_hand": hand}))
    predictions = pd.concat(rows, ignore_index=True)
    table = {}
    for name in ("matforge", "by_hand"):
        errors = np.abs(predictions[name] - predictions["y_true"])
        table[name] = {"mae": float(errors.mean()), "mae_fold_std": float(np.std([f[f"mae_{name}"] for f in per_fold])),
                       "mae_verified": float(errors[verified[predictions["row"]]].mean()), "verified_rows": int(verified[predictions["row"]].sum())}  # fmt: skip
    table["mean"] = {"mae": float(np.mean([f["mae_mean"] for f in per_fold]))}
    print("\n| model | MAE (K) | ± fold std | MAE on verified rows (K) |\n|---|---|---|---|")
    for name in ("matforge", "by_hand"):
        t = table[name]
        print(f"| {name} | {t['mae']:.2f} | {t['mae_fold_std']:.2f} | {t['mae_verified']:.2f} ({t['verified_rows']} rows) |")
    print(f"| training mean | {table['mean']['mae']:.2f} | | |")
    result = {
        "benchmark": "polymer_tg",
        "data": "polymer_tg_polymetrix/Polymer_Tg.csv (7,252 PSMILES, Exp_Tg(K))",
        "protocol": {"folds": f"5, grouped by polymer_keys, shuffled with seed {args.seed}", "folds_run": args.folds, "budget_per_fold_s": args.budget,
                     "matforge": "AutoModel(evaluate=False) on the PSMILES column, default models", "by_hand": "RDKit Morgan r=2 2048 bits + RandomForestRegressor(500)"},  # fmt: skip
        "scores": table,
        "per_fold": per_fold,
        "wall_seconds": time.monotonic() - start,
        "command": "python " + " ".join(sys.argv),
    }
    save_result(result, Path(args.out))
    print(f"wrote {args.out} ({result['wall_seconds'] / 60:.1f} min)")


if __name__ == "__main__":
    main()
