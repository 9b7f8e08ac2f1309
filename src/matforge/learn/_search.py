"""Hyper-parameter search for one model on one training set: Optuna, inner CV, a wall-clock budget."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matforge.learn._pipeline import build_pipeline, make_splits, score_predictions, selection_metric
from matforge.models import ModelSpec

__all__ = ["Tuned", "tune", "predict_with", "fit_pipeline"]


@dataclass
class Tuned:
    model: str
    params: dict
    score: float
    n_trials: int
    seconds: float


def _subsample(n: int, limit: int | None, seed: int) -> np.ndarray:
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def fit_pipeline(spec: ModelSpec, task: str, params: dict, F: pd.DataFrame, y: np.ndarray, *, columns, categorical, seed: int, n_jobs: int):
    """Build and fit a model's pipeline (subsampling rows for models with a size limit, e.g. Gaussian processes)."""
    rows = _subsample(len(F), spec.max_samples, seed)
    pipeline = build_pipeline(spec, task, params, columns=columns, categorical=categorical, seed=seed, n_jobs=n_jobs)
    return pipeline.fit(F.iloc[rows], y[rows])


def predict_with(pipeline, task: str, F: pd.DataFrame, classes) -> np.ndarray:
    """Regression: predictions; classification: probabilities in the order of `classes`."""
    if task == "regression":
        return np.asarray(pipeline.predict(F), dtype=float)
    proba = pipeline.predict_proba(F)
    out = np.zeros((len(F), len(classes)))
    for j, label in enumerate(pipeline.classes_):
        out[:, list(classes).index(label)] = proba[:, j]
    return out


def _score(task: str, y: np.ndarray, pred: np.ndarray, classes) -> float:
    metric, _ = selection_metric(task)
    if task == "regression":
        return score_predictions(task, y, pred)[metric]
    labels = np.asarray(classes)[np.argmax(pred, axis=1)]
    value = score_predictions(task, y, labels, pred, classes)[metric]
    if np.isnan(value):  # ROC-AUC undefined (a class missing): fall back to balanced accuracy
        value = score_predictions(task, y, labels)["balanced_accuracy"]
    return value


def tune(
    spec: ModelSpec,
    task: str,
    F: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    columns: list[str],
    categorical: list[str],
    classes,
    budget: float,
    seed: int,
    storage: str | None,
    study_name: str,
    inner_folds: int = 3,
    max_trials: int = 40,
    n_jobs: int = 1,
) -> Tuned:
    """Search `spec`'s space by inner grouped CV on (F, y), within `budget` seconds.

    The first trial is the model's default configuration, so a tiny budget still yields a sensible model.
    The study lives in `storage` (SQLite in the run folder) under `study_name`, so an interrupted search
    resumes with its finished trials.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric, direction = selection_metric(task)
    splits = make_splits(task, y, groups, inner_folds, seed)
    start = time.monotonic()

    def objective(trial) -> float:
        params = spec.space(trial)
        pred = np.zeros(len(y)) if task == "regression" else np.zeros((len(y), len(classes)))
        for train, test in splits:
            pipeline = fit_pipeline(spec, task, params, F.iloc[train], y[train], columns=columns, categorical=categorical, seed=seed, n_jobs=n_jobs)
            pred[test] = predict_with(pipeline, task, F.iloc[test], classes)
        value = _score(task, y, pred, classes)
        if not np.isfinite(value):
            raise optuna.TrialPruned()
        return value

    study = optuna.create_study(
        study_name=study_name, storage=storage, load_if_exists=True, direction=direction,
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=5),
    )  # fmt: skip
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        study.enqueue_trial(spec.defaults, skip_if_exists=True)
        study.optimize(objective, n_trials=1, catch=(ValueError, ArithmeticError, np.linalg.LinAlgError))
    remaining = budget - (time.monotonic() - start)
    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    if remaining > 0 and done < max_trials:
        study.optimize(objective, n_trials=max_trials - done, timeout=remaining, catch=(ValueError, ArithmeticError, np.linalg.LinAlgError))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return Tuned(spec.name, dict(spec.defaults), float("nan"), 0, time.monotonic() - start)
    best = study.best_trial
    params = {**spec.defaults, **best.params}
    return Tuned(spec.name, params, float(best.value), len(complete), time.monotonic() - start)
