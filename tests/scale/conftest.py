"""Shared fixtures: synthetic alloy data with a known trend, a small trained run, one loopback LocalCluster."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed", reason="the [dist] extra (dask, distributed) is not installed")

os.environ.setdefault("MATFORGE_QUIET", "1")


def alloy_table(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Fe-Ni-Co-Cr alloys whose 'strength' rises with Ni and Co and falls with Cr (plus a little noise)."""
    rng = np.random.default_rng(seed)
    x = rng.dirichlet([4, 1, 1, 1], size=n)
    formula = [f"Fe{a:.3f}Ni{b:.3f}Co{c:.3f}Cr{d:.3f}" for a, b, c, d in x]
    strength = 500 + 2000 * x[:, 1] + 1000 * x[:, 2] - 800 * x[:, 3] + rng.normal(0, 10, n)
    return pd.DataFrame({"formula": formula, "strength": strength})


SPACE = {"variables": [{"type": "alloy", "base": "Fe", "step": 0.02, "elements": {"Ni": [0, 0.2], "Co": [0, 0.2], "Cr": [0, 0.1]}}]}


@pytest.fixture(scope="session")
def alloy_space():
    """An Fe-based alloy space of a few hundred grid points."""
    return SPACE


@pytest.fixture(scope="session")
def alloys():
    """The synthetic alloy table maker (n rows, seed)."""
    return alloy_table


@pytest.fixture(scope="session")
def alloy_run(tmp_path_factory):
    """A ridge model of the synthetic alloys (a few seconds to train)."""
    from matforge.learn import train

    out = tmp_path_factory.mktemp("run") / "alloys"
    return train(alloy_table(), "strength", out, formula_cols="formula", models="ridge", cv=2, budget=4, ensemble=1, seed=0)


@pytest.fixture(scope="session")
def cluster():
    """A LocalCluster of 2 single-threaded worker processes on the loopback interface."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR) as c:
        yield c
