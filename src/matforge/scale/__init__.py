"""Scaling out: the same featurize / predict / screen / CV / tuning work on a Dask cluster or a shared study.

Nothing here is needed on one machine: without a scheduler every function runs its partitions in this
process, and the results are byte-identical to a cluster run. See docs/scaling.md.

- `featurize_parquet`, `predict_parquet`: partitioned Parquet in, partitioned Parquet out.
- `screen_distributed`: a design space screened by partitions with a streaming top-N merge.
- `cv_folds_distributed`: the outer CV folds of any estimator, one per worker.
- `tune_worker`: add trials to a shared Optuna study (SQLite or PostgreSQL).
- `scheduler_from_options`: ``--scheduler``/``--workers`` (or ``MATFORGE_SCHEDULER``) → a Dask client or None.
"""

from matforge.scale._cluster import SCHEDULER_ENV, describe_scheduler, map_partitions, scheduler_from_options
from matforge.scale._cv import FoldResult, cv_folds_distributed
from matforge.scale._featurize import featurize_parquet, predict_parquet
from matforge.scale._screen import screen_distributed
from matforge.scale._tune import masked_storage, study_storage, tune_worker

__all__ = [
    "SCHEDULER_ENV",
    "FoldResult",
    "cv_folds_distributed",
    "describe_scheduler",
    "featurize_parquet",
    "map_partitions",
    "masked_storage",
    "predict_parquet",
    "scheduler_from_options",
    "screen_distributed",
    "study_storage",
    "tune_worker",
]
