"""Hyper-parameter search for one model on one training set: Optuna, inner CV, a wall-clock budget."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matforge.learn._pipeline import (
    accepts_sample_weight,
    build_pipeline,
    make_splits,
    score_predictions,
    selection_metric,
)
from matforge.models import ModelSpec, get_model

__all__ = ["STARTUP_TRIALS", "Tuned", "tune", "cross_predict", "screen_columns", "predict_with", "fit_pipeline", "select_ensemble", "average_close_to_best", "predicted_rows"]

STARTUP_TRIALS = 5
"""Optuna's TPE sampler proposes its first this many trials at random, before it models the scores. A model that
averages seeds (`ModelSpec.reseed`) searches past its default only where its share holds this many more trials
(`tune`): fewer are random draws against a default chosen with care, and the time buys more as further seeds
(`AutoModel._reseed`). MatBench mp_e_form (2026-12-07, one trial 1,140-1,515 s of the 3,600 s budget): fold 3
ran a second, random trial of the boosted attention model (1,191 s) that did not beat the default, went 105 s
over the budget and had no time for a second seed; on fold 0 the model averaged over two seeds scored 0.0784
eV/atom against 0.0797 for one (`benchmarks/seed_average.py`). With this rule fold 3 ended at 2,790 s with
the same model (a slower hour's fit then left too little for a seed; docs/benchmark.md)."""


@dataclass
class Tuned:
    """A model's best configuration; ``oof`` holds its inner-CV predictions on the training rows (None when the
    best trial came from a resumed study and was not recomputed). ``alternatives`` are the next-best distinct
    configurations of the same search with their inner-CV predictions (best first; empty unless `tune` was
    asked to keep them), candidates for ensemble selection. ``default_seconds``: what the default
    configuration's trial took in this search (None when a resumed study had it already)."""

    model: str
    params: dict
    score: float
    n_trials: int
    seconds: float
    oof: np.ndarray | None = field(default=None, repr=False, compare=False)
    alternatives: list[Tuned] = field(default_factory=list, repr=False, compare=False)
    default_seconds: float | None = field(default=None, repr=False, compare=False)

    def summary(self) -> dict:
        """The JSON-safe part (for the model card); ``default_seconds`` only where this search timed its default."""
        out = {"model": self.model, "params": self.params, "score": self.score, "n_trials": self.n_trials, "seconds": self.seconds}
        if self.default_seconds is not None:
            out["default_seconds"] = self.default_seconds
        return out


def _subsample(n: int, limit: int | None, seed: int) -> np.ndarray:
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def fit_pipeline(spec: ModelSpec, task: str, params: dict, F: pd.DataFrame, y: np.ndarray, *, columns, categorical, seed: int, n_jobs: int, sample_weight: np.ndarray | None = None):
    """Build and fit a model's pipeline (subsampling rows for models with a size limit, e.g. Gaussian processes).

    `sample_weight` (e.g. how many duplicate rows each merged row stands for) reaches the estimator when it
    accepts weights (`accepts_sample_weight`); k-NN and Gaussian processes do not, and are fitted unweighted."""
    rows = _subsample(len(F), spec.max_samples, seed)
    pipeline = build_pipeline(spec, task, params, columns=columns, categorical=categorical, seed=seed, n_jobs=n_jobs)
    if sample_weight is not None and accepts_sample_weight(pipeline.steps[-1][1]):
        return pipeline.fit(F.iloc[rows], y[rows], model__sample_weight=np.asarray(sample_weight, dtype=float)[rows])
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


def predicted_rows(pred: np.ndarray) -> np.ndarray:
    """The rows an inner CV predicted (finite predictions): all of them, or with ``scored_folds`` below the inner
    folds (`tune`) only the test rows of the splits that were fitted."""
    pred = np.asarray(pred, dtype=float)
    return np.isfinite(pred) if pred.ndim == 1 else np.isfinite(pred).all(axis=1)


def _score(task: str, y: np.ndarray, pred: np.ndarray, classes, sample_weight: np.ndarray | None = None) -> float:
    """The selection metric of `pred` on the rows it predicts (`predicted_rows`)."""
    metric, _ = selection_metric(task)
    rows = predicted_rows(pred)
    if not rows.all():
        y, pred = np.asarray(y)[rows], np.asarray(pred)[rows]
        sample_weight = None if sample_weight is None else np.asarray(sample_weight)[rows]
    if task == "regression":
        return score_predictions(task, y, pred, sample_weight=sample_weight)[metric]
    labels = np.asarray(classes)[np.argmax(pred, axis=1)]
    value = score_predictions(task, y, labels, pred, classes, sample_weight=sample_weight)[metric]
    if np.isnan(value):  # ROC-AUC undefined (a class missing): fall back to balanced accuracy
        value = score_predictions(task, y, labels, sample_weight=sample_weight)["balanced_accuracy"]
    return value


def _split_sets(task: str, y: np.ndarray, groups: np.ndarray, folds: int, repeats: int, seed: int, scored: int | None = None) -> list:
    """The inner CV's splits, once per repeat: repeat r reshuffles the folds (seed + r); repeat 0 is the plain
    inner CV. With `scored` only the first that many splits of each (a holdout with 1)."""
    return [make_splits(task, y, groups, folds, seed + r)[:scored] for r in range(max(1, repeats))]


def cross_predict(spec: ModelSpec, task: str, params: dict, F: pd.DataFrame, y: np.ndarray, split_sets: list, *, columns: list[str], categorical: list[str], classes, seed: int, n_jobs: int, sample_weight: np.ndarray | None = None) -> list[np.ndarray]:
    """Out-of-fold predictions of every row of (F, y) by one configuration, one array per set of splits (NaN
    for rows that no split of the set tests)."""
    repeats = []
    for splits in split_sets:
        pred = np.full(len(y), np.nan) if task == "regression" else np.full((len(y), len(classes)), np.nan)
        for train, test in splits:
            weight = None if sample_weight is None else sample_weight[train]
            pipeline = fit_pipeline(spec, task, params, F.iloc[train], y[train], columns=columns, categorical=categorical, seed=seed, n_jobs=n_jobs, sample_weight=weight)
            pred[test] = predict_with(pipeline, task, F.iloc[test], classes)
        repeats.append(pred)
    return repeats


SCREEN_ROWS = 10_000
"""`screen_columns` scores the candidate column sets on at most this many rows."""

SCREEN_MIN_ROWS = 300
"""Where the time given to `screen_columns` would not pay for scoring this many rows, it takes the first candidate."""

SCREEN_SECONDS_PER_CELL = 6e-6
"""Assumed cost of `screen_columns`' model: seconds per training row and column of one fit. A fixed figure, not
a timing, so that the same seed and budget screen the same rows on any machine (measured on the 2-core machine,
one core, idle: 3.6e-6 with 256 trees for MatBench glass' 4,544 training rows, 22 s for its screen; with 128
trees 2.0e-6 there and 2.7e-6 for expt_gap's, regression costing more; rounded up)."""

SCREEN_PARAMS = {"n_estimators": 256, "max_features": 0.33, "min_samples_leaf": 1, "leaf_statistic": "mean"}
"""The fixed extra-trees configuration that `screen_columns` compares column sets with. 256 trees: with 128 the
screen's own noise missed `magpie_wide` on one of the five MatBench glass folds (by 0.0004 ROC-AUC), with 256 it
prefers it on all five (docs/benchmark.md)."""


def screen_columns(candidates: dict[str, list[str]], task: str, F: pd.DataFrame, y: np.ndarray, groups: np.ndarray, *, categorical: list[str], classes, inner_folds: int, inner_repeats: int, seed: int, n_jobs: int = 1, sample_weight: np.ndarray | None = None, seconds: float | None = None) -> tuple[str, dict[str, float]]:
    """Which of several column sets (e.g. feature presets) to search on: the one on which a fixed extra-trees
    model (`SCREEN_PARAMS`) scores best by the stage's grouped inner CV on (F, y), the same splits for every
    candidate; ties go to the earlier candidate (list the smaller sets first). Above `SCREEN_ROWS` rows a random
    subset is scored. Returns the chosen name and every candidate's inner-CV score (the selection metric; empty
    when nothing was scored).

    `seconds` bounds the screen: the subset scored is cut to what that time pays for at
    `SCREEN_SECONDS_PER_CELL`; below `SCREEN_MIN_ROWS` rows the screen is skipped and the first candidate taken.

    Why a screen rather than a search dimension: the feature set changes every model's input at once, and one
    fixed forest ranks it for a fraction of a trial's cost. On MatBench glass (5 official folds, extra trees)
    Deml's and pymatgen's element statistics (`magpie_wide`) raise the ROC-AUC in every fold and this screen
    prefers them in all 5 (with 128 trees in 4 of 5); on expt_gap, steels and expt_is_metal the two sets are
    within noise of each other, the screen's choice varies by fold and on expt_gap does not predict which set
    the tuned pipeline does better with (docs/benchmark.md)."""
    names = list(candidates)
    if len(names) == 1:
        return names[0], {}
    _, direction = selection_metric(task)
    limit = SCREEN_ROWS
    if seconds is not None:
        # each candidate: inner_folds fits per repeat, each on (inner_folds - 1) / inner_folds of the rows
        cells_per_row = max(1, inner_repeats) * (inner_folds - 1) * sum(len(columns) for columns in candidates.values())
        limit = min(limit, int(seconds / (SCREEN_SECONDS_PER_CELL * max(1, cells_per_row))))
        if limit < SCREEN_MIN_ROWS and len(y) > limit:
            return names[0], {}
    rows = _subsample(len(y), limit, seed)
    F, y, groups = F.iloc[rows], np.asarray(y)[rows], np.asarray(groups)[rows]
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)[rows]
    split_sets = _split_sets(task, y, groups, inner_folds, inner_repeats, seed)
    spec = get_model("extra_trees")
    scores = {}
    for name in names:
        repeats = cross_predict(spec, task, SCREEN_PARAMS, F, y, split_sets, columns=candidates[name], categorical=categorical, classes=classes, seed=seed, n_jobs=n_jobs, sample_weight=weights)
        scores[name] = float(np.mean([_score(task, y, pred, classes, weights) for pred in repeats]))
    finite = [n for n in names if np.isfinite(scores[n])]
    if not finite:
        return names[0], scores
    sign = -1.0 if direction == "maximize" else 1.0
    return min(finite, key=lambda n: (sign * scores[n], names.index(n))), scores


