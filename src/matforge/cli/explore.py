"""`matforge explore`: a thin wrapper over `matforge.explore.explore`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from matforge.cli.app import app


@app.command()
def explore(
    data: Path = typer.Argument(..., help="Table of materials (csv, tsv, xlsx, json, parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write: clusters.csv, summary.csv, outliers.csv, explore.html."),
    formula_col: str = typer.Option(None, "--formula-col", help="Formula column; detected when omitted."),
    features: str = typer.Option("magpie", "--features", help="Composition feature preset (see 'matforge.features.PRESETS')."),
    target: str = typer.Option(None, "--target", "-t", help="Property column shown on the map and summarized per cluster."),
    method: str = typer.Option("kmeans", "--method", help="kmeans, ap, hierarchical, dbscan, hdbscan or gmm."),
    k: str = typer.Option("auto", "--k", help="Number of clusters, or auto (silhouette; BIC for gmm)."),
    embedding: str = typer.Option("pca", "--embed", help="2-D map: pca, lda, tsne or umap (umap needs matforge[umap])."),
    contamination: str = typer.Option("auto", "--contamination", help="Share of rows the isolation forest flags, or auto."),
    seed: int = typer.Option(0, "--seed", help="Seed of clustering, maps and outlier detection."),
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
    result = run_explore(data, out, formula_col=formula_col, features=features, target=target, method=method, k=k, embedding=embedding, contamination=share, seed=seed)
    c = result.clustering
    print(
        f"{out}: {len(result.clusters)} rows in {c.n_clusters} {c.method} clusters (silhouette {c.silhouette:.3f}), "
        f"{int(result.outliers['is_outlier'].sum())} outliers; see {out / 'explore.html'}",
        file=sys.stderr,
    )
