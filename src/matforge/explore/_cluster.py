"""Clustering a (standardized) feature matrix, with the number of clusters chosen from the data when asked.

k-means, agglomerative (Ward) and Gaussian mixtures take a number of clusters; ``k="auto"`` picks it by the
mean silhouette (Rousseeuw, J. Comput. Appl. Math. 20, 53 (1987)) or, for Gaussian mixtures, by the Bayesian
information criterion (Schwarz 1978). Affinity propagation (Frey & Dueck, Science 315, 972 (2007)), DBSCAN
(Ester et al., KDD 1996) and HDBSCAN (Campello et al., PAKDD 2013) find their own number of clusters;
DBSCAN and HDBSCAN label noise points -1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matforge.errors import InputError

__all__ = ["METHODS", "Clustering", "cluster", "standardize"]

METHODS = {
    "kmeans": "k-means (Lloyd; k-means++ seeding, 10 restarts)",
    "ap": "affinity propagation (Frey & Dueck 2007)",
    "hierarchical": "agglomerative clustering, Ward linkage",
    "dbscan": "DBSCAN density clustering (Ester et al. 1996); noise = -1",
    "hdbscan": "HDBSCAN hierarchical density clustering (Campello et al. 2013); noise = -1",
    "gmm": "Gaussian mixture fitted by expectation-maximization, full covariances in PCA space",
}
# the largest tables the O(n²) methods accept: affinity propagation iterates on an n × n matrix (minutes
# beyond a few thousand rows, tens of GB beyond ~30 000), Ward linkage keeps n²/2 distances
_QUADRATIC_LIMIT = {"ap": 3000, "hierarchical": 30000}
# silhouette on a random subsample beyond this many rows keeps `k="auto"` near-linear in n
_SILHOUETTE_SAMPLE = 4000


@dataclass
class Clustering:
    """Result of `cluster`: one label per row (-1 = noise), the chosen k and how it was chosen.

    ``scores`` maps each k tried to its silhouette (or BIC for ``gmm``); ``linkage`` is the SciPy Ward
    linkage matrix for ``hierarchical`` (for dendrograms); ``model`` the fitted estimator where there is one.
    """

    labels: np.ndarray
    method: str
    n_clusters: int
    criterion: str | None = None
    scores: dict[int, float] = field(default_factory=dict)
    silhouette: float = float("nan")
    linkage: np.ndarray | None = None
    model: object = None


def standardize(features) -> np.ndarray:
    """Median-impute NaNs, drop constant columns, scale each column to zero mean and unit variance.

    Distances between materials then weigh every descriptor equally instead of by its unit (K vs. Å).
    """
    from matforge.learn._protocols import _standardize

    values = np.asarray(features, dtype=float)
    if values.ndim != 2 or len(values) == 0:
        raise InputError(f"expected a non-empty (rows, features) matrix, got shape {values.shape}")
    return _standardize(values)


def _silhouette(X: np.ndarray, labels: np.ndarray, seed: int) -> float:
    from sklearn.metrics import silhouette_score

    keep = labels >= 0
    n_labels = len(np.unique(labels[keep]))
    if n_labels < 2 or n_labels >= keep.sum():
        return float("nan")
    sample = _SILHOUETTE_SAMPLE if keep.sum() > _SILHOUETTE_SAMPLE else None
    return float(silhouette_score(X[keep], labels[keep], sample_size=sample, random_state=seed))


def _k_range(k, n: int, k_max: int) -> list[int]:
    if k == "auto" or k is None:
        return list(range(2, max(2, min(k_max, n - 1)) + 1))
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise InputError(f"number of clusters must be a whole number or 'auto', not {k!r}", value=k) from None
    if not 1 <= k <= n:
        raise InputError(f"cannot make {k} clusters from {n} rows", value=k, hint=f"Choose k between 1 and {n}")
    return [k]


def _kmeans(X, k, seed):
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X)
    return model.labels_, model


def _affinity_propagation(X, k, seed):
    """Affinity propagation; for a requested k, bisect the shared preference until k exemplars emerge."""
    from sklearn.cluster import AffinityPropagation
    from sklearn.metrics import pairwise_distances

    similarity = -pairwise_distances(X, metric="sqeuclidean")

    def run(preference):
        model = AffinityPropagation(affinity="precomputed", preference=preference, damping=0.7, max_iter=400, random_state=seed)
        return model.fit(similarity)

    if k is None:
        model = run(float(np.median(similarity)))
        return model.labels_, model
    low, high = float(similarity.min()) * 2, 0.0
    best = None
    for _ in range(30):
        middle = (low + high) / 2
        model = run(middle)
        found = len(model.cluster_centers_indices_)
        if best is None or abs(found - k) < abs(len(best.cluster_centers_indices_) - k):
            best = model
        if found == k:
            break
        # a higher (less negative) preference makes more points exemplars
        low, high = (middle, high) if found < k else (low, middle)
    return best.labels_, best


def _gmm(X, k, seed):
    from sklearn.mixture import GaussianMixture

    model = GaussianMixture(n_components=k, covariance_type="full", n_init=3, reg_covar=1e-4, random_state=seed).fit(X)
    return model.predict(X), model


def _pca_space(X: np.ndarray, seed: int) -> np.ndarray:
    """Components covering 95% of the variance, at most 10: a full covariance in 145 Magpie dimensions would
    need ~10⁴ parameters per Gaussian, more than most materials datasets have rows."""
    from sklearn.decomposition import PCA

    n_components = min(10, X.shape[1], max(1, len(X) - 1))
    pca = PCA(n_components=n_components, random_state=seed).fit(X)
    keep = int(np.searchsorted(np.cumsum(pca.explained_variance_ratio_), 0.95) + 1)
    return pca.transform(X)[:, : max(2, min(keep, n_components))] if n_components >= 2 else pca.transform(X)


def _dbscan_eps(X: np.ndarray, min_samples: int) -> float:
    """The knee of the sorted distances to the `min_samples`-th neighbour (Ester et al.'s k-dist heuristic):
    the point of the curve farthest from the chord joining its ends."""
    from sklearn.neighbors import NearestNeighbors

    distances = NearestNeighbors(n_neighbors=min(min_samples, len(X))).fit(X).kneighbors(X)[0][:, -1]
    curve = np.sort(distances)
    x = np.linspace(0.0, 1.0, len(curve))
    span = curve[-1] - curve[0]
    if span <= 0:
        return float(curve[-1]) if curve[-1] > 0 else 1.0
    y = (curve - curve[0]) / span
    knee = int(np.argmax(x - y))
    return float(max(curve[knee], 1e-9))


def cluster(
    features,
    method: str = "kmeans",
    k: int | str = "auto",
    *,
    seed: int = 0,
    k_max: int = 10,
    scale: bool = True,
    eps: float | None = None,
    min_samples: int = 5,
) -> Clustering:
    """Cluster the rows of a feature matrix.

    Parameters
    ----------
    features : (rows, features) matrix, e.g. Magpie composition features.
    method : one of `METHODS`.
    k : number of clusters, or ``"auto"`` (silhouette over 2..`k_max`; BIC for ``gmm``). Affinity
        propagation uses k when given (by tuning its preference), its median-preference default otherwise;
        DBSCAN/HDBSCAN ignore it.
    seed : random state of every randomized step.
    scale : standardize the columns first (see `standardize`); turn off for an already scaled matrix.
    eps, min_samples : DBSCAN neighbourhood radius (in standardized units; default from the k-distance knee)
        and core-point size (also HDBSCAN's ``min_cluster_size``).

    >>> import numpy as np
    >>> X = np.r_[np.zeros((20, 2)), np.ones((20, 2)) * 10] + np.random.default_rng(0).normal(size=(40, 2))
    >>> cluster(X, "kmeans", k="auto").n_clusters
    2
    """
    if method not in METHODS:
        raise InputError(f"unknown clustering method '{method}'", value=method, hint=f"Choose one of: {', '.join(METHODS)}")
    X = standardize(features) if scale else np.asarray(features, dtype=float)
    n = len(X)
    if n < 3:
        raise InputError(f"clustering needs at least 3 rows, got {n}")
    limit = _QUADRATIC_LIMIT.get(method)
    if limit is not None and n > limit:
        raise InputError(
            f"method '{method}' needs memory growing with the square of the rows; {n} rows is more than {limit}",
            hint="Use --method kmeans, gmm or hdbscan for large tables",
        )  # fmt: skip

    if method in ("dbscan", "hdbscan"):
        from sklearn.cluster import DBSCAN, HDBSCAN

        if method == "dbscan":
            radius = eps if eps is not None else _dbscan_eps(X, min_samples)
            model = DBSCAN(eps=radius, min_samples=min_samples).fit(X)
        else:
            model = HDBSCAN(min_cluster_size=max(2, min_samples), copy=True).fit(X)
        labels = model.labels_
        return Clustering(labels, method, int(len(set(labels) - {-1})), silhouette=_silhouette(X, labels, seed), model=model)

    if method == "ap":
        requested = None if k in ("auto", None) else _k_range(k, n, k_max)[0]
        labels, model = _affinity_propagation(X, requested, seed)
        return Clustering(labels, method, int(len(np.unique(labels))), silhouette=_silhouette(X, labels, seed), model=model)

    candidates = _k_range(k, n, k_max)
    if method == "gmm":
        space = _pca_space(X, seed)
        fits = {c: _gmm(space, c, seed) for c in candidates}
        bic = {c: float(model.bic(space)) for c, (_, model) in fits.items()}
        best = min(bic, key=bic.get)
        labels, model = fits[best]
        return Clustering(labels, method, best, "bic" if len(candidates) > 1 else None, bic, _silhouette(X, labels, seed), model=model)

    linkage = None
    if method == "hierarchical":
        from scipy.cluster.hierarchy import fcluster
        from scipy.cluster.hierarchy import linkage as ward

        linkage = ward(X, method="ward")
        fits = {c: (fcluster(linkage, c, criterion="maxclust") - 1, None) for c in candidates}
    else:
        fits = {c: _kmeans(X, c, seed) for c in candidates}
    if len(candidates) == 1:
        best = candidates[0]
        scores = {}
    else:
        scores = {c: _silhouette(X, labels, seed) for c, (labels, _) in fits.items()}
        best = max(scores, key=lambda c: -np.inf if np.isnan(scores[c]) else scores[c])
    labels, model = fits[best]
    silhouette = scores.get(best, _silhouette(X, labels, seed))
    return Clustering(np.asarray(labels, dtype=int), method, best, "silhouette" if scores else None, scores, silhouette, linkage, model)
