"""Figures of an exploration and its self-contained HTML page (PNG images inline, no network)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from matforge.report._style import figure_to_base64
from matforge.report._style import plt as _plt

__all__ = ["cluster_map_figure", "periodic_table_figure", "render_page"]

# periods' first and last atomic numbers; f-block rows (57–71, 89–103) are drawn below the main table
_PERIODS = ((1, 2), (3, 10), (11, 18), (19, 36), (37, 54), (55, 86), (87, 118))
_MAX_TABLES = 12  # periodic-table panels on the page; further clusters are summarized in the table only


def periodic_position(z: int) -> tuple[int, int]:
    """(row, column) of element `z` in the 18-column table, rows 0–6; lanthanides/actinides in rows 8–9."""
    period = next(p for p, (first, last) in enumerate(_PERIODS) if first <= z <= last)
    first, last = _PERIODS[period]
    offset = z - first
    if period == 0:
        return 0, 0 if z == 1 else 17
    if period in (1, 2):
        return period, offset if offset < 2 else 17 - (last - z)
    if period in (3, 4):
        return period, offset
    if offset < 2:
        return period, offset
    if offset < 17:  # La..Lu / Ac..Lr
        return period + 3, 2 + (offset - 2)
    return period, offset - 14


def periodic_table_figure(values: np.ndarray, title: str, ax=None, *, vmax: float | None = None, label: str = "share of members"):
    """Heat map of one value per element (index = atomic number − 1) laid out as a periodic table; the colour
    scale runs to `vmax` (default: the largest value, so a cluster whose commonest element is in half of its
    members still shows contrast). Elements with value 0 are grey."""
    from matforge.chem import ELEMENT_SYMBOLS

    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
    cmap = plt.get_cmap("viridis")
    if vmax is None:
        vmax = float(np.max(values)) if np.max(values) > 0 else 1.0
    for index, symbol in enumerate(ELEMENT_SYMBOLS[: len(values)]):
        row, column = periodic_position(index + 1)
        value = values[index]
        colour = "#eeeeee" if not value > 0 else cmap(min(1.0, value / vmax))
        ax.add_patch(plt.Rectangle((column, -row), 0.95, 0.95, facecolor=colour, edgecolor="white"))
        ax.text(column + 0.47, -row + 0.45, symbol, ha="center", va="center", fontsize=5.5, color="white" if 0 < value < 0.5 * vmax else "black")
    ax.set_xlim(-0.2, 18.2)
    ax.set_ylim(-9.2, 1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=8)
    scale = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0.0, vmax))
    ax.figure.colorbar(scale, ax=ax, shrink=0.6, pad=0.01).set_label(label, fontsize=7)
    return fig if fig is not None else ax.figure


def cluster_map_figure(coords: np.ndarray, values, axes: tuple[str, str], title: str, *, categorical: bool):
    """2-D scatter of the embedding coloured by cluster/class (categorical) or by a number (colour bar)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.0, 4.8))
    size = float(np.clip(3000 / max(1, len(coords)), 3, 30))
    values = pd.Series(values)
    if categorical:
        labels = values.astype(str)
        levels = sorted(labels.unique(), key=lambda s: (len(s), s))
        cmap = plt.get_cmap("tab20" if len(levels) > 10 else "tab10")
        for i, level in enumerate(levels):
            mask = (labels == level).to_numpy()
            colour = "#999999" if level == "-1" else cmap(i % cmap.N)
            ax.scatter(coords[mask, 0], coords[mask, 1], s=size, color=colour, label="noise" if level == "-1" else level, alpha=0.8, linewidths=0)
        if len(levels) <= 20:
            ax.legend(fontsize=7, markerscale=1.5, loc="best", frameon=False, ncol=2 if len(levels) > 10 else 1)
    else:
        number = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        known = np.isfinite(number)
        ax.scatter(coords[~known, 0], coords[~known, 1], s=size, color="#dddddd", linewidths=0)
        points = ax.scatter(coords[known, 0], coords[known, 1], c=number[known], s=size, cmap="plasma", linewidths=0)
        fig.colorbar(points, ax=ax, shrink=0.8)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_title(title)
    return fig


def _scree_figure(ratio: np.ndarray):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    shown = ratio[:20]
    ax.bar(np.arange(1, len(shown) + 1), shown, color="#4477aa", label="per component")
    ax.plot(np.arange(1, len(shown) + 1), np.cumsum(shown), "o-", color="#cc6677", label="cumulative")
    ax.set_xlabel("principal component")
    ax.set_ylabel("explained variance ratio")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, frameon=False)
    return fig


