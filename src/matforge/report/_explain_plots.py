"""Figures of the explanations (`matforge.explain` tables): importance, SHAP summary, partial dependence,
sensitivity matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matforge.report._style import plt

__all__ = ["importance_figure", "shap_summary_figure", "partial_dependence_figure", "sensitivity_figure"]


def _short(name: str, width: int = 38) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def importance_figure(importance: pd.DataFrame, top: int = 15):
    """Bar chart of `permutation_importance` (mean ± std of the loss increase), most important on top."""
    shown = importance.head(top)
    fig, ax = plt().subplots(figsize=(6.5, 0.3 * len(shown) + 1.4))
    ax.barh([_short(f) for f in shown["feature"]], shown["importance"], xerr=shown["importance_std"], color="tab:green", capsize=2)
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.6)
    loss = "MAE (target units)" if importance.attrs.get("loss") == "mae" else "log-loss (nats)"
    ax.set(xlabel=f"increase of {loss} when shuffled", title=f"permutation importance (top {len(shown)} of {len(importance)}, {importance.attrs.get('rows', '?')} rows)")
    ax.tick_params(axis="y", labelsize=7)
    return fig


def shap_summary_figure(shap, top: int = 15, output: int | None = None):
    """SHAP summary (beeswarm): one dot per row and feature, x = contribution, colour = feature value
    (low blue → high red, by rank within the feature). Multiclass without `output`: mean |SHAP| per class."""
    pyplot = plt()
    order = list(shap.mean_abs().index[:top])
    position = {f: i for i, f in enumerate(order)}
    if shap.values.shape[2] > 1 and output is None:
        fig, ax = pyplot.subplots(figsize=(6.5, 0.3 * len(order) + 1.6))
        left = np.zeros(len(order))
        columns = [list(shap.data.columns).index(f) for f in order]
        for k, name in enumerate(shap.outputs):
            width = np.abs(shap.values[:, columns, k]).mean(axis=0)
            ax.barh([_short(f) for f in order], width, left=left, label=name)
            left += width
        ax.invert_yaxis()
        ax.legend(fontsize=7)
        ax.set(xlabel=f"mean |SHAP| ({shap.space})", title=f"SHAP importance of the {shap.member} member, per class")
        ax.tick_params(axis="y", labelsize=7)
        return fig
    k = 0 if output is None else output
    rng = np.random.default_rng(0)
    fig, ax = pyplot.subplots(figsize=(6.5, 0.3 * len(order) + 1.6))
    for feature in order:
        j = list(shap.data.columns).index(feature)
        values = shap.values[:, j, k]
        raw = shap.data.iloc[:, j].to_numpy(float)
        colour = pd.Series(raw).rank(pct=True).fillna(0.5).to_numpy()
        jitter = rng.uniform(-0.3, 0.3, len(values))
        scatter = ax.scatter(values, position[feature] + jitter, c=colour, cmap="coolwarm", s=5, alpha=0.7, vmin=0, vmax=1, linewidths=0)
    ax.set_yticks(range(len(order)), [_short(f) for f in order], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.6)
    ax.set(xlabel=f"SHAP value: contribution to {shap.outputs[k]} ({shap.space})", title=f"SHAP summary of the {shap.member} member ({len(shap.data)} rows)")
    if order:
        fig.colorbar(scatter, ax=ax, pad=0.01, ticks=[0, 1]).ax.set_yticklabels(["low", "high"])
    return fig


def partial_dependence_figure(curves: list[pd.DataFrame], feature_values: dict[str, np.ndarray] | None = None):
    """Partial dependence of each table from `partial_dependence` (one panel per feature, one line per
    output); ticks at the bottom show where the data lie."""
    pyplot = plt()
    n = max(1, len(curves))
    columns = min(n, 3)
    rows = int(np.ceil(n / columns))
    fig, axes = pyplot.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows), squeeze=False)
    for ax, curve in zip(axes.ravel(), curves, strict=False):
        feature = curve.attrs.get("feature", "feature")
        outputs = [c for c in curve.columns if c != "value"]
        for name in outputs:
            ax.plot(curve["value"], curve[name], lw=1.8, label=name if len(outputs) > 1 else None)
        if feature_values and feature in feature_values:
            ax.plot(feature_values[feature], np.full(len(feature_values[feature]), ax.get_ylim()[0]), "|", color="k", alpha=0.3, ms=6)
        ax.set(xlabel=_short(feature, 45), ylabel="average prediction" if len(outputs) == 1 else "average probability")
        ax.tick_params(labelsize=7)
        if len(outputs) > 1:
            ax.legend(fontsize=6)
    for ax in axes.ravel()[len(curves) :]:
        ax.axis("off")
    fig.suptitle("partial dependence of the most important features", fontsize=10)
    fig.tight_layout()
    return fig


def sensitivity_figure(sensitivity: pd.DataFrame, top: int = 15):
    """Heat map of the sensitivity matrix (`sensitivity_matrix`): change of each output per one-standard-
    deviation increase of each feature (the `top` features with the largest effect)."""
    matrix = sensitivity.pivot(index="feature", columns="output", values="per_std")
    matrix = matrix[list(dict.fromkeys(sensitivity["output"]))]
    matrix = matrix.loc[matrix.abs().max(axis=1).sort_values(ascending=False).index[:top]]
    limit = float(np.nanmax(np.abs(matrix.to_numpy()))) if matrix.size else 1.0
    fig, ax = plt().subplots(figsize=(2.8 + 1.1 * matrix.shape[1], 0.32 * len(matrix) + 1.6))
    image = ax.imshow(matrix.to_numpy(), cmap="RdBu_r", vmin=-limit or -1, vmax=limit or 1, aspect="auto")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{matrix.iat[i, j]:+.2g}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, fontsize=8, rotation=30, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [_short(f) for f in matrix.index], fontsize=7)
    ax.set_title("sensitivity matrix: change of output\nper +1 standard deviation of the feature", fontsize=9)
    fig.colorbar(image, ax=ax, pad=0.02)
    return fig
