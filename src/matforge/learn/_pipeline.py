"""A model's full pipeline: pick its feature columns, encode, impute, scale, estimate; plus metrics."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, RegressorMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from matforge.learn._protocols import make_splits  # re-exported: split protocols live in _protocols
from matforge.models import ModelSpec

__all__ = ["ColumnSelector", "MedianImputer", "BoundedRegressor", "accepts_sample_weight", "ZeroInflatedRegressor", "is_zero_inflated", "zero_inflated_option", "is_log_skewed", "log_target_option", "balanced_threshold", "build_pipeline", "score_predictions", "METRICS", "make_splits", "selection_metric"]


class ColumnSelector(TransformerMixin, BaseEstimator):
    """Keep the named columns of a DataFrame, in order (missing ones raise)."""

    def __init__(self, columns=()):
        self.columns = columns

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        columns = list(self.columns)
        # the frame itself, or a view of its leading columns, where that is what is asked: `loc` would copy
        # a featurizer's one C-ordered block into pandas' column-major layout, which the model then
        # transposes back (two copies that cost more than a linear model's prediction on millions of rows)
        if len(columns) <= X.shape[1] and list(X.columns[: len(columns)]) == columns:
            return X if len(columns) == X.shape[1] else X.iloc[:, : len(columns)]
        return X.loc[:, columns]

    def get_feature_names_out(self, input_features=None):
        return np.asarray(list(self.columns), dtype=object)


class MedianImputer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Missing values (NaN) replaced by their column's median on the rows the imputer was fitted on (0 for a column
    with none): what ``SimpleImputer(strategy="median", keep_empty_features=True)`` gives, at ``np.nanmedian``'s
    speed. Written here because scikit-learn takes the medians through numpy's masked arrays, whose sort is slow:
    2.29 s a fit on MatBench mp_e_form fold 0's training features (0.47 s here); 109 s over the 75 pipeline fits
    of that fold at ``--budget 600`` with LightGBM and ridge, under a profiler. `transform` always returns a new float array (a scaler after it may work
    in place) and, as scikit-learn's, refuses infinite values."""

    def fit(self, X, y=None):
        columns = getattr(X, "columns", None)
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(columns, dtype=object)  # what `get_feature_names_out` hands on
        X = self._checked(X)
        with warnings.catch_warnings():  # a column with no value at all: its median is NaN, imputed as 0 below
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(X, axis=0) if len(X) else np.full(X.shape[1], np.nan)
        self.statistics_ = np.where(np.isnan(median), 0.0, median)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = self._checked(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but MedianImputer is expecting {self.n_features_in_} features as input.")
        missing = np.isnan(X)
        if missing.any():
            X[missing] = self.statistics_[np.nonzero(missing)[1]]
        return X

    @staticmethod
    def _checked(X) -> np.ndarray:
        # a copy, also of a float array; pandas' missing values (NA of nullable columns) become NaN
        X = X.to_numpy(dtype=float, na_value=np.nan, copy=True) if hasattr(X, "to_numpy") else np.array(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2D array, got {X.ndim}D")
        if np.isinf(X).any():
            raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
        return X


class BoundedRegressor(RegressorMixin, BaseEstimator):
    """Clip a regressor's predictions to the range of the training targets.

    Physical targets often have a hard bound the model does not know (band gaps and yield strengths are never
    negative); kernel, linear and neighbour models can overshoot it, and for MAE a clipped prediction is never
    worse than the unclipped one when the bound truly holds. Trees never leave the range, so they are unchanged.
    """

    def __init__(self, regressor=None):
        self.regressor = regressor

    def fit(self, X, y, **fit_params):
        y = np.asarray(y, dtype=float)
        self.regressor_ = clone(self.regressor).fit(X, y, **fit_params)
        self.low_, self.high_ = float(np.min(y)), float(np.max(y))
        return self

    def predict(self, X):
        return np.clip(self.regressor_.predict(X), self.low_, self.high_)


def auto_yes_no(value, option: str) -> str | bool:
    """``"auto"``, True or False from what a user may write (also ``"yes"``/``"no"``); anything else raises,
    naming `option`."""
    from matforge.errors import InputError

    choice = {"auto": "auto", "yes": True, "no": False, True: True, False: False}.get(value)
    if choice is None:
        raise InputError(f"{option} must be auto, yes or no, not {value!r}")
    return choice


def zero_inflated_option(value) -> str | bool:
    """The ``zero_inflated`` / ``--zero-inflated`` setting: ``"auto"``, True or False."""
    return auto_yes_no(value, "zero-inflated")


def log_target_option(value, y=None) -> str | bool:
    """The ``log_target`` / ``--log-target`` setting: ``"auto"``, True or False; with the regression target `y`,
    True for a target that is not strictly positive raises."""
    from matforge.errors import InputError

    choice = auto_yes_no(value, "log-target")
    if choice is True and y is not None and np.nanmin(np.asarray(y, dtype=float)) <= 0:
        raise InputError("--log-target yes needs a strictly positive target (it fits log(target))", hint="Use --log-target auto or no")
    return choice


def is_log_skewed(y, skew: float = 2.0) -> bool:
    """Whether a regression target is strictly positive with a long right tail: sample skewness above `skew`,
    and its logarithm less skewed (exfoliation energies, conductivities, lifetimes spanning decades).

    Such a target is worth fitting on a log scale; the median is unchanged by the logarithm, so models chosen
    by MAE (which rewards the conditional median) keep their meaning when the prediction is exponentiated."""
    from scipy.stats import skew as sample_skew

    y = np.asarray(y, dtype=float)
    y = y[np.isfinite(y)]
    if len(y) < 3 or y.min() <= 0 or np.ptp(y) == 0:
        return False
    right = float(sample_skew(y))
    return bool(right > skew and abs(float(sample_skew(np.log(y)))) < right)


def is_zero_inflated(y, share: float = 0.2, min_above: int = 10) -> bool:
    """Whether a regression target sits exactly at its minimum for at least `share` of the rows, with at least
    `min_above` rows above it (band gaps: 0 eV for every metal; porosity 0 for dense parts)."""
    y = np.asarray(y, dtype=float)
    y = y[np.isfinite(y)]
    if len(y) == 0:
        return False
    at_floor = y <= y.min()
    return bool(at_floor.mean() >= share and (~at_floor).sum() >= min_above)


_GATES: dict = {}


def _fitted_gate(gate, X, above: np.ndarray, sample_weight: np.ndarray | None = None):
    """The gate fitted on (X, above), reused when the same rows come again.

    A search fits every trial's pipeline on the same inner-CV rows, and the gate's data and configuration do
    not change between trials (only the regressor's do), so the same classifier would be refitted each time;
    fitting is deterministic (seeded), so a reused fit is the same model. Keyed by a digest of the data,
    labels and the gate's parameters; the few most recent are kept."""
    import hashlib

    data = np.ascontiguousarray(np.asarray(X, dtype=float))
    digest = hashlib.sha1(data.view(np.uint8))
    digest.update(str(data.shape).encode())
    digest.update(np.packbits(above).tobytes())
    digest.update(repr(sorted(gate.get_params().items())).encode())
    if sample_weight is not None:
        digest.update(np.ascontiguousarray(sample_weight, dtype=float).view(np.uint8))
    key = (type(gate).__qualname__, digest.hexdigest())
    if key not in _GATES:
        if len(_GATES) >= 16:
            _GATES.pop(next(iter(_GATES)))
        weighted = {"sample_weight": sample_weight} if sample_weight is not None and accepts_sample_weight(gate) else {}
        _GATES[key] = clone(gate).fit(X, above, **weighted)
    return _GATES[key]


class ZeroInflatedRegressor(RegressorMixin, BaseEstimator):
    """A regressor for targets with a point mass at their minimum: "is the row above the floor?" as a
    classifier, "how far above?" as a regressor fitted on the rows above it only.

    A single regressor has to bend one smooth function through both a flat plateau (every metal's band gap is
    exactly 0) and the spread of the positive values; split in two, each part learns one thing. The prediction
    is the median of the resulting mixture, which is what MAE rewards: with p = P(above), the floor where
    p < 1/2, else the (p - 1/2)/p quantile of the distribution above the floor, taken as the regressor's value
    plus that quantile of its residuals on a held-out quarter of the rows above the floor (the regressor is
    then refitted on all of them). A confident gate (p near 1) gives the regressor's value plus its median
    residual; an unsure one pulls the prediction towards the floor.
    (MatBench expt_gap, 5 official folds, one LightGBM configuration on magpie_extended features: MAE 0.360 eV
    as one regressor, 0.283 eV split in two with the regressor's value above the gate, 0.278 eV with the
    median of the mixture, its residuals there taken from a 3-fold CV; the held-out quarter used here is
    cheaper. The full default pipeline with this class: 0.2782 eV, benchmarks/results/matbench.json.)
    scikit-lego has a zero-inflated regressor gated at exactly zero that predicts the regressor's value; this
    one uses the training minimum as the floor and predicts the mixture's median.

    classifier : the gate; None = matforge's LightGBM classifier with its default configuration.
    """

    def __init__(self, regressor=None, classifier=None, seed: int = 0):
        self.regressor = regressor
        self.classifier = classifier
        self.seed = seed

    def fit(self, X, y, **fit_params):
        from sklearn.utils import _safe_indexing

        y = np.asarray(y, dtype=float)
        self.floor_ = float(np.min(y))
        above = y > self.floor_
        if (~above).sum() < 2 or above.sum() < 2:
            # no mass at the floor (only the minimum row itself) or nothing above it: a plain regressor
            self.classifier_ = None
            self.regressor_ = clone(self.regressor).fit(X, y, **fit_params)
            return self
        gate = self.classifier
        if gate is None:
            from matforge.models import get_model

            gate = get_model("lightgbm").build("classification", seed=self.seed)
        weight = fit_params.pop("sample_weight", None)
        self.classifier_ = _fitted_gate(gate, X, above, weight)
        rows = np.flatnonzero(above)
        X_above, y_above = _safe_indexing(X, rows), y[rows]
        weight = None if weight is None else np.asarray(weight, dtype=float)[rows]
        order = np.random.default_rng(self.seed).permutation(len(rows))
        held, kept = order[: len(rows) // 4], order[len(rows) // 4 :]
        self.residuals_ = np.zeros(1)
        if len(held) >= 20:
            probe_weight = {} if weight is None else {"sample_weight": weight[kept]}
            probe = clone(self.regressor).fit(_safe_indexing(X_above, kept), y_above[kept], **fit_params, **probe_weight)
            # residual quantiles unweighted: a merged row's target is already the median of its duplicates
            self.residuals_ = np.sort(y_above[held] - probe.predict(_safe_indexing(X_above, held)))
        self.regressor_ = clone(self.regressor).fit(X_above, y_above, **fit_params, **({} if weight is None else {"sample_weight": weight}))
        return self

    def predict_above(self, X) -> np.ndarray:
        """P(target above the floor) per row (1 where the training data had no floor to gate)."""
        if self.classifier_ is None:
            return np.ones(X.shape[0])
        proba = self.classifier_.predict_proba(X)
        return proba[:, list(self.classifier_.classes_).index(True)]

    def predict(self, X):
        from sklearn.utils import _safe_indexing

        out = np.full(X.shape[0], self.floor_)
        if self.classifier_ is None:
            return np.asarray(self.regressor_.predict(X), dtype=float)
        p = self.predict_above(X)
        rows = np.flatnonzero(p >= 0.5)
        if len(rows):
            # the median of the mixture: the (p - 1/2)/p quantile of the part above the floor
            shift = np.quantile(self.residuals_, (p[rows] - 0.5) / p[rows])
            out[rows] = np.maximum(self.regressor_.predict(_safe_indexing(X, rows)) + shift, self.floor_)
        return out


def accepts_sample_weight(estimator) -> bool:
    """Whether `estimator.fit` takes per-row weights, looking through the regressor wrappers of `build_pipeline`
    (they hand the weights on to the estimator they wrap)."""
    from sklearn.utils.validation import has_fit_parameter

    while isinstance(estimator, (BoundedRegressor, ZeroInflatedRegressor, TransformedTargetRegressor)):
        estimator = estimator.regressor
    return has_fit_parameter(estimator, "sample_weight")


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
    steps.append(("impute", MedianImputer()))
    if spec.needs_scaling:
        # in place: the imputer before it always hands over a fresh array
        steps.append(("scale", StandardScaler(copy=False)))
    select = {**spec.defaults, **params}.get("_select")
    if select:  # relevance/redundancy feature selection, fitted on the same rows as the model
        from matforge.learn._selection import RelevanceRedundancySelector

        steps.append(("select_features", RelevanceRedundancySelector(n_features=int(select), task=task)))
    estimator = spec.build(task, params, seed=seed, n_jobs=n_jobs)
    if task == "regression" and spec.scale_target:
        estimator = TransformedTargetRegressor(regressor=estimator, transformer=StandardScaler())
    if task == "regression" and spec.needs_scaling:  # kernel/linear/neighbour models can overshoot bounds
        estimator = BoundedRegressor(estimator)
    if task == "regression" and {**spec.defaults, **params}.get("_log_target"):
        # fitted to log(y), predicting exp(.): the bounds above then hold on the log scale
        estimator = TransformedTargetRegressor(regressor=estimator, func=np.log, inverse_func=np.exp, check_inverse=False)
    if task == "regression" and {**spec.defaults, **params}.get("_zero_inflated"):
        estimator = ZeroInflatedRegressor(estimator, seed=seed)
    steps.append(("model", estimator))
    return Pipeline(steps)


METRICS = {
    "regression": ("mae", "rmse", "r2"),
    "classification": ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc"),
}


def selection_metric(task: str, n_classes: int = 2) -> tuple[str, str]:
    """The metric model selection optimises and its direction (MatBench's: MAE, ROC-AUC)."""
    return ("mae", "minimize") if task == "regression" else ("roc_auc", "maximize")


def balanced_threshold(y_positive, p_positive) -> float:
    """The probability cut that maximises balanced accuracy (mean of the two class recalls) on held-out rows.

    Arg-max labels (cut 0.5) favour the majority class; for an imbalanced binary target the cut that treats
    both recalls alike is usually below or above 0.5. Balanced accuracy of hard labels is also what MatBench
    reports as "ROC-AUC" (its classification predictions are booleans). Ties go to the cut nearest 0.5.
    """
    y = np.asarray(y_positive, dtype=bool)
    p = np.asarray(p_positive, dtype=float)
    if y.all() or not y.any():
        return 0.5
    order = np.argsort(-p, kind="stable")
    p_sorted, y_sorted = p[order], y[order]
    # predicting positive for the top i rows: recall of positives and of negatives for every i at once
    tp = np.concatenate([[0], np.cumsum(y_sorted)])
    fp = np.concatenate([[0], np.cumsum(~y_sorted)])
    balanced = 0.5 * (tp / y.sum() + 1 - fp / (~y).sum())
    # a cut is only valid between distinct probabilities
    valid = np.concatenate([[True], p_sorted[1:] < p_sorted[:-1], [True]])
    cuts = np.concatenate([[p_sorted[0] + 1e-9], 0.5 * (p_sorted[1:] + p_sorted[:-1]), [p_sorted[-1] - 1e-9]])
    cuts = np.where(valid, cuts, np.nan)
    scores = np.where(valid, balanced, -np.inf)
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(cuts[best[np.argmin(np.abs(cuts[best] - 0.5))]])


def score_predictions(task: str, y_true, y_pred, proba: np.ndarray | None = None, classes=None, sample_weight=None) -> dict[str, float]:
    """The contract metrics for one set of predictions; `sample_weight` counts a row as that many rows."""
    from sklearn import metrics

    w = sample_weight
    if task == "regression":
        y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
        return {
            "mae": float(metrics.mean_absolute_error(y_true, y_pred, sample_weight=w)),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y_true, y_pred, sample_weight=w))),
            "r2": float(metrics.r2_score(y_true, y_pred, sample_weight=w)) if len(y_true) > 1 else float("nan"),
        }
    out = {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred, sample_weight=w)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred, sample_weight=w)),
        "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro", sample_weight=w)),
        "roc_auc": float("nan"),
    }
    if proba is not None and classes is not None:
        present = np.unique(y_true)
        try:
            if len(classes) == 2:
                out["roc_auc"] = float(metrics.roc_auc_score(np.asarray(y_true) == classes[1], proba[:, 1], sample_weight=w)) if len(present) == 2 else float("nan")
            else:
                out["roc_auc"] = float(metrics.roc_auc_score(y_true, proba, multi_class="ovr", average="weighted", labels=list(classes), sample_weight=w))
        except ValueError:
            pass
    return out
