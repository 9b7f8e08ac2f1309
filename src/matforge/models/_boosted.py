"""A regressor on the first columns whose residuals gradient-boosted trees fit on the other columns.

Stagewise additive modelling (J. H. Friedman, Greedy function approximation: a gradient boosting machine,
Ann. Stat. 29, 1189-1232, 2001) with a network as the first stage: the attention model over element
embeddings learns what composition does through its elements' interactions, and boosted trees on the
composition statistics (Magpie) correct what it leaves, fitted to its residuals on the training rows. Neither
scikit-learn's stacking (which fits a final model to the base predictions, not to residuals) nor LightGBM
alone (whose ``init_score`` must be given again at every prediction) packages this as one estimator, hence
this small wrapper.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["ResidualBoostedRegressor"]


class ResidualBoostedRegressor(RegressorMixin, BaseEstimator):
    """``base`` fitted on columns ``[:n_base_columns]``, ``booster`` fitted on columns ``[n_base_columns:]``
    to the residuals ``y - base.predict``; the prediction is the sum of the two.

    Parameters
    ----------
    base, booster : scikit-learn regressors (cloned when fitted); `booster` None leaves the base alone.
    n_base_columns : how many leading columns the base sees (118 element fractions for the attention model).
    with_prediction : the booster also sees the base's prediction as one more column, so its correction can
        depend on how large the base's estimate is (where a network is biased at the ends of the target range),
        not only on the other columns.

    The residuals are the base's own on its training rows, as in any stagewise boosting: a base that fits
    its training rows closely leaves the booster little to learn, one that underfits (the attention model on
    10^5 compositions within its step cap: training MAE close to test MAE) leaves it structure to find.
    ``sample_weight`` reaches both stages.
    """

    def __init__(self, base=None, booster=None, n_base_columns: int = 118, with_prediction: bool = False):
        self.base = base
        self.booster = booster
        self.n_base_columns = n_base_columns
        self.with_prediction = with_prediction

    def _parts(self, X):
        X = np.asarray(X)
        return X[:, : self.n_base_columns], X[:, self.n_base_columns :]

    def booster_input(self, rest, prediction):
        """What the booster is fitted on and predicts from: the columns after the base's, and the base's prediction
        when `with_prediction`."""
        # getattr: a model saved before the option existed (its booster fitted on the columns alone) still loads
        return np.column_stack([rest, prediction]) if getattr(self, "with_prediction", False) else rest

    def fit(self, X, y, sample_weight=None):
        head, rest = self._parts(X)
        y = np.asarray(y, dtype=float)
        weights = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight, dtype=float)}
        self.base_ = clone(self.base).fit(head, y, **weights)
        self.booster_ = None
        if self.booster is not None and rest.shape[1] > 0:
            prediction = np.asarray(self.base_.predict(head), dtype=float)
            self.booster_ = clone(self.booster).fit(self.booster_input(rest, prediction), y - prediction, **weights)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        check_is_fitted(self, "base_")
        head, rest = self._parts(X)
        prediction = np.asarray(self.base_.predict(head), dtype=float)
        if self.booster_ is not None:
            prediction = prediction + np.asarray(self.booster_.predict(self.booster_input(rest, prediction)), dtype=float)
        return prediction
