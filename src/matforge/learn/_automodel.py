"""AutoModel: choose, tune and evaluate models honestly (nested, grouped CV) under a wall-clock budget."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from matforge.errors import InputError
from matforge.features._table import TableFeaturizer
from matforge.learn._pipeline import METRICS, make_splits, score_predictions, selection_metric
from matforge.learn._predictor import Predictor, member_spread
from matforge.learn._search import Tuned, fit_pipeline, predict_with, tune
from matforge.learn._uncertainty import DomainGuard, IntervalCalibrator, ProbabilityCalibrator
from matforge.models import get_model, resolve_models

__all__ = ["AutoModel"]


class AutoModel(BaseEstimator):
    """Automatic model selection with an honest estimate of how well the chosen model predicts.

    Protocol (nested cross-validation): the rows are split into `cv` outer folds, grouped by composition so
    the same material is never on both sides. Inside each outer training part, every candidate algorithm is
    tuned by Optuna with `inner_cv`-fold grouped CV, the best `ensemble` configurations are averaged, and
    that procedure predicts the outer test fold. The reported scores are those out-of-fold predictions; the
    test fold never reaches featurizer fitting, selection or tuning. Finally the same procedure runs on all
    rows to give the model that is saved.

    Parameters
    ----------
    task : ``"auto"``, ``"regression"`` or ``"classification"``.
    models : names from `matforge.models.MODELS` (``"all"`` for every available one); None = a strong default set.
    budget : wall-clock seconds for the whole fit, split over the outer folds, the final fit and the models.
    cv, inner_cv : outer and inner folds.
    ensemble : number of top configurations averaged (1 = the single best).
    preset : composition feature preset (see `matforge.features.PRESETS`).
    formula_cols, numeric_cols, categorical_cols : column roles (detected when all are None).
    protocol : ``"group"`` (grouped by composition) or ``"kfold"``.
    seed : seed of splits, samplers and models; the same seed gives the same run.
    n_jobs : threads per model fit.
    max_trials : trials per model and stage at most.
    """

    def __init__(self, task="auto", models=None, budget=120.0, cv=5, inner_cv=3, ensemble=3, preset="magpie", formula_cols=None, numeric_cols=None, categorical_cols=None, protocol="group", seed=0, n_jobs=1, max_trials=40, verbose=False):
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
        self.verbose = verbose

    # ------------------------------------------------------------------ setup
    def _roles(self, X: pd.DataFrame, y) -> None:
        from matforge.data import detect_formula_columns

        if self.formula_cols is None and self.numeric_cols is None and self.categorical_cols is None:
            formula = detect_formula_columns(X)
            numeric = [c for c in X.columns if c not in formula and pd.api.types.is_numeric_dtype(X[c])]
            categorical = [c for c in X.columns if c not in formula and c not in numeric]
        else:
            formula, numeric, categorical = list(self.formula_cols or []), list(self.numeric_cols or []), list(self.categorical_cols or [])
        self.formula_cols_, self.numeric_cols_, self.categorical_cols_ = formula, numeric, categorical
        task = self.task
        if task in (None, "auto"):
            from matforge.data._dataset import _detect_task

            task = _detect_task(pd.Series(y))
        self.task_ = task

    def _model_names(self) -> list[str]:
        return resolve_models(self.models, self.task_, self.n_samples_)

    def _columns(self, spec) -> list[str]:
        sets = self.featurizer_.feature_sets_
        base = sets["fractions"] if spec.feature_set == "fractions" else sets["main"]
        return base + sets["process"]

    # ------------------------------------------------------------------ one stage
    def _stage(self, name: str, F: pd.DataFrame, y: np.ndarray, groups: np.ndarray, deadline: float, storage: str | None, progress) -> dict:
        """Tune every model on (F, y) until `deadline` (monotonic seconds), fit each model's best configuration,
        rank them. Each model's default configuration is always evaluated, even past the deadline."""
        tuned: list[Tuned] = []
        fitted, fit_seconds = {}, {}
        for i, model in enumerate(self.model_names_):
            if time.monotonic() > deadline and len(fitted) >= max(1, self.ensemble):
                # out of time: later models are skipped rather than blowing the budget (left blank in the leaderboard)
                if progress is not None:
                    progress.advance(self._task_id)
                continue
            # 70% of what is left for searching, the rest for fitting the chosen configurations
            per_model = max(0.0, (deadline - time.monotonic()) * 0.7 / (len(self.model_names_) - i))
            spec = get_model(model)
            result = tune(
                spec, self.task_, F, y, groups, columns=self._columns(spec), categorical=self.categorical_cols_,
                classes=self.classes_, budget=per_model, seed=self.seed, storage=storage,
                study_name=f"{name}/{model}", inner_folds=self.inner_cv, max_trials=self.max_trials, n_jobs=self.n_jobs,
            )  # fmt: skip
            tuned.append(result)
            if np.isfinite(result.score):
                start = time.monotonic()
                fitted[model] = fit_pipeline(spec, self.task_, result.params, F, y, columns=self._columns(spec), categorical=self.categorical_cols_, seed=self.seed, n_jobs=self.n_jobs)
                fit_seconds[model] = time.monotonic() - start
            if progress is not None:
                progress.advance(self._task_id)
        _, direction = selection_metric(self.task_)
        ranked = sorted([t for t in tuned if t.model in fitted], key=lambda t: t.score, reverse=direction == "maximize")
        if not ranked:
            raise InputError("every model failed to fit this data", hint="Check the data for constant or empty columns")
        return {"tuned": tuned, "ranked": ranked, "fitted": fitted, "fit_seconds": fit_seconds, "members": [t.model for t in ranked[: max(1, self.ensemble)]]}

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, y, groups=None, *, work_dir: str | Path | None = None):
        """Run the nested-CV protocol and the final fit. `work_dir` keeps the Optuna study (SQLite) and finished
        outer folds, so a fit interrupted there resumes where it stopped."""
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
        self.model_names_ = self._model_names()
        presets = [self.preset] + (["fractions"] if any(get_model(m).feature_set == "fractions" for m in self.model_names_) else [])
        self.featurizer_ = TableFeaturizer(self.formula_cols_, self.numeric_cols_, self.categorical_cols_, presets=tuple(presets), n_jobs=self.n_jobs).fit(X)
        F = self.featurizer_.transform(X)

        work = Path(work_dir) if work_dir is not None else None
        storage = None
        if work is not None:
            work.mkdir(parents=True, exist_ok=True)
            storage = f"sqlite:///{(work / 'study.db').resolve()}"
        self.splits_ = make_splits(self.task_, y_values, groups, self.cv, self.seed, self.protocol)
        stage_budget = float(self.budget) / (len(self.splits_) + 1)
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
            for k, (train, test) in enumerate(self.splits_):
                checkpoint = work / f"fold_{k}.npz" if work is not None else None
                if checkpoint is not None and checkpoint.exists():
                    saved = np.load(checkpoint, allow_pickle=False)
                    if np.array_equal(saved["test"], test):
                        oof[test], spread[test] = saved["oof"], saved["spread"]
                        info = json.loads(str(saved["info"]))
                        for m, s in info["scores"].items():
                            per_model_scores[m].append(s)
                        for m, s in info["seconds"].items():
                            per_model_seconds[m].append(s)
                        chosen.append(info["members"])
                        fold_of[test] = k
                        self.resumed_folds_ += 1
                        if progress is not None:
                            progress.advance(self._task_id, len(self.model_names_))
                        continue
                deadline = start_time + (k + 1) * stage_budget
                stage = self._stage(f"fold{k}", F.iloc[train], y_values[train], groups[train], deadline, storage, progress)
                outputs = {m: predict_with(p, self.task_, F.iloc[test], self.classes_) for m, p in stage["fitted"].items()}
                member_out = [outputs[m] for m in stage["members"]]
                oof[test] = np.mean(np.stack(member_out), axis=0)
                spread[test] = member_spread(self.task_, member_out)
                fold_of[test] = k
                scores = {m: self._score(y_values[test], out) for m, out in outputs.items()}
                for m, s in scores.items():
                    per_model_scores[m].append(s)
                for m, s in stage["fit_seconds"].items():
                    per_model_seconds[m].append(s)
                chosen.append(stage["members"])
                if checkpoint is not None:
                    info = {"scores": scores, "seconds": stage["fit_seconds"], "members": stage["members"]}
                    np.savez(checkpoint, test=test, oof=oof[test], spread=spread[test], info=json.dumps(info))

            final = self._stage("final", F, y_values, groups, start_time + float(self.budget), storage, progress)
        finally:
            if progress is not None:
                progress.stop()

        self.oof_ = oof
        self.oof_spread_ = spread
        self.oof_fold_ = fold_of
        self.y_ = y_values
        self.fold_members_ = chosen
        self.cv_scores_ = self._fold_scores(y_values, oof, fold_of)
        self.leaderboard_ = self._leaderboard(per_model_scores, per_model_seconds, final)
        self.final_tuned_ = [asdict(t) for t in final["tuned"]]
        members = [final["fitted"][m] for m in final["members"]]
        self.best_model_ = final["members"][0] if len(final["members"]) == 1 else "ensemble(" + "+".join(final["members"]) + ")"
        intervals = probability = None
        if self.task_ == "regression":
            intervals = IntervalCalibrator(level=0.9).fit(y_values - oof, spread, fold_of)
        else:
            index = np.array([self.classes_.index(v) for v in y_values])
            probability = ProbabilityCalibrator().fit(oof, index)
        domain_cols = self.featurizer_.feature_sets_["main"] + self.numeric_cols_
        domain = DomainGuard().fit(F[domain_cols].to_numpy(dtype=float)) if domain_cols else None
        self.predictor_ = Predictor(
            featurizer=self.featurizer_, members=members, task=self.task_, classes=self.classes_, intervals=intervals,
            probability=probability, domain=domain, domain_columns=domain_cols, target=str(y.name or "target"),
        )  # fmt: skip
        self.fit_seconds_ = time.monotonic() - start_time
        return self

    def _score(self, y_true: np.ndarray, output: np.ndarray) -> dict:
        if self.task_ == "regression":
            return score_predictions("regression", y_true, output)
        labels = np.asarray(self.classes_)[np.argmax(output, axis=1)]
        return score_predictions("classification", y_true, labels, output, self.classes_)

    def _fold_scores(self, y: np.ndarray, oof: np.ndarray, folds: np.ndarray) -> dict[str, dict[str, float]]:
        per_fold = [self._score(y[folds == k], oof[folds == k]) for k in np.unique(folds)]
        return {m: {"mean": float(np.nanmean([s[m] for s in per_fold])), "std": float(np.nanstd([s[m] for s in per_fold])), "folds": [float(s[m]) for s in per_fold]} for m in METRICS[self.task_]}

    def _leaderboard(self, scores: dict, seconds: dict, final: dict) -> pd.DataFrame:
        rows = []
        chosen_final = set(final["members"])
        for model in self.model_names_:
            row = {"model": model}
            for metric in METRICS[self.task_]:
                values = [s[metric] for s in scores[model]]
                row[f"{metric}_mean"] = float(np.nanmean(values)) if values else float("nan")
                row[f"{metric}_std"] = float(np.nanstd(values)) if values else float("nan")
            row["fit_seconds"] = float(np.mean(seconds[model])) if seconds[model] else float("nan")
            row["in_final_model"] = model in chosen_final
            rows.append(row)
        metric, direction = selection_metric(self.task_)
        board = pd.DataFrame(rows)
        return board.sort_values(f"{metric}_mean", ascending=direction == "minimize", na_position="last").reset_index(drop=True)

    # ------------------------------------------------------------------ predict
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predictor_.predict_table(X)["prediction"].to_numpy()

    def predict_table(self, X: pd.DataFrame) -> pd.DataFrame:
        """Predictions with uncertainty and the in-domain flag (see `Predictor.predict_table`)."""
        return self.predictor_.predict_table(X)