def _mean_predicted(repeats: list[np.ndarray]) -> np.ndarray:
    """Each row's mean over the repeats that predicted it (NaN where none did)."""
    stack = np.stack(repeats)
    counts = np.isfinite(stack).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, np.nansum(stack, axis=0) / np.maximum(counts, 1), np.nan)


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
    inner_repeats: int = 1,
    max_trials: int = 40,
    n_jobs: int = 1,
    sampler_seed: int | None = None,
    sample_weight: np.ndarray | None = None,
    keep: int = 1,
    scored_folds: int | None = None,
) -> Tuned:
    """Search `spec`'s space by inner grouped CV on (F, y), within `budget` seconds.

    The first trial is the model's default configuration, so a tiny budget still yields a sensible model; it
    runs whatever the budget, and no later trial starts that would end past the budget by the mean trial of this
    search (a running trial is not interrupted). A model that averages seeds (`ModelSpec.reseed`) goes on past
    its default only where the budget holds `STARTUP_TRIALS` more trials of the default's length.
    The study lives in `storage` (SQLite in the run folder) under `study_name`, so an interrupted search
    resumes with its finished trials. `sampler_seed` (default `seed`) seeds the TPE sampler alone: processes
    sharing one study pass different ones so that they do not propose the same configurations.
    `sample_weight` weights both the fits and the inner-CV score. With `inner_repeats` > 1 the inner CV is
    repeated on reshuffled folds and a trial's score is the mean over the repeats: on a few hundred rows one
    split's score is noisier than the differences between configurations, and the search then picks noise.
    With `keep` > 1 the inner-CV predictions of the best `keep` trials are kept, and the next-best distinct
    configurations come back as the result's ``alternatives``. With `scored_folds` below `inner_folds` only
    that many of the inner splits are fitted and scored (1: a holdout of 1/`inner_folds` of the rows); the
    predictions of the other rows are NaN (`predicted_rows`).
    """
    import optuna

    # ERROR: a configuration that fails to fit is a failed trial (the search goes on), not a traceback for
    # the user; nor is a Ctrl-C, which the CLI reports in one line
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    metric, direction = selection_metric(task)
    split_sets = _split_sets(task, y, groups, inner_folds, inner_repeats, seed, scored_folds)
    start = time.monotonic()
    kept: dict[int, tuple[float, np.ndarray]] = {}  # trial number -> (score, out-of-fold predictions), the best `keep`

    def objective(trial) -> float:
        repeats = cross_predict(spec, task, spec.sample(trial, task), F, y, split_sets, columns=columns, categorical=categorical, classes=classes, seed=seed, n_jobs=n_jobs, sample_weight=sample_weight)
        # the mean of the repeats' scores; ensemble selection gets each row's mean out-of-fold prediction
        value = float(np.mean([_score(task, y, pred, classes, sample_weight) for pred in repeats]))
        pred = _mean_predicted(repeats)
        if not np.isfinite(value):
            raise optuna.TrialPruned()
        # keep the best trials' out-of-fold predictions: ensemble selection and calibration reuse them
        kept[trial.number] = (value, pred)
        for number in sorted(kept, key=lambda n: kept[n][0], reverse=direction == "maximize")[max(1, keep):]:
            del kept[number]
        return value

    study = optuna.create_study(
        study_name=study_name, storage=storage, load_if_exists=True, direction=direction,
        sampler=optuna.samplers.TPESampler(seed=seed if sampler_seed is None else sampler_seed, n_startup_trials=STARTUP_TRIALS),
    )  # fmt: skip
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    default_seconds = None
    if not complete:
        study.enqueue_trial(spec.defaults, skip_if_exists=True)
        # the default scored by another process is all this step needs: no replacement for a lost race
        optimize_shared(study, objective, n_trials=1, replace_lost=False)
        default_seconds = time.monotonic() - start
    remaining = budget - (time.monotonic() - start)
    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    if remaining > (default_seconds or 0.0) * (STARTUP_TRIALS if spec.reseed else 1) and done < max_trials:
        # the cap is on the study, checked after every trial, so processes sharing it stop together
        cap = optuna.study.MaxTrialsCallback(max_trials, states=(optuna.trial.TrialState.COMPLETE,))
        durations, last = ([] if default_seconds is None else [default_seconds]), [time.monotonic()]

        def in_time(study, trial) -> None:
            # a trial is not interrupted, so none starts that would end past the budget by the mean trial so
            # far (optuna's timeout only stops starting them after it)
            now = time.monotonic()
            durations.append(now - last[0])
            last[0] = now
            if now - start + float(np.mean(durations)) > budget:
                study.stop()

        optimize_shared(study, objective, n_trials=max_trials - done, timeout=remaining, callbacks=[cap, in_time])
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return Tuned(spec.name, dict(spec.defaults), float("nan"), 0, time.monotonic() - start, default_seconds=default_seconds)
    chosen = study.best_trial
    params = {**spec.defaults, **chosen.params}
    seconds = time.monotonic() - start
    oof = kept[chosen.number][1] if chosen.number in kept else None
    alternatives, seen = [], [params]
    for trial in sorted((t for t in complete if t.number in kept and t.number != chosen.number), key=lambda t: t.value, reverse=direction == "maximize"):
        other = {**spec.defaults, **trial.params}
        if other not in seen:  # a search may propose one configuration twice (tiny or categorical spaces)
            seen.append(other)
            alternatives.append(Tuned(spec.name, other, float(trial.value), len(complete), seconds, kept[trial.number][1]))
    return Tuned(spec.name, params, float(chosen.value), len(complete), seconds, oof, alternatives, default_seconds)


