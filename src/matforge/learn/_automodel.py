"""AutoModel: choose, tune and evaluate models honestly (nested, grouped CV) under a wall-clock budget."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from matforge.errors import InputError
from matforge.features._table import TableFeaturizer
from matforge.learn._pipeline import (
    METRICS,
    balanced_threshold,
    is_log_skewed,
    is_zero_inflated,
    log_target_option,
    make_splits,
    score_predictions,
    selection_metric,
    zero_inflated_option,
)
from matforge.learn._predictor import Predictor, member_spread, per_distinct
from matforge.learn._search import (
    Tuned,
    average_close_to_best,
    fit_pipeline,
    predict_with,
    predicted_rows,
    screen_columns,
    select_ensemble,
    tune,
)
from matforge.learn._uncertainty import (
    DomainGuard,
    IntervalCalibrator,
    ProbabilityCalibrator,
    prediction_variance,
)
from matforge.models import get_model, resolve_models
from matforge.models._registry import LARGE_ROWS

SMALL_ROWS = 1000
"""Up to this many rows a stage repeats its inner CV (`AutoModel._inner_repeats`)."""

AUTO_PRESETS = ("magpie_extended", "magpie_wide")
"""The presets ``preset="auto"`` chooses between, smaller first: each holds the columns of the one before."""

SCREEN_SHARE = 0.1
"""About this share of a stage's part of the budget goes to choosing its preset (`AutoModel._choose_preset`)."""

CUT_KEEP = 0.5
"""A model past a stage's floor whose default trial would end past the deadline is cut to fit what is left
(`ModelSpec.cheaper`: fewer trees, rounds or mini-batches) where the cut keeps at least this share of its default's
work, and skipped otherwise (`AutoModel._fits`)."""

RESEED_MARGIN = 1.1
"""A stage fits one more seed of a member (`AutoModel._reseed`) only where the time left holds this many times
that member's measured fit: one fit can take longer than the last on a busy machine."""

RESEED_CUT_KEEP = 0.75
"""Where the time left holds less than `RESEED_MARGIN` times a member's fit, a stage fits one last seed cut to
what is left (`ModelSpec.cheaper`: fewer mini-batches and residual trees) if the cut keeps at least this share of
the member's work, and none otherwise (`AutoModel._reseed`). A cut fit is worse alone, and averaged with a whole one
it helps only if not cut far: MatBench mp_e_form fold 0, the boosted attention model (no search,
`python benchmarks/seed_average.py --share S`, `benchmarks/results/seed_average.json`): seed 0 alone 0.0797
eV/atom; averaged with seed 1 or seed 2 whole 0.0784 / 0.0784, cut to 0.75 of their steps and trees 0.0791 /
0.0793, cut to 0.6 0.0799 / 0.0800 (worse than seed 0 alone)."""

RESEED_MAX = 5
"""At most this many seeds of one member (`AutoModel._reseed`): the average's gain shrinks with each seed (its
variance part as 1/seeds), and a large budget should not go on many copies of one configuration."""

__all__ = ["AutoModel", "cut_defaults", "unreached_models"]


