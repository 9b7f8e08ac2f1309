"""Suggest the next experiments: acquisition functions over predictions ± uncertainty, and diverse batches.

Acquisition (for maximising a score s; ``min``/``target``/``range`` goals go through `Objective`):

- ``ei``: expected improvement over the best measured value (Jones, Schonlau & Welch 1998);
- ``pi``: probability of improvement (Kushner 1964);
- ``ucb``: upper confidence bound ``μ + κσ`` (Srinivas et al. 2010);
- ``max-uncertainty``: largest σ (pure exploration; for classification the least certain class);
- ``greedy``: best predicted value (pure exploitation).

A batch of K is chosen greedily with a local penalty (in the spirit of González et al. 2016): after each pick,
the acquisition of candidates within a length scale of it in standardised feature space is damped, so the
batch spreads over distinct compositions instead of K near-copies of one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from matforge.design._screen import (
    Objective,
    as_predictor,
    candidate_rows,
    check_columns,
    merge_top,
    screen_chunk,
)
from matforge.errors import InputError

__all__ = ["STRATEGIES", "acquisition", "select_batch", "suggest"]

STRATEGIES = ("ei", "ucb", "pi", "max-uncertainty", "greedy")
# fixed normal quantiles: expectations over non-linear goals (target, range) without random numbers
_DRAWS = norm.ppf((np.arange(256) + 0.5) / 256)


def acquisition(mean, std, best: float, strategy: str = "ei", objective: Objective | str = "max", *, kappa: float = 2.0, xi: float = 0.0) -> np.ndarray:
    """Acquisition value of each candidate (higher = more worth measuring).

    Parameters
    ----------
    mean, std : predicted value and its standard uncertainty (target units).
    best : best score measured so far (``objective.score_values`` of the measured targets, its maximum).
    strategy : one of `STRATEGIES`.
    kappa : exploration weight of ``ucb``.
    xi : minimum improvement that counts (target units) for ``ei`` and ``pi``.
    """
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy '{strategy}'", hint=f"Choose one of: {', '.join(STRATEGIES)}")
    objective = Objective.parse(objective)
    mean = np.asarray(mean, dtype=float)
    std = np.maximum(np.nan_to_num(np.asarray(std, dtype=float), nan=0.0), 1e-12)
    if strategy == "max-uncertainty":
        return np.where(np.isnan(mean), -np.inf, std)
    if objective.kind in ("max", "min"):
        m = objective.score_values(mean)
        if strategy == "greedy":
            value = m
        elif strategy == "ucb":
            value = m + kappa * std
        else:
            z = (m - best - xi) / std
            value = norm.cdf(z) if strategy == "pi" else (m - best - xi) * norm.cdf(z) + std * norm.pdf(z)
    else:
        samples = objective.score_values(mean[:, None] + std[:, None] * _DRAWS[None, :])
        if strategy == "greedy":
            value = objective.score_values(mean)
        elif strategy == "ucb":
            value = samples.mean(axis=1) + kappa * samples.std(axis=1)
        elif strategy == "pi":
            value = (samples > best + xi).mean(axis=1)
        else:
            value = np.maximum(samples - best - xi, 0.0).mean(axis=1)
    return np.where(np.isnan(value), -np.inf, value)


def select_batch(values: np.ndarray, features: np.ndarray, k: int, *, diversity: float = 1.0) -> np.ndarray:
    """Indices of `k` rows chosen greedily by acquisition, each pick damping its neighbours.

    The damping factor ``1 - exp(-d² / 2ℓ²)`` uses distances `d` in `features` (standardised); ℓ is `diversity`
    times a quarter of the rows' RMS distance from their centre. ``diversity=0`` gives the plain top `k`. Ties go
    to the lower index, so the batch is deterministic.
    """
    values = np.asarray(values, dtype=float)
    k = min(k, int(np.isfinite(values).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    finite = np.isfinite(values)
    # shift to positive so that multiplicative damping always lowers a candidate's priority
    priority = np.where(finite, values - values[finite].min() + 1e-12 * (1 + np.abs(values[finite]).max()), -np.inf)
    if diversity <= 0 or k == 1:
        return np.lexsort((np.arange(len(values)), -priority))[:k]
    X = np.nan_to_num(np.asarray(features, dtype=float))
    scale = _length_scale(X) * diversity
    chosen: list[int] = []
    for _ in range(k):
        pick = int(np.argmax(priority))
        chosen.append(pick)
        d2 = ((X - X[pick]) ** 2).sum(axis=1)
        priority = priority * (1.0 - np.exp(-d2 / (2 * scale**2))) if scale > 0 else priority
        priority[chosen] = -np.inf
        priority[~finite] = -np.inf
    return np.asarray(chosen, dtype=np.int64)


def _length_scale(X: np.ndarray) -> float:
    """A quarter of the pool's RMS distance from its centre: neighbours inside it count as 'the same idea'."""
    if len(X) < 2:
        return 0.0
    return 0.25 * float(np.sqrt(((X - X.mean(axis=0)) ** 2).sum(axis=1).mean()))


