"""Scaling out: the same featurize / predict / screen / CV / tuning work on a Dask cluster or a shared study.

Nothing here is needed on one machine: without a scheduler every function runs its partitions in this
process, and the results are byte-identical to a cluster run. See docs/scaling.md.
"""

from matforge.scale._cluster import SCHEDULER_ENV, describe_scheduler, map_partitions, scheduler_from_options
from matforge.scale._featurize import featurize_parquet, predict_parquet

__all__ = [
    "SCHEDULER_ENV",
    "describe_scheduler",
    "featurize_parquet",
    "map_partitions",
    "predict_parquet",
    "scheduler_from_options",
]
