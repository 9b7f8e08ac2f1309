"""Two-dimensional maps of a feature matrix: PCA, LDA, t-SNE and (with the ``umap`` extra) UMAP."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matforge.errors import InputError

__all__ = ["EMBEDDINGS", "Embedding", "embed"]

EMBEDDINGS = {
    "pca": "principal component analysis (linear; axes ranked by explained variance)",
    "lda": "linear discriminant analysis (linear; axes that best separate the given classes, Fisher 1936)",
    "tsne": "t-SNE (van der Maaten & Hinton, JMLR 9, 2579 (2008)); keeps neighbourhoods, not distances",
    "umap": "UMAP (McInnes et al., arXiv:1802.03426); needs the umap extra",
}


@dataclass
class Embedding:
    """Result of `embed`: (rows, 2) coordinates, axis names, and per-axis explained variance ratio (PCA and
    LDA; for LDA the share of between-class variance)."""

    coords: np.ndarray
    method: str
    axes: tuple[str, str]
    explained_variance: np.ndarray | None = None
    model: object = None


def _pca(X: np.ndarray, seed: int) -> Embedding:
    from sklearn.decomposition import PCA

    n_components = min(X.shape[1], len(X))
    model = PCA(n_components=n_components, random_state=seed).fit(X)
    coords = model.transform(X)[:, :2]
    if coords.shape[1] < 2:
        coords = np.c_[coords, np.zeros(len(coords))]
    return Embedding(coords, "pca", ("PC1", "PC2"), model.explained_variance_ratio_, model)


def _lda(X: np.ndarray, labels, seed: int) -> Embedding:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    if labels is None:
        raise InputError("LDA needs class labels", hint="Give a categorical --target, or LDA uses the cluster labels")
    labels = np.asarray(labels)
    keep = np.asarray([not (isinstance(v, (int, np.integer)) and v < 0) for v in labels])  # drop noise (-1)
    classes = np.unique(labels[keep])
    if len(classes) < 2:
        raise InputError("LDA needs at least two classes", hint="Use --embed pca, or a target with two or more classes")
    # shrinkage keeps the within-class covariance invertible when features outnumber rows of a class
    model = LinearDiscriminantAnalysis(n_components=min(2, len(classes) - 1), solver="eigen", shrinkage="auto")
    model.fit(X[keep], labels[keep])
    coords = model.transform(X)
    axes = ("LD1", "LD2")
    if coords.shape[1] < 2:
        # two classes give one discriminant axis; the first principal component is the second, for spread
        from sklearn.decomposition import PCA

        coords = np.c_[coords, PCA(n_components=1, random_state=seed).fit_transform(X)]
        axes = ("LD1", "PC1")
    return Embedding(coords[:, :2], "lda", axes, model.explained_variance_ratio_, model)


def _tsne(X: np.ndarray, seed: int) -> Embedding:
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(X) - 1) / 3.0)))
    model = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    return Embedding(model.fit_transform(X), "tsne", ("t-SNE 1", "t-SNE 2"), None, None)


def _umap(X: np.ndarray, seed: int) -> Embedding:
    try:
        import umap
    except ImportError:
        raise InputError("UMAP needs the optional umap-learn package", hint="pip install 'matforge[umap]', or use --embed tsne") from None
    # a fixed random_state makes UMAP single-threaded anyway; saying so keeps it from warning
    model = umap.UMAP(n_components=2, n_neighbors=min(15, len(X) - 1), random_state=seed, n_jobs=1)
    return Embedding(np.asarray(model.fit_transform(X)), "umap", ("UMAP 1", "UMAP 2"), None, None)


def embed(features, method: str = "pca", labels=None, *, seed: int = 0, scale: bool = True) -> Embedding:
    """Map the rows of a feature matrix to two dimensions.

    Parameters
    ----------
    features : (rows, features) matrix.
    method : one of `EMBEDDINGS`.
    labels : class of each row, required by ``lda`` (a categorical target, or cluster labels; -1 = noise is
        left out of the fit but still projected).
    seed : random state (t-SNE, UMAP, randomized PCA).
    scale : standardize the columns first (see `matforge.explore.standardize`).

    >>> import numpy as np
    >>> embed(np.random.default_rng(0).normal(size=(30, 5))).coords.shape
    (30, 2)
    """
    from matforge.explore._cluster import standardize

    if method not in EMBEDDINGS:
        raise InputError(f"unknown embedding '{method}'", value=method, hint=f"Choose one of: {', '.join(EMBEDDINGS)}")
    X = standardize(features) if scale else np.asarray(features, dtype=float)
    if len(X) < 3:
        raise InputError(f"a 2-D map needs at least 3 rows, got {len(X)}")
    if method == "pca":
        return _pca(X, seed)
    if method == "lda":
        return _lda(X, labels, seed)
    if method == "tsne":
        return _tsne(X, seed)
    return _umap(X, seed)
