"""Cross-validation protocols: how rows are split into folds, from optimistic to extrapolating.

``kfold``   plain shuffled K-fold; rows of the same material may sit on both sides (optimistic).
``group``   grouped K-fold: rows sharing a group (by default the reduced composition) never straddle a split.
``chemsys`` grouped K-fold over chemical systems: every composition of Fe–Ni–Cr (FeNi2Cr, Fe3Cr...) is held
            out together, so the model is scored on element combinations it never saw.
``loco``    leave-one-cluster-out CV (Meredig et al., Mol. Syst. Des. Eng. 3, 819 (2018)): k-means on the
            standardized composition features makes ``folds`` clusters; each fold holds out one whole
            cluster, i.e. a chemically distinct family. The gap between ``kfold`` and ``loco`` scores is
            the honest extrapolation gap.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from matforge.errors import InputError

__all__ = ["PROTOCOLS", "chemical_systems", "loco_clusters", "make_splits", "protocol_groups"]

PROTOCOLS: dict[str, str] = {
    "kfold": "kfold",
    "group": "group-kfold",
    "chemsys": "chemical-system-kfold",
    "loco": "loco-kmeans",
}
"""Protocol name as given to `make_splits` → name written in metrics.json's protocol block."""


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise InputError(f"unknown CV protocol '{protocol}'", value=protocol, hint=f"Choose one of: {', '.join(PROTOCOLS)}")


def _composition_parts(groups: np.ndarray) -> list[np.ndarray]:
    """Split group keys written by `prepare_dataset` ("Fe0.4 O0.6", one per formula column joined by "|")."""
    text = pd.Series(groups, dtype=object).astype(str)
    parts = text.str.split("|", regex=False)
    width = int(parts.str.len().max()) if len(parts) else 1
    return [parts.str[j].fillna("").to_numpy(dtype=object) for j in range(width)]


def _parse_or_explain(formulas: np.ndarray, protocol: str):
    from matforge.chem import parse_compositions

    batch = parse_compositions(formulas, on_error="keep")
    if len(batch) and not batch.valid.any():
        raise InputError(
            f"protocol '{protocol}' needs compositions, but the CV groups are not formulas",
            hint="Give a formula column (and no --group-col), or pass formulas=/features= to make_splits",
        )  # fmt: skip
    return batch


def chemical_systems(formulas) -> np.ndarray:
    """The chemical system of each formula: its elements, alphabetical, joined by "-" (``FeNi2Cr`` → ``Cr-Fe-Ni``).

    Amounts are ignored, so every composition made of the same elements shares one label. Unparseable
    formulas get ``"invalid:<text>"`` (each its own system).

    >>> chemical_systems(["Fe2O3", "FeO", "NaCl"]).tolist()
    ['Fe-O', 'Fe-O', 'Cl-Na']
    """
    from matforge.chem import ELEMENT_SYMBOLS, parse_compositions

    values = np.asarray(formulas, dtype=object)
    batch = parse_compositions(values, on_error="keep")
    symbols = np.asarray(ELEMENT_SYMBOLS, dtype=object)
    out = np.empty(len(batch), dtype=object)
    for i in range(len(batch)):
        if batch.valid[i]:
            out[i] = "-".join(sorted(symbols[batch.element[i, : batch.n_elements[i]]]))
        else:
            out[i] = f"invalid:{values[i]}"
    return out


def _group_features(keys: np.ndarray, inverse: np.ndarray, features, formulas, preset: str) -> np.ndarray:
    """One feature vector per group (`keys[g]`, rows `inverse == g`): the mean of its rows' features, or the
    composition features of its first row's formula, or of the key itself (a composition key)."""
    n_groups = len(keys)
    if features is not None:
        values = np.asarray(features, dtype=float)
        if values.ndim != 2 or len(values) != len(inverse):
            raise InputError(f"features must be a (rows, columns) matrix with {len(inverse)} rows, got shape {values.shape}")
        sums = np.zeros((n_groups, values.shape[1]))
        counts = np.zeros((n_groups, values.shape[1]))
        finite = np.isfinite(values)
        np.add.at(sums, inverse, np.where(finite, values, 0.0))
        np.add.at(counts, inverse, finite)
        with np.errstate(invalid="ignore"):
            return sums / counts
    from matforge.features import make_featurizer

    featurizer = make_featurizer(preset)
    if formulas is not None:
        first = pd.Series(np.arange(len(inverse))).groupby(inverse).first().to_numpy()
        columns = [np.asarray(formulas, dtype=object)[first]]
    else:
        columns = _composition_parts(keys)
    blocks = [featurizer.transform_compositions(_parse_or_explain(column, "loco")) for column in columns]
    return np.hstack(blocks)


