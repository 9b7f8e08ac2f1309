"""Uncertainty that is measured, not assumed: conformal intervals, calibrated probabilities, domain of applicability."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler

__all__ = ["IntervalCalibrator", "ProbabilityCalibrator", "DomainGuard", "prediction_variance"]

# principal directions used to bound distances from below in `DomainGuard.predict`
_BOUND_DIMS = 8
# relative slack on the float32 lower bound before it may rule a row out
_BOUND_MARGIN = 1e-3
# groups of training rows summarised for the first, cheapest bound
_GROUPS = 32
# training rows whose leave-one-out distances set DomainGuard's threshold (a quantile): all of them up to this many,
# a random subset of this many beyond (their distances still to every training row). The n x n distances took 157 s
# of one thread on random numbers of the shape of MatBench mp_e_form's training rows (106,201 x 265), after the
# budget; 31 s with the subset (before the float32 screen of `_nearest_distances`)
_THRESHOLD_ROWS = 20_000
# rows per block of distance computations (see `DomainGuard._blocks`)
_BLOCK = 1024
# share of rows the per-training-row bound must rule out for `DomainGuard.predict` to run it (`_bound_pays`)
_BOUND_PAYS = 0.25


class IntervalCalibrator(BaseEstimator):
    """Normalised split-conformal intervals from out-of-fold residuals (Papadopoulos et al. 2002; Lei et al. 2018).

    The spread ``s(x)`` (`matforge.learn._predictor.member_spread`: the ensemble members' disagreement plus,
    in runs with outer folds, each member's own variance, e.g. a forest's over its trees) is floored by its
    median so that a lucky agreement never gives a zero-width interval; the scores ``|y - ŷ| / s`` of the nested-CV out-of-fold
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


def prediction_variance(estimator, X) -> np.ndarray | None:
    """A fitted regression member's own predictive variance per row of X, in the target's units, or None.

    Forests (scikit-learn's, and `MedianForestRegressor` through its forest): by the law of total variance over
    the trees, the mean of the variances of the training targets in x's leaf of each tree (the leaf's
    `impurity` under the squared-error criterion, sample weights included) plus the variance of the leaves'
    means across the trees, i.e. the variance of the training targets under the forest's neighbour weights.
    It is taken through the target transforms around the forest (standardization and log exactly per leaf
    mean, the leaf variance by the transform's slope there; clipping), so a log-scale forest is read in the
    target's units. With one-row leaves it is the variance of the trees' predictions; larger leaves add the
    noise of their rows, which the trees' averaged predictions hide. A Gaussian process: its predictive
    variance (the fitted white noise included). TabM (`tabm`): the variance of its k members' predictions.
    `ZeroInflatedRegressor`: the variance of
    its mixture, ``p var_above + p (1 - p) (m - floor)^2`` with p = P(above the floor) from the gate and m,
    var_above the regressor's prediction and variance (zero without trees), so a row the gate is unsure of is
    uncertain even when its regressor has no trees. A pipeline is read through to its last step. Other models
    (boosting, SVR, kernel ridge, linear, neighbours) give None.

    Why: with one member, or members that are near-copies of one configuration, the members' disagreement is
    zero or nearly constant, and every prediction got the same interval. With this variance added, the 90 %
    intervals of nested 5-fold CV on MatBench steels / expt_gap were 8 % / 29 % narrower at the same coverage
    (430 -> 396 MPa, 1.52 -> 1.08 eV; `benchmarks/results/calibration.json` against
    `calibration_members_only.json`, docs/report.md). It costs one more pass of X through the trees: a median
    forest's prediction and this variance take about the same time.
    """
    from sklearn.pipeline import Pipeline

    steps = estimator if isinstance(estimator, Pipeline) else None
    read = _moments_reader(steps[-1] if steps is not None else estimator)
    if read is None:
        return None  # decided before transforming X again: a linear model's millions of screened rows cost nothing more
    if steps is not None and len(steps) > 1:
        X = steps[:-1].transform(X)
    return read(X)[1]


