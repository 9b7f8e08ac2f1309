"""Screening: score candidates with a trained model and keep the best, in pieces that merge exactly.

The three pieces are pure functions so that a screen can be split over processes or a Dask cluster and give
the same bytes as one process:

- `DesignSpace.candidates(start, stop)`: the candidates of one index range (no global state);
- `screen_chunk(predictor, candidates, objective)`: predictions, uncertainty, ``in_domain`` and ``score``;
- `merge_top(a, b, n)`: the best `n` rows of two partial results; equal scores go in-domain first, then
  smaller uncertainty, then smaller candidate index; `merge_summary` adds up the counts.

`screen` runs them in order over a space or a table with a progress bar, holding one chunk and the top `n`
in memory at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matforge.errors import InputError

__all__ = ["Objective", "screen_chunk", "screen_space_range", "merge_top", "tied_at_best", "merge_summary", "summarize_chunk", "screen", "ScreenResult", "as_predictor"]


@dataclass(frozen=True)
class Objective:
    """What a good candidate is, as a score where higher is better.

    ``max`` / ``min`` (the value itself or its negative), ``target:VALUE`` (minus the distance to VALUE),
    ``range:LO:HI`` (minus the distance outside [LO, HI]; 0 inside). `kappa` adds ``kappa × uncertainty`` to the
    score: positive favours promising but uncertain candidates (optimism), negative prefers candidates the model
    is sure about (risk aversion, as in inverse design of polymer cloud points with low predicted variance).
    For classification runs the value is the probability of `positive` (default: the last class).
    """

    kind: str = "max"
    low: float = math.nan
    high: float = math.nan
    kappa: float = 0.0
    positive: str | None = None

    @classmethod
    def parse(cls, spec: str | Objective, *, kappa: float = 0.0, positive: str | None = None) -> Objective:
        if isinstance(spec, Objective):
            return spec
        text = str(spec).strip()
        parts = text.split(":")
        try:
            if parts == ["max"] or parts == ["min"]:
                return cls(parts[0], kappa=kappa, positive=positive)
            if parts[0] == "target" and len(parts) == 2:
                value = float(parts[1])
                return cls("target", value, value, kappa=kappa, positive=positive)
            if parts[0] == "range" and len(parts) == 3:
                lo, hi = float(parts[1]), float(parts[2])
                if lo > hi:
                    raise InputError(f"objective '{text}': LO is above HI")
                return cls("range", lo, hi, kappa=kappa, positive=positive)
        except ValueError:
            pass
        raise InputError(f"unknown objective '{text}'", hint="Use max, min, target:VALUE or range:LO:HI")

    def value_column(self, predictions: pd.DataFrame) -> str:
        probas = [c for c in predictions.columns if c.startswith("proba_")]
        if not probas:
            return "prediction"
        if self.positive is None:
            return probas[-1]
        name = f"proba_{self.positive}"
        if name not in probas:
            raise InputError(f"class '{self.positive}' is not one the model predicts", hint=f"Classes: {', '.join(c[6:] for c in probas)}")
        return name

    def score_values(self, value: np.ndarray) -> np.ndarray:
        """Score of plain values (no uncertainty term); NaN stays NaN."""
        value = np.asarray(value, dtype=float)
        if self.kind == "max":
            return value
        if self.kind == "min":
            return -value
        # + 0.0: a candidate inside the range scores 0, not -0 (as a table or message would print it)
        return -np.maximum(np.maximum(self.low - value, value - self.high), 0.0) + 0.0

    def score(self, predictions: pd.DataFrame) -> np.ndarray:
        """Score of each predicted row; rows without a prediction get -inf."""
        score = self.score_values(predictions[self.value_column(predictions)].to_numpy(dtype=float))
        if self.kappa and "uncertainty" in predictions:
            score = score + self.kappa * predictions["uncertainty"].to_numpy(dtype=float)
        return np.where(np.isnan(score), -np.inf, score)

    def __str__(self) -> str:
        if self.kind in ("max", "min"):
            return self.kind
        return f"target:{self.low:g}" if self.kind == "target" else f"range:{self.low:g}:{self.high:g}"


def as_predictor(model):
    """A predictor from a run folder path, a loaded `Run`, or any object with ``predict_table(table)``."""
    if hasattr(model, "predict_table"):
        return model
    if hasattr(model, "predictor"):
        return model.predictor
    from matforge.learn import load_run

    return load_run(model).predictor


def required_columns(predictor) -> list[str]:
    """Input columns the predictor reads (empty when it does not say)."""
    featurizer = getattr(predictor, "featurizer", None)
    if featurizer is None:
        return list(getattr(predictor, "input_columns", []))
    return [*featurizer.formula_cols, *getattr(featurizer, "structure_cols", ()), *getattr(featurizer, "smiles_cols", ()), *featurizer.numeric_cols, *featurizer.categorical_cols]


def check_columns(predictor, columns: list[str], source: str | None) -> None:
    missing = [c for c in required_columns(predictor) if c not in columns]
    if missing:
        raise InputError(
            f"the candidates lack column(s) {', '.join(map(repr, missing))} that the model was trained with", file=source,
            hint="Add them to the space (as variables or under fixed:) or to the candidate table",
        )  # fmt: skip


def candidate_rows(predictor, candidates):
    """A table of candidates (a DataFrame, or a file or structure folder `read_table` reads) checked against
    the model's input columns, and ``fetch(start, stop)``: those rows numbered in a column ``candidate``."""
    from matforge.data import align_structure_column, read_table

    source = None
    if not isinstance(candidates, pd.DataFrame):
        source = str(candidates)
        candidates = read_table(candidates)
    # a folder of structure files stands for the model's one structure column
    candidates = align_structure_column(candidates, getattr(getattr(predictor, "featurizer", None), "structure_cols", ()))
    check_columns(predictor, list(candidates.columns), source)
    if "candidate" in candidates.columns:
        raise InputError("the candidate table has a column named 'candidate', which screening uses for the row number", file=source, hint="Rename it")
    table = candidates.reset_index(drop=True)

    def fetch(start: int, stop: int) -> pd.DataFrame:
        chunk = pd.concat([pd.DataFrame({"candidate": np.arange(start, stop, dtype=np.int64)}), table.iloc[start:stop].reset_index(drop=True)], axis=1)
        chunk.attrs.update(table.attrs)  # the table's file: structure paths in it are read relative to it
        return chunk

    return table, fetch


