"""What every explanation starts from: a trained predictor, a feature table and the model's output on it."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["model_output", "output_names", "used_columns", "features_of", "sample_rows", "numeric_columns"]


def model_output(predictor, F: pd.DataFrame) -> np.ndarray:
    """The final model's output for feature rows `F`, as a (rows, outputs) array.

    Regression: one column, the ensemble prediction in target units. Classification: one column per class,
    the calibrated probabilities `matforge predict` reports.
    """
    result = predictor.predict_features(F, uncertainty=False)
    if predictor.task == "regression":
        return np.asarray(result["prediction"], float)[:, None]
    return np.column_stack([np.asarray(result[f"proba_{c}"], float) for c in predictor.classes])


def output_names(predictor) -> list[str]:
    """Names of the `model_output` columns: the target, or ``P(<class>)`` per class."""
    if predictor.task == "regression":
        return [str(predictor.target)]
    return [f"P({c})" for c in predictor.classes]


def used_columns(predictor) -> list[str]:
    """Feature columns that at least one ensemble member reads, in the featurizer's order."""
    used: set[str] = set()
    for member in predictor.members:
        used.update(member.named_steps["select"].columns)
    return [c for c in predictor.featurizer.columns_ if c in used]


def numeric_columns(predictor, F: pd.DataFrame) -> list[str]:
    """Used feature columns that hold numbers and vary (the ones a derivative or a sweep makes sense for)."""
    out = []
    for column in used_columns(predictor):
        if column in predictor.featurizer.categorical_cols:
            continue
        values = pd.to_numeric(F[column], errors="coerce")
        if values.notna().any() and float(np.nanstd(values)) > 0:
            out.append(column)
    return out


def features_of(predictor, table: pd.DataFrame) -> pd.DataFrame:
    """Feature rows of a raw input table; rows whose formula cannot be featurized are left out (the index
    keeps each remaining row's 0-based position in `table`)."""
    F = predictor.featurizer.transform(table.reset_index(drop=True), on_error="nan")
    main = predictor.featurizer.feature_sets_["main"]
    if main:
        F = F.loc[~F[main].isna().all(axis=1)]
    return F


def sample_rows(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Row positions of a reproducible random subsample of at most `limit` rows (all rows when fewer)."""
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))
