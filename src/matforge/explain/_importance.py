"""Model-agnostic explanations of a trained predictor: permutation importance, partial dependence and the
sensitivity matrix. All work on feature tables and batch the perturbed copies into few predict calls."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matforge.explain._inputs import model_output, numeric_columns, output_names, sample_rows, used_columns

__all__ = ["permutation_importance", "partial_dependence", "sensitivity_matrix"]

# perturbed copies per predict call: bounds memory (rows x copies x features) while keeping calls few
_BATCH_ROWS = 40_000


def _outputs_of_changes(predictor, F: pd.DataFrame, changes: list[tuple[str, np.ndarray]]) -> list[np.ndarray]:
    """`model_output` of copies of `F`, each with one column replaced: ``changes[i] = (column, values)``.

    The copies are stacked into a few large tables (row take + one column write per changed column), as
    building hundreds of wide DataFrames one by one costs more than predicting them.
    """
    n = len(F)
    per_batch = max(1, _BATCH_ROWS // max(1, n))
    results: list[np.ndarray] = []
    for start in range(0, len(changes), per_batch):
        chunk = changes[start : start + per_batch]
        big = F.iloc[np.tile(np.arange(n), len(chunk))].reset_index(drop=True)
        by_column: dict[str, list[int]] = {}
        for i, (column, _) in enumerate(chunk):
            by_column.setdefault(column, []).append(i)
        for column, positions in by_column.items():
            values = big[column].to_numpy(copy=True)
            if values.dtype != object:
                values = values.astype(float)
            for i in positions:
                values[i * n : (i + 1) * n] = chunk[i][1]
            big[column] = values
        out = model_output(predictor, big)
        results.extend(out[i * n : (i + 1) * n] for i in range(len(chunk)))
    return results


def _loss(predictor, y: np.ndarray, output: np.ndarray) -> float:
    if predictor.task == "regression":
        return float(np.mean(np.abs(y.astype(float) - output[:, 0])))
    index = np.array([list(predictor.classes).index(str(v)) for v in y])
    return float(-np.mean(np.log(np.clip(output[np.arange(len(y)), index], 1e-12, 1.0))))


def permutation_importance(predictor, F: pd.DataFrame, y, *, features: list[str] | None = None, n_repeats: int = 3, max_rows: int | None = 500, seed: int = 0) -> pd.DataFrame:
    """How much worse the final model predicts when one feature's values are shuffled (Breiman 2001).

    Parameters
    ----------
    predictor : the run's `Predictor` (``load_run(dir).predictor``).
    F : feature rows (``predictor.featurizer.transform(table)``) and `y` their targets (or class labels).
    features : the features to shuffle (default: every feature the model uses).
    n_repeats : shuffles per feature; max_rows : rows used (a seeded subsample), seed : seed of both.

    Returns one row per feature, most important first: ``importance`` = mean increase of the
    loss — mean absolute error in target units (regression) or log-loss in nats (classification) — and
    ``importance_std`` over the repeats. Shuffling breaks correlated features together only partly, so a
    feature with a close twin (common among composition descriptors) can look less important than it is.
    """
    rows = sample_rows(len(F), max_rows, seed)
    F = F.iloc[rows].reset_index(drop=True)
    y = np.asarray(y)[rows]
    rng = np.random.default_rng(seed)
    base = _loss(predictor, y, model_output(predictor, F))
    columns = used_columns(predictor) if features is None else list(features)
    changes = [(column, F[column].to_numpy()[rng.permutation(len(F))]) for column in columns for _ in range(n_repeats)]
    keys = [column for column, _ in changes]
    losses = np.array([_loss(predictor, y, out) for out in _outputs_of_changes(predictor, F, changes)]) - base
    table = pd.DataFrame({"feature": keys, "increase": losses}).groupby("feature", sort=False)["increase"]
    result = pd.DataFrame({"importance": table.mean(), "importance_std": table.std(ddof=0)}).reset_index()
    result.attrs.update(loss="mae" if predictor.task == "regression" else "log_loss", base_loss=base, rows=len(F))
    return result.sort_values("importance", ascending=False, ignore_index=True)


def partial_dependence(predictor, F: pd.DataFrame, feature: str, *, grid: int = 20, max_rows: int | None = 200, seed: int = 0) -> pd.DataFrame:
    """Average model output when `feature` is set to each value of a grid over its 5-95 % range, the other
    features kept as they are in each row (Friedman, Ann. Stat. 29, 1189 (2001)).

    Returns ``value`` (the grid, in the feature's units) and one column per output (`output_names`).
    """
    rows = sample_rows(len(F), max_rows, seed)
    F = F.iloc[rows].reset_index(drop=True)
    values = pd.to_numeric(F[feature], errors="coerce").to_numpy(float)
    finite = values[np.isfinite(values)]
    distinct = np.unique(finite)
    points = distinct if len(distinct) <= grid else np.unique(np.quantile(finite, np.linspace(0.05, 0.95, grid)))
    changes = [(feature, np.full(len(F), value)) for value in points]
    means = np.array([out.mean(axis=0) for out in _outputs_of_changes(predictor, F, changes)])
    result = pd.DataFrame(means, columns=output_names(predictor))
    result.insert(0, "value", points)
    result.attrs.update(feature=feature, rows=len(F))
    return result


def sensitivity_matrix(predictor, F: pd.DataFrame, *, features: list[str] | None = None, step: float = 0.25, max_rows: int | None = 300, seed: int = 0) -> pd.DataFrame:
    """The average change of each model output per unit change of each design feature.

    For a classifier this is the sensitivity matrix of Zhou et al. (npj Comput. Mater. 5, 128 (2019), HEA
    phase selection): entry (feature i, class c) is the mean over the rows of ``∂P(c)/∂x_i``; for a regressor
    the single column is ``∂ŷ/∂x_i`` in target units per feature unit. Derivatives are central differences
    over ``x_i ± step·σ_i`` (σ_i the feature's standard deviation on these rows), wide enough that
    piecewise-constant tree models give an average slope instead of zeros.

    Returns a long table: ``feature``, ``output``, ``per_unit`` (the derivative), ``per_std`` (the change of
    the output when the feature moves by one standard deviation — comparable across features of different
    units), ``feature_std``.
    """
    rows = sample_rows(len(F), max_rows, seed)
    F = F.iloc[rows].reset_index(drop=True)
    features = numeric_columns(predictor, F) if features is None else list(features)
    changes, widths = [], []
    for feature in features:
        values = pd.to_numeric(F[feature], errors="coerce").to_numpy(float)
        sigma = float(np.nanstd(values))
        h = step * sigma if sigma > 0 else step
        changes += [(feature, values + h), (feature, values - h)]
        widths.append((h, sigma))
    outputs = _outputs_of_changes(predictor, F, changes)
    names = output_names(predictor)
    records = []
    for i, feature in enumerate(features):
        h, sigma = widths[i]
        derivative = np.nanmean((outputs[2 * i] - outputs[2 * i + 1]) / (2 * h), axis=0)
        for j, name in enumerate(names):
            records.append({"feature": feature, "output": name, "per_unit": float(derivative[j]), "per_std": float(derivative[j] * sigma), "feature_std": sigma})
    result = pd.DataFrame(records, columns=["feature", "output", "per_unit", "per_std", "feature_std"])
    result.attrs.update(rows=len(F), step=step)
    return result