def _moments_reader(estimator):
    """A function of X giving (mean, variance) of a fitted regressor's prediction as `prediction_variance`
    defines it, or None where the regressor has no variance of its own."""
    from matforge.learn._pipeline import ZeroInflatedRegressor

    if isinstance(estimator, ZeroInflatedRegressor):
        inner = _moments_reader(estimator.regressor_)

        def mixture(X):
            if inner is None:
                mean = np.asarray(estimator.regressor_.predict(X), dtype=float)
                var = np.zeros(len(mean))
            else:
                mean, var = inner(X)
            if estimator.classifier_ is None:
                return mean, var
            p = estimator.predict_above(X)
            return mean, p * var + p * (1.0 - p) * (mean - estimator.floor_) ** 2

        return mixture
    components = _components_reader(estimator)
    return None if components is None else (lambda X: _total_variance(components(X)))


def _total_variance(components) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) over equally weighted components given as (mean, variance) pairs: the variance of the
    means plus the mean of the variances. Running sums: a screening chunk of 10^5 rows times 10^3 trees is
    never held at once."""
    total = square = within = None
    count = 0
    for mean, var in components:
        total = mean.copy() if total is None else total + mean
        square = mean**2 if square is None else square + mean**2
        within = var.copy() if within is None else within + var
        count += 1
    mean = total / count
    # both parts clipped at zero: sums of squares minus a squared mean, here and in scikit-learn's leaf
    # impurities, can come out a rounding error below zero
    return mean, np.maximum(square / count - mean**2, 0.0) + np.maximum(within / count, 0.0)


def _components_reader(estimator):
    """A function of X giving, per component, each row's (mean, variance) in the target's units (an iterator),
    or None for a model without them: a forest's trees (the training targets in the row's leaf), or a Gaussian
    process as its one component (its predictive mean and variance, the fitted noise included), or TabM's members
    (each a point prediction, so the variance of their means)."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
    from sklearn.gaussian_process import GaussianProcessRegressor

    from matforge.learn._pipeline import BoundedRegressor
    from matforge.models._median_forest import MedianForestRegressor
    from matforge.models._tabm import TabM  # torch itself only when a TabM predicts

    if isinstance(estimator, MedianForestRegressor):
        estimator = estimator.forest_
    if isinstance(estimator, (RandomForestRegressor, ExtraTreesRegressor)):

        def per_tree(X):
            rows = np.ascontiguousarray(X, dtype=np.float32)  # what the trees split on; converted once, not per tree
            for tree in estimator.estimators_:
                leaf = tree.apply(rows, check_input=False)
                yield tree.tree_.value[leaf, 0, 0].astype(float), tree.tree_.impurity[leaf].astype(float)

        return per_tree
    if isinstance(estimator, TabM) and estimator.task == "regression":

        def per_member(X):
            for mean in estimator.predict_members(X).T:
                yield mean, np.zeros(len(mean))

        return per_member
    if isinstance(estimator, GaussianProcessRegressor):

        def predictive(X):
            mean, std = estimator.predict(X, return_std=True)
            yield np.asarray(mean, dtype=float), np.asarray(std, dtype=float) ** 2

        return predictive
    if isinstance(estimator, (TransformedTargetRegressor, BoundedRegressor)):
        inner = _components_reader(estimator.regressor_)
        if inner is None:
            return None
        if isinstance(estimator, BoundedRegressor):
            return lambda X: ((np.clip(m, estimator.low_, estimator.high_), v) for m, v in inner(X))
        back = estimator.transformer_.inverse_transform

        def transformed(X):
            for mean, var in inner(X):
                # the mean exactly, the variance through the slope of the inverse transform at the leaf's mean
                step = 1e-4 * np.maximum(np.abs(mean), 1.0)
                up, down = back((mean + step).reshape(-1, 1)).ravel(), back((mean - step).reshape(-1, 1)).ravel()
                yield back(mean.reshape(-1, 1)).ravel(), ((up - down) / (2 * step)) ** 2 * var

        return transformed
    return None


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


class _Rows:
    """Training rows in the forms the nearest-neighbour search reads: as they are, in float32, squared norms."""

    def __init__(self, T: np.ndarray):
        self.T = T
        self.T32 = T.astype(np.float32)
        self.norms2 = np.einsum("ij,ij->i", T, T)
        self.norms2_32 = self.norms2.astype(np.float32)
        self.largest = float(np.sqrt(self.norms2.max())) if len(T) else 0.0


