"""EM classifier: one Gaussian mixture per class (fitted by expectation-maximisation), Bayes' rule on top."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.mixture import GaussianMixture
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["GaussianMixtureClassifier"]


class GaussianMixtureClassifier(ClassifierMixin, BaseEstimator):
    """Class-conditional Gaussian mixtures: ``p(c | x) ∝ p(c) Σ_k π_ck N(x; μ_ck, Σ_ck)``.

    Each class density is fitted with EM (scikit-learn's `GaussianMixture`); a class with fewer examples than
    components gets as many components as examples.

    Parameters
    ----------
    n_components : mixture components per class.
    covariance_type : ``"full"``, ``"diag"``, ``"tied"`` or ``"spherical"``.
    reg_covar : added to the covariance diagonal (in the units of the scaled features).
    """

    def __init__(self, n_components: int = 2, covariance_type: str = "diag", reg_covar: float = 1e-2, random_state=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        self.classes_ = unique_labels(y)
        self.mixtures_ = []
        priors = []
        for label in self.classes_:
            rows = X[y == label]
            k = max(1, min(self.n_components, len(rows)))
            mixture = GaussianMixture(k, covariance_type=self.covariance_type, reg_covar=self.reg_covar, random_state=self.random_state)
            self.mixtures_.append(mixture.fit(rows))
            priors.append(len(rows) / len(y))
        self.log_prior_ = np.log(np.asarray(priors))
        return self

    def predict_log_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        joint = np.column_stack([m.score_samples(X) for m in self.mixtures_]) + self.log_prior_
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(self, X) -> np.ndarray:
        return np.exp(self.predict_log_proba(X))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_log_proba(X), axis=1)]
