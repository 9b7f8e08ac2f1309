import sys

import numpy as np
import pytest

from matforge.errors import InputError
from matforge.explore import embed


def test_lda_separates_labelled_classes(families, family_features):
    labels = families["family"].to_numpy()
    result = embed(family_features, "lda", labels)
    assert result.coords.shape == (len(labels), 2) and result.axes == ("LD1", "LD2")
    classes = np.unique(labels)
    centroids = np.array([result.coords[labels == c].mean(axis=0) for c in classes])
    nearest = classes[np.argmin(((result.coords[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)]
    assert np.all(nearest == labels)
    within = np.mean([result.coords[labels == c].std(axis=0).max() for c in classes])
    between = min(np.linalg.norm(a - b) for i, a in enumerate(centroids) for b in centroids[i + 1 :])
    assert between > 5 * within


def test_lda_with_two_classes_adds_a_principal_axis(families, family_features):
    two = families["family"].isin(["stainless", "cathode"]).to_numpy()
    result = embed(family_features[two], "lda", families["family"].to_numpy()[two])
    assert result.axes == ("LD1", "PC1") and result.coords.shape == (two.sum(), 2)


def test_pca_reports_decreasing_explained_variance(family_features):
    result = embed(family_features, "pca")
    ratio = result.explained_variance
    assert np.all(np.diff(ratio) <= 1e-12) and 0.99 < ratio.sum() <= 1.0 + 1e-9
    assert result.coords.shape == (len(family_features), 2)


def test_tsne_maps_to_two_dimensions_reproducibly(family_features):
    first = embed(family_features[:60], "tsne", seed=3).coords
    again = embed(family_features[:60], "tsne", seed=3).coords
    assert first.shape == (60, 2) and np.allclose(first, again)


def test_umap_without_the_extra_says_how_to_install(monkeypatch, family_features):
    monkeypatch.setitem(sys.modules, "umap", None)  # import of umap now fails as if not installed
    with pytest.raises(InputError, match=r"matforge\[umap\]"):
        embed(family_features, "umap")


def test_lda_without_labels_and_unknown_methods_raise(family_features):
    with pytest.raises(InputError, match="class labels"):
        embed(family_features, "lda")
    with pytest.raises(InputError, match="unknown embedding"):
        embed(family_features, "isomap")
