"""`explore`: featurize a table, cluster it, map it in 2-D, flag outliers, and write the results folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from matforge.errors import InputError
from matforge.explore._cluster import Clustering, cluster, standardize
from matforge.explore._embed import Embedding, embed
from matforge.explore._outliers import find_outliers, outlier_notes

__all__ = ["Exploration", "describe_clusters", "explore", "write_exploration"]

_TOP_ELEMENTS = 5  # most frequent elements listed per cluster in summary.csv


@dataclass
class Exploration:
    """What `explore` found; ``clusters``, ``summary`` and ``outliers`` are the tables written as CSV.

    ``features_table`` holds the (unscaled) feature matrix; ``explained_variance`` the PCA explained
    variance ratios of the standardized features (always computed, as a guide to their dimensionality).
    """

    source: str
    features: str
    n_features: int
    clusters: pd.DataFrame
    summary: pd.DataFrame
    outliers: pd.DataFrame
    clustering: Clustering
    embedding: Embedding
    features_table: pd.DataFrame
    explained_variance: np.ndarray | None
    target: str | None = None
    target_is_categorical: bool = False
    seed: int = 0
    notes: list[str] = field(default_factory=list)
    out: Path | None = None


def _inputs(frame: pd.DataFrame, formula_col: str | None, target: str | None, features: str, source: str, structure_col: str | None = None):
    """(feature table, formulas or None, description): composition features of the formula column; for a
    structure column (named, or detected when no formula column is named) those of each structure's
    composition plus `StructureFeatures`; or the table's numeric columns when it has neither."""
    from matforge.data import detect_formula_columns, detect_structure_columns
    from matforge.features import make_featurizer

    for name in (target, formula_col, structure_col):
        if name is not None and name not in frame.columns:
            raise InputError(f"no column named '{name}'", file=source, column=name, hint=f"Columns are: {', '.join(map(str, frame.columns))}")
    excluded = (target,) if target else ()
    structures = [structure_col] if structure_col else [] if formula_col else detect_structure_columns(frame, exclude=excluded)
    if structures:
        from matforge.data._structures import parse_structures, structure_formulas
        from matforge.features._structure import featurize_structures, structure_feature_names

        column = structures[0]
        parsed = parse_structures(frame[column].to_numpy(dtype=object), source=source, column=column)  # read once
        table = pd.DataFrame(featurize_structures(parsed, (features,)), columns=structure_feature_names((features,)))
        return table, structure_formulas(parsed), f"{features} of the compositions and structure descriptors of '{column}'"
    columns = [formula_col] if formula_col else detect_formula_columns(frame, exclude=excluded)
    if columns:
        from matforge.chem import parse_compositions

        formulas = frame[columns[0]].to_numpy(dtype=object)
        featurizer = make_featurizer(features)
        batch = parse_compositions(formulas, on_error="raise", source=source, column=columns[0])
        table = pd.DataFrame(featurizer.transform_compositions(batch), columns=featurizer.get_feature_names_out())
        return table, formulas, f"{features} of '{columns[0]}'"
    numeric = [c for c in frame.columns if c != target and pd.api.types.is_numeric_dtype(frame[c])]
    if not numeric:
        raise InputError("no formula column and no numeric columns to explore", file=source, hint="Name the formula column with --formula-col")
    return frame[numeric].astype(float).reset_index(drop=True), None, f"numeric columns ({len(numeric)})"


def _is_categorical(values: pd.Series) -> bool:
    from matforge.data._dataset import _detect_task

    return _detect_task(values.dropna()) == "classification"


def describe_clusters(labels, formulas=None, target: pd.Series | None = None, features=None, *, categorical: bool = False):
    """Per-cluster table, largest cluster first and noise (-1) last, and the (clusters, 118) share of each
    cluster's members that contain each element (zeros without formulas).

    Columns: ``cluster``, ``size``; with formulas ``top_elements`` (most frequent, with the share of members
    containing them), ``enriched_elements`` (largest excess of mean atomic fraction over the whole table, in
    atomic %: what sets the cluster apart when every row holds the same elements, as in steels) and
    ``central_formula`` (the member nearest the cluster mean in `features`); with a target its mean and std
    (``majority_class``/``majority_share`` for classes).
    """
    from matforge.chem import ELEMENT_SYMBOLS, fraction_matrix

    labels = np.asarray(labels)
    fractions = np.nan_to_num(fraction_matrix(formulas, on_error="keep")) if formulas is not None else None
    overall = fractions.mean(axis=0) if fractions is not None else None
    X = np.asarray(features, dtype=float) if features is not None else fractions
    order = sorted(np.unique(labels), key=lambda c: (c < 0, -np.sum(labels == c), c))
    rows, presence = [], []
    for c in order:
        members = labels == c
        row = {"cluster": int(c), "size": int(members.sum())}
        central = None
        if X is not None:
            centre = X[members].mean(axis=0)
            central = np.flatnonzero(members)[np.argmin(((X[members] - centre) ** 2).sum(axis=1))]
        if fractions is not None:
            share = (fractions[members] > 0).mean(axis=0)
            presence.append(share)
            top = np.argsort(-share, kind="stable")[:_TOP_ELEMENTS]
            row["top_elements"] = " ".join(f"{ELEMENT_SYMBOLS[e]}:{share[e]:.0%}" for e in top if share[e] > 0)
            excess = fractions[members].mean(axis=0) - overall
            enriched = np.argsort(-excess, kind="stable")[:3]
            row["enriched_elements"] = " ".join(f"{ELEMENT_SYMBOLS[e]}:+{100 * excess[e]:.2g}%" for e in enriched if excess[e] > 1e-6)
            row["central_formula"] = str(formulas[central])
        elif central is not None:
            row["central_row"] = int(central)
        if target is not None:
            values = target[members]
            if categorical:
                counts = values.astype(str).value_counts()
                row["majority_class"] = counts.index[0] if len(counts) else ""
                row["majority_share"] = float(counts.iloc[0] / counts.sum()) if len(counts) else float("nan")
            else:
                row["target_mean"] = float(values.mean())
                row["target_std"] = float(values.std(ddof=0))
        rows.append(row)
    return pd.DataFrame(rows), (np.vstack(presence) if presence else np.zeros((len(order), len(ELEMENT_SYMBOLS))))