def embedding(predictor, frame: pd.DataFrame) -> np.ndarray:
    """Standardised feature vectors of candidates, in the model's own domain-of-applicability space."""
    featurizer, guard = getattr(predictor, "featurizer", None), getattr(predictor, "domain", None)
    if featurizer is not None and guard is not None:
        F = featurizer.transform(frame, on_error="nan")[predictor.domain_columns].to_numpy(dtype=float)
        return guard.scaler_.transform(guard.imputer_.transform(F))
    numeric = frame.select_dtypes("number").drop(columns=["candidate"], errors="ignore")
    if "formula" in frame:
        from matforge.chem import fraction_matrix

        numeric = pd.concat([numeric.reset_index(drop=True), pd.DataFrame(fraction_matrix(frame["formula"].to_numpy(dtype=object), on_error="keep"))], axis=1)
    X = numeric.to_numpy(dtype=float)
    spread = np.nanstd(X, axis=0)
    return np.nan_to_num((X - np.nanmean(X, axis=0)) / np.where(spread > 0, spread, 1.0))


def _best_measured(model, objective: Objective, best: float | None) -> float:
    if best is not None:
        return float(best)
    run = model if hasattr(model, "oof") else None
    if run is None and not hasattr(model, "predict_table"):
        from matforge.learn import load_run

        run = load_run(model)
    if run is None:
        raise InputError("give best (the best measured value so far) when the model is not a run folder")
    y = pd.to_numeric(run.oof()["y_true"], errors="coerce").to_numpy(dtype=float)
    return float(np.nanmax(objective.score_values(y)))