class AutoModel(BaseEstimator):
    """Automatic model selection with an honest estimate of how well the chosen model predicts.

    Protocol (nested cross-validation): the rows are split into `cv` outer folds, grouped by composition so
    the same material is never on both sides. Inside each outer training part, every candidate algorithm is
    tuned by Optuna with `inner_cv`-fold grouped CV, the best configurations are averaged (ensemble selection), and
    that procedure predicts the outer test fold. The reported scores are those out-of-fold predictions; the
    test fold never reaches featurizer fitting, selection or tuning. Finally the same procedure runs on all
    rows to give the model that is saved.

    Parameters
    ----------
    task : ``"auto"``, ``"regression"`` or ``"classification"``.
    models : names from `matforge.models.MODELS` (``"all"`` for every available one); None = a strong default set.
    budget : wall-clock seconds for the whole fit (featurizing included), split over the outer folds, the final
        fit and the models. Whatever the budget, each stage evaluates the default configuration of its first
        models (the floor); a timed probe sizes that floor to the budget first (`_plan`: fewer inner-CV repeats,
        fewer models, the first model's default cut to fewer trees where even it does not fit, corrected stage by
        stage), `unreached_models` names the models no stage reached and `cut_defaults` the cut defaults. No
        search starts a trial that would end past its share by the mean trial so far, but a running trial is
        not interrupted, so a budget below one default trial a stage is overrun.
    cv, inner_cv : outer and inner folds (inner at most 2 above 50,000 rows, and only the first of them fitted
        and scored there, a holdout of half the rows: `_scored_folds`; up to 1,000 rows, where the budget
        pays for it, the inner CV is repeated 3 times on reshuffled folds and trials are scored by the mean, see
        `_inner_repeats` and `_plan`).
    ensemble : size of the pool the members are drawn from (1 = the single best): the best configurations of the
        top `ensemble` models and, up to 50,000 rows, each of those models' next-best `ensemble` - 1
        configurations of its search (see `_kept_trials`). Regression on up to 1,000 rows averages the best
        model's configurations that are not significantly worse than the best on the inner-CV predictions, with
        equal weights (`average_close_to_best`); otherwise greedy ensemble selection weights them (`select_ensemble`).
    preset : composition feature preset (see `matforge.features.PRESETS`); ``"auto"`` (the default, as for
        `matforge train`) or a tuple of presets, smaller first, each holding the columns of the one before:
        every stage (outer fold or final fit) picks one on its own training rows by
        `matforge.learn._search.screen_columns` (a fixed extra-trees model's inner-CV score) before searching;
        ``"auto"`` means `AUTO_PRESETS`. The final stage's choice is ``preset_``, its screen scores
        ``preset_scores_``, and the outer folds' choices ``fold_presets_``.
        The screen ranks presets for tree models; where a linear model is the best fit, fix the preset.
    formula_cols, numeric_cols, categorical_cols, structure_cols, smiles_cols : column roles (detected when all
        are None). A structure column (`matforge.data.parse_structures`) gets the preset's composition features
        of each structure's composition and `matforge.features.StructureFeatures`; a SMILES column (polymer
        repeat units or molecules) `matforge.features.PolymerFeatures`.
    protocol : ``"group"`` (grouped by composition) or ``"kfold"``.
    seed : seed of splits, samplers and models; the same seed gives the same run.
    n_jobs : threads per model fit; also worker processes for featurizing large structure columns.
    max_trials : trials per model and stage at most.
    zero_inflated : ``"auto"``, True or False. Regression targets with a point mass at their minimum (at least
        20% of the training rows, e.g. band gaps of metals) are modelled by every algorithm as a gate "above
        the floor?" and a regressor on the rows above it (`matforge.learn._pipeline.ZeroInflatedRegressor`);
        ``"auto"`` decides from each stage's training targets only.
    log_target : ``"auto"`` (default), True or False. True fits every regression model to log(y) and predicts
        exp(.) (a strictly positive target); ``"auto"`` lets the search try both scales, model by model, where a
        stage's training targets are strictly positive with a long right tail (`is_log_skewed`: skewness above
        2, less on the log scale); elsewhere nothing changes. A zero-inflated stage (above) keeps its own
        scale. The final stage's setting is ``log_target_``; each member's scale is its ``_log_target``
        parameter in the model card. On MatBench jdft2d from formulas ``"auto"`` cut the MAE from 43.39 to
        41.99 meV/atom (every fold better) and tied on phonons (43.87 both); see docs/benchmark.md.
    select_features : None, or keep this many features per model, chosen by NMI relevance/redundancy
        (`matforge.learn._selection.RelevanceRedundancySelector`) inside every fit, so on training rows only.
    evaluate : run the outer CV loop (True) or only search + final fit (False). Use False when an outer
        protocol already exists (e.g. MatBench folds): the whole budget then goes to the final search, the
        scores reported are the inner-CV ones of the chosen configurations (above 50,000 rows on the holdout's
        rows only), and there are no calibrated intervals (they need out-of-fold residuals).
    scheduler, workers : run the outer folds on a Dask cluster (``tcp://HOST:PORT``, or ``local`` with
        `workers` processes; see `matforge.scale.scheduler_from_options`), one fold per task; the final fit
        runs here. Folds then run side by side, so each gets the budget of one round of folds. Their Optuna
        studies live in memory on the worker unless `storage` names a shared database.
    study, storage : join a shared Optuna study: every search of this fit adds its trials to the study
        ``STUDY/<stage>/<model>`` in the database `storage` (``sqlite:///file.db`` or ``postgresql://...``),
        so several processes or machines fitting the same data with the same seed cooperate (each sampler
        is seeded by its process, so they propose different configurations; `max_trials` counts all of them).
    """

    def __init__(self, task="auto", models=None, budget=120.0, cv=5, inner_cv=3, ensemble=3, preset="auto", formula_cols=None, numeric_cols=None, categorical_cols=None, protocol="group", seed=0, n_jobs=1, max_trials=40, zero_inflated="auto", log_target="auto", select_features=None, evaluate=True, verbose=False, scheduler=None, workers=None, study=None, storage=None, structure_cols=None, smiles_cols=None):
        self.task = task
        self.models = models
        self.budget = budget
        self.cv = cv
        self.inner_cv = inner_cv
        self.ensemble = ensemble
        self.preset = preset
        self.formula_cols = formula_cols
        self.numeric_cols = numeric_cols
        self.categorical_cols = categorical_cols
        self.protocol = protocol
        self.seed = seed
        self.n_jobs = n_jobs
        self.max_trials = max_trials
        self.zero_inflated = zero_inflated
        self.log_target = log_target
        self.select_features = select_features
        self.evaluate = evaluate
        self.verbose = verbose
        self.scheduler = scheduler
        self.workers = workers
        self.study = study
        self.storage = storage
        self.structure_cols = structure_cols
        self.smiles_cols = smiles_cols

    # ------------------------------------------------------------------ setup
    def _roles(self, X: pd.DataFrame, y) -> None:
        from matforge.data import detect_formula_columns, detect_smiles_columns, detect_structure_columns

        if self.formula_cols is None and self.numeric_cols is None and self.categorical_cols is None and self.structure_cols is None and self.smiles_cols is None:
            structure = detect_structure_columns(X)
            formula = detect_formula_columns(X, exclude=tuple(structure))
            smiles = detect_smiles_columns(X, exclude=(*structure, *formula))
            taken = {*formula, *structure, *smiles}
            numeric = [c for c in X.columns if c not in taken and pd.api.types.is_numeric_dtype(X[c])]
            categorical = [c for c in X.columns if c not in taken and c not in numeric]
        else:
            formula, numeric, categorical = list(self.formula_cols or []), list(self.numeric_cols or []), list(self.categorical_cols or [])
            structure, smiles = list(self.structure_cols or []), list(self.smiles_cols or [])
        self.formula_cols_, self.numeric_cols_, self.categorical_cols_, self.structure_cols_ = formula, numeric, categorical, structure
        self.smiles_cols_ = smiles
        task = self.task
        if task in (None, "auto"):
            from matforge.data._dataset import _detect_task

            task = _detect_task(pd.Series(y))
        self.task_ = task

    def _model_names(self) -> list[str]:
        return resolve_models(self.models, self.task_, self.n_samples_, compositions=bool(self.formula_cols_ or self.structure_cols_))

    def _preset_candidates(self) -> tuple[str, ...]:
        """The presets a stage chooses from (one: no choice)."""
        if isinstance(self.preset, str):
            return AUTO_PRESETS if self.preset == "auto" else (self.preset,)
        candidates = tuple(self.preset)
        if not candidates or not all(isinstance(c, str) and c != "auto" for c in candidates):
            raise InputError(f"preset must be a preset name, 'auto' or a tuple of preset names, not {self.preset!r}")
        return candidates

    def _preset_columns(self, X: pd.DataFrame) -> dict[str, list[str]]:
        """Each candidate preset's main columns, all of them columns of the largest (the last) candidate, which
        is what the featurizer computes."""
        candidates = self._preset_candidates()
        out = {c: TableFeaturizer(self.formula_cols_, (), (), presets=(c,), structure_cols=self.structure_cols_, smiles_cols=self.smiles_cols_).fit(X).feature_sets_["main"] for c in candidates}
        largest = set(out[candidates[-1]])
        for c in candidates[:-1]:
            if not set(out[c]) <= largest:
                raise InputError(f"preset '{c}' is not part of '{candidates[-1]}'", hint="List presets to choose from smaller first, each holding the columns of the one before (e.g. magpie_extended, magpie_wide)")
        return out

    def _choose_preset(self, F: pd.DataFrame, y: np.ndarray, groups: np.ndarray, weights: np.ndarray | None) -> tuple[str, dict[str, float]]:
        """The preset this stage searches on, chosen on its own rows (`screen_columns`) in about `SCREEN_SHARE`
        of a stage's share of the budget, and the screen's scores."""
        process = self.featurizer_.feature_sets_["process"]
        candidates = {name: columns + process for name, columns in self._main_by_preset.items()}
        if len({tuple(columns) for columns in candidates.values()}) == 1:  # one candidate, or no formula column
            return next(iter(candidates)), {}
        return screen_columns(
            candidates, self.task_, F, y, groups, categorical=self.categorical_cols_, classes=self.classes_, inner_folds=self._inner_folds(len(y)),
            inner_repeats=self._stage_repeats(len(y)), seed=self.seed, n_jobs=self.n_jobs, sample_weight=weights,
            # a share of the stage's nominal time, not of the clock's, so the same budget screens the same rows
            seconds=SCREEN_SHARE * float(self.budget) / (len(self.splits_) + 1),
        )  # fmt: skip

    # ------------------------------------------------------------------ one stage
    def _stage(self, name: str, F: pd.DataFrame, y: np.ndarray, groups: np.ndarray, deadline: float, storage: str | None, progress, weights: np.ndarray | None = None, required: frozenset = frozenset()) -> dict:
        """Tune every model on (F, y) until `deadline` (monotonic seconds), fit each model's best configuration,
        rank them. The first ``floor_models_`` models (`_plan`) and the `required` ones are evaluated even past
        the deadline (their default configuration at least); the others are skipped once the deadline has
        passed, or would pass before their default trial ends by what that trial took before (the plan's probe
        or an earlier stage of this fit) unless a cut keeping at least `CUT_KEEP` of it fits (`_fits`). `weights` (per row) weight the fits, the inner-CV scores and the
        ensemble selection. The final stage first fits the saved model's domain guard (`_domain_guard`), so its
        time comes out of the stage's deadline rather than after it."""
        tuned: list[Tuned] = []
        fitted, fit_seconds, expected = {}, {}, {}
        preset, preset_scores = self._choose_preset(F, y, groups, weights)
        sets = {**self.featurizer_.feature_sets_, "main": self._main_by_preset[preset]}
        domain = self._domain_guard(F, preset) if name == "final" else None

        def columns(spec) -> list[str]:
            return spec.columns(sets)

        zero_inflated, log_target = self._target_scale(y)
        if name == "final":
            self.zero_inflated_ = zero_inflated
            self.log_target_ = log_target
        for i, model in enumerate(self.model_names_):
            if len(fitted) >= self.floor_models_ and model not in required and not self._fits(model, deadline - time.monotonic()):
                # out of time: later models are skipped rather than blowing the budget (left blank in the
                # leaderboard), and so is a model whose default trial is known to end past the deadline unless a
                # cut keeping most of it fits (`_recut` below cuts it): one trial is not interrupted (MatBench glass,
                # 5,680 rows: one probe fit of the extra trees took 8.8 s, a default trial about four such fits,
                # against stage shares of 10-20 s at --budget 60-120)
                if progress is not None:
                    progress.advance(self._task_id)
                continue
            self._recut(model, deadline - time.monotonic())
            if model in self._default_cost:
                expected[model] = self._default_cost[model]  # the default trial + one fit, as the stage reckons it
            # 70% of what is left for searching, the rest for fitting the chosen configurations, less the default
            # trials of the models after this one that the stage will run
            left = deadline - time.monotonic()
            per_model = max(0.0, (left - self._reserved(i, left, len(fitted), required)) * 0.7 / (len(self.model_names_) - i))
            spec = self._stage_spec(model, zero_inflated, log_target)
            result = tune(
                spec, self.task_, F, y, groups, columns=columns(spec), categorical=self.categorical_cols_,
                classes=self.classes_, budget=per_model, seed=self.seed, storage=storage,
                study_name=f"{self.study}/{name}/{model}" if self.study else f"{name}/{model}", inner_folds=self._inner_folds(len(y)),
                inner_repeats=self._stage_repeats(len(y)), max_trials=self.max_trials, n_jobs=self.n_jobs, sampler_seed=self._sampler_seed(), sample_weight=weights,
                keep=self._kept_trials(len(y)), scored_folds=self._scored_folds(len(y)),
            )  # fmt: skip
            tuned.append(result)
            if np.isfinite(result.score):
                start = time.monotonic()
                fitted[model] = fit_pipeline(spec, self.task_, result.params, F, y, columns=columns(spec), categorical=self.categorical_cols_, seed=self.seed, n_jobs=self.n_jobs, sample_weight=weights)
                fit_seconds[model] = time.monotonic() - start
            if result.default_seconds is not None:  # what the next stage can expect of this model
                self._default_cost[model] = result.default_seconds + fit_seconds.get(model, 0.0)
            if progress is not None:
                progress.advance(self._task_id)
        _, direction = selection_metric(self.task_)
        ranked = sorted([t for t in tuned if t.model in fitted], key=lambda t: t.score, reverse=direction == "maximize")
        if not ranked:
            raise InputError("every model failed to fit this data", hint="Check the data for constant or empty columns")
        # members, from the top `ensemble` models and their next-best configurations (with ensemble=1 just the
        # best): regression up to SMALL_ROWS rows, an equal average of the best model's configurations not
        # significantly worse than the best (`average_close_to_best`); otherwise greedy ensemble selection (picks
        # repeat for weight)
        top = ranked[: max(1, self.ensemble)]
        pool = top + [alternative for t in top for alternative in t.alternatives]
        if len(pool) == 1:
            picks = [top[0]]
        elif self.task_ == "regression" and len(y) <= SMALL_ROWS:
            picks = average_close_to_best(y, pool, sample_weight=weights)
        else:
            picks = select_ensemble(self.task_, y, pool, self.classes_, sample_weight=weights)
        pipelines = {id(t): fitted[t.model] for t in top}
        seconds_of = {id(t): fit_seconds[t.model] for t in top}
        for t in picks:
            if id(t) not in pipelines:  # a model's next-best configuration: fitted only once picked
                start = time.monotonic()
                pipelines[id(t)] = fit_pipeline(get_model(t.model), self.task_, t.params, F, y, columns=columns(get_model(t.model)), categorical=self.categorical_cols_, seed=self.seed, n_jobs=self.n_jobs, sample_weight=weights)
                seconds_of[id(t)] = time.monotonic() - start
        seeds, seed_seconds, seed_cut = self._reseed(picks, pipelines, seconds_of, F, y, weights, deadline)
        # picks: the members as searched (model, parameters, inner-CV predictions); member_pipelines: fitted, in order
        return {"tuned": tuned, "ranked": ranked, "fitted": fitted, "fit_seconds": fit_seconds, "expected_seconds": expected, "picks": picks, "member_pipelines": [pipelines[id(t)] for t in picks], "domain": domain, "preset": preset, "preset_scores": preset_scores, "seeds": seeds, "seed_seconds": seed_seconds, "seed_cut": seed_cut}

    def _domain_guard(self, F: pd.DataFrame, preset: str) -> tuple[DomainGuard | None, list[str]]:
        """The saved model's domain guard, fitted on all rows of `preset`'s main columns and the numeric
        columns, and those columns (the guard is None where there are none). Its fit is not small on a large
        table: 44.5 s on synthetic rows of MatBench mp_e_form's training size (106,201 x 200, both cores;
        docs/benchmark.md), which ran past the final stage's deadline while the guard was fitted after the stage
        (before 6c1bb70). It holds the standardised rows (there 106,201 x 200 float64 values, 170 MB by arithmetic) from the stage's start instead of its end."""
        columns = self._main_by_preset[preset] + self.numeric_cols_
        return (DomainGuard().fit(F[columns].to_numpy(dtype=float)) if columns else None), columns

    def _reseed(self, picks: list, pipelines: dict, seconds_of: dict, F: pd.DataFrame, y: np.ndarray, weights: np.ndarray | None, deadline: float) -> tuple[dict[int, int], dict[str, float], dict[int, float]]:
        """Refit each member whose model gains from averaging seeds (`ModelSpec.reseed`: the attention models)
        with the next seeds while the stage's time lasts, and make its model step the average of its seeds
        (`SeedAveraged`); in place in `pipelines`. Returns ({id(pick): seeds} for the members refitted, {model:
        seconds those refits took}, {id(pick): share of the work its last seed kept} for those cut to the time left).

        A stage whose searches end before its deadline leaves time its budget paid for: MatBench mp_e_form fold 0
        at --budget 3600 ended at 2,532 s, the attention model's trial and fit taking 2,251 s where the plan
        expected 3,382 (early stopping ends its fits before their planned mini-batches; docs/benchmark.md). The
        average of the boosted attention model's fits with seeds 0 and 1 gave 0.0784 eV/atom on that fold's test rows,
        with seeds 0-2 0.0780, against 0.0797 / 0.0801 / 0.0802 for the seeds alone (the models alone, no search;
        `benchmarks/seed_average.py`, `benchmarks/results/seed_average.json`). One seed more is fitted only where the time
        left holds `RESEED_MARGIN` times the member's own measured fit, in turns over the members (most picked
        first), at most `RESEED_MAX` seeds each; where it holds less, one last seed cut to what is left
        (`ModelSpec.cheaper`) if the cut keeps `RESEED_CUT_KEEP` of the work, and none otherwise. Only the model
        step is refitted, on the rows as the member's own preprocessing transforms them (it does not depend on the
        seed). The inner-CV scores stay those of one seed; the members' disagreement, which the intervals were
        calibrated on, stays that of the members."""
        from matforge.learn._pipeline import accepts_sample_weight, build_pipeline
        from matforge.models._seeds import SeedAveraged

        counts = Counter(id(t) for t in picks)
        order = [t for t in dict((id(t), t) for t in sorted(picks, key=lambda t: -counts[id(t)])).values() if get_model(t.model).reseed]
        fits: dict[int, list] = {id(t): [pipelines[id(t)].steps[-1][1]] for t in order}
        seed_seconds: dict[str, float] = {}
        cut: dict[int, float] = {}  # members whose last seed was cut to the time left: the share of their work it kept
        added = True
        while added:
            added = False
            for t in order:
                key = id(t)
                spec = get_model(t.model)
                if len(fits[key]) >= RESEED_MAX or key in cut:
                    continue
                params, factor = t.params, (deadline - time.monotonic()) / (RESEED_MARGIN * seconds_of[key])
                if factor < 1.0:
                    # less than a whole fit left: one last seed cut to it, where the cut keeps enough of the work
                    if factor < RESEED_CUT_KEEP or spec.cheaper is None:
                        continue
                    params, share = spec.cheaper(t.params, factor)
                    if not RESEED_CUT_KEEP <= share <= factor * 1.000001:  # share / factor: a ratio of floats
                        continue
                    cut[key] = share
                start = time.monotonic()
                # the rows are preprocessed again for each seed rather than kept between them: 0.3-0.6 s for
                # 106,201 x 420 (357 MB; a ridge pipeline's select/impute/scale on random numbers) against a
                # network's 850-970 s fit, and nothing holds those 357 MB between seeds
                rows = pipelines[key][:-1].transform(F)
                estimator = build_pipeline(spec, self.task_, params, columns=pipelines[key].named_steps["select"].columns, categorical=self.categorical_cols_, seed=self.seed + len(fits[key]), n_jobs=self.n_jobs).steps[-1][1]
                extra = {"sample_weight": weights} if weights is not None and accepts_sample_weight(estimator) else {}
                fits[key].append(estimator.fit(rows, y, **extra))
                seed_seconds[t.model] = seed_seconds.get(t.model, 0.0) + time.monotonic() - start
                added = True
        for t in order:
            if len(fits[id(t)]) > 1:
                pipelines[id(t)].steps[-1] = ("model", SeedAveraged.adopt(fits[id(t)]))
        return {key: len(models) for key, models in fits.items() if len(models) > 1}, seed_seconds, cut

    def _reserved(self, i: int, left: float, n_fitted: int, required: frozenset) -> float:
        """Seconds a stage keeps back from the search of its `i`-th model for the default trials of the models
        after it whose cost is known (``_default_cost``) and that it will run: those it must (the floor, the
        `required`) and, in order, those whose default still fits `left` after this model's own, or fits it cut
        (`_fits`; such a model is cut to all that is then left, and takes it). Without it the
        first searches take their share of the budget regardless, and a dear model after them (the attention
        model on MatBench mp_e_form: a default trial the plan put at 49 minutes, LightGBM's at 1) finds too little left
        and is skipped, or overruns where it must run."""
        reserved = self._default_cost.get(self.model_names_[i], 0.0)
        must = n_fitted + 1  # models evaluated by the time each later one comes, if all before it are
        for model in self.model_names_[i + 1 :]:
            cost = self._default_cost.get(model, 0.0)
            if must < self.floor_models_ or model in required or reserved + cost <= left:
                reserved += cost
            elif self._fits(model, left - reserved):
                reserved = left  # it will be cut to what is left (`_stage`), and takes all of it
            must += 1
        return reserved - self._default_cost.get(self.model_names_[i], 0.0)

    def _fits(self, model: str, seconds: float) -> bool:
        """Whether `model`'s default trial fits `seconds` by what it took before (``_default_cost``), as it is or
        cut (`_cut_for`, as `_recut` will) to no less than `CUT_KEEP` of the default's work. Without the cut a dear
        model past the floor was skipped whenever its whole default did not fit: MatBench mp_e_form fold 0 at
        --budget 3600 (30c0ea5) lost the boosted attention model to LightGBM, 0.1104 eV/atom; with it, 0.0809
        (0.99 of its steps; fold 1: 0.79 of them, 0.0828)."""
        cost = self._default_cost.get(model, 0.0)
        if cost <= seconds:
            return True
        cut = self._cut_for(model, seconds)
        if cut is None or seconds <= 0:
            return False
        share, wanted = cut
        return CUT_KEEP <= share <= wanted * 1.02  # 2 %: the cut rounds to whole trees

    def _cut_for(self, model: str, seconds: float) -> tuple[float, float] | None:
        """(the share of `model`'s whole default its cheaper form keeps, the share wanted) for a default trial of
        about `seconds` by what that trial took before at the current cut; None without a cheaper form or a known
        cost."""
        spec, cost = get_model(model), self._default_cost.get(model, 0.0)
        if spec.cheaper is None or cost <= 0:
            return None
        wanted = self._default_scale.get(model, 1.0) * max(seconds, 0.0) / cost
        return spec.cheaper(spec.defaults, wanted)[1], wanted

    def _recut(self, model: str, seconds: float) -> None:
        """Cut `model`'s default (``_default_scale``, first set by `_plan`) so that its default trial takes about
        `seconds` by what that trial took before (``_default_cost``: the probe or an earlier stage), in
        proportion, where it is cut already or would not fit; never above the default. A stage evaluates a model
        whose default does not fit where it must (the floor, or a member of an outer fold in the final stage),
        and past the floor where the cut keeps at least `CUT_KEEP` of its default (`_fits`); the others are
        skipped (`_stage`). The probe is one timing on a machine whose speed varies
        several fold from minute to minute (one 116-round LightGBM fit with the zero-inflated gate on 2,450
        expt_gap rows: 1.5 s, minutes later 5.7 s), and a stage that ran over leaves the next one less: on MatBench expt_gap at
        --budget 60 the plan's cut (116 of 500 rounds) took 14 s a stage for 8.5 s planned, and each stage
        after the first started later."""
        cost, cut = self._default_cost.get(model, 0.0), self._cut_for(model, seconds)
        if cut is None or (model not in self._default_scale and cost <= seconds):
            return
        before = self._default_scale.get(model, 1.0)
        self._default_scale[model] = cut[0]
        self._default_cost[model] = cost * cut[0] / before

    def _cut_parameters(self) -> dict[str, dict[str, list]]:
        """The parameters of each cut default as the last stage searched from them, ``{model: {name: [default,
        cut]}}`` (``plan_["default_cut"]``, for the model card and `cut_defaults`)."""
        out = {}
        for model, factor in self._default_scale.items():
            spec = get_model(model)
            cheaper = spec.cheaper(spec.defaults, factor)[0]
            # a key the default lacks is a share of its work (the attention models' ``_steps_share``): all of it
            changed = {key: [spec.defaults.get(key, 1.0), value] for key, value in cheaper.items() if value != spec.defaults.get(key, 1.0)}
            if changed:
                out[model] = changed
        return out

    def _stage_spec(self, model: str, zero_inflated: bool, log_target: str | bool):
        """`model`'s spec as a stage searches it: with the feature selection, the zero-inflated gate and the
        target's scale of this fit, its default configuration cut where the plan says the budget cannot pay for it
        (`_plan`)."""
        spec = get_model(model)
        factor = self._default_scale.get(model)
        if factor is not None and spec.cheaper is not None:
            spec = replace(spec, defaults=spec.cheaper(spec.defaults, factor)[0])
        if self.select_features:
            # carried as a fixed parameter so that search, final fit and the saved pipeline all select
            spec = replace(spec, defaults={**spec.defaults, "_select": int(self.select_features)})
        if zero_inflated:
            spec = replace(spec, defaults={**spec.defaults, "_zero_inflated": True})
        if log_target:
            spec = _with_log_target(spec, log_target)
        return spec

    def _kept_trials(self, n_rows: int) -> int:
        """How many of each search's best configurations are ensemble candidates: `ensemble`, or only the best
        above `LARGE_ROWS` rows, where each extra member is one more fit on all rows (the attention model's
        take minutes). Averaging a model's next-best configurations cuts the noise of picking one by inner CV
        (MatBench steels, docs/benchmark.md)."""
        return 1 if n_rows > LARGE_ROWS else max(1, self.ensemble)

    def _inner_folds(self, n_rows: int) -> int:
        """Inner CV folds of a stage: `inner_cv`, at most 2 above 50,000 rows, where each fit is dear and half
        the rows still rank configurations reliably (2 fits on halves cost 2/3 of 3 fits on two-thirds).
        5 folds on small tables were tried and not kept: on MatBench steels at budget 400 they moved the MAE by
        -0.24 MPa against 3 folds on the same day, and with 120 s for a whole nested CV the seed tasks got worse
        (docs/benchmark.md)."""
        return min(self.inner_cv, 2) if n_rows > LARGE_ROWS else self.inner_cv

    def _scored_folds(self, n_rows: int) -> int:
        """How many of a stage's inner folds are fitted and scored (`tune`'s ``scored_folds``): all of them, and
        above `LARGE_ROWS` rows the first of the two alone, a holdout of half the rows. There each fit is dear and
        the held-out half is tens of thousands of rows: on MatBench mp_e_form (106,201-106,202 training rows, --budget
        3600) the attention model's default trial, two fits, took 1,137-1,515 s of a fold's hour, the model was
        chosen alone in every fold (inner MAE 0.094-0.096 eV/atom against LightGBM's 0.13-0.15), and three of
        the five folds then had too little time left for a second seed, which gained 0.0013-0.0014 eV/atom on
        folds 0 and 1 (`_reseed`; docs/benchmark.md). The rows a holdout leaves unscored have no inner-CV
        prediction (NaN): ensemble selection weighs the held-out rows, and a fit without outer folds reports
        and calibrates on them."""
        return 1 if n_rows > LARGE_ROWS else self._inner_folds(n_rows)

    def _inner_repeats(self, n_rows: int) -> int:
        """How often a stage's inner CV is repeated on reshuffled folds: 3 times up to `SMALL_ROWS` rows, where
        fits take well under a second and one split's score is noisier than the differences between
        configurations (MatBench steels, about 250 training rows, 5 official folds, budget 400: 80.07 MPa with
        one inner 3-fold split, 77.82 repeated; docs/benchmark.md), else once."""
        return 3 if n_rows <= SMALL_ROWS else 1

    def _stage_repeats(self, n_rows: int) -> int:
        """The inner-CV repeats of a stage of `n_rows` rows in this fit: `_inner_repeats`, at most
        ``inner_repeats_`` (1 where `_plan` found that the budget cannot pay for repeats)."""
        return min(self._inner_repeats(n_rows), self.inner_repeats_)

    def _plan(self, F: pd.DataFrame, y: np.ndarray, weights: np.ndarray | None, work: Path | None, seconds: float) -> tuple[int, int]:
        """What every stage of this fit does whatever the budget, sized to it: (the most inner-CV repeats, how
        many models a stage evaluates past its deadline).

        Past its deadline a stage still evaluates the default configuration of its first `ensemble` models
        (so that there is a choice and an ensemble), and the repeated inner CV of small tables triples that
        floor. Where the floor does not fit, the budget stops nothing and a run takes a multiple of it: on 312
        MatBench steels rows ``matforge train`` took 114 s with ``--budget 30`` and 112 s with ``--budget 60``
        (96 s of fitting; the same three models in every stage, none searched). So one fit and prediction of
        each of those models' default configuration, on as many rows as an inner fold, is timed first (a
        ninth of one default trial with the repeats, a third without),
        a floor is estimated as (scored inner folds x repeats + 1) such fits per model (`_scored_folds`), and within `seconds` (a
        stage's share of the budget when the stages run one after another, less the preset screen's share;
        outer folds on a cluster have more, so the plan is a cautious one there): the repeats are kept where all the floor
        models fit with them, else the inner CV runs once; then the first models that fit (at least one) make
        the floor. Probing stops at the first model that does not fit (on a 4,600-row table one fit of LightGBM
        with its zero-inflated gate took 9-13 s on the busy 2-core machine). Where even the first model's
        default alone does not fit, its default configuration is cut in proportion (``default_scale``, by
        `ModelSpec.cheaper`: fewer trees or boosting rounds), each stage corrects that cut by what the default
        took before (`_recut`, which also cuts any model a stage must evaluate whose default would not fit), and
        the stages search from there (``default_cut``, set after the final stage: the parameters the saved
        model's search started from, as [default, cut]); a model without a cheaper form keeps its default and
        overruns. The probe's timings also tell each stage what a model's default
        trial will take (`_stage` skips a model past the floor that would end beyond its deadline, cut or not).
        A timing, so a borderline table can go either way on a busy machine: ``plan_`` records the
        probe and the choices, the model card the repeats. A fit resumed from `work` keeps the plan it
        started with (its finished trials were scored with it), and a fit joining a shared study (`study`) is not
        planned. The probe fits on training rows of the first stage only, never on an outer test fold."""
        stages = [train for train, _ in self.splits_] or [np.arange(len(y))]
        most = self._inner_repeats(min(len(train) for train in stages))
        folds = self._inner_folds(len(stages[0]))
        self._default_scale: dict[str, float] = {}
        saved = work / "plan.json" if work is not None else None
        if self.study:
            # processes sharing a study add trials to the same searches: each timing its own floor could score
            # them with different repeats, so a shared study keeps the defaults (it is there for more compute)
            self.plan_ = {"inner_repeats": most, "repeats_wanted": most, "floor_models": max(1, self.ensemble), "probe_seconds": {}, "stage_seconds": seconds, "default_scale": {}, "shared_study": True}
        elif saved is not None and saved.exists():
            self.plan_ = {"default_scale": {}, **json.loads(saved.read_text())}
        else:
            self.plan_ = self._probe(F, y, weights, stages[0], folds, most, (1 - SCREEN_SHARE) * seconds)
            self.plan_["stage_seconds"] = seconds
            if saved is not None:
                saved.write_text(json.dumps(self.plan_))
        repeats = int(self.plan_["inner_repeats"])
        self._default_scale = dict(self.plan_["default_scale"])
        # a default trial's expected seconds (the stage loop skips a model that would end past its deadline)
        fits = self._scored_folds(len(stages[0])) * repeats + 1
        self._default_cost = {m: t * fits * self._default_scale.get(m, 1.0) for m, t in self.plan_["probe_seconds"].items()}
        return repeats, int(self.plan_["floor_models"])

    def _probe(self, F: pd.DataFrame, y: np.ndarray, weights: np.ndarray | None, rows: np.ndarray, folds: int, most: int, available: float) -> dict:
        """`_plan`'s timing: one fit + prediction of each floor model's default configuration on an inner fold's
        share of `rows` (the first stage's training rows; of a known share of that configuration where the model
        says so, `ModelSpec.timing`, divided by the share), and the choices it leads to within `available`
        seconds: the inner-CV repeats, the floor, and how far the first model's default is cut
        (``default_scale``) when even it alone does not fit."""
        scored = self._scored_folds(len(rows))  # fits a trial takes per repeat
        rows = np.random.default_rng(self.seed).permutation(rows)
        fit_rows, predict_rows = rows[: len(rows) * (folds - 1) // folds], rows[len(rows) * (folds - 1) // folds :]
        zero_inflated, log_target = self._target_scale(y[fit_rows])
        sets = {**self.featurizer_.feature_sets_, "main": self._main_by_preset[self._preset_candidates()[-1]]}
        probe, repeats, floor = {}, most, 0
        for model in self.model_names_[: max(1, self.ensemble)]:
            spec = self._stage_spec(model, zero_inflated, log_target)
            # a model whose default fit is minutes (the attention models) is timed on a share of its work
            params, share = spec.timing(spec.defaults) if spec.timing is not None else (spec.defaults, 1.0)
            start = time.monotonic()
            try:
                pipeline = fit_pipeline(spec, self.task_, params, F.iloc[fit_rows], y[fit_rows], columns=spec.columns(sets), categorical=self.categorical_cols_, seed=self.seed, n_jobs=self.n_jobs, sample_weight=None if weights is None else weights[fit_rows])
                predict_with(pipeline, self.task_, F.iloc[predict_rows], self.classes_)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                pass  # a model that fails here fails in its search too, where it is reported
            probe[model] = (time.monotonic() - start) / share
            if sum(probe.values()) * (scored * repeats + 1) > available:
                repeats = 1  # the repeats are dropped first, then models
            if sum(probe.values()) * (scored * repeats + 1) > available:
                break  # the probe is not free either (a big table's fits take seconds): no model past this one fits
            floor += 1
        scale = {}
        first = get_model(self.model_names_[0])
        needed = probe[first.name] * (scored * repeats + 1)
        if needed > available and first.cheaper is not None:
            # the first model's default alone overruns every stage: cut it (fewer trees) rather than the budget
            scale[first.name] = first.cheaper(first.defaults, max(available, 0.0) / needed)[1]
        return {"inner_repeats": repeats, "repeats_wanted": most, "floor_models": max(1, floor), "probe_seconds": probe, "default_scale": scale}

    def _target_scale(self, y: np.ndarray) -> tuple[bool, str | bool]:
        """A stage's (zero-inflated?, log scale) from its training targets: a zero-inflated stage keeps its scale."""
        zero_inflated = self._zero_inflated(y)
        return zero_inflated, False if zero_inflated else self._log_target(y)

    def _zero_inflated(self, y: np.ndarray) -> bool:
        """Whether this stage's regression target is modelled as gate + regressor (decided on its rows only)."""
        choice = zero_inflated_option(self.zero_inflated)
        if self.task_ != "regression":
            return False
        return is_zero_inflated(y) if choice == "auto" else choice

    def _log_target(self, y: np.ndarray) -> str | bool:
        """This stage's regression scale: True (log for every model), ``"search"`` (the search tries both) or
        False, decided on its training targets only."""
        if self.task_ != "regression":
            return False
        choice = log_target_option(self.log_target, y)
        if choice == "auto":
            return "search" if is_log_skewed(y) else False
        return choice

    def _sampler_seed(self) -> int:
        """The seed of the Optuna samplers: `seed`, or one per process when the study is shared, so that
        cooperating workers propose different configurations."""
        if not self.study:
            return int(self.seed)
        import os
        import socket
        import zlib

        return int(self.seed) + zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode()) % 1_000_003

    def _outer_fold(self, k: int, train: np.ndarray, test: np.ndarray, F: pd.DataFrame, y: np.ndarray, groups: np.ndarray, deadline: float, storage, progress, weights: np.ndarray | None = None) -> dict:
        """One outer fold: the whole selection procedure on the training part, predictions for the test part."""
        stage = self._stage(f"fold{k}", F.iloc[train], y[train], groups[train], deadline, storage, progress, None if weights is None else weights[train])
        outputs = {m: predict_with(p, self.task_, F.iloc[test], self.classes_) for m, p in stage["fitted"].items()}
        by_pipeline = {id(p): out for p, out in zip(stage["fitted"].values(), outputs.values())}
        for p in stage["member_pipelines"]:
            if id(p) not in by_pipeline:
                by_pipeline[id(p)] = predict_with(p, self.task_, F.iloc[test], self.classes_)
        member_out = [by_pipeline[id(p)] for p in stage["member_pipelines"]]
        variances = None
        if self.task_ == "regression":  # each member's own variance, as `Predictor` adds it (within_spread)
            variances = per_distinct(stage["member_pipelines"], lambda p: prediction_variance(p, F.iloc[test]))
        return {
            "k": k, "test": test, "oof": np.mean(np.stack(member_out), axis=0), "spread": member_spread(self.task_, member_out, variances),
            "scores": {m: self._score(y[test], out, None if weights is None else weights[test]) for m, out in outputs.items()}, "seconds": stage["fit_seconds"], "members": [t.model for t in stage["picks"]],
            "preset": stage["preset"],
        }  # fmt: skip

    @staticmethod
    def _collect(result: dict, oof, spread, fold_of, per_model_scores, per_model_seconds, chosen) -> None:
        test = result["test"]
        oof[test], spread[test], fold_of[test] = result["oof"], result["spread"], result["k"]
        for m, s in result["scores"].items():
            per_model_scores[m].append(s)
        for m, s in result["seconds"].items():
            per_model_seconds[m].append(s)
        chosen.append((result["k"], result["members"], result.get("preset")))

    def _folds_on_cluster(self, todo: list, F: pd.DataFrame, y: np.ndarray, groups: np.ndarray, start_time: float, storage, finished, weights: np.ndarray | None = None) -> None:
        """The outer folds as Dask tasks, one fold each; results are collected (and checkpointed) as they come."""
        from matforge.scale._cluster import map_partitions, scheduler_from_options

        with scheduler_from_options(self.scheduler, self.workers) as client:
            slots = max(1, len(client.scheduler_info().get("workers", {}))) if client is not None else 1
            rounds = -(-len(todo) // slots) if todo else 0
            # the folds of one round run side by side; the rounds and the final fit share what is left
            seconds = max(1.0, (float(self.budget) - (time.monotonic() - start_time)) / (rounds + 1))
            shared = {"model": self, "F": F, "y": y, "groups": groups, "seconds": seconds, "storage": storage, "weights": weights}
            map_partitions(_fold_task, todo, client=client, shared=shared, label="outer CV folds", on_done=lambda i, result: finished(result))

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, y, groups=None, *, sample_weight=None, work_dir: str | Path | None = None):
        """Run the nested-CV protocol and the final fit. `work_dir` keeps the Optuna study (SQLite) and finished
        outer folds, so a fit interrupted there resumes where it stopped.

        `sample_weight`: how many rows each row stands for (`Dataset.weights`: duplicates merged into one row
        count as many as they were). Fits (of the models that take weights), inner-CV scores, ensemble
        selection and the reported CV scores are all weighted; None = every row counts once."""
        start_time = time.monotonic()
        if not isinstance(X, pd.DataFrame):
            raise InputError("AutoModel.fit needs a table (DataFrame) of inputs")
        X = X.reset_index(drop=True)
        y = pd.Series(y).reset_index(drop=True)
        self._roles(X, y)
        self.n_samples_ = len(X)
        y_values = y.to_numpy(dtype=float) if self.task_ == "regression" else y.astype(str).to_numpy()
        self.classes_ = sorted(np.unique(y_values).tolist()) if self.task_ == "classification" else None
        groups = np.arange(len(X)) if groups is None else np.asarray(groups)
        self._groups = groups
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=float)
            if weights.shape != (len(X),) or not np.all(np.isfinite(weights)) or (weights < 0).any() or weights.sum() <= 0:
                raise InputError("sample_weight must hold one finite, non-negative number per row (not all zero)")
        self._log_target(y_values)  # a bad setting (log of a target that is not positive) fails before any work
        self.model_names_ = self._model_names()
        fractions = ["fractions"] if any(get_model(m).uses_fractions for m in self.model_names_) else []
        self._main_by_preset = self._preset_columns(X)
        # the largest candidate holds every candidate's columns: featurized once, each stage selects its own
        self.featurizer_ = TableFeaturizer(self.formula_cols_, self.numeric_cols_, self.categorical_cols_, presets=(self._preset_candidates()[-1], *fractions), n_jobs=self.n_jobs, structure_cols=self.structure_cols_, smiles_cols=self.smiles_cols_).fit(X)
        F = self.featurizer_.transform(X)

        work = Path(work_dir) if work_dir is not None else None
        storage = None
        if work is not None:
            work.mkdir(parents=True, exist_ok=True)
            storage = f"sqlite:///{(work / 'study.db').resolve()}"
        if self.study or self.storage:
            if not (self.study and self.storage):
                raise InputError("joining a shared study needs both a study name and a storage", hint="Give --join-study NAME and --storage URL together")
            from matforge.scale._tune import study_storage

            storage = study_storage(self.storage)
        self.splits_ = make_splits(self.task_, y_values, groups, self.cv, self.seed, self.protocol) if self.evaluate else []
        self.inner_repeats_, self.floor_models_ = self._plan(F, y_values, weights, work, (float(self.budget) - (time.monotonic() - start_time)) / (len(self.splits_) + 1))
        # what featurizing and the plan took is shared by every stage, not taken from the first fold's share
        stages_start = time.monotonic()
        stage_budget = (float(self.budget) - (stages_start - start_time)) / (len(self.splits_) + 1)
        n = len(X)
        oof = np.zeros(n) if self.task_ == "regression" else np.zeros((n, len(self.classes_)))
        spread = np.zeros(n)
        fold_of = np.full(n, -1)
        per_model_scores: dict[str, list[dict]] = {m: [] for m in self.model_names_}
        per_model_seconds: dict[str, list[float]] = {m: [] for m in self.model_names_}
        chosen: list[list[str]] = []
        self.resumed_folds_ = 0

        progress = None
        if self.verbose:
            from matforge.progress import progress_bar

            progress = progress_bar()
            progress.start()
            self._task_id = progress.add_task("nested CV + final fit", total=(len(self.splits_) + 1) * len(self.model_names_))
        try:
            todo = []
            for k, (train, test) in enumerate(self.splits_):
                checkpoint = work / f"fold_{k}.npz" if work is not None else None
                if checkpoint is not None and checkpoint.exists():
                    saved = np.load(checkpoint, allow_pickle=False)
                    if np.array_equal(saved["test"], test):
                        info = json.loads(str(saved["info"]))
                        done = {"k": k, "test": test, "oof": saved["oof"], "spread": saved["spread"], **info}
                        self._collect(done, oof, spread, fold_of, per_model_scores, per_model_seconds, chosen)
                        self.resumed_folds_ += 1
                        if progress is not None:
                            progress.advance(self._task_id, len(self.model_names_))
                        continue
                todo.append((k, train, test))

            def finished(result: dict) -> None:
                self._collect(result, oof, spread, fold_of, per_model_scores, per_model_seconds, chosen)
                if work is not None:
                    info = {key: result[key] for key in ("scores", "seconds", "members", "preset")}
                    np.savez(work / f"fold_{result['k']}.npz", test=result["test"], oof=result["oof"], spread=result["spread"], info=json.dumps(info))

            if self.scheduler or self.workers:
                if progress is not None:  # one live display at a time: the cluster's bar counts the folds
                    progress.stop()
                self._folds_on_cluster(todo, F, y_values, groups, start_time, storage if self.storage else None, finished, weights)
                if progress is not None:
                    progress.start()
                    progress.advance(self._task_id, len(todo) * len(self.model_names_))
            else:
                for k, train, test in todo:
                    finished(self._outer_fold(k, train, test, F, y_values, groups, stages_start + (k + 1) * stage_budget, storage, progress, weights))
            # folds may finish in any order: members listed by fold
            chosen.sort(key=lambda entry: entry[0])

            # the final stage evaluates at least every model that was a member in an outer fold, late or not: the
            # saved model is then chosen among what the reported scores measured. Outer folds that ran past their
            # share leave the final stage less than its own (every deadline is fixed when the stages start), and
            # with a floor of one model the demo table (2,815 rows, --budget 120) had its extra trees in two outer
            # folds (MAE 130.9 there) but saved LightGBM alone (154.7)
            members = frozenset(m for _, names, _ in chosen for m in names)
            final = self._stage("final", F, y_values, groups, start_time + float(self.budget), storage, progress, weights, required=members)
            self.plan_["default_cut"] = self._cut_parameters()
        finally:
            if progress is not None:
                progress.stop()

        if not self.evaluate:
            # no outer loop: the inner-CV predictions of the chosen members stand in for out-of-fold ones (they
            # are out-of-fold for each member, but the members were chosen on them, so slightly optimistic)
            oof, spread, fold_of = self._inner_oof(final, y_values)
            for t in final["tuned"]:
                if t.oof is not None:
                    rows = predicted_rows(t.oof)  # a holdout inner CV predicts some rows only (`_scored_folds`)
                    per_model_scores[t.model].append(self._score(y_values[rows], t.oof[rows], None if weights is None else weights[rows]))
            for m, seconds in final["fit_seconds"].items():
                per_model_seconds[m].append(seconds)
        self.oof_ = oof
        self.oof_spread_ = spread
        self.oof_fold_ = fold_of
        self.y_ = y_values
        self.fold_members_ = [members for _, members, _ in chosen]
        self.fold_presets_ = [preset for _, _, preset in chosen]
        self.preset_, self.preset_scores_ = final["preset"], final["preset_scores"]
        if self.preset_ != self._preset_candidates()[-1]:
            # the saved featurizer computes only the chosen preset (the members select columns by name)
            self.featurizer_ = TableFeaturizer(self.formula_cols_, self.numeric_cols_, self.categorical_cols_, presets=(self.preset_, *fractions), n_jobs=self.n_jobs, structure_cols=self.structure_cols_, smiles_cols=self.smiles_cols_).fit(X)
        self.study_ = {"name": self.study, "storage": _masked(self.storage)} if self.study else None
        self.cv_scores_ = self._fold_scores(y_values, oof, fold_of, weights)
        self.leaderboard_ = self._leaderboard(per_model_scores, per_model_seconds, final)
        # what each search took against what the stage expected of it: ``expected_seconds`` (the default trial and
        # one fit on all rows, by the plan's probe or an earlier stage, after any cut) beside the measured
        # ``default_seconds`` + ``fit_seconds`` (the chosen configuration's fit), so a run past its budget says whether
        # the estimate or the search overran
        # and ``seed_seconds``: the fits of further seeds the time left paid for (`_reseed`)
        self.final_tuned_ = [{**t.summary(), **{key: final[key][t.model] for key in ("expected_seconds", "fit_seconds", "seed_seconds") if t.model in final[key]}} for t in final["tuned"]]
        self.final_configurations_ = _distinct_configurations(final["picks"], final["seeds"], final["seed_cut"])
        # how many of those fit log(y) (`log_target`); the model card and the log-target benchmark report it
        self.members_on_log_scale_ = sum(bool(c["params"].get("_log_target")) for c in self.final_configurations_)
        members, names = final["member_pipelines"], [t.model for t in final["picks"]]
        distinct = list(dict.fromkeys(names))
        self.best_model_ = distinct[0] if len(distinct) == 1 else "ensemble(" + "+".join(f"{m}×{names.count(m)}" for m in distinct) + ")"
        intervals = probability = None
        held = fold_of >= 0  # the rows with a held-out prediction: all, but those a holdout inner CV left out
        if self.task_ == "regression":
            intervals = IntervalCalibrator(level=0.9).fit((y_values - oof)[held], spread[held], fold_of[held])
        else:
            index = np.array([self.classes_.index(v) for v in y_values])[held]
            probability = ProbabilityCalibrator().fit(oof[held], index)
        # binary: the cut on the (calibrated) positive-class probability that balances the two recalls, from
        # held-out predictions only; `decide` applies it
        self.decision_threshold_ = None
        if self.task_ == "classification" and len(self.classes_) == 2:
            self.decision_threshold_ = balanced_threshold(index == 1, probability.transform(oof[held])[:, 1])
        domain, domain_cols = final["domain"]
        self.predictor_ = Predictor(
            featurizer=self.featurizer_, members=members, task=self.task_, classes=self.classes_, intervals=intervals,
            probability=probability, domain=domain, domain_columns=domain_cols, target=str(y.name or "target"),
            decision_threshold=self.decision_threshold_, member_names=names,
            # the outer folds' spreads count the members' own variances; the inner-CV predictions of search-only
            # mode (no outer folds) have none to count, so its intervals stay on the members' disagreement
            within_spread=bool(self.splits_),
        )  # fmt: skip
        self.fit_seconds_ = time.monotonic() - start_time
        return self

    def _inner_oof(self, final: dict, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Averaged inner-CV predictions of the final members, their spread, and the inner fold of each row (-1,
        and NaN predictions, for the rows a holdout inner CV left unscored, `_scored_folds`)."""
        outputs = [t.oof for t in final["picks"] if t.oof is not None]
        if not outputs:  # resumed study without stored predictions: score nothing rather than guess
            outputs = [np.full(len(y), np.nan) if self.task_ == "regression" else np.full((len(y), len(self.classes_)), 1.0 / len(self.classes_))]
        fold_of = np.full(len(y), -1)
        for k, (_, test) in enumerate(make_splits(self.task_, y, self._groups, self._inner_folds(len(y)), self.seed)[: self._scored_folds(len(y))]):
            fold_of[test] = k
        return np.mean(np.stack(outputs), axis=0), member_spread(self.task_, outputs), fold_of

    def _score(self, y_true: np.ndarray, output: np.ndarray, weights: np.ndarray | None = None) -> dict:
        if self.task_ == "regression":
            return score_predictions("regression", y_true, output, sample_weight=weights)
        labels = np.asarray(self.classes_)[np.argmax(output, axis=1)]
        return score_predictions("classification", y_true, labels, output, self.classes_, sample_weight=weights)

    def _fold_scores(self, y: np.ndarray, oof: np.ndarray, folds: np.ndarray, weights: np.ndarray | None = None) -> dict[str, dict[str, float]]:
        per_fold = [self._score(y[folds == k], oof[folds == k], None if weights is None else weights[folds == k]) for k in np.unique(folds[folds >= 0])]
        return {m: {"mean": float(np.nanmean([s[m] for s in per_fold])), "std": float(np.nanstd([s[m] for s in per_fold])), "folds": [float(s[m]) for s in per_fold]} for m in METRICS[self.task_]}

    def _leaderboard(self, scores: dict, seconds: dict, final: dict) -> pd.DataFrame:
        rows = []
        chosen_final = {t.model for t in final["picks"]}
        for model in self.model_names_:
            row = {"model": model}
            for metric in METRICS[self.task_]:
                values = [s[metric] for s in scores[model]]
                row[f"{metric}_mean"] = float(np.nanmean(values)) if values else float("nan")
                row[f"{metric}_std"] = float(np.nanstd(values)) if values else float("nan")
            # outer folds whose stage reached the model (a small budget skips the last models in some): its
            # mean is over these only, and the final model is chosen by the final stage's own inner CV
            row["folds_scored"] = len(scores[model])
            row["fit_seconds"] = float(np.mean(seconds[model])) if seconds[model] else float("nan")
            row["in_final_model"] = model in chosen_final
            rows.append(row)
        metric, direction = selection_metric(self.task_)
        board = pd.DataFrame(rows)
        return board.sort_values(f"{metric}_mean", ascending=direction == "minimize", na_position="last").reset_index(drop=True)

    # ------------------------------------------------------------------ predict
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predictor_.predict_table(X)["prediction"].to_numpy()

    def decide(self, table: pd.DataFrame) -> np.ndarray:
        """Labels from `predict_table`'s probabilities: binary tasks cut at ``decision_threshold_`` (balanced
        recalls), otherwise the most probable class."""
        return self.predictor_.label(table[[f"proba_{c}" for c in self.classes_]].to_numpy(dtype=float))

    def predict_table(self, X: pd.DataFrame) -> pd.DataFrame:
        """Predictions with uncertainty and the in-domain flag (see `Predictor.predict_table`)."""
        return self.predictor_.predict_table(X)


def unreached_models(board: pd.DataFrame) -> list[str]:
    """The models of a leaderboard (`AutoModel.leaderboard_`, ``leaderboard.csv``) that no stage had time to
    evaluate (no score at all): past a stage's deadline, once its floor (`AutoModel._plan`) is fitted, the
    later models are skipped."""
    scores = [c for c in board.columns if c.endswith("_mean")]
    return board.loc[board[scores].isna().all(axis=1), "model"].tolist() if scores else []


def cut_defaults(protocol: dict) -> str:
    """The default configurations a fit cut to pay for its budget (`AutoModel._plan`; ``protocol`` of
    ``metrics.json``), in words (e.g. ``"lightgbm n_estimators 500 -> 100, learning_rate 0.05 -> 0.2"``); empty
    where none was cut."""
    cut = (protocol.get("repeat_plan") or {}).get("default_cut") or {}
    named = {"_steps_share": "share of training steps"}  # the attention models' fixed parameter, in words

    def shown(value) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    return "; ".join(f"{model} " + ", ".join(f"{named.get(key, key)} {shown(old)} -> {shown(new)}" for key, (old, new) in changes.items()) for model, changes in cut.items())


def _with_log_target(spec, mode: str | bool):
    """`spec` fitted on the log scale (True), or with the scale as one more searched choice (``"search"``);
    its default configuration, tried first, stays on the target's own scale then."""
    if mode is True:
        return replace(spec, defaults={**spec.defaults, "_log_target": True})
    inner = spec.regression_space

    def space(trial) -> dict:
        return {**(inner(trial) if inner is not None else {}), "_log_target": trial.suggest_categorical("_log_target", [False, True])}

    return replace(spec, defaults={**spec.defaults, "_log_target": False}, regression_space=space)


