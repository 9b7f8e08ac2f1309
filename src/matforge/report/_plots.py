"""Figures of a run (matplotlib, returned as Figure objects for notebooks and embedded in report.html)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["parity_figure", "confusion_figure", "leaderboard_figure", "figure_to_base64"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def figure_to_base64(fig) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def parity_figure(oof: pd.DataFrame, target: str = "target"):
    """Out-of-fold predicted vs true values with ±1σ error bars and the y = x line."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    y, p = oof["y_true"].to_numpy(float), oof["y_pred"].to_numpy(float)
    err = oof["y_std"].to_numpy(float) if "y_std" in oof else None
    ax.errorbar(y, p, yerr=err, fmt="o", ms=3, alpha=0.5, elinewidth=0.5, color="tab:blue")
    low, high = np.nanmin([y.min(), p.min()]), np.nanmax([y.max(), p.max()])
    ax.plot([low, high], [low, high], "k--", lw=1)
    mae = np.mean(np.abs(y - p))
    ax.set(xlabel=f"true {target}", ylabel=f"predicted {target} (out of fold)", title=f"parity, MAE = {mae:.4g}")
    return fig


def confusion_figure(oof: pd.DataFrame):
    """Out-of-fold confusion matrix (counts, rows = true class)."""
    from sklearn.metrics import confusion_matrix

    plt = _plt()
    labels = sorted(set(oof["y_true"].astype(str)) | set(oof["y_pred"].astype(str)))
    matrix = confusion_matrix(oof["y_true"].astype(str), oof["y_pred"].astype(str), labels=labels)
    fig, ax = plt.subplots(figsize=(4 + 0.3 * len(labels), 4 + 0.3 * len(labels)))
    ax.imshow(matrix, cmap="Blues")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color="black")
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xticklabels=labels, yticklabels=labels, xlabel="predicted", ylabel="true", title="confusion matrix (out of fold)")
    return fig


def leaderboard_figure(board: pd.DataFrame, metric: str):
    """Every algorithm tried: outer-CV mean ± std of `metric`."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(board) + 1.5))
    ax.barh(board["model"], board[f"{metric}_mean"], xerr=board[f"{metric}_std"], color=["tab:orange" if f else "tab:gray" for f in board.get("in_final_model", [False] * len(board))])
    ax.invert_yaxis()
    ax.set(xlabel=f"{metric} (nested CV, mean ± std over outer folds)", title="leaderboard (orange: in the final model)")
    return fig