def suggest(
    model,
    space=None,
    candidates: pd.DataFrame | str | None = None,
    *,
    batch: int = 5,
    strategy: str = "ei",
    objective: Objective | str = "max",
    kappa: float = 2.0,
    diversity: float = 1.0,
    best: float | None = None,
    exclude: pd.DataFrame | str | None = None,
    in_domain_only: bool = False,
    pool: int | None = None,
    chunk_size: int = 20_000,
) -> pd.DataFrame:
    """The next `batch` experiments from a space or candidate table, best first, with their acquisition.

    Parameters
    ----------
    model : run folder, `Run` or predictor (``predict_table``); the run's measured targets give the incumbent.
    strategy : ``ei``, ``ucb``, ``pi``, ``max-uncertainty`` or ``greedy`` (see the module docstring).
    objective : ``max``, ``min``, ``target:VALUE`` or ``range:LO:HI``.
    kappa : exploration weight of ``ucb``.
    diversity : batch spread (0: plain top-K; 1: default length scale).
    best : best measured score, when `model` is not a run folder.
    exclude : rows already measured (table or file): candidates with the same model inputs are skipped.
    pool : best candidates kept for the batch choice (default max(500, 50 × batch)); bounds memory for any space.
    """
    from matforge.design._space import load_space

    if batch < 1:
        raise InputError(f"--batch must be at least 1, not {batch}")
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy '{strategy}'", hint=f"Choose one of: {', '.join(STRATEGIES)}")
    objective = Objective.parse(objective)
    predictor = as_predictor(model)
    classification = getattr(predictor, "task", "regression") == "classification"
    if classification and strategy in ("ei", "pi", "ucb"):
        raise InputError(f"strategy '{strategy}' needs a regression run", hint="Use greedy or max-uncertainty for classification")
    incumbent = 0.0 if strategy in ("greedy", "max-uncertainty") or classification else _best_measured(model, objective, best)
    pool = pool or max(500, 50 * batch)
    if (space is None) == (candidates is None):
        raise InputError("give either a design space or a candidate table")
    if space is not None:
        space = load_space(space)
        check_columns(predictor, space.columns, space.source)
        ranges, fetch = list(space.chunks(chunk_size)), space.candidates
    else:
        table, fetch = candidate_rows(predictor, candidates)
        ranges = [(s, min(len(table), s + chunk_size)) for s in range(0, len(table), chunk_size)]

    measured = _measured_keys(predictor, exclude)
    kept: pd.DataFrame | None = None
    for start, stop in ranges:
        scored = screen_chunk(predictor, fetch(start, stop), objective)
        if measured is not None:
            scored = scored.loc[~_keys(predictor, scored).isin(measured)]
        if in_domain_only:
            scored = scored.loc[scored["in_domain"].to_numpy(dtype=bool)]
        if classification:
            value = scored[objective.value_column(scored)].to_numpy(dtype=float)
            scored["acquisition"] = -np.abs(value - 0.5) if strategy == "max-uncertainty" else value
        else:
            scored["acquisition"] = acquisition(scored["prediction"], scored["uncertainty"], incumbent, strategy, objective, kappa=kappa)
        kept = merge_top(kept, scored.assign(score=scored["acquisition"]), pool)
    if kept is None or not len(kept):
        raise InputError("no candidate left to suggest", hint="Widen the space or drop --in-domain-only/--exclude")
    picks = select_batch(kept["acquisition"].to_numpy(), embedding(predictor, kept), batch, diversity=diversity)
    out = kept.iloc[picks].drop(columns=["score"]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.attrs.update(strategy=strategy, objective=str(objective), incumbent=incumbent)
    return out


def _canonical(values: pd.Series) -> pd.Series:
    """One spelling per composition (sorted elements, fractions to 6 decimals): 'Fe60Ni40' equals 'Fe0.6Ni0.4'."""
    from matforge.chem import ELEMENT_SYMBOLS, parse_compositions

    batch = parse_compositions(values.to_numpy(dtype=object), on_error="keep")
    out = []
    for i in range(len(batch)):
        k = batch.n_elements[i]
        order = np.argsort(batch.element[i, :k])
        out.append(" ".join(f"{ELEMENT_SYMBOLS[batch.element[i, j]]}:{batch.fraction[i, j]:.6f}" for j in order) if batch.valid[i] else str(values.iloc[i]))
    return pd.Series(out, index=values.index)


def _keys(predictor, frame: pd.DataFrame) -> pd.Series:
    """A text key per row from the model's input columns, equal for rows the model cannot tell apart."""
    from matforge.design._screen import required_columns

    featurizer = getattr(predictor, "featurizer", None)
    formula_cols = list(featurizer.formula_cols) if featurizer is not None else ["formula"]
    columns = [c for c in required_columns(predictor) if c in frame.columns] or [c for c in frame.columns if c != "candidate"]
    parts = []
    for column in columns:
        values = frame[column]
        if column in formula_cols:
            parts.append(_canonical(values))
        elif pd.api.types.is_numeric_dtype(values):
            parts.append(values.map(lambda v: f"{float(v):.10g}"))
        else:
            parts.append(values.astype(str))
    return pd.concat(parts, axis=1).agg("|".join, axis=1) if parts else pd.Series("", index=frame.index)


def _measured_keys(predictor, exclude) -> pd.Index | None:
    if exclude is None:
        return None
    if not isinstance(exclude, pd.DataFrame):
        from matforge.data import read_table

        exclude = read_table(exclude)
    return pd.Index(_keys(predictor, exclude))


def append_rows(data: pd.DataFrame, new: pd.DataFrame, *, new_source: str | None = None) -> tuple[pd.DataFrame, int]:
    """`data` with the rows of `new` appended: `new` must have every column of `data` (extra ones, such as the
    predictions `suggest` wrote, are dropped); a new row without a target value is an error."""
    missing = [c for c in data.columns if c not in new.columns]
    if missing:
        raise InputError(f"the new rows lack column(s) {', '.join(map(repr, missing))}", file=new_source, hint="Fill in the measured values under the training table's column names")
    rows = new[list(data.columns)].reset_index(drop=True)
    empty = rows.isna().all(axis=0)
    if empty.any():
        column = str(empty.index[empty.to_numpy()][0])
        raise InputError("no new row has a value in this column: were the measurements filled in?", file=new_source, column=column)
    _check_like(data, rows, new_source)
    return pd.concat([data, rows], ignore_index=True), len(rows)


def _check_like(data: pd.DataFrame, rows: pd.DataFrame, source: str | None) -> None:
    """Every problem of the new rows at once, where they break what the training table holds: a cell that is not
    a number in a column of numbers (target or process value), a formula that does not parse in a formula column."""
    from matforge.data._dataset import (
        _raise_problems,
        detect_formula_columns,
        formula_problems,
        number_problems,
    )

    problems = []
    for column in data.columns:
        if pd.api.types.is_numeric_dtype(data[column]) and not pd.api.types.is_bool_dtype(data[column]):
            problems += number_problems(rows[column], column, "a number is expected: the training table holds numbers in this column")[1]
    for column in detect_formula_columns(data):
        problems += formula_problems(rows[column], column, source)
    _raise_problems(sorted(problems, key=lambda p: p.row), source)