def _distinct_configurations(picks: list, seeds: dict[int, int] | None = None, seed_cut: dict[int, float] | None = None) -> list[dict]:
    """The ensemble's distinct configurations (model, parameters, inner-CV score) with how often each was picked
    and, where `seeds` ({id(pick): n}, `AutoModel._reseed`) says so, over how many seeds its fit was averaged
    (``last_seed_share``: the share of the work the last of them kept where it was cut to the time left)."""
    out: list[dict] = []
    seeds, seed_cut = seeds or {}, seed_cut or {}
    for t in picks:
        for entry in out:
            if entry["model"] == t.model and entry["params"] == t.params:
                entry["weight"] += 1
                break
        else:
            out.append({"model": t.model, "params": t.params, "inner_score": t.score, "weight": 1, **({"seeds": seeds[id(t)]} if id(t) in seeds else {}), **({"last_seed_share": round(seed_cut[id(t)], 3)} if id(t) in seed_cut else {})})
    return out


def _fold_task(part: tuple, *, model: AutoModel, F: pd.DataFrame, y: np.ndarray, groups: np.ndarray, seconds: float, storage, weights=None) -> dict:
    """One outer fold on a cluster worker (its deadline counted from when the worker starts it)."""
    k, train, test = part
    return model._outer_fold(k, train, test, F, y, groups, time.monotonic() + seconds, storage, None, weights)


def _masked(url: str | None) -> str | None:
    from matforge.scale._tune import masked_storage

    return masked_storage(url) if url else None