def _selection_figure(scores: dict[int, float], criterion: str, chosen: int):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    ks = sorted(scores)
    ax.plot(ks, [scores[k] for k in ks], "o-", color="#4477aa")
    ax.axvline(chosen, color="#cc6677", linestyle="--", label=f"chosen k = {chosen}")
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("mean silhouette (higher is better)" if criterion == "silhouette" else "BIC (lower is better)")
    ax.legend(fontsize=8, frameon=False)
    return fig


def _dendrogram_figure(linkage: np.ndarray, n_clusters: int):
    from scipy.cluster.hierarchy import dendrogram

    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    # the top merges only: a leaf per row is unreadable beyond a few dozen materials
    dendrogram(linkage, truncate_mode="lastp", p=min(30, len(linkage) + 1), ax=ax, color_threshold=linkage[-(n_clusters - 1), 2] if n_clusters > 1 else 0, no_labels=False, leaf_font_size=7)
    ax.set_ylabel("Ward distance (standardized features)")
    ax.set_xlabel("merged groups (size in brackets)")
    return fig


def _img(fig) -> str:
    return f'<img alt="figure" src="data:image/png;base64,{figure_to_base64(fig)}"/>'


_STYLE = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}section{margin-bottom:2em}.grid img{width:49%}"


def render_page(result, presence: np.ndarray) -> str:
    """The HTML page of an `Exploration`; `presence` is (clusters, elements): share of members containing each."""
    clusters, embedding, clustering = result.clusters, result.embedding, result.clustering
    coords = clusters[[f"{embedding.method}_1", f"{embedding.method}_2"]].to_numpy()
    maps = [_img(cluster_map_figure(coords, clusters["cluster"], embedding.axes, f"{clustering.method} clusters", categorical=True))]
    if result.target is not None:
        target = clusters[result.target]
        maps.append(_img(cluster_map_figure(coords, target, embedding.axes, result.target, categorical=result.target_is_categorical)))
    extras = []
    if clustering.scores and clustering.criterion:
        extras.append(_img(_selection_figure(clustering.scores, clustering.criterion, clustering.n_clusters)))
    if clustering.linkage is not None:
        extras.append(_img(_dendrogram_figure(clustering.linkage, clustering.n_clusters)))
    if result.explained_variance is not None:
        extras.append(_img(_scree_figure(result.explained_variance)))
    tables = []
    labels = result.summary["cluster"].to_numpy()
    for i, label in enumerate(labels[:_MAX_TABLES]):
        size = int(result.summary["size"].iloc[i])
        tables.append(_img(periodic_table_figure(presence[i], f"cluster {label} ({size} rows): share of members containing each element")))
    more = f"<p>{len(labels) - _MAX_TABLES} more clusters are in summary.csv.</p>" if len(labels) > _MAX_TABLES else ""
    outliers = result.outliers
    worst = outliers.sort_values("outlier_score", ascending=False).head(15)
    n_conflict = int(outliers["conflicting_target"].sum()) if "conflicting_target" in outliers else 0
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) or "<li>nothing unusual found</li>"
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>matforge explore: {html.escape(result.source)}</title><style>{_STYLE}</style></head><body>
<h1>Exploring {html.escape(result.source)}</h1>
<section id="summary"><p>{len(clusters)} rows, features <b>{html.escape(result.features)}</b> ({result.n_features} columns, standardized);
clustering <b>{html.escape(clustering.method)}</b>: {clustering.n_clusters} clusters{', k chosen by ' + clustering.criterion if clustering.criterion else ''}, mean silhouette {clustering.silhouette:.3f};
map: <b>{html.escape(embedding.method)}</b>; seed {result.seed}.</p>
{result.summary.to_html(index=False, float_format=lambda v: f"{v:.4g}")}</section>
<section id="maps" class="grid"><h2>2-D map</h2>{''.join(maps)}</section>
<section id="diagnostics" class="grid"><h2>Choice of k, dendrogram, explained variance</h2>{''.join(extras)}</section>
<section id="elements" class="grid"><h2>Elements per cluster</h2>{''.join(tables)}{more}</section>
<section id="cleaning"><h2>Data cleaning</h2><ul>{notes}</ul><p>{int(outliers['is_outlier'].sum())} isolation-forest outliers, {int((outliers['duplicate_group'] >= 0).sum())} rows with an identical feature vector elsewhere, {n_conflict} of them with disagreeing targets. The most unusual rows:</p>
{worst.to_html(index=False, float_format=lambda v: f"{v:.4g}")}</section>
</body></html>"""