def optimize_shared(study, objective, n_trials: int, timeout: float | None = None, callbacks=None, replace_lost: bool = True) -> None:
    """``study.optimize`` that carries on when another process sharing the study (``--join-study``, ``tune``
    workers) finished the same trial first. Two processes can both take one enqueued trial from an SQLite study
    (SQLite has no row lock); optuna refuses the second to tell it ("Cannot tell a COMPLETE trial"), which would
    end the search, though the trial's result is in the study either way. The loser of such a race runs a
    replacement trial (with `replace_lost`), so `n_trials` counts the trials this process recorded: a race no
    longer leaves a worker one trial short. Failed fits are caught and recorded as failed trials."""
    start, ran = time.monotonic(), 0

    def counted(trial):
        nonlocal ran
        ran += 1
        return objective(trial)

    # only enqueued trials can be taken twice and a study holds finitely many, so the replacements end
    while ran < n_trials:
        left = None if timeout is None else timeout - (time.monotonic() - start)
        if left is not None and left <= 0:
            return
        try:
            study.optimize(counted, n_trials=n_trials - ran, timeout=left, callbacks=callbacks, catch=(ValueError, ArithmeticError, np.linalg.LinAlgError))
            return
        except ValueError as err:  # raised by optuna's tell, outside the objective, so `catch` does not see it
            if "Cannot tell a" not in str(err):
                raise
            if replace_lost:
                ran -= 1  # the other process recorded that trial, not this one


