"""The run folder: one folder per trained model, written atomically, loadable without pickle."""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matforge.errors import InputError, ModelError
from matforge.learn._protocols import PROTOCOLS

__all__ = ["write_run", "load_run", "Run", "data_hash", "TRUSTED_PREFIXES"]

MODEL_FILE = "model.skops"
# types a model file may contain; anything else is refused at load time
TRUSTED_PREFIXES = ("matforge.", "sklearn.", "lightgbm.", "numpy.", "scipy.", "builtins.", "collections.", "_collections")


def data_hash(frame: pd.DataFrame, y: pd.Series) -> str:
    """SHA-256 of the training inputs and target (order-sensitive), for the model card."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(pd.util.hash_pandas_object(y.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("matforge", "numpy", "pandas", "scikit-learn", "lightgbm", "optuna", "pymatgen", "matminer", "skops", "torch", "rdkit"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def _json(path: Path, payload) -> None:
    path.write_text(json.dumps(payload, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o)) + "\n")


def write_run(folder: Path, model, dataset, *, command: str | None = None) -> None:
    """Write the contract files of a run folder into `folder` (which the caller renames into place)."""
    import skops.io as sio

    folder = Path(folder)
    (folder / "model").mkdir(parents=True, exist_ok=True)
    task = model.task_
    metrics = {
        "task": task,
        "target": dataset.target,
        "n_samples": int(len(dataset.y)),
        "protocol": {"name": "nested-" + PROTOCOLS.get(model.protocol, str(model.protocol)), "folds": len(model.splits_), "inner_folds": model._inner_folds(len(dataset.y)), "inner_scored_folds": model._scored_folds(len(dataset.y)), "inner_repeats": model._stage_repeats(len(dataset.y)), "seed": int(model.seed)},
        "best_model": model.best_model_,
        "cv": {m: {"mean": v["mean"], "std": v["std"]} for m, v in model.cv_scores_.items()},
        "cv_folds": {m: v["folds"] for m, v in model.cv_scores_.items()},
        "budget_seconds": float(model.budget),
        "fit_seconds": float(model.fit_seconds_),
        "models_tried": list(model.model_names_),
        "fold_members": model.fold_members_,
        "resumed_folds": int(model.resumed_folds_),
    }
    if getattr(model, "plan_", None):
        metrics["protocol"]["repeat_plan"] = model.plan_  # the timed floor that kept or dropped the repeated inner CV
    if getattr(model, "study_", None):
        metrics["study"] = model.study_  # the shared Optuna study this run added its trials to (password hidden)
    if getattr(model, "scheduler", None) or getattr(model, "workers", None):
        from matforge.scale._cluster import describe_scheduler

        metrics["outer_folds_on"] = describe_scheduler(model.scheduler, model.workers)
    if getattr(model, "zero_inflated_", False):
        # every model was a gate "above the floor?" plus a regressor on the rows above it
        y = np.asarray(model.y_, dtype=float)
        metrics["zero_inflated"] = {"floor": float(y.min()), "share_at_floor": float(np.mean(y <= y.min()))}
    log_target = getattr(model, "log_target_", False)
    if log_target:
        # the final stage's scale: every model on log(y) (True) or both scales searched ("search"), and how many
        # of the final members fit log(y)
        metrics["log_target"] = {"setting": "searched" if log_target == "search" else "always", "members_on_log_scale": model.members_on_log_scale_, "members": len(model.final_configurations_)}
    if task == "regression":
        cal = model.predictor_.intervals
        spread = "members' disagreement + own variance of the members that have one (forests, Gaussian processes, zero-inflated models)" if model.predictor_.within_spread else "members' disagreement"
        metrics["uncertainty"] = {"method": "normalised split-conformal on nested-CV out-of-fold residuals", "scale": spread, "level": cal.level, "cv_coverage": cal.cv_coverage_}
    _json(folder / "metrics.json", metrics)
    model.leaderboard_.to_csv(folder / "leaderboard.csv", index=False)

    oof = pd.DataFrame({"row": dataset.row_ids, "fold": model.oof_fold_})
    if dataset.weights is not None:  # merged duplicates: how many input rows each row stands for (scores count them)
        oof["weight"] = dataset.weights
    if task == "regression":
        oof["y_true"] = model.y_
        oof["y_pred"] = model.oof_
        oof["y_std"] = model.predictor_.intervals.std(model.oof_spread_)
    else:
        oof["y_true"] = model.y_
        oof["y_pred"] = np.asarray(model.classes_)[np.argmax(model.oof_, axis=1)]
        for j, label in enumerate(model.classes_):
            oof[f"proba_{label}"] = model.oof_[:, j]
    # the rows with a held-out prediction: all of them, but those a holdout inner CV (above 50,000 rows without
    # outer folds, `AutoModel._scored_folds`) left unscored
    oof[model.oof_fold_ >= 0].to_csv(folder / "oof_predictions.csv", index=False)
    # the validated training table (inputs + target, after duplicate merging) lets `matforge report` and
    # `matforge explain` recompute explanations and learning curves without the user's original file
    train_table = dataset.frame.copy()
    train_table[dataset.target] = dataset.y.to_numpy()
    if "row" not in train_table.columns:
        train_table.insert(0, "row", dataset.row_ids)
    train_table.to_parquet(folder / "model" / "train_data.parquet", index=False)

    sio.dump(model.predictor_, folder / "model" / MODEL_FILE)
    card = {
        "matforge_run": 1,
        "task": task,
        "target": dataset.target,
        "inputs": {"formula_cols": model.formula_cols_, "structure_cols": model.structure_cols_, "smiles_cols": model.smiles_cols_, "numeric_cols": model.numeric_cols_, "categorical_cols": model.categorical_cols_},
        # composition presets do not apply to a table of SMILES and process columns only
        "feature_preset": model.preset_ if model.formula_cols_ or model.structure_cols_ else None,
        "feature_preset_choice": {"asked": model.preset if isinstance(model.preset, str) else list(model.preset), "final_screen": model.preset_scores_ or "not screened: too little budget per stage, the first candidate kept", "outer_folds": model.fold_presets_} if len(model._preset_candidates()) > 1 and (model.formula_cols_ or model.structure_cols_) else None,
        "features": list(model.featurizer_.get_feature_names_out()),
        "classes": model.classes_,
        "best_model": model.best_model_,
        "final_members": [m for m in model.leaderboard_.loc[model.leaderboard_["in_final_model"], "model"]],
        "final_tuning": model.final_tuned_,
        "final_configurations": model.final_configurations_,
        "log_target": metrics.get("log_target"),
        "seed": int(model.seed),
        "data": {"source": dataset.source, "sha256": data_hash(dataset.frame, dataset.y), **dataset.describe()},
        "metrics": metrics["cv"],
        "versions": _versions(),
        "citations": _citations(model),
        "command": command,
    }
    _json(folder / "model" / "card.json", card)


def _citations(model) -> list[str]:
    from matforge.features import StructureFeatures, make_featurizer
    from matforge.models import get_model

    cites = list(make_featurizer(model.preset_).citations()) if model.formula_cols_ or model.structure_cols_ else []
    if model.structure_cols_:
        cites += StructureFeatures.citations()
    if model.smiles_cols_:
        from matforge.features._polymer import PolymerFeatures

        cites += PolymerFeatures.citations()
    for name in model.model_names_:
        cite = get_model(name).citation
        if cite not in cites:
            cites.append(cite)
    return cites


@dataclass
class Run:
    """A loaded run folder: its metrics, model card and predictor."""

    path: Path
    metrics: dict
    card: dict
    predictor: object

    @property
    def task(self) -> str:
        return self.card["task"]

    def predict(self, table: pd.DataFrame, *, on_error: str = "raise") -> pd.DataFrame:
        """The input rows in order, plus ``prediction``, uncertainty or class probabilities, and ``in_domain``."""
        from matforge.learn._predictor import join_outputs

        return join_outputs(table, self.predictor.predict_table(table, on_error=on_error))

    def leaderboard(self) -> pd.DataFrame:
        return pd.read_csv(self.path / "leaderboard.csv")

    def oof(self) -> pd.DataFrame:
        return pd.read_csv(self.path / "oof_predictions.csv")


def load_run(path: str | Path) -> Run:
    """Load a run folder written by `matforge train` (skops; refuses types outside trusted libraries)."""
    import skops.io as sio

    path = Path(path)
    model_file = path / "model" / MODEL_FILE
    if not model_file.exists():
        raise InputError("not a matforge run folder (no model/model.skops)", file=str(path), hint="Give the --out folder of 'matforge train'")
    try:
        card = json.loads((path / "model" / "card.json").read_text())
        metrics = json.loads((path / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"damaged run folder: {err}", file=str(path)) from None
    untrusted = sio.get_untrusted_types(file=model_file)
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise ModelError(f"{model_file}: refusing to load untrusted types {refused}")
    predictor = sio.load(model_file, trusted=untrusted)
    return Run(path=path, metrics=metrics, card=card, predictor=predictor)