def _standardize(values: np.ndarray) -> np.ndarray:
    """Median-impute, drop constant columns, scale to unit variance (k-means distances need comparable units)."""
    values = np.array(values, dtype=float)
    median = np.nanmedian(np.where(np.isfinite(values), values, np.nan), axis=0)
    median = np.where(np.isfinite(median), median, 0.0)
    values = np.where(np.isfinite(values), values, median)
    std = values.std(axis=0)
    keep = std > 1e-12 * np.maximum(1.0, np.abs(values).max(axis=0))
    if not keep.any():
        return np.zeros((len(values), 1))
    return (values[:, keep] - values[:, keep].mean(axis=0)) / std[keep]


def loco_clusters(
    groups=None, *, features=None, formulas=None, n_clusters: int = 5, seed: int = 0, preset: str = "magpie", n_rows: int | None = None
) -> np.ndarray:
    """Cluster id (0..n_clusters-1) of every row for leave-one-cluster-out CV.

    k-means (k = `n_clusters`, 10 restarts, seeded) runs on one standardized feature vector per group, weighted
    by the group's size, so rows of one group (one composition) always share a cluster.

    Parameters
    ----------
    groups : per-row group labels; by default `prepare_dataset`'s reduced-composition keys, which are
        featurized when neither `features` nor `formulas` is given.
    features : (rows, columns) feature matrix to cluster in (e.g. Magpie features); rows of a group are averaged.
    formulas : per-row formulas, featurized with `preset` (used when `features` is None).
    n_clusters : number of clusters (= folds); capped at the number of groups.
    """
    if groups is None:
        length = n_rows if n_rows is not None else len(features if features is not None else formulas)
        groups = np.arange(length)
    groups = np.asarray(groups)
    keys, inverse = np.unique(groups.astype(str), return_inverse=True)
    inverse = inverse.ravel()
    n_groups = len(keys)
    k = max(1, min(int(n_clusters), n_groups))
    values = _standardize(_group_features(keys, inverse, features, formulas, preset))
    from sklearn.cluster import KMeans

    weights = np.bincount(inverse, minlength=n_groups).astype(float)
    kmeans = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(values, sample_weight=weights)
    # renumber clusters by decreasing size so cluster 0 is the largest family (stable, readable reports)
    sizes = np.bincount(kmeans.labels_, weights=weights, minlength=k)
    order = np.argsort(-sizes, kind="stable")
    rename = np.empty(k, dtype=int)
    rename[order] = np.arange(k)
    return rename[kmeans.labels_][inverse]


def protocol_groups(protocol: str, groups=None, *, features=None, formulas=None, folds: int = 5, seed: int = 0, n_rows: int | None = None) -> np.ndarray:
    """The per-row labels that `protocol` keeps together: cluster ids (loco), chemical systems (chemsys),
    the given groups (group) or the row index (kfold). Per-group errors in reports use these labels."""
    _check_protocol(protocol)
    length = n_rows
    for candidate in (groups, features, formulas):
        if candidate is not None:
            length = len(candidate)
            break
    if length is None:
        raise InputError("protocol_groups needs groups, features or formulas")
    if protocol == "kfold":
        return np.arange(length)
    if protocol == "group":
        return np.asarray(groups) if groups is not None else np.arange(length)
    if protocol == "loco":
        return loco_clusters(groups, features=features, formulas=formulas, n_clusters=folds, seed=seed, n_rows=length)
    # chemsys
    if formulas is not None:
        return chemical_systems(formulas)
    if groups is None:
        raise InputError("protocol 'chemsys' needs formulas or composition groups")
    parts = _composition_parts(np.asarray(groups))
    for column in parts:
        _parse_or_explain(column, "chemsys")
    systems = [chemical_systems(column) for column in parts]
    return np.array(["|".join(s) for s in zip(*systems, strict=True)], dtype=object)