def screen_chunk(predictor, candidates: pd.DataFrame, objective: Objective | str = "max", *, in_domain_only: bool = False, parsed: dict | None = None) -> pd.DataFrame:
    """Score one chunk of candidates: the candidate columns plus the model's outputs and ``score``.

    Pure: the result depends only on the arguments. Rows the model cannot featurize get NaN predictions and a
    score of -inf. With `in_domain_only`, rows outside the model's domain are dropped. `parsed` (from
    `DesignSpace.candidates_parsed`; only for matforge predictors) spares re-reading the formulas.
    """
    objective = Objective.parse(objective)
    if not len(candidates):
        return candidates.assign(score=np.zeros(0))
    if parsed:
        predictions = predictor.predict_table(candidates.reset_index(drop=True), on_error="nan", parsed=parsed)
    else:
        predictions = predictor.predict_table(candidates.reset_index(drop=True), on_error="nan")
    from matforge.learn._predictor import join_outputs

    out = join_outputs(candidates, predictions)
    out["score"] = objective.score(predictions)
    if in_domain_only:
        out = out.loc[out["in_domain"].to_numpy(dtype=bool)].reset_index(drop=True)
    return out


def screen_space_range(predictor, space, start: int, stop: int, objective: Objective, *, top: int, in_domain_only: bool = False) -> tuple[pd.DataFrame, dict]:
    """Screen the grid indices [start, stop) of a design space: the range's best `top` rows and its counts.

    A matforge model gets the compositions already parsed, and formula text is written only for the rows
    kept (most of a big screen's candidates are never written out).
    """
    from matforge.features._table import TableFeaturizer

    lazy = isinstance(getattr(predictor, "featurizer", None), TableFeaturizer)
    frame, parsed = space.candidates_parsed(start, stop, text=not lazy)
    scored = screen_chunk(predictor, frame, objective, parsed=parsed if lazy else None)
    summary = summarize_chunk(scored, stop - start)
    if in_domain_only:
        scored = scored.loc[scored["in_domain"].to_numpy(dtype=bool)]
    best = merge_top(None, scored, top)
    return (space.with_text(best) if lazy else best), summary


