"""Uncertainty that is measured, not assumed: conformal intervals, calibrated probabilities, domain of applicability."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.impute import SimpleImputer
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

__all__ = ["IntervalCalibrator", "ProbabilityCalibrator", "DomainGuard"]


class IntervalCalibrator(BaseEstimator):
    """Normalised split-conformal intervals from out-of-fold residuals (Papadopoulos et al. 2002; Lei et al. 2018).

    The spread ``s(x)`` (disagreement of the ensemble members) is floored by its median so that a lucky
    agreement never gives a zero-width interval; the scores ``|y - ŷ| / s`` of the nested-CV out-of-fold
    predictions give the quantiles that turn ``s`` into a standard uncertainty (68.27 %) and a 90 % half-width.
    ``cv_coverage_`` is the coverage of 90 % intervals measured by cross-conformal evaluation (quantiles from
    the other folds), the honest check that the intervals hold.
    """

    def __init__(self, level: float = 0.9):
        self.level = level

    def _scale(self, spread: np.ndarray) -> np.ndarray:
        return np.nan_to_num(spread, nan=0.0) + self.floor_

    def fit(self, residual: np.ndarray, spread: np.ndarray, folds: np.ndarray | None = None):
        residual = np.abs(np.asarray(residual, float))
        spread = np.nan_to_num(np.asarray(spread, float), nan=0.0)
        median = float(np.median(spread))
        self.floor_ = median if median > 0 else max(float(np.median(residual)), 1e-12)
        score = residual / self._scale(spread)
        n = len(score)
        rank = min(1.0, np.ceil((n + 1) * self.level) / n) if n else self.level
        self.q_level_ = float(np.quantile(score, rank)) if n else float("nan")
        self.q_std_ = float(np.quantile(score, 0.6827)) if n else float("nan")
        if folds is not None and len(np.unique(folds)) > 1:
            covered = np.zeros(n, dtype=bool)
            for fold in np.unique(folds):
                held = folds == fold
                q = np.quantile(score[~held], min(1.0, self.level * (1 + 1 / max(1, (~held).sum()))))
                covered[held] = score[held] <= q
            self.cv_coverage_ = float(covered.mean())
        else:
            self.cv_coverage_ = float("nan")
        return self

    def std(self, spread: np.ndarray) -> np.ndarray:
        return self.q_std_ * self._scale(spread)

    def half_width(self, spread: np.ndarray) -> np.ndarray:
        return self.q_level_ * self._scale(spread)


class ProbabilityCalibrator(BaseEstimator):
    """Maps raw class probabilities to calibrated ones, fitted on out-of-fold probabilities.

    Binary: Platt scaling on the log-odds (Platt 1999). Multiclass: temperature scaling (Guo et al. 2017).
    """

    def fit(self, proba: np.ndarray, y_index: np.ndarray):
        from scipy.optimize import minimize_scalar

        proba = np.clip(np.asarray(proba, float), 1e-6, 1 - 1e-6)
        if proba.shape[1] == 2:
            from sklearn.linear_model import LogisticRegression

            logit = np.log(proba[:, 1] / proba[:, 0])[:, None]
            model = LogisticRegression(C=1e4).fit(logit, y_index)
            self.a_, self.b_ = float(model.coef_[0, 0]), float(model.intercept_[0])
        else:
            logp = np.log(proba)

            def nll(t: float) -> float:
                z = logp / t
                z -= z.max(axis=1, keepdims=True)
                return float(-np.mean(z[np.arange(len(z)), y_index] - np.log(np.exp(z).sum(axis=1))))

            self.temperature_ = float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)
        self.n_classes_ = proba.shape[1]
        return self

    def transform(self, proba: np.ndarray) -> np.ndarray:
        proba = np.clip(np.asarray(proba, float), 1e-6, 1 - 1e-6)
        if self.n_classes_ == 2:
            logit = np.log(proba[:, 1] / proba[:, 0])
            p1 = 1.0 / (1.0 + np.exp(-(self.a_ * logit + self.b_)))
            return np.column_stack([1 - p1, p1])
        z = np.log(proba) / self.temperature_
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


class DomainGuard(BaseEstimator):
    """Flags inputs far from the training data in (standardised) feature space.

    A row is in domain when the mean distance to its k nearest training rows is no larger than the
    `quantile` of the same statistic among the training rows themselves (leave-one-out).
    """

    def __init__(self, n_neighbors: int = 5, quantile: float = 0.99):
        self.n_neighbors = n_neighbors
        self.quantile = quantile

    def fit(self, X: np.ndarray, y=None):
        self.imputer_ = SimpleImputer(strategy="median", keep_empty_features=True).fit(X)
        self.scaler_ = StandardScaler().fit(self.imputer_.transform(X))
        Z = self.scaler_.transform(self.imputer_.transform(X))
        k = min(self.n_neighbors, len(Z) - 1)
        # brute force keeps the fitted state to plain arrays, which skops saves without custom types
        self.neighbors_ = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(Z)
        dist, _ = self.neighbors_.kneighbors(Z)
        self.k_ = k
        self.threshold_ = float(np.quantile(dist[:, 1:].mean(axis=1), self.quantile))
        return self

    def distance(self, X: np.ndarray) -> np.ndarray:
        Z = self.scaler_.transform(self.imputer_.transform(X))
        dist, _ = self.neighbors_.kneighbors(Z, n_neighbors=self.k_)
        return dist.mean(axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """True where the row is inside the training domain."""
        return self.distance(X) <= self.threshold_ * (1 + 1e-9)
