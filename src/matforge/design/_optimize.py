"""Inverse design: search a design space for inputs the model predicts to meet one or several goals.

Optimizers (all minimise through one evaluator that decodes real vectors into candidates, predicts them and
records every evaluation, so the reported designs are the best *feasible* points ever evaluated):

- ``pso``: particle swarm optimisation (Kennedy & Eberhart 1995; pymoo's adaptive PSO, Zhan et al. 2009);
  constraints enter as a penalty;
- ``ga``: genetic algorithm (pymoo; feasibility-first constraint handling, Deb 2000);
- ``nsga2``: NSGA-II for several goals at once, giving a Pareto front (Deb et al. 2002);
- ``bo``: Bayesian optimisation: a Gaussian process over the evaluated designs and expected improvement
  (Jones et al. 1998), in diverse batches; with ``kappa`` the goal includes the trained model's own uncertainty.

pymoo: J. Blank & K. Deb, pymoo: Multi-Objective Optimization in Python, IEEE Access 8, 89497 (2020).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from matforge.design._screen import Objective, as_predictor, check_columns
from matforge.errors import InputError

__all__ = ["OPTIMIZERS", "DesignResult", "optimize", "pareto_front"]

OPTIMIZERS = ("pso", "ga", "bo", "nsga2")
_PENALTY = 1e6


@dataclass
class DesignResult:
    """Designs found (best first, or the Pareto front), every evaluation, and the convergence history."""

    designs: pd.DataFrame
    evaluations: pd.DataFrame
    history: pd.DataFrame
    optimizer: str
    objectives: list[str]
    names: list[str]
    info: dict = field(default_factory=dict)


class _Evaluator:
    """Decode, predict, score, record. Scores are 'higher is better'; violations 0 where feasible."""

    def __init__(self, predictors, names, objectives, space, in_domain_only):
        self.predictors, self.names, self.objectives, self.space = predictors, names, objectives, space
        self.in_domain_only = in_domain_only
        self.records: list[pd.DataFrame] = []
        self.history: list[dict] = []
        self.count = 0

    def _column(self, name: str, what: str) -> str:
        return what if len(self.names) == 1 else f"{name}:{what}"

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frame, violation = self.space.decode(X)
        out = frame.copy()
        scores = np.zeros((len(frame), len(self.predictors)))
        in_domain = np.ones(len(frame), bool)
        for j, (predictor, name, objective) in enumerate(zip(self.predictors, self.names, self.objectives, strict=True)):
            predicted = predictor.predict_table(frame, on_error="nan").reset_index(drop=True)
            for column in predicted.columns:
                if column != "in_domain":
                    out[self._column(name, column)] = predicted[column].to_numpy()
            in_domain &= predicted["in_domain"].to_numpy(dtype=bool)
            scores[:, j] = objective.score(predicted)
            out[self._column(name, "score")] = scores[:, j]
        if self.in_domain_only:
            violation = violation + (~in_domain)
        out["in_domain"] = in_domain
        out["violation"] = violation
        out["evaluation"] = self.count + np.arange(len(frame))
        self.count += len(frame)
        self.records.append(out)
        feasible = (violation == 0) & np.isfinite(scores).all(axis=1)
        best_before = self.history[-1]["best_score"] if self.history else -math.inf
        best_now = float(scores[feasible, 0].max()) if feasible.any() and len(self.names) == 1 else -math.inf
        self.history.append({"evaluations": self.count, "best_score": max(best_before, best_now), "feasible": int(feasible.sum())})
        return scores, violation

    def evaluations(self) -> pd.DataFrame:
        return pd.concat(self.records, ignore_index=True) if self.records else pd.DataFrame()


def pareto_front(scores: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of `scores` (all maximised), in input order."""
    scores = np.asarray(scores, dtype=float)
    keep = np.ones(len(scores), bool)
    for i in range(len(scores)):
        if keep[i]:
            dominated = np.all(scores <= scores[i], axis=1) & np.any(scores < scores[i], axis=1)
            keep &= ~dominated
    return np.flatnonzero(keep)


