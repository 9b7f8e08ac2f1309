"""The trained model a run folder holds: featurizer + ensemble members + uncertainty + domain guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from matforge.errors import InputError

__all__ = ["Predictor", "member_spread", "per_distinct"]


def per_distinct(members, compute) -> list:
    """`compute(member)` for each member, in order; a member that greedy selection picked more than once (the
    same object, also after loading: skops keeps shared references) is computed once."""
    done: dict[int, object] = {}
    for member in members:
        if id(member) not in done:
            done[id(member)] = compute(member)
    return [done[id(member)] for member in members]


def member_spread(task: str, predictions: list[np.ndarray], variances: list[np.ndarray | None] | None = None) -> np.ndarray:
    """The spread of an ensemble's prediction, the scale its conformal intervals are normalised by.

    The members' disagreement (std of their predictions; zero for a single member) and, where `variances`
    gives them (`matforge.learn._uncertainty.prediction_variance`: a forest's variance over its trees, a
    Gaussian process' predictive variance, a gate's "floor or above?"), each member's own variance, averaged
    over the members (None counts as zero):
    ``sqrt(var_between + mean(var_within))``. Without `variances` this is the members' std alone.
    """
    if task != "regression":
        return np.zeros(len(predictions[0]))
    between = np.var(np.column_stack(predictions), axis=1) if len(predictions) > 1 else np.zeros(len(predictions[0]))
    own = [v for v in (variances or []) if v is not None]
    if not own:
        return np.sqrt(between)
    return np.sqrt(between + np.sum(own, axis=0) / len(predictions))


class Predictor(BaseEstimator):
    """Everything needed to predict from a raw table, saved as one skops file.

    Attributes are set by `AutoModel`; `predict_table` returns predictions, uncertainty and the in-domain flag.
    """

    # a predictor saved before `within_spread` existed has no such attribute: this default stands in for it (its
    # intervals were calibrated on the members' disagreement alone), so repr and get_params work too
    within_spread = False

    def __init__(self, featurizer=None, members=None, task="regression", classes=None, intervals=None, probability=None, domain=None, domain_columns=None, target="target", decision_threshold=None, member_names=None, within_spread=False):
        self.featurizer = featurizer
        self.members = members
        self.member_names = member_names  # the model name of each member (parallel to `members`, repeats included)
        self.task = task
        self.classes = classes
        self.intervals = intervals
        self.probability = probability
        self.domain = domain
        self.domain_columns = domain_columns
        self.target = target
        self.decision_threshold = decision_threshold
        # regression: whether the spread counts each member's own variance (`member_spread`), as the residuals
        # the intervals were calibrated on did; False for runs calibrated on the members' disagreement alone
        self.within_spread = within_spread

    def _member_outputs(self, F: pd.DataFrame) -> list[np.ndarray]:
        from sklearn import config_context

        from matforge.learn._search import predict_with

        # the featurizer never outputs ±inf (it maps them to NaN, which the pipelines impute), so the
        # per-step finiteness scans, a third of a linear model's time on millions of rows, can be skipped
        with config_context(assume_finite=True):
            return per_distinct(self.members, lambda member: predict_with(member, self.task, F, self.classes))

    def predict_features(self, F: pd.DataFrame, *, uncertainty: bool = True) -> dict[str, np.ndarray]:
        """Predictions for feature rows `F`; with ``uncertainty=False`` a regression gives ``prediction`` alone
        (explanations re-predict thousands of changed rows and need only that; each forest's variance over its
        trees took a third of their time)."""
        outputs = self._member_outputs(F)
        if self.task == "regression":
            mean = np.mean(np.column_stack(outputs), axis=1)
            if not uncertainty:
                return {"prediction": mean}
            variances = None
            if self.within_spread:
                from matforge.learn._uncertainty import prediction_variance

                variances = per_distinct(self.members, lambda member: prediction_variance(member, F))
            spread = member_spread(self.task, outputs, variances)
            result = {"prediction": mean}
            if self.intervals is not None:
                half = self.intervals.half_width(spread)
                result.update(uncertainty=self.intervals.std(spread), lower_90=mean - half, upper_90=mean + half)
            return result
        proba = np.mean(np.stack(outputs), axis=0)
        if self.probability is not None:
            proba = self.probability.transform(proba)
        result = {"prediction": self.label(proba)}
        for j, label in enumerate(self.classes):
            result[f"proba_{label}"] = proba[:, j]
        return result

    def label(self, proba: np.ndarray) -> np.ndarray:
        """Class labels from probabilities: a binary task cuts at `decision_threshold` (chosen on out-of-fold
        predictions so that both classes' recalls balance), otherwise the most probable class wins."""
        classes = np.asarray(self.classes, dtype=object)
        if self.decision_threshold is None or len(classes) != 2:
            return classes[np.argmax(proba, axis=1)]
        return np.where(proba[:, 1] >= self.decision_threshold, classes[1], classes[0])

    def predict_table(self, table: pd.DataFrame, *, on_error: str = "raise", parsed: dict | None = None) -> pd.DataFrame:
        """Predictions for every row of `table`, in order: ``prediction``, ``uncertainty`` (regression: standard
        uncertainty in target units; plus ``lower_90``/``upper_90``) or ``proba_<class>``, and ``in_domain``.
        `parsed`: formula columns already parsed (see `TableFeaturizer.transform`)."""
        if not isinstance(table, pd.DataFrame):
            raise InputError("predict needs a table (DataFrame)")
        F = self.featurizer.transform(table, on_error=on_error, parsed=parsed)
        main = self.featurizer.feature_sets_["main"]
        valid = ~np.isnan(_columns(F, main)).all(axis=1) if main else np.ones(len(F), bool)
        out = pd.DataFrame(index=table.index)
        result = self.predict_features(F)
        for key, values in result.items():
            values = np.asarray(values, dtype=object if key == "prediction" and self.task == "classification" else float)
            if not valid.all():
                values = values.copy()
                values[~valid] = None if values.dtype == object else np.nan
            out[key] = values
        in_domain = self.domain.predict(_columns(F, self.domain_columns)) if self.domain is not None else np.ones(len(F), bool)
        # a process value the training rows never had (an unseen category, a number missing) is extrapolation too
        unusual = self.featurizer.unusual_rows(table) if hasattr(self.featurizer, "unusual_rows") else np.zeros(len(F), bool)
        out["in_domain"] = in_domain & valid & ~unusual
        return out


def join_outputs(table: pd.DataFrame, outputs: pd.DataFrame) -> pd.DataFrame:
    """The rows of `table` in order with the model's `outputs` beside them. Columns of `table` named as an
    output (a table that is itself an earlier prediction, screen or suggestion) are replaced by the new ones,
    not written twice."""
    table = table.drop(columns=[c for c in table.columns if c in outputs.columns]).reset_index(drop=True)
    return pd.concat([table, outputs.reset_index(drop=True)], axis=1)


def _columns(F: pd.DataFrame, names: list[str]) -> np.ndarray:
    """`F[names]` as floats; a leading run of columns is taken as a view (no copy of a millions-row table)."""
    positions = F.columns.get_indexer(names)
    if len(positions) and (positions == np.arange(len(positions))).all():
        return F.iloc[:, : len(positions)].to_numpy(dtype=float)
    return F[names].to_numpy(dtype=float)
