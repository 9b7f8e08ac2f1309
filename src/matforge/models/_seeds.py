"""One configuration fitted with several seeds, its predictions averaged.

A network's fit depends on its seed (initial weights, mini-batch order), and the fits of two seeds err
differently enough that their average beats each (MatBench mp_e_form fold 0, the CPU attention network with
its residual trees: 0.0797 / 0.0801 / 0.0802 eV/atom for seeds 0 / 1 / 2, 0.0784 for the average of the first
two, 0.0780 of all three; `benchmarks/results/seed_average.json`). scikit-learn's `VotingRegressor` /
`VotingClassifier` average estimators too, but they refit them from their own list of (name, estimator) pairs
and cannot adopt estimators already fitted inside a timed stage (`AutoModel._reseed` fits one seed at a time
while the budget lasts, then wraps what it fitted), hence this small wrapper.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["SeedAveraged"]


class SeedAveraged(BaseEstimator):
    """The equal average of `estimators` (one configuration built with different seeds): the mean prediction
    for regression, the mean class probabilities for classification (labels by their arg-max).

    ``fit`` fits a clone of each; `adopt` wraps estimators fitted already. The estimator type (regressor or
    classifier) is the first estimator's."""

    def __init__(self, estimators=None):
        self.estimators = estimators

    @classmethod
    def adopt(cls, fitted: list) -> SeedAveraged:
        """A `SeedAveraged` of estimators fitted already on the same rows (kept as they are, not refitted)."""
        out = cls(estimators=[clone(estimator) for estimator in fitted])
        out.estimators_ = list(fitted)
        out._copy_fitted_attributes()
        return out

    def _copy_fitted_attributes(self) -> None:
        first = self.estimators_[0]
        if hasattr(first, "classes_"):
            self.classes_ = first.classes_
        if hasattr(first, "n_features_in_"):
            self.n_features_in_ = first.n_features_in_

    @property
    def _estimator_type(self):  # what scikit-learn before 1.6 reads (is_regressor, Pipeline); 1.6+: the tags below
        first = (self.estimators or [None])[0]
        return getattr(first, "_estimator_type", None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        first = (self.estimators or [None])[0]
        if first is not None:
            inner = first.__sklearn_tags__()
            tags.estimator_type = inner.estimator_type
            tags.regressor_tags, tags.classifier_tags = inner.regressor_tags, inner.classifier_tags
        return tags

    def fit(self, X, y, sample_weight=None):
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        self.estimators_ = [clone(estimator).fit(X, y, **weights) for estimator in self.estimators]
        self._copy_fitted_attributes()
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "estimators_")
        return np.mean([np.asarray(estimator.predict_proba(X), dtype=float) for estimator in self.estimators_], axis=0)

    def predict(self, X):
        check_is_fitted(self, "estimators_")
        if hasattr(self, "classes_"):
            return np.asarray(self.classes_)[np.argmax(self.predict_proba(X), axis=1)]
        return np.mean([np.asarray(estimator.predict(X), dtype=float) for estimator in self.estimators_], axis=0)

    def score(self, X, y, sample_weight=None):
        """R² for regression, accuracy for classification, as scikit-learn's mixins define them."""
        from sklearn.metrics import accuracy_score, r2_score

        metric = accuracy_score if hasattr(self, "classes_") else r2_score
        return metric(y, self.predict(X), sample_weight=sample_weight)
