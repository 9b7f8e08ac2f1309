"""A model's full pipeline: pick its feature columns, encode, impute, scale, estimate; plus metrics."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from matforge.learn._protocols import make_splits  # re-exported: split protocols live in _protocols
from matforge.models import ModelSpec

__all__ = ["ColumnSelector", "build_pipeline", "score_predictions", "METRICS", "make_splits", "selection_metric"]


class ColumnSelector(TransformerMixin, BaseEstimator):
    """Keep the named columns of a DataFrame, in order (missing ones raise)."""

    def __init__(self, columns=()):
        self.columns = columns

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return X.loc[:, list(self.columns)]

    def get_feature_names_out(self, input_features=None):
        return np.asarray(list(self.columns), dtype=object)


def build_pipeline(spec: ModelSpec, task: str, params: dict, *, columns: list[str], categorical: list[str], seed: int, n_jobs: int = 1) -> Pipeline:
    """Preprocessing the model needs, fitted inside whatever data the pipeline is fitted on (no leakage)."""
    steps = [("select", ColumnSelector(columns))]
    cats = [c for c in categorical if c in columns]
    if cats:
        encoder = ColumnTransformer(
            [("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats)],
            remainder="passthrough", verbose_feature_names_out=False,
        )  # fmt: skip
        steps.append(("encode", encoder))
    steps.append(("impute", SimpleImputer(strategy="median", keep_empty_features=True)))
    if spec.needs_scaling:
        steps.append(("scale", StandardScaler()))
    estimator = spec.build(task, params, seed=seed, n_jobs=n_jobs)
    if task == "regression" and spec.scale_target:
        estimator = TransformedTargetRegressor(regressor=estimator, transformer=StandardScaler())
    steps.append(("model", estimator))
    return Pipeline(steps)


METRICS = {
    "regression": ("mae", "rmse", "r2"),
    "classification": ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc"),
}


def selection_metric(task: str, n_classes: int = 2) -> tuple[str, str]:
    """The metric model selection optimises and its direction (MatBench's: MAE, ROC-AUC)."""
    return ("mae", "minimize") if task == "regression" else ("roc_auc", "maximize")


def score_predictions(task: str, y_true, y_pred, proba: np.ndarray | None = None, classes=None) -> dict[str, float]:
    """The contract metrics for one set of predictions."""
    from sklearn import metrics

    if task == "regression":
        y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
        return {
            "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y_true, y_pred))),
            "r2": float(metrics.r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        }
    out = {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro")),
        "roc_auc": float("nan"),
    }
    if proba is not None and classes is not None:
        present = np.unique(y_true)
        try:
            if len(classes) == 2:
                out["roc_auc"] = float(metrics.roc_auc_score(np.asarray(y_true) == classes[1], proba[:, 1])) if len(present) == 2 else float("nan")
            else:
                out["roc_auc"] = float(metrics.roc_auc_score(y_true, proba, multi_class="ovr", average="weighted", labels=list(classes)))
        except ValueError:
            pass
    return out
