"""Tiny synthetic runs (regression, binary, multiclass) shared by the report and explain tests."""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pandas as pd
import pytest


def alloy_table(n: int = 72, seed: int = 0) -> pd.DataFrame:
    """Fe-Ni-Cr formulas with an annealing temperature; targets with known dependence on Ni and T."""
    rng = np.random.default_rng(seed)
    ni = rng.uniform(0.05, 0.6, n)
    cr = rng.uniform(0.05, 0.3, n)
    formula = [f"Fe{1 - a - b:.3f}Ni{a:.3f}Cr{b:.3f}" for a, b in zip(ni, cr, strict=True)]
    temperature = rng.uniform(300.0, 900.0, n)
    frame = pd.DataFrame({"formula": formula, "temperature": temperature})
    frame["strength"] = 200 * ni + 0.1 * temperature + rng.normal(0, 3, n)
    frame["phase"] = np.where(ni > 0.3, "fcc", "bcc")
    frame["family"] = np.select([ni < 0.2, ni < 0.4], ["low", "mid"], "high")
    return frame


@contextlib.contextmanager
def _shared_folder(tmp_path_factory, name: str):
    """A folder shared by all pytest-xdist workers of this session, built by the first one that gets the
    lock (the others wait, then reuse it): each synthetic run is trained once per session, not per worker."""
    import fcntl

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict:
    """Run folders trained by `matforge.learn.train` on `alloy_table` (budget 5 s, 3 outer folds)."""
    from matforge.learn import train

    frame = alloy_table()
    settings = {
        "regression": (frame.drop(columns=["phase", "family"]), "strength", "ridge,knn"),
        "binary": (frame.drop(columns=["strength", "family"]), "phase", "logistic,knn"),
        "multiclass": (frame.drop(columns=["strength", "phase"]), "family", "logistic,knn"),
    }
    with _shared_folder(tmp_path_factory, "report-runs") as root:
        for task, (data, target, models) in settings.items():
            if not (root / task / "report.html").exists():
                train(data, target, root / task, budget=5, models=models, cv=3)
    return {task: root / task for task in settings}


@pytest.fixture(scope="session")
def tree_run(tmp_path_factory):
    """A regression run whose final model is a single LightGBM model (for SHAP)."""
    from matforge.learn import train

    with _shared_folder(tmp_path_factory, "report-tree-run") as root:
        if not (root / "report.html").exists():
            frame = alloy_table(seed=1)
            train(frame.drop(columns=["phase", "family"]), "strength", root, budget=5, models="lightgbm", cv=3, ensemble=1)
    return root