def make_splits(
    task: str, y, groups, folds: int, seed: int, protocol: str = "group", *, features=None, formulas=None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Outer or inner CV splits as (train rows, test rows) pairs; see the module docstring for the protocols.

    Rows sharing a group never straddle train and test under ``group``, ``chemsys`` and ``loco``.
    Classification is stratified where the protocol allows it (``kfold``, ``group``, ``chemsys``); ``loco``
    holds out whole clusters whatever their classes. ``chemsys`` and ``loco`` read compositions from
    `formulas`, `features`, or the composition keys `prepare_dataset` puts in `groups`.

    >>> splits = make_splits("regression", range(10), None, 5, seed=0, protocol="kfold")
    >>> len(splits), sorted(np.concatenate([test for _, test in splits]).tolist()) == list(range(10))
    (5, True)
    """
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    _check_protocol(protocol)
    y = np.asarray(y)
    n = len(y)
    index = np.arange(n)
    if protocol == "loco":
        clusters = loco_clusters(groups, features=features, formulas=formulas, n_clusters=max(2, folds), seed=seed, n_rows=n)
        if len(np.unique(clusters)) < 2:
            raise InputError("leave-one-cluster-out CV needs at least two distinct compositions")
        return [(index[clusters != c], index[clusters == c]) for c in np.unique(clusters)]
    if protocol == "chemsys":
        groups = protocol_groups("chemsys", groups, formulas=formulas, n_rows=n)
    groups = np.asarray(groups) if groups is not None and protocol != "kfold" else np.arange(n)
    # each group as its rank among the sorted groups: the same splits (the splitters sort the groups first), but
    # scikit-learn's shuffled GroupKFold marks each fold's rows with np.isin, which on text groups (composition
    # keys) compares every row with every test group: 105 s for a 2-fold split of MatBench mp_e_form fold 0's
    # 106,201 training rows (0.12 s with the ranks)
    groups = np.unique(groups, return_inverse=True)[1].reshape(-1)
    n_groups = int(groups.max()) + 1 if n else 0
    folds = max(2, min(folds, n_groups))
    if task == "classification":
        smallest = pd.Series(y).value_counts().min()
        if n_groups == n:
            splitter = StratifiedKFold(folds, shuffle=True, random_state=seed) if smallest >= folds else KFold(folds, shuffle=True, random_state=seed)
            return [(tr, te) for tr, te in splitter.split(index, y)]
        return _stratified_group_splits(y, groups, folds, seed)
    if n_groups == n:
        return [(tr, te) for tr, te in KFold(folds, shuffle=True, random_state=seed).split(index)]
    return [(tr, te) for tr, te in GroupKFold(folds, shuffle=True, random_state=seed).split(index, y, groups)]


_STRATIFIED_GROUP_CACHE: dict[tuple, list[tuple[np.ndarray, np.ndarray]]] = {}
"""`_stratified_group_splits`' earlier answers, by the content of (y, groups) and (folds, seed)."""

STRATIFIED_GROUP_CACHE_SIZE = 16
"""How many answers `_stratified_group_splits` keeps (the oldest goes first); an AutoModel fit asks for a few
distinct ones per stage (one per inner-CV repeat)."""


def _stratified_group_splits(y: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's shuffled StratifiedGroupKFold splits of (y, groups), remembered by content.

    Its split walks the groups one by one in Python (2.9 s for a 2-fold split of 100,000 rows in 90,000 groups
    on the 2-core machine, against 0.03 s for GroupKFold), and every model's search in a stage asks for the
    same stage rows' splits again; the answer is a pure function of (y, groups, folds, seed), so it is computed
    once. The arrays handed out are read-only, being shared between callers.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    digest = hashlib.blake2b(digest_size=16)
    for part in (y, groups):
        digest.update(pd.util.hash_array(np.asarray(part)).tobytes())
    key = (len(y), int(folds), int(seed), digest.hexdigest())
    if key not in _STRATIFIED_GROUP_CACHE:
        splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
        splits = [(tr, te) for tr, te in splitter.split(np.arange(len(y)), y, groups)]
        for tr, te in splits:
            tr.flags.writeable = False
            te.flags.writeable = False
        while len(_STRATIFIED_GROUP_CACHE) >= STRATIFIED_GROUP_CACHE_SIZE:
            del _STRATIFIED_GROUP_CACHE[next(iter(_STRATIFIED_GROUP_CACHE))]
        _STRATIFIED_GROUP_CACHE[key] = splits
    return list(_STRATIFIED_GROUP_CACHE[key])
