import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from matforge.errors import InputError
from matforge.explore import METHODS, cluster, standardize


@pytest.mark.parametrize("method", list(METHODS))
def test_recovers_chemical_families_with_automatic_k(method, families, family_features):
    result = cluster(family_features, method, "auto", seed=0)
    assert adjusted_rand_score(families["family"], result.labels) >= 0.9
    assert result.n_clusters == 4


@pytest.mark.parametrize("method", ["kmeans", "hierarchical", "gmm", "ap"])
def test_requested_k_gives_that_many_clusters(method, families, family_features):
    result = cluster(family_features, method, 4, seed=0)
    assert len(np.unique(result.labels)) == 4
    assert adjusted_rand_score(families["family"], result.labels) >= 0.9


def test_automatic_k_records_the_criterion_per_k(family_features):
    silhouette = cluster(family_features, "kmeans", "auto", k_max=6)
    assert silhouette.criterion == "silhouette" and sorted(silhouette.scores) == [2, 3, 4, 5, 6]
    assert max(silhouette.scores, key=silhouette.scores.get) == 4
    bic = cluster(family_features, "gmm", "auto", k_max=6)
    assert bic.criterion == "bic" and min(bic.scores, key=bic.scores.get) == 4


def test_hierarchical_keeps_linkage_for_the_dendrogram(family_features):
    result = cluster(family_features, "hierarchical", 4)
    assert result.linkage.shape == (len(family_features) - 1, 4)


def test_density_methods_mark_a_far_point_as_noise(family_features):
    far = np.vstack([family_features, family_features[:1] * 50.0])
    for method in ("dbscan", "hdbscan"):
        labels = cluster(far, method).labels
        assert labels[-1] == -1


def test_same_seed_gives_same_clusters(family_features):
    first = cluster(family_features, "kmeans", 3, seed=7).labels
    again = cluster(family_features, "kmeans", 3, seed=7).labels
    assert np.array_equal(first, again)


def test_standardize_drops_constant_columns_and_fills_gaps():
    values = np.array([[1.0, 5.0, np.nan], [2.0, 5.0, 1.0], [3.0, 5.0, 3.0]])
    scaled = standardize(values)
    assert scaled.shape == (3, 2)
    assert np.allclose(scaled.mean(axis=0), 0) and np.allclose(scaled.std(axis=0), 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"method": "spectral"}, "unknown clustering method"), ({"k": 500}, "cannot make 500 clusters"), ({"k": "many"}, "whole number")],
)
def test_bad_settings_raise_input_errors(family_features, kwargs, message):
    with pytest.raises(InputError, match=message):
        cluster(family_features, **kwargs)


def test_quadratic_methods_refuse_huge_tables(monkeypatch, family_features):
    from matforge.explore import _cluster

    monkeypatch.setitem(_cluster._QUADRATIC_LIMIT, "ap", 100)
    with pytest.raises(InputError, match="square of the rows"):
        cluster(family_features, "ap")
