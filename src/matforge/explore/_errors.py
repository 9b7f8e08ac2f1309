"""Out-of-fold errors broken down by group: where (which chemical family) a model fails to extrapolate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matforge.errors import InputError

__all__ = ["per_group_errors"]


def per_group_errors(oof: pd.DataFrame, groups=None, *, task: str | None = None) -> pd.DataFrame:
    """Errors of out-of-fold predictions per group, largest error first.

    Parameters
    ----------
    oof : a run's ``oof_predictions.csv`` as a DataFrame (``y_true``, ``y_pred``; ``fold``).
    groups : one label per row of `oof` (cluster ids, chemical systems from
        `matforge.learn.protocol_groups`); default the ``fold`` column — under ``--protocol loco`` each
        outer fold is exactly one held-out cluster, so this gives the per-cluster errors directly.
    task : ``"regression"`` or ``"classification"`` (default: regression when ``y_pred`` is numeric).

    Returns
    -------
    DataFrame with ``group``, ``n``, ``y_mean`` (regression) and ``mae``, ``rmse``, ``bias`` (mean of
    prediction − truth, in the target's units) or ``accuracy`` (classification).

    >>> oof = pd.DataFrame({"y_true": [1.0, 2.0, 3.0, 4.0], "y_pred": [1.0, 2.0, 4.0, 6.0], "fold": [0, 0, 1, 1]})
    >>> per_group_errors(oof)[["group", "mae"]].to_dict("list")
    {'group': [1, 0], 'mae': [1.5, 0.0]}
    """
    missing = [c for c in ("y_true", "y_pred") if c not in oof.columns]
    if missing:
        raise InputError(f"out-of-fold table lacks column(s) {', '.join(missing)}", hint="Pass a run's oof_predictions.csv")
    if groups is None:
        if "fold" not in oof.columns:
            raise InputError("give groups=, or an out-of-fold table with a 'fold' column")
        groups = oof["fold"].to_numpy()
    groups = np.asarray(groups)
    if len(groups) != len(oof):
        raise InputError(f"{len(groups)} group labels for {len(oof)} out-of-fold rows")
    if task is None:
        task = "regression" if pd.api.types.is_numeric_dtype(oof["y_pred"]) else "classification"
    frame = pd.DataFrame({"group": groups, "y_true": oof["y_true"].to_numpy(), "y_pred": oof["y_pred"].to_numpy()})
    if task == "regression":
        frame["error"] = frame["y_pred"].astype(float) - frame["y_true"].astype(float)
        table = frame.groupby("group", sort=True).agg(
            n=("error", "size"),
            y_mean=("y_true", "mean"),
            mae=("error", lambda e: float(np.mean(np.abs(e)))),
            rmse=("error", lambda e: float(np.sqrt(np.mean(np.square(e))))),
            bias=("error", "mean"),
        )  # fmt: skip
        return table.sort_values("mae", ascending=False, kind="stable").reset_index()
    frame["correct"] = frame["y_true"].astype(str) == frame["y_pred"].astype(str)
    table = frame.groupby("group", sort=True).agg(n=("correct", "size"), accuracy=("correct", "mean"))
    return table.sort_values("accuracy", kind="stable").reset_index()