def _nearest_distances(Z: np.ndarray, rows: _Rows, k: int) -> np.ndarray:
    """The k smallest Euclidean distances from each row of Z to `rows`, ascending: the float64 answer of a brute
    force search, found at float32 speed.

    Written here because neither scikit-learn (float64 brute force, or trees that do not help in hundreds of
    dimensions) nor numpy offer it: the squared distances are first computed in float32 (half the time and memory
    of float64 on these (rows x training rows) blocks); a float32 dot product of d terms is off by at most
    (gamma_d + 3u) |z| |t| (u = 2^-24, gamma_d = d u / (1 - d u): the classic bound, for any summation order, plus
    the rounding of the inputs), and |t|^2 - 2 z.t (the squared distance less |z|^2, which ranks nothing along a
    row), with the rounded norm and one addition, by at most E = (gamma_d + 8u) (|z| + max |t|)^2, so every
    training row among the k nearest has a float32 value within 2E of the k-th smallest float32 value. Those
    candidates alone get float64 distances (all rows do where copies put too many at nearly one distance)."""
    m, d = Z.shape
    u = 2.0**-24
    gamma = d * u / (1 - d * u) + 8 * u
    z2 = np.einsum("ij,ij->i", Z, Z)
    # |t|^2 - 2 z.t: the squared distance less |z|^2, which is the same along a row and so ranks nothing (the
    # factor -2 is exact in floating point)
    squared = (-2.0 * Z).astype(np.float32) @ rows.T32.T
    squared += rows.norms2_32[None, :]
    width = min(max(4 * k, 32), squared.shape[1] - 1)
    if width <= k - 1:  # as few training rows as neighbours asked for
        return _exact_distances(Z, z2, rows, None, k)
    # one selection pass: the `width` smallest before position `width`; the k-th among them from those alone
    index = np.argpartition(squared, width, axis=1)
    every = np.arange(m)[:, None]
    smallest = squared[every, index[:, :width]].astype(np.float64)
    cut = np.partition(smallest, k - 1, axis=1)[:, k - 1] + 2.0 * gamma * (np.sqrt(z2) + rows.largest) ** 2
    # every candidate is among the `width` smallest where the value just past them is beyond the cut (compared in
    # float64, so the cut is not rounded); else copies put many training rows at nearly one distance from the row:
    # all of them, in float64, for such rows
    crowded = squared[every[:, 0], index[:, width]].astype(np.float64) <= cut
    if not crowded.any():
        return _exact_distances(Z, z2, rows, index[:, :width], k)
    out = np.empty((m, k))
    out[crowded] = _exact_distances(Z[crowded], z2[crowded], rows, None, k)
    if not crowded.all():
        out[~crowded] = _exact_distances(Z[~crowded], z2[~crowded], rows, index[~crowded, :width], k)
    return out


def _exact_distances(Z: np.ndarray, z2: np.ndarray, rows: _Rows, index: np.ndarray | None, k: int) -> np.ndarray:
    """The k smallest float64 distances from each row of Z to the training rows `index` names in that row (None:
    to all of them), ascending."""
    if index is None:
        exact = z2[:, None] + rows.norms2[None, :] - 2.0 * (Z @ rows.T.T)
    else:
        exact = z2[:, None] + rows.norms2[index] - 2.0 * np.einsum("ij,ikj->ik", Z, rows.T[index])
    return np.sort(np.sqrt(np.maximum(np.partition(exact, k - 1, axis=1)[:, :k], 0.0)), axis=1)


