"""Support-vector classification with probabilities: Platt's sigmoid on out-of-fold decision values.

scikit-learn 1.9 deprecated ``SVC(probability=True)`` (removed in 1.11) in favour of
``CalibratedClassifierCV(SVC(), ensemble=False)``. That replacement refuses a table where a class has fewer rows
than calibration folds, and matforge's tables may hold rare classes (`prepare_dataset` notes classes with a
single row; an inner CV fold holds fewer still), which libsvm's own Platt scaling accepted. This wrapper sizes
the calibration folds to the rarest class, so the model fits wherever the old one did.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["PlattSVC"]


class PlattSVC(ClassifierMixin, BaseEstimator):
    """RBF support-vector classifier whose probabilities are Platt's sigmoid (Platt 1999), fitted on the
    decision values of a stratified `cv`-fold split; the SVC itself is fitted once on all rows.

    With fewer than `cv` rows in some class the split has as many folds as that class has rows; a class
    with a single row leaves no held-out decision value to calibrate on, and the probabilities are then the
    softmax of the one-vs-rest decision values (they rank the rows as the SVC does, but are not calibrated).

    >>> import numpy as np
    >>> X = np.r_[np.zeros((10, 1)), np.ones((10, 1))]; y = np.r_[np.zeros(10), np.ones(10)]
    >>> PlattSVC(C=10.0, random_state=0).fit(X, y).predict([[0.0], [1.0]])
    array([0., 1.])
    """

    def __init__(self, C: float = 1.0, gamma="scale", cv: int = 5, random_state=None):
        self.C = C
        self.gamma = gamma
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.model_selection import StratifiedKFold
        from sklearn.svm import SVC

        self.classes_, counts = np.unique(np.asarray(y), return_counts=True)
        folds = int(min(self.cv, counts.min()))
        svc = SVC(C=self.C, gamma=self.gamma)
        self.calibrated_ = folds >= 2
        if self.calibrated_:
            split = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            self.model_ = CalibratedClassifierCV(svc, method="sigmoid", cv=split, ensemble=False)
        else:
            self.model_ = svc
        self.model_.fit(X, y, sample_weight=sample_weight)
        self.n_features_in_ = self.model_.n_features_in_
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        if self.calibrated_:
            return self.model_.predict_proba(X)
        scores = self.model_.decision_function(X)
        if scores.ndim == 1:  # binary: positive for classes_[1]
            scores = np.c_[-scores, scores] / 2
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
