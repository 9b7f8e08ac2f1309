"""`matforge explore`: a thin wrapper over `matforge.explore.explore`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from matforge.cli.app import app


@app.command()
def explore(
    data: Annotated[Path, typer.Argument(help="Table of materials (csv, tsv, xlsx, json, parquet), or crystal structures: a folder of CIF/POSCAR files or an extxyz file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write: clusters.csv, summary.csv, outliers.csv, explore.html.")],
    formula_col: Annotated[str | None, typer.Option("--formula-col", help="Formula column; detected when omitted.")] = None,
    structure_col: Annotated[str | None, typer.Option("--structure-col", help="Crystal-structure column instead (CIF/POSCAR paths, text or pymatgen dicts): composition features plus structure descriptors; detected, and preferred, when no --formula-col is named.")] = None,
    features: Annotated[str, typer.Option("--features", help="Composition feature preset (see 'matforge.features.PRESETS').")] = "magpie",
    target: Annotated[str | None, typer.Option("--target", "-t", help="Property column shown on the map and summarized per cluster.")] = None,
    method: Annotated[str, typer.Option("--method", help="kmeans, ap, hierarchical, dbscan, hdbscan or gmm.")] = "kmeans",
    k: Annotated[str, typer.Option("--k", help="Number of clusters, or auto (silhouette; BIC for gmm).")] = "auto",
    embedding: Annotated[str, typer.Option("--embed", help="2-D map: pca, lda, tsne or umap (umap needs the optional umap-learn package).")] = "pca",
    contamination: Annotated[str, typer.Option("--contamination", help="Share of rows the isolation forest flags, or auto.")] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="Seed of clustering, maps and outlier detection.")] = 0,
) -> None:
    """Cluster a table of materials, map it in 2-D and flag outliers and conflicting duplicates."""
    from matforge.errors import InputError
    from matforge.explore import explore as run_explore

    share: float | str = contamination
    if contamination != "auto":
        try:
            share = float(contamination)
        except ValueError:
            raise InputError(f"--contamination must be a fraction in (0, 0.5] or auto, not '{contamination}'") from None
        if not 0 < share <= 0.5:
            raise InputError(f"--contamination must be a fraction in (0, 0.5] or auto, not '{contamination}'")
    result = run_explore(data, out, formula_col=formula_col, structure_col=structure_col, features=features, target=target, method=method, k=k, embedding=embedding, contamination=share, seed=seed)
    c = result.clustering
    print(
        f"{out}: {len(result.clusters)} rows in {c.n_clusters} {c.method} clusters (silhouette {c.silhouette:.3f}), "
        f"{int(result.outliers['is_outlier'].sum())} outliers; see {out / 'explore.html'}",
        file=sys.stderr,
    )
