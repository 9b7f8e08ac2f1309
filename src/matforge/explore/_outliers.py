"""Data cleaning: rows unlike the rest (isolation forest) and identical inputs with disagreeing targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matforge.errors import InputError

__all__ = ["find_outliers", "outlier_notes"]


def _duplicate_groups(X: np.ndarray, decimals: int) -> np.ndarray:
    """Id of each row's set of identical (after rounding) feature vectors; -1 for rows with no twin.

    Hashing rounded rows is linear in the rows, unlike pairwise distances. NaNs compare equal here.
    """
    rounded = pd.DataFrame(np.round(X, decimals))
    codes = rounded.groupby(list(rounded.columns), dropna=False, sort=False).ngroup().to_numpy()
    counts = np.bincount(codes)
    has_twin = counts[codes] > 1
    ids = np.full(len(X), -1)
    _, dense = np.unique(codes[has_twin], return_inverse=True)
    ids[has_twin] = dense.ravel()
    return ids


def find_outliers(
    features,
    target=None,
    *,
    contamination: float | str = "auto",
    rtol: float = 0.1,
    decimals: int = 6,
    seed: int = 0,
) -> pd.DataFrame:
    """Score every row for data cleaning; one output row per input row, in order.

    Columns
    -------
    ``outlier_score``: isolation-forest anomaly score (Liu, Ting & Zhou, ICDM 2008) in standardized
    feature space; higher = easier to isolate = more unusual (about 0.5 is ordinary, near 1 anomalous).
    ``is_outlier``: ``contamination="auto"`` flags scores more than 3 robust standard deviations
    (1.4826 × median absolute deviation) above the median score; a fraction such as 0.01 flags that share
    of rows instead.
    ``duplicate_group``: rows with identical feature vectors (rounded to `decimals` in standardized units —
    e.g. Fe2O3 and Fe4O6 under composition features) share an id; -1 when a row has no twin.
    ``n_duplicates``: size of that group (1 for none).
    With `target`: ``target_spread`` (max − min of the group's targets; number of distinct labels for text
    targets) and ``conflicting_target``: the group's targets disagree — for numbers, by more than `rtol` × the
    standard deviation of the whole target column.

    >>> import numpy as np
    >>> X = np.r_[np.random.default_rng(0).normal(size=(50, 3)), [[1, 1, 1], [1, 1, 1]]]
    >>> table = find_outliers(X, np.r_[np.zeros(50), 0.0, 5.0])
    >>> table["conflicting_target"].tail(2).tolist()
    [True, True]
    """
    from sklearn.ensemble import IsolationForest

    from matforge.explore._cluster import standardize

    X = standardize(features)
    n = len(X)
    if n < 2:
        raise InputError(f"outlier detection needs at least 2 rows, got {n}")
    if contamination != "auto" and not (isinstance(contamination, (int, float)) and 0 < contamination <= 0.5):
        raise InputError(f"contamination must be 'auto' or a fraction in (0, 0.5], not {contamination!r}", value=contamination)
    forest = IsolationForest(n_estimators=200, contamination=0.1 if contamination == "auto" else contamination, random_state=seed).fit(X)
    score = -forest.score_samples(X)
    if contamination == "auto":
        # the forest's own 'auto' cut (score > 0.5) flags a third of a tightly clustered table; a robust
        # z-score of 3 on the scores flags only rows far out of the bulk, whatever the score scale
        median = np.median(score)
        spread = 1.4826 * np.median(np.abs(score - median))
        flagged = score > median + 3.0 * spread if spread > 0 else np.zeros(n, dtype=bool)
    else:
        flagged = forest.predict(X) == -1
    table = pd.DataFrame({"outlier_score": score, "is_outlier": flagged})
    groups = _duplicate_groups(X, decimals)
    table["duplicate_group"] = groups
    counts = pd.Series(groups).map(pd.Series(groups[groups >= 0]).value_counts()).fillna(1).astype(int)
    table["n_duplicates"] = counts.to_numpy()
    if target is not None:
        y = pd.Series(np.asarray(target)).reset_index(drop=True)
        if len(y) != n:
            raise InputError(f"target has {len(y)} values for {n} rows of features")
        twin = groups >= 0
        spread = np.zeros(n)
        conflicting = np.zeros(n, dtype=bool)
        if twin.any():
            by_group = y[twin].groupby(groups[twin])
            if pd.api.types.is_numeric_dtype(y):
                ranges = by_group.max() - by_group.min()
                tolerance = rtol * float(np.nanstd(y.to_numpy(dtype=float)))
                spread[twin] = ranges.loc[groups[twin]].to_numpy(dtype=float)
                conflicting[twin] = spread[twin] > tolerance
            else:
                distinct = by_group.nunique()
                spread[twin] = distinct.loc[groups[twin]].to_numpy(dtype=float)
                conflicting[twin] = spread[twin] > 1
        table["target_spread"] = spread
        table["conflicting_target"] = conflicting
    return table


def outlier_notes(table: pd.DataFrame, row_ids=None, *, limit: int = 8) -> list[str]:
    """One-line notes on a `find_outliers` table for a dataset's validation notes (empty list when clean).

    `row_ids` names the rows in the user's file (default 0..n-1); at most `limit` rows are listed per note.
    """
    rows = np.asarray(row_ids) if row_ids is not None else np.arange(len(table))

    def listed(selection: np.ndarray) -> str:
        chosen = rows[np.asarray(selection)]
        text = ", ".join(map(str, chosen[:limit]))
        return text + (f" and {len(chosen) - limit} more" if len(chosen) > limit else "")

    notes = []
    flagged = table["is_outlier"].to_numpy()
    if flagged.any():
        order = np.argsort(-table["outlier_score"].to_numpy())
        notes.append(f"{int(flagged.sum())} rows look unlike the rest in feature space (isolation forest), most unusual first: {listed(order[: flagged.sum()])}")
    if "conflicting_target" in table:
        conflict = table["conflicting_target"].to_numpy()
        if conflict.any():
            n_groups = table.loc[conflict, "duplicate_group"].nunique()
            notes.append(f"{n_groups} sets of rows with identical features disagree on the target (largest spread {table['target_spread'].max():.4g}): rows {listed(conflict)}")
    return notes
