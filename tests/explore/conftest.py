import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from families import family_table  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread_per_worker():
    """OpenMP/BLAS threads spin-wait when a shared 2-core machine is busy (10-20x slower k-means, t-SNE);
    pytest-xdist already runs one worker per core."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def families() -> pd.DataFrame:
    return family_table(n_per_family=40, seed=0)


@pytest.fixture(scope="session")
def family_features(families):
    from matforge.features import featurize

    return featurize(families["formula"]).to_numpy()
