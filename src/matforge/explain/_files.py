"""`matforge explain`: a run's explanations as CSV tables for further analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from matforge.errors import InputError

__all__ = ["explain_run"]


def explain_run(run_dir: str | Path, data: str | Path | pd.DataFrame | None, out: str | Path, *, max_rows: int | None = 2000, seed: int = 0) -> dict[str, Path]:
    """Write the explanations of a run for the rows of `data` (default: the run's training table) to the
    folder `out` (replaced atomically) and return the files written:

    - ``sensitivity_matrix.csv``: feature, output, per_unit (∂output/∂feature), per_std, feature_std;
    - ``shap_values.csv`` (regression, binary) or ``shap_values_<class>.csv`` (multiclass): one row per input
      row (``row`` = its 0-based position in `data`), one column per feature, plus ``base_value``; only when
      the model has a tree-ensemble member (the reason is printed otherwise);
    - ``permutation_importance.csv``: when `data` holds the target column.

    `max_rows` bounds the rows used (a seeded subsample; None or 0: all).
    """
    from matforge.data import read_table
    from matforge.explain._importance import permutation_importance, sensitivity_matrix
    from matforge.explain._inputs import features_of
    from matforge.explain._shap import shap_values, tree_member
    from matforge.files import atomic_dir, check_output_dir, refuse_overwrite_input
    from matforge.learn import load_run

    run = load_run(run_dir)
    check_output_dir(out, run_dir, data if isinstance(data, (str, Path)) else None)  # before the work
    predictor = run.predictor
    if data is None:
        stored = Path(run_dir) / "model" / "train_data.parquet"
        if not stored.exists():
            raise InputError("this run folder has no stored training table", file=str(run_dir), hint="Give the data table: matforge explain RUN_DIR DATA --out DIR")
        table = pd.read_parquet(stored)
    elif isinstance(data, pd.DataFrame):
        table = data
    else:
        refuse_overwrite_input(out, data)
        table = read_table(data)
    F = features_of(predictor, table)
    if len(F) == 0:
        raise InputError("no row of the data could be featurized", hint="Check the formula column")
    limit = max_rows or None
    written: dict[str, Path] = {}
    notes: list[str] = []
    if len(F) < len(table):
        missing = sorted(set(range(len(table))) - set(F.index))
        notes.append(f"no explanation of {len(missing)} row(s) whose inputs could not be read: row(s) {', '.join(map(str, missing[:10]))}{', ...' if len(missing) > 10 else ''}")
    out = Path(out)
    with atomic_dir(out, inputs=(run_dir, data if isinstance(data, (str, Path)) else None)) as folder:
        sensitivity_matrix(predictor, F, max_rows=limit, seed=seed).to_csv(folder / "sensitivity_matrix.csv", index=False)
        written["sensitivity_matrix"] = out / "sensitivity_matrix.csv"
        if tree_member(predictor, run.card.get("final_members")) is not None:
            shap = shap_values(predictor, F, member_names=run.card.get("final_members"), max_rows=limit, seed=seed)
            from matforge.explain._inputs import sample_rows

            rows = F.index.to_numpy()[sample_rows(len(F), limit, seed)]
            for k, name in enumerate(shap.outputs):
                frame = shap.table(k)
                frame.insert(0, "row", rows)
                frame["base_value"] = shap.base[k] if k < len(shap.base) else np.nan
                file = "shap_values.csv" if len(shap.outputs) == 1 else f"shap_values_{name[2:-1]}.csv"
                frame.to_csv(folder / file, index=False)
                written[file[:-4]] = out / file
            notes.append(f"SHAP values of the {shap.member} member, in {shap.space}")
        else:
            notes.append("no SHAP values: the model has no tree-ensemble member (lightgbm, or forests with matforge[explain]), or it is a zero-inflated gate + regressor, which has no single additive decomposition")
        target = run.card["target"]
        if target in table.columns:
            y = table[target].to_numpy()[F.index.to_numpy()]
            keep = pd.notna(y)
            importance = permutation_importance(predictor, F.loc[keep], y[keep], max_rows=limit, seed=seed)
            importance.to_csv(folder / "permutation_importance.csv", index=False)
            written["permutation_importance"] = out / "permutation_importance.csv"
        else:
            notes.append(f"no permutation importance: the data has no '{target}' column")
        (folder / "README.txt").write_text("\n".join([f"explanations of {run_dir} on {len(F)} rows (at most {limit or 'all'} used, seed {seed})", *notes]) + "\n")
    return written