def _run_pymoo(kind: str, evaluator: _Evaluator, lower, upper, n_obj: int, n: int, pop_size: int, seed: int) -> None:
    try:
        from pymoo.core.problem import Problem
        from pymoo.optimize import minimize
    except ImportError:
        raise InputError(f"optimizer '{kind}' needs pymoo", hint="pip install 'matforge[design]'") from None
    use_constraints = kind != "pso"

    class _Problem(Problem):
        def __init__(self):
            super().__init__(n_var=len(lower), n_obj=n_obj, n_ieq_constr=1 if use_constraints else 0, xl=lower, xu=upper)

        def _evaluate(self, X, out, *args, **kwargs):
            scores, violation = evaluator(X)
            F = np.where(np.isfinite(scores), -scores, _PENALTY)
            if use_constraints:
                out["G"] = violation[:, None]
            else:
                F = F + np.where(violation > 0, _PENALTY + _PENALTY * violation, 0.0)[:, None]
            out["F"] = F

    if kind == "pso":
        from pymoo.algorithms.soo.nonconvex.pso import PSO

        algorithm = PSO(pop_size=pop_size)
    elif kind == "ga":
        from pymoo.algorithms.soo.nonconvex.ga import GA

        algorithm = GA(pop_size=pop_size, eliminate_duplicates=True)
    else:
        from pymoo.algorithms.moo.nsga2 import NSGA2

        algorithm = NSGA2(pop_size=pop_size, eliminate_duplicates=True)
    minimize(_Problem(), algorithm, ("n_evals", n), seed=seed, verbose=False)


def _run_bo(evaluator: _Evaluator, lower, upper, n: int, seed: int, batch: int = 4) -> str:
    """Gaussian-process Bayesian optimisation over the space's real encoding.

    A GP (Matérn 5/2 + noise, scikit-learn) is fitted to the scores seen so far (infeasible points penalised by
    their violation); expected improvement is evaluated on random and near-incumbent points, and a diverse
    batch of the best is predicted next (the same `acquisition` and `select_batch` as `suggest`).
    """
    from scipy.stats import qmc
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    from matforge.design._suggest import acquisition, select_batch

    rng = np.random.default_rng(seed)
    width = np.where(upper > lower, upper - lower, 1.0)
    d = len(lower)
    n_init = max(2, min(n, max(8, 2 * d)))
    U = qmc.LatinHypercube(d=d, seed=seed).random(n_init)
    seen_U, seen_y = [], []

    def run(U_batch: np.ndarray) -> None:
        scores, violation = evaluator(lower + U_batch * width)
        value = np.where(np.isfinite(scores[:, 0]), scores[:, 0], np.nan)
        seen_U.append(U_batch)
        seen_y.append(np.column_stack([value, violation]))

    run(U)
    kernel = ConstantKernel(1.0) * Matern(length_scale=np.full(d, 0.3), length_scale_bounds=(1e-3, 1e2), nu=2.5) + WhiteKernel(1e-4, (1e-8, 1e-1))
    iteration = 0
    while evaluator.count < n:
        X_seen = np.vstack(seen_U)
        raw = np.vstack(seen_y)
        value, violation = raw[:, 0], raw[:, 1]
        finite = np.isfinite(value)
        floor = np.nanmin(value) if finite.any() else 0.0
        spread = np.nanstd(value) if finite.sum() > 1 else 1.0
        # infeasible or unpredictable points are taught to the GP as worse than anything seen
        y = np.where(finite, value, floor - spread) - (spread + 1e-9) * 10 * np.minimum(violation, 1.0)
        # hyperparameters are re-fitted every third batch; in between the last ones are kept (fitting dominates)
        refit = iteration % 3 == 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp = GaussianProcessRegressor(kernel, normalize_y=True, optimizer="fmin_l_bfgs_b" if refit else None, random_state=seed).fit(X_seen, y)
        kernel = gp.kernel_
        iteration += 1
        best = X_seen[np.argmax(y)]
        pool = np.vstack([rng.random((2048, d)), np.clip(best + rng.normal(0, 0.05, (512, d)), 0, 1)])
        mean, std = gp.predict(pool, return_std=True)
        values = acquisition(mean, std, float(y.max()), "ei")
        q = min(batch, n - evaluator.count)
        run(pool[select_batch(values, pool, q)])
    return "Gaussian process (Matérn 5/2) + expected improvement, batches of 4"