class DomainGuard(BaseEstimator):
    """Flags inputs far from the training data in (standardised) feature space.

    A row is in domain when the mean distance to its k nearest training rows is no larger than the
    `quantile` of the same statistic among the training rows themselves (leave-one-out; above `_THRESHOLD_ROWS`
    training rows, among that many of them drawn at random, each still measured against every training row).

    `predict` gives exactly the answer of the brute-force distances but first bounds them from below, so that
    screening millions of candidates far from the data costs a few dozen numbers per row, not a distance to
    every training row: with ``P`` the projection onto the training rows' leading principal directions and
    ``R = I - P``, ``|z - t|² = |P(z - t)|² + |R(z - t)|²`` and ``|R(z - t)| ≥ | |Rz| - |Rt| |``. Each bound is below its distance, so the mean of the k smallest bounds is
    below the mean of the k smallest distances; rows whose bound already exceeds the threshold are out of
    domain, and only the others get exact distances. Those (and the threshold's) are found by a float32 pass
    whose rounding is bounded, then float64 distances to the candidates alone (`_nearest_distances`).
    """

    def __init__(self, n_neighbors: int = 5, quantile: float = 0.99):
        self.n_neighbors = n_neighbors
        self.quantile = quantile

    def fit(self, X: np.ndarray, y=None):
        from matforge.learn._pipeline import MedianImputer

        self.imputer_ = MedianImputer().fit(X)
        filled = self.imputer_.transform(X)  # once, for the scaler's fit and the rows it scales
        self.scaler_ = StandardScaler().fit(filled)
        Z = self.scaler_.transform(filled)
        k = min(self.n_neighbors, len(Z) - 1)
        # leave-one-out distances of the training rows (scikit-learn chunks this m × n work; on a large table the
        # quantile is estimated from a random subset of m rows, `_THRESHOLD_ROWS`); only the rows themselves are
        # kept (`train_`), which `predict` needs for its exact distances
        rows = np.arange(len(Z)) if len(Z) <= _THRESHOLD_ROWS else np.sort(np.random.default_rng(0).choice(len(Z), _THRESHOLD_ROWS, replace=False))
        training = _Rows(Z)
        dist = self._blocks(lambda block: _nearest_distances(block, training, k + 1), Z[rows])
        self.k_ = k
        # each row is its own nearest (distance 0, or a copy's): the k after it
        self.threshold_ = float(np.quantile(dist[:, 1:].mean(axis=1), self.quantile))
        self.train_ = Z
        # standardised rows are centred, so the leading directions of Z are its principal directions and
        # the residuals below are measured from the origin (c = 0 in the bound)
        _, _, vt = np.linalg.svd(Z - Z.mean(axis=0), full_matrices=False)
        self.basis_ = vt[: min(_BOUND_DIMS, len(vt))].T.copy()
        self.train_projected_ = Z @ self.basis_
        rest = np.einsum("ij,ij->i", Z, Z) - np.einsum("ij,ij->i", self.train_projected_, self.train_projected_)
        self.train_residual_ = np.sqrt(np.maximum(rest, 0.0))
        # training rows in groups (k-means in the projected space), each summarised by its centre, radius and
        # residual range: a bound per group is a bound for all its rows, computed against 32 groups instead of
        # every training row
        groups = max(1, min(_GROUPS, len(Z) // 8))
        from sklearn.cluster import KMeans

        labels = KMeans(groups, n_init=1, random_state=0).fit_predict(self.train_projected_) if groups > 1 else np.zeros(len(Z), int)
        present = np.unique(labels)
        self.group_center_ = np.array([self.train_projected_[labels == g].mean(axis=0) for g in present])
        self.group_radius_ = np.array([np.linalg.norm(self.train_projected_[labels == g] - c, axis=1).max() for g, c in zip(present, self.group_center_, strict=True)])
        self.group_residual_low_ = np.array([self.train_residual_[labels == g].min() for g in present])
        self.group_residual_high_ = np.array([self.train_residual_[labels == g].max() for g in present])
        return self

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        # the fitted imputer and scaler applied with numpy: their transform methods' input checks cost more
        # than the arithmetic when millions of candidates are screened
        X = np.asarray(X, dtype=float)
        X = np.where(np.isnan(X), self.imputer_.statistics_[None, :], X)
        X -= self.scaler_.mean_
        X /= self.scaler_.scale_
        return X

    def _exact(self, Z: np.ndarray) -> np.ndarray:
        if not hasattr(self, "train_"):  # a model saved before the bound existed keeps its rows in `neighbors_`
            dist, _ = self.neighbors_.kneighbors(Z, n_neighbors=self.k_)
            return dist.mean(axis=1)
        return _nearest_distances(Z, self._rows(), self.k_).mean(axis=1)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_rows_cache", None)
        return state

    def _rows(self) -> _Rows:
        # built once per fitted guard and process, not saved with it (the float32 copy would add half the rows' size)
        if getattr(self, "_rows_cache", None) is None or self._rows_cache.T is not self.train_:
            self._rows_cache = _Rows(self.train_)
        return self._rows_cache

    def _lower_bound(self, Z: np.ndarray) -> np.ndarray:
        # float32 and in-place: this runs over (rows × training rows) for every screened candidate; the
        # bound is relaxed by a relative margin in `predict` that covers float32 rounding
        projected = Z @ self.basis_
        rest = np.sqrt(np.maximum(np.einsum("ij,ij->i", Z, Z) - np.einsum("ij,ij->i", projected, projected), 0.0))
        # |p - q|² as one product of augmented vectors [p, |p|², 1]·[-2q, 1, |q|²], so that the only passes
        # over the (rows × training rows) block are the product, the residual term and the minimum
        train = self.train_projected_
        left = np.hstack([projected, np.einsum("ij,ij->i", projected, projected)[:, None], np.ones((len(projected), 1))]).astype(np.float32)
        right = np.hstack([-2.0 * train, np.ones((len(train), 1)), np.einsum("ij,ij->i", train, train)[:, None]]).astype(np.float32)
        squared = left @ right.T
        gap = rest.astype(np.float32)[:, None] - self.train_residual_.astype(np.float32)[None, :]
        gap *= gap
        squared += gap
        np.maximum(squared, 0.0, out=squared)
        # the mean of the k smallest is at least the smallest: rows already out by that need no partition
        bound = np.sqrt(squared.min(axis=1), dtype=np.float64)
        close = np.flatnonzero(bound * (1 - _BOUND_MARGIN) <= self.threshold_)
        if len(close):
            nearest = np.partition(squared[close], self.k_ - 1, axis=1)[:, : self.k_]
            bound[close] = np.sqrt(nearest, dtype=np.float64).mean(axis=1)
        return bound

    def _group_bound(self, Z: np.ndarray) -> np.ndarray:
        """Below the distance to every training row, from the group summaries: for t in group g,
        ``|P(z - t)| ≥ |Pz - c_g| - radius_g`` and ``| |Rz| - |Rt| |`` is at least the distance of ``|Rz|`` to
        the group's residual range."""
        projected = Z @ self.basis_
        rest = np.sqrt(np.maximum(np.einsum("ij,ij->i", Z, Z) - np.einsum("ij,ij->i", projected, projected), 0.0))
        centre = self.group_center_
        squared = np.einsum("ij,ij->i", projected, projected)[:, None] + np.einsum("ij,ij->i", centre, centre)[None, :] - 2.0 * (projected @ centre.T)
        near = np.maximum(np.sqrt(np.maximum(squared, 0.0)) - self.group_radius_[None, :], 0.0)
        gap = np.maximum(np.maximum(rest[:, None] - self.group_residual_high_[None, :], self.group_residual_low_[None, :] - rest[:, None]), 0.0)
        return np.sqrt((near**2 + gap**2).min(axis=1))

    def distance(self, X: np.ndarray) -> np.ndarray:
        """Mean distance of each row to its k nearest training rows (standardised features)."""
        return self._blocks(self._exact, self._scaled(X))

    @staticmethod
    def _blocks(function, Z: np.ndarray) -> np.ndarray:
        # rows × training-rows temporaries in blocks that stay in cache: the passes over them are memory-bound
        if len(Z) <= _BLOCK:
            return function(Z)
        return np.concatenate([function(Z[i : i + _BLOCK]) for i in range(0, len(Z), _BLOCK)])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """True where the row is inside the training domain."""
        Z = self._scaled(X)
        limit = self.threshold_ * (1 + 1e-9)
        inside = np.zeros(len(Z), dtype=bool)
        if not hasattr(self, "basis_"):
            return self._exact(Z) <= limit
        # three sieves, each exact in what it rules out (the relative margin covers rounding in the bounds):
        # group bounds, then per-training-row bounds, then the distances themselves for what is left
        rows = np.arange(len(Z))
        if hasattr(self, "group_center_"):
            rows = rows[self._blocks(self._group_bound, Z) * (1 - _BOUND_MARGIN) <= limit]
        if len(rows) and self._bound_pays(Z[rows], limit):
            rows = rows[self._blocks(self._lower_bound, Z[rows]) * (1 - _BOUND_MARGIN) <= limit]
        if len(rows):
            inside[rows] = self._blocks(self._exact, Z[rows]) <= limit
        return inside

    def _bound_pays(self, Z: np.ndarray, limit: float) -> bool:
        """Whether the per-training-row bound rules out enough rows to pay for itself. Rows inside the domain it
        cannot rule out: on 5,000 such rows against 40,000 training rows of 265 random low-rank columns (one
        thread, before the float32 screen) it took 1.5 s of a 5.2 s predict and ruled out none; skipping it, 3.7 s.
        Judged on up to `_BLOCK` rows spread over the input, sorted or not; either way the answer is the same, only
        the time differs."""
        if len(Z) <= 2 * _BLOCK:
            return True
        sample = Z[np.linspace(0, len(Z) - 1, _BLOCK).astype(int)]
        return float(np.mean(self._lower_bound(sample) * (1 - _BOUND_MARGIN) > limit)) >= _BOUND_PAYS