def _with_predictions(candidates: list[Tuned]) -> list[Tuned]:
    """The candidates that scored and kept their inner-CV predictions: what either member rule can weigh."""
    return [t for t in candidates if t.oof is not None and np.isfinite(t.score)]


def _on_common_rows(usable: list[Tuned], y: np.ndarray, sample_weight: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray]]:
    """(y, weights, each candidate's inner-CV predictions) on the rows every candidate predicted: all rows, or
    with a holdout inner CV (`tune`'s ``scored_folds``) its test rows, the same for every search of a stage."""
    rows = np.logical_and.reduce([predicted_rows(t.oof) for t in usable])
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)[rows]
    return np.asarray(y)[rows], weights, [np.asarray(t.oof, dtype=float)[rows] for t in usable]


def select_ensemble(task: str, y: np.ndarray, candidates: list[Tuned], classes, rounds: int = 20, sample_weight: np.ndarray | None = None) -> list[Tuned]:
    """Greedy ensemble selection with replacement (Caruana et al., ICML 2004) on inner-CV predictions.

    Starting from the first (best) candidate, each round adds the candidate (possibly again) whose inclusion
    makes the averaged out-of-fold predictions score best; it stops when no addition helps. The returned
    candidates, with repeats, are the members of an equally-weighted average, i.e. integer weights. Candidates
    may be several configurations of one model (a search's ``alternatives``). Only training rows are used, those
    every candidate predicted (`_on_common_rows`).
    """
    _, direction = selection_metric(task)
    usable = _with_predictions(candidates)
    if len(usable) < 2:
        return [candidates[0]]
    y, sample_weight, oofs = _on_common_rows(usable, y, sample_weight)
    better = (lambda a, b: a < b) if direction == "minimize" else (lambda a, b: a > b)
    chosen = [usable[0]]
    total = oofs[0].copy()
    current = _score(task, y, total, classes, sample_weight)
    for _ in range(rounds - 1):
        trials = [(_score(task, y, (total + oof) / (len(chosen) + 1), classes, sample_weight), i) for i, oof in enumerate(oofs)]
        value, i = min(trials) if direction == "minimize" else max(trials)
        if not better(value, current - 1e-12 if direction == "minimize" else current + 1e-12):
            break
        chosen.append(usable[i])
        total += oofs[i]
        current = value
    return chosen