def optimize(
    models,
    space,
    goals: str | list = "max",
    *,
    optimizer: str = "ga",
    n: int = 2000,
    pop_size: int = 40,
    kappa: float = 0.0,
    in_domain_only: bool = False,
    top: int = 20,
    seed: int = 0,
    names: list[str] | None = None,
) -> DesignResult:
    """Search `space` for designs that the model(s) predict to meet the goal(s).

    Parameters
    ----------
    models : one model or a list (run folders, `Run` objects or predictors); one goal per model.
    space : design space (file, dict or `DesignSpace`); continuous variables need no step.
    goals : ``max``, ``min``, ``target:VALUE``, ``range:LO:HI`` (list or comma-separated, one per model).
    optimizer : ``pso``, ``ga``, ``bo`` (single goal) or ``nsga2`` (any number of goals).
    n : model evaluations (candidates predicted) in total.
    pop_size : population of pso/ga/nsga2.
    kappa : added ``kappa × uncertainty`` to each score; negative prefers designs the model is sure about.
    in_domain_only : designs outside the model's domain count as infeasible.
    top : designs returned (single goal); NSGA-II returns its whole feasible Pareto front.
    seed : seed of the optimizer; the same seed gives the same designs.
    """
    from matforge.design._space import load_space

    if optimizer not in OPTIMIZERS:
        raise InputError(f"unknown optimizer '{optimizer}'", hint=f"Choose one of: {', '.join(OPTIMIZERS)}")
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    goal_list = [g.strip() for g in goals.split(",")] if isinstance(goals, str) else list(goals)
    if len(goal_list) == 1 and len(models) > 1:
        goal_list = goal_list * len(models)
    if len(goal_list) != len(models):
        raise InputError(f"{len(goal_list)} goals for {len(models)} models", hint="Give one goal per run folder, comma-separated")
    if len(models) > 1 and optimizer != "nsga2":
        raise InputError(f"several goals need the nsga2 optimizer, not {optimizer}", hint="Use --optimizer nsga2")
    if n < 2:
        raise InputError(f"--n must be at least 2 evaluations, not {n}")
    objectives = [Objective.parse(g, kappa=kappa) for g in goal_list]
    space = load_space(space)
    predictors = [as_predictor(m) for m in models]
    for predictor in predictors:
        check_columns(predictor, space.columns, space.source)
    names = names or [Path(m).name if isinstance(m, (str, Path)) else f"model{j + 1}" for j, m in enumerate(models)]
    lower, upper = space.bounds
    if not len(lower):
        raise InputError("the design space has nothing to vary (only fixed columns)", file=space.source)
    evaluator = _Evaluator(predictors, names, objectives, space, in_domain_only)
    started = time.perf_counter()
    info: dict = {"seed": seed, "n": n, "goals": [str(o) for o in objectives], "kappa": kappa}
    if optimizer == "bo":
        info["method"] = _run_bo(evaluator, lower, upper, n, seed)
    else:
        _run_pymoo(optimizer, evaluator, lower, upper, len(models), n, min(pop_size, n), seed)
        info["pop_size"] = min(pop_size, n)
    info["seconds"] = round(time.perf_counter() - started, 2)
    evaluations = evaluator.evaluations()
    designs = _select(evaluations, space.columns, [evaluator._column(nm, "score") for nm in names], top, optimizer == "nsga2")
    info["feasible_evaluations"] = int((evaluations["violation"] == 0).sum())
    return DesignResult(designs=designs, evaluations=evaluations, history=pd.DataFrame(evaluator.history), optimizer=optimizer, objectives=[str(o) for o in objectives], names=names, info=info)


def _select(evaluations: pd.DataFrame, inputs: list[str], score_cols: list[str], top: int, front: bool) -> pd.DataFrame:
    feasible = evaluations.loc[(evaluations["violation"] == 0) & np.isfinite(evaluations[score_cols]).all(axis=1)]
    # one row per distinct design (the optimizers revisit grid points); the first evaluation stands for it
    feasible = feasible.drop_duplicates(subset=inputs, keep="first")
    if not len(feasible):
        return feasible.reset_index(drop=True)
    if front:
        chosen = feasible.iloc[pareto_front(feasible[score_cols].to_numpy())]
        chosen = chosen.sort_values(score_cols[0], ascending=False, kind="stable")
    else:
        order = np.lexsort((feasible["evaluation"].to_numpy(), -feasible[score_cols[0]].to_numpy()))
        chosen = feasible.iloc[order[:top]]
    out = chosen.drop(columns=["violation"]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