def one_blas_thread():
    """Context in which BLAS uses one thread. A screen's products are small (a chunk × a few hundred
    columns) and memory-bound: BLAS threads for them cost more than they give (3x slower per candidate
    measured on 2 busy cores), and the parallelism of a big screen is its partitions, one per worker."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


MERGE_ORDER = "score desc, in_domain first, uncertainty asc (NaN last), candidate asc"
"""How `merge_top` orders rows, in words: stored with a cluster screen's partitions (`matforge.scale`), so that
partitions kept in another order (before 2026-12-07: score, then candidate) are not merged with these."""


def _order(frame: pd.DataFrame) -> np.ndarray:
    # Best score first. Equal scores are common: every candidate inside a range objective scores 0, and a
    # linear or kernel model clipped at the highest target seen in training gives many candidates that value.
    # Among them the candidate the model can vouch for comes first (inside its domain, then the smaller
    # uncertainty, NaN last), then the smaller index: a total order, so any merge order gives one result.
    keys = [frame["candidate"].to_numpy()]
    if "uncertainty" in frame:
        spread = frame["uncertainty"].to_numpy(dtype=float)
        keys.append(np.where(np.isnan(spread), np.inf, spread))
    if "in_domain" in frame:
        keys.append(~frame["in_domain"].to_numpy(dtype=bool))
    keys.append(-frame["score"].to_numpy(dtype=float))
    return np.lexsort(keys)


def tied_at_best(top: pd.DataFrame) -> int:
    """How many of the kept rows share the best score (0 for none kept). Above 1, the model does not tell
    them apart, and their order is the tie-break of `merge_top`, not merit."""
    if not len(top):
        return 0
    score = top["score"].to_numpy(dtype=float)
    return int(np.sum(score == score[0])) if np.isfinite(score[0]) else 0


def merge_top(a: pd.DataFrame | None, b: pd.DataFrame | None, n: int) -> pd.DataFrame:
    """The best `n` rows of `a` and `b` together: score descending; equal scores in-domain first, then by
    uncertainty ascending (NaN last), then by candidate index ascending.

    Associative and commutative: merging partial results in any grouping gives the same table.
    """
    parts = [p for p in (a, b) if p is not None and len(p)]
    if not parts:
        return (a if a is not None else b).iloc[:0].reset_index(drop=True)
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return frame.iloc[_order(frame)[:n]].reset_index(drop=True)


def summarize_chunk(scored: pd.DataFrame, n_grid: int = 0) -> dict:
    """Counts of one scored chunk: grid points, feasible candidates, in domain, and per predicted class."""
    unreadable = scored["prediction"].isna().to_numpy() if len(scored) else np.zeros(0, bool)
    summary = {"grid_points": int(n_grid), "candidates": int(len(scored)), "in_domain": int(scored["in_domain"].sum()) if len(scored) else 0, "classes": {}, "unreadable": int(unreadable.sum())}
    if len(scored) and any(c.startswith("proba_") for c in scored.columns):
        read = scored.loc[~unreadable]  # a candidate without a prediction is counted apart, not as class 'None'
        for (label, inside), count in read.groupby([read["prediction"].astype(str), read["in_domain"]]).size().items():
            entry = summary["classes"].setdefault(label, {"in_domain": 0, "out_of_domain": 0})
            entry["in_domain" if inside else "out_of_domain"] += int(count)
    return summary


def merge_summary(a: dict | None, b: dict) -> dict:
    """Add the counts of two summaries (associative, like `merge_top`)."""
    if a is None:
        return b
    classes = {k: dict(v) for k, v in a["classes"].items()}
    for label, entry in b["classes"].items():
        mine = classes.setdefault(label, {"in_domain": 0, "out_of_domain": 0})
        for key in mine:
            mine[key] += entry[key]
    return {"grid_points": a["grid_points"] + b["grid_points"], "candidates": a["candidates"] + b["candidates"], "in_domain": a["in_domain"] + b["in_domain"], "classes": dict(sorted(classes.items())),
            "unreadable": a.get("unreadable", 0) + b.get("unreadable", 0)}


@dataclass
class ScreenResult:
    """The best candidates (`top`, best first) and the counts over everything screened (`summary`)."""

    top: pd.DataFrame
    summary: dict


def screen(
    model,
    space=None,
    candidates: pd.DataFrame | str | Path | None = None,
    *,
    objective: Objective | str = "max",
    top: int = 100,
    in_domain_only: bool = False,
    chunk_size: int = 20_000,
    progress: bool | None = None,
) -> ScreenResult:
    """Screen a design space (or a table of candidates) with a trained model and keep the `top` best.

    Parameters
    ----------
    model : run folder, loaded `Run`, or an object with ``predict_table(table) -> DataFrame``.
    space : design space (file, dict or `DesignSpace`); or give `candidates` (table or file) instead.
    objective : ``max``, ``min``, ``target:VALUE``, ``range:LO:HI`` or an `Objective` (with `kappa`).
    top : rows kept, best first.
    in_domain_only : drop candidates outside the model's domain of applicability.
    chunk_size : candidates featurized at once (memory ~ chunk_size × features × 8 bytes).

    Memory stays bounded for any number of candidates: one chunk and the top rows are held at a time.
    """
    from matforge.design._space import load_space
    from matforge.progress import progress_bar

    if (space is None) == (candidates is None):
        raise InputError("give either a design space or a candidate table")
    if top < 1:
        raise InputError(f"--top must be at least 1, not {top}")
    predictor = as_predictor(model)
    objective = Objective.parse(objective)
    best: pd.DataFrame | None = None
    summary: dict | None = None
    if space is not None:
        space = load_space(space)
        check_columns(predictor, space.columns, space.source)
        ranges = list(space.chunks(chunk_size))
        total = space.size
    else:
        table, fetch = candidate_rows(predictor, candidates)
        total = len(table)
        ranges = [(s, min(total, s + chunk_size)) for s in range(0, total, chunk_size)]

    with progress_bar(disable=None if progress is None else not progress) as bar, one_blas_thread():
        task = bar.add_task("screening", total=total)
        for start, stop in ranges:
            if space is not None:
                scored, counts = screen_space_range(predictor, space, start, stop, objective, top=top, in_domain_only=in_domain_only)
            else:
                scored = screen_chunk(predictor, fetch(start, stop), objective)
                counts = summarize_chunk(scored, stop - start)
                if in_domain_only:
                    scored = scored.loc[scored["in_domain"].to_numpy(dtype=bool)]
            summary = merge_summary(summary, counts)
            best = merge_top(best, scored, top)
            bar.advance(task, stop - start)
    if best is None:
        best = pd.DataFrame(columns=["candidate", "score"])
        summary = {"grid_points": 0, "candidates": 0, "in_domain": 0, "classes": {}}
    summary.update(objective=str(objective), kappa=objective.kappa, in_domain_only=in_domain_only, top=int(len(best)), tied_at_best=tied_at_best(best))
    return ScreenResult(top=best, summary=summary)
