"""The outer folds of a cross-validation, each fitted on its own cluster worker.

Outer folds are independent (each fits the whole model-selection procedure on its training part), so they
are the natural unit to spread: k folds take about the time of one when k workers are free. The splits are
`matforge.learn.make_splits` with the same seed, so the out-of-fold predictions are those of a
single-process run.

`AutoModel` (and so `matforge train --scheduler`) spreads its own outer folds the same way
(`AutoModel._folds_on_cluster`); `cv_folds_distributed` does it for any other estimator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from matforge.scale._cluster import map_partitions, scheduler_from_options

__all__ = ["cv_folds_distributed", "FoldResult"]


@dataclass
class FoldResult:
    """Out-of-fold predictions (`oof`, in row order; `proba` for classifiers that give probabilities), the
    fold of each row, and each fold's scores (`matforge.learn.score_predictions`)."""

    oof: np.ndarray
    fold: np.ndarray
    scores: list[dict]
    proba: np.ndarray | None = None
    classes: list | None = None


def _fit_fold(fold: tuple[int, np.ndarray, np.ndarray], *, estimator, X, y, task: str) -> dict:
    from sklearn.base import clone

    k, train, test = fold
    model = clone(estimator).fit(X.iloc[train] if hasattr(X, "iloc") else X[train], y[train])
    X_test = X.iloc[test] if hasattr(X, "iloc") else X[test]
    result = {"k": k, "test": test, "pred": np.asarray(model.predict(X_test))}
    if task == "classification" and hasattr(model, "predict_proba"):
        result["proba"] = np.asarray(model.predict_proba(X_test))
        result["classes"] = list(getattr(model, "classes_", []))
    return result


def cv_folds_distributed(
    estimator,
    X,
    y,
    groups=None,
    *,
    task: str = "regression",
    folds: int = 5,
    seed: int = 0,
    protocol: str = "group",
    scheduler: str | None = None,
    workers: int | None = None,
) -> FoldResult:
    """Fit a fresh clone of `estimator` on each outer training part and predict its test part, one fold per task.

    Parameters
    ----------
    estimator : any scikit-learn estimator (an `AutoModel` runs its whole search inside each fold).
    X, y, groups : inputs, target and CV groups (rows of a group never straddle train and test).
    task, folds, seed, protocol : as `matforge.learn.make_splits`.
    scheduler, workers : see `scheduler_from_options`; None fits the folds here, one after the other.
    """
    from matforge.learn import make_splits, score_predictions

    y = np.asarray(y if not isinstance(y, pd.Series) else y.to_numpy())
    splits = make_splits(task, y, groups, folds, seed, protocol)
    parts = [(k, train, test) for k, (train, test) in enumerate(splits)]
    with scheduler_from_options(scheduler, workers) as client:
        results = map_partitions(_fit_fold, parts, client=client, shared={"estimator": estimator, "X": X, "y": y, "task": task}, label="outer CV folds")
    oof = np.empty(len(y), dtype=float if task == "regression" else object)
    fold = np.full(len(y), -1)
    proba, classes, scores = None, None, []
    for r in results:
        oof[r["test"]] = r["pred"]
        fold[r["test"]] = r["k"]
        if "proba" in r:
            classes = r["classes"]
            proba = np.zeros((len(y), len(classes))) if proba is None else proba
            proba[r["test"]] = r["proba"]
        scores.append(score_predictions(task, y[r["test"]], r["pred"], None if "proba" not in r else r["proba"], r.get("classes")))
    return FoldResult(oof=oof, fold=fold, scores=scores, proba=proba, classes=classes)