def average_close_to_best(y: np.ndarray, candidates: list[Tuned], sample_weight: np.ndarray | None = None,
                          z: float = 2.0, limit: int = 10) -> list[Tuned]:
    """Regression members without hill-climbing: the best candidate by the MAE (regression's selection metric,
    `selection_metric`) of its inner-CV predictions and every other configuration *of the same model* whose MAE
    is not significantly worse, averaged with equal weights (best first, at most `limit`).

    "Not significantly worse": the (weighted) mean over rows of ``|error of candidate| - |error of best|`` is at
    most `z` standard errors of that mean (a paired test, one-sided at about 2.5 % for z = 2). On a small table
    the inner-CV differences between good configurations are mostly noise, and greedy ensemble selection
    (`select_ensemble`) fits that noise a second time on the same predictions the search ranked them by; an
    equal average of the indistinguishable ones does not. Measured on MatBench steels (5 official folds, three
    sets of 24 random extra-trees configurations on the element fractions, 3 x 3-fold inner CV): 76.5 MPa
    against 77.6 for greedy selection from the same candidates, better for each set; through the whole default
    pipeline 76.2 against 76.8 (docs/benchmark.md).

    Only the best model's configurations: configurations of one model are near-copies of each other, the noise
    this average is for, while another model that is "not significantly worse" on a heavy-tailed target can be
    much worse, and counted once per configuration it outvotes the best. On MatBench phonons from formulas
    (`--log-target auto`, fold 0) four SVR configurations 13-17 % worse than the extra trees by inner-CV MAE were
    each within 2 standard errors, and the average (test MAE 59.3 cm^-1) lost to the extra trees alone (50.3).
    On the pipeline's own candidate pools, captured for the 5 official folds (docs/benchmark.md), against every
    model's close configurations: steels 75.85 -> 75.82 MPa, jdft2d 43.74 -> 43.50 meV/atom, phonons
    (``log_target="auto"``) 45.67 -> 43.87 cm^-1. Only training rows are used, those every candidate predicted."""
    usable = _with_predictions(candidates)
    if len(usable) < 2:
        return [candidates[0]]
    y, sample_weight, oofs = _on_common_rows(usable, y, sample_weight)
    y = np.asarray(y, dtype=float)
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    w = w / w.sum()
    errors = np.array([np.abs(oof - y) for oof in oofs])
    best = int(np.argmin(errors @ w))
    gaps = errors - errors[best]
    mean = gaps @ w
    stderr = np.sqrt(((gaps - mean[:, None]) ** 2) @ (w**2))  # SE of a weighted mean of independent rows
    close = [i for i in np.argsort(mean, kind="stable") if i == best or (usable[i].model == usable[best].model and mean[i] <= z * stderr[i])]
    return [usable[i] for i in close[:limit]]