def explore(
    data: str | Path | pd.DataFrame,
    out: str | Path | None = None,
    *,
    formula_col: str | None = None,
    structure_col: str | None = None,
    features: str = "magpie",
    target: str | None = None,
    method: str = "kmeans",
    k: int | str = "auto",
    embedding: str = "pca",
    contamination: float | str = "auto",
    seed: int = 0,
) -> Exploration:
    """Map a table of materials: featurize, standardize, cluster, embed in 2-D, flag outliers and duplicates.

    Parameters
    ----------
    data : a table file (csv, xlsx, ...) or DataFrame with a formula column (or only numeric columns).
    out : folder to write (``clusters.csv``, ``summary.csv``, ``outliers.csv``, ``explore.html``), replaced
        atomically; None writes nothing.
    formula_col : formula column (detected when omitted).
    structure_col : crystal-structure column (`matforge.data.parse_structures`); detected when neither it nor
        `formula_col` is given, and then preferred to a formula column (the structure holds the composition too).
    features : composition feature preset or featurizer names (see `matforge.features.PRESETS`).
    target : optional property column: shown on the map and summarized per cluster; never used for
        clustering (except as the classes of ``embedding="lda"`` when it is categorical).
    method, k : clustering (see `matforge.explore.cluster`).
    embedding : ``pca``, ``lda`` (target classes if categorical, else the clusters), ``tsne`` or ``umap``.
    contamination : isolation-forest share of outliers, or ``"auto"`` (see `find_outliers`).
    seed : random state of every step.
    """
    from matforge.data import read_table

    if isinstance(data, (str, Path)):
        if out is not None:
            from matforge.files import check_output_dir, refuse_overwrite_input

            refuse_overwrite_input(out, data)
            check_output_dir(out, data)  # before the work, not when the folder is written
        frame, source = read_table(data), str(data)
    elif isinstance(data, pd.DataFrame):
        frame, source = data, str(data.attrs.get("source", "table"))
    else:
        raise InputError("explore needs a table file or a DataFrame")
    frame = frame.reset_index(drop=True)
    if len(frame) < 3:
        raise InputError(f"only {len(frame)} rows; at least 3 are needed to explore", file=source)
    table, formulas, description = _inputs(frame, formula_col, target, features, source, structure_col)
    X = standardize(table.to_numpy(dtype=float))
    clustering = cluster(X, method, k, seed=seed, scale=False)

    y = None
    categorical = False
    if target is not None:
        y = frame[target].reset_index(drop=True)
        categorical = _is_categorical(y)
        if not categorical:
            y = pd.to_numeric(y, errors="coerce")
    lda_labels = (y.astype(str).where(y.notna(), None) if categorical else None) if y is not None else None
    if embedding == "lda" and lda_labels is not None and lda_labels.isna().any():
        lda_labels = None  # rows without a class: fall back to the clusters rather than drop rows from the map
    mapped = embed(X, embedding, clustering.labels if lda_labels is None else lda_labels.to_numpy(), seed=seed, scale=False)
    explained = mapped.explained_variance if embedding == "pca" else embed(X, "pca", seed=seed, scale=False).explained_variance

    clusters = pd.DataFrame({"row": np.arange(len(frame))})
    if formulas is not None:
        clusters["formula"] = formulas
    clusters["cluster"] = clustering.labels
    clusters[f"{embedding}_1"] = mapped.coords[:, 0]
    clusters[f"{embedding}_2"] = mapped.coords[:, 1]
    if y is not None:
        clusters[target] = y.to_numpy()
    outliers = find_outliers(X, None if y is None else (y.astype(str) if categorical else y), contamination=contamination, seed=seed)
    outliers.insert(0, "row", np.arange(len(frame)))
    if formulas is not None:
        outliers.insert(1, "formula", formulas)
    summary, presence = describe_clusters(clustering.labels, formulas, y, X, categorical=categorical)
    result = Exploration(
        source=source, features=description, n_features=table.shape[1], clusters=clusters, summary=summary,
        outliers=outliers, clustering=clustering, embedding=mapped, features_table=table, explained_variance=explained,
        target=target, target_is_categorical=categorical, seed=seed, notes=outlier_notes(outliers),
    )  # fmt: skip
    if out is not None:
        result.out = write_exploration(result, presence, out)
    return result


def write_exploration(result: Exploration, presence: np.ndarray, out: str | Path) -> Path:
    """Write the results folder atomically: CSV tables and the self-contained page ``explore.html``."""
    from matforge.explore._page import render_page
    from matforge.files import atomic_dir

    out = Path(out)
    page = render_page(result, presence)
    with atomic_dir(out) as folder:
        result.clusters.to_csv(folder / "clusters.csv", index=False)
        result.summary.to_csv(folder / "summary.csv", index=False)
        result.outliers.to_csv(folder / "outliers.csv", index=False)
        (folder / "explore.html").write_text(page, encoding="utf-8")
    return out
