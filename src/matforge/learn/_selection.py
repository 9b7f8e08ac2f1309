"""Feature selection by relevance and redundancy, measured with normalised mutual information (NMI).

Composition feature sets are wide (145-700 columns) and strongly redundant (the mean, mode and range of one
element property move together). MODNet (De Breuck et al., npj Comput. Mater. 7, 83 (2021)) showed that
keeping features that are informative about the target *and* not already explained by the features kept so
far helps small data sets. This is the greedy mRMR scheme (Peng, Long, Ding, IEEE TPAMI 27, 1226 (2005))
with MODNet's relevance/redundancy ratio: the next feature maximises ``NMI(f, y) / (max_s NMI(f, s) + c)``
over the already selected ``s``. Mutual information is computed on quantile bins (fast, no k-NN estimator),
so it runs inside every CV fold: a pipeline step fitted on training rows only.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["RelevanceRedundancySelector", "binned_codes", "nmi_with"]


def binned_codes(X: np.ndarray, bins: int) -> np.ndarray:
    """Integer codes 0..bins-1 per column from its quantiles (ties share a code; constant columns are all 0)."""
    X = np.asarray(X, dtype=float)
    codes = np.zeros(X.shape, dtype=np.int64)
    qs = np.linspace(0, 1, bins + 1)[1:-1]
    for j in range(X.shape[1]):
        column = np.nan_to_num(X[:, j], nan=np.nanmedian(X[:, j]) if np.isfinite(X[:, j]).any() else 0.0)
        edges = np.unique(np.quantile(column, qs))
        codes[:, j] = np.searchsorted(edges, column, side="right")
    return codes


def _entropy(counts: np.ndarray, n: int) -> np.ndarray:
    p = counts / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)


def nmi_with(codes: np.ndarray, target: np.ndarray, bins: int) -> np.ndarray:
    """NMI (arithmetic normalisation, 0..1) between each column of `codes` and one coded variable `target`."""
    n, p = codes.shape
    t_bins = int(target.max()) + 1
    flat = (np.arange(p)[None, :] * bins + codes) * t_bins + target[:, None]
    joint = np.bincount(flat.ravel(), minlength=p * bins * t_bins).reshape(p, bins, t_bins).astype(float)
    h_x = _entropy(joint.sum(axis=2), n)
    h_t = _entropy(joint.sum(axis=1), n)
    h_xt = _entropy(joint.reshape(p, -1), n)
    mutual = h_x + h_t - h_xt
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(h_x + h_t > 0, 2 * mutual / (h_x + h_t), 0.0)


class RelevanceRedundancySelector(TransformerMixin, BaseEstimator):
    """Keep `n_features` columns chosen greedily by NMI relevance to the target over redundancy with the kept ones.

    Parameters
    ----------
    n_features : number of columns to keep (all when the input has fewer).
    task : ``"regression"`` (the target is binned like the features) or ``"classification"``.
    bins : quantile bins per feature for the mutual-information estimate.
    c : added to the redundancy so that a feature with no redundancy does not dominate (MODNet uses 0.1-1e-6).

    Works on numeric arrays (after imputation); ``support_`` marks the kept columns, ``order_`` lists them in
    the order chosen.
    """

    def __init__(self, n_features: int = 64, task: str = "regression", bins: int = 16, c: float = 0.1):
        self.n_features = n_features
        self.task = task
        self.bins = bins
        self.c = c

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self.n_features_in_ = X.shape[1]
        codes = binned_codes(X, self.bins)
        if self.task == "regression":
            target = binned_codes(np.asarray(y, dtype=float)[:, None], self.bins)[:, 0]
        else:
            target = np.unique(np.asarray(y).astype(str), return_inverse=True)[1]
        relevance = nmi_with(codes, target, self.bins)
        keep = min(int(self.n_features), X.shape[1])
        order = [int(np.argmax(relevance))]
        redundancy = nmi_with(codes, codes[:, order[0]], self.bins)
        while len(order) < keep:
            score = relevance / (redundancy + self.c)
            score[order] = -np.inf
            best = int(np.argmax(score))
            order.append(best)
            redundancy = np.maximum(redundancy, nmi_with(codes, codes[:, best], self.bins))
        self.order_ = np.asarray(order)
        self.relevance_ = relevance
        self.support_ = np.zeros(X.shape[1], dtype=bool)
        self.support_[order] = True
        return self

    def transform(self, X):
        check_is_fitted(self, "support_")
        return np.asarray(X, dtype=float)[:, self.support_]

    def get_support(self) -> np.ndarray:
        return self.support_.copy()
