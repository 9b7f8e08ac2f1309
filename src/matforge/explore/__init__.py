"""Unsupervised exploration of a materials table: clusters, 2-D maps, outliers, per-family errors.

>>> from matforge.explore import explore                                # doctest: +SKIP
>>> result = explore("gaps.csv", "explore_out", target="gap expt")   # doctest: +SKIP
>>> result.summary                                                    # doctest: +SKIP

Extrapolation-aware CV protocols (leave-one-cluster-out, chemical-system folds) live in
`matforge.learn.make_splits`; `per_group_errors` breaks a run's out-of-fold errors down by cluster.
"""

from matforge.explore._cluster import METHODS, Clustering, cluster, standardize
from matforge.explore._embed import EMBEDDINGS, Embedding, embed
from matforge.explore._errors import per_group_errors
from matforge.explore._explore import Exploration, describe_clusters, explore, write_exploration
from matforge.explore._outliers import find_outliers, outlier_notes

__all__ = [
    "EMBEDDINGS",
    "METHODS",
    "Clustering",
    "Embedding",
    "Exploration",
    "cluster",
    "describe_clusters",
    "embed",
    "explore",
    "find_outliers",
    "outlier_notes",
    "per_group_errors",
    "standardize",
    "write_exploration",
]
