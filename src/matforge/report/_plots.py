"""Figures of a run's data, model selection and out-of-fold accuracy (matplotlib Figures, for notebooks and
for report.html). Every function takes the run-folder tables (`Run.oof()`, `Run.leaderboard()`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matforge.report._style import figure_to_base64, plt

__all__ = [
    "confusion_figure",
    "figure_to_base64",
    "leaderboard_figure",
    "parity_figure",
    "precision_recall_figure",
    "residual_figure",
    "roc_figure",
    "target_figure",
]


def _proba(oof: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    columns = [c for c in oof.columns if c.startswith("proba_")]
    return [c[len("proba_") :] for c in columns], oof[columns].to_numpy(float)


def target_figure(y: pd.Series, target: str = "target", task: str = "regression"):
    """Distribution of the target: histogram (regression) or rows per class (classification)."""
    fig, ax = plt().subplots(figsize=(6, 3.2))
    if task == "regression":
        values = pd.to_numeric(y, errors="coerce").dropna().to_numpy(float)
        ax.hist(values, bins=min(50, max(10, int(np.sqrt(len(values))))), color="tab:blue", alpha=0.8)
        ax.set(xlabel=target, ylabel="rows", title=f"target distribution (n = {len(values)}, median {np.median(values):.4g})")
    else:
        counts = pd.Series(y).astype(str).value_counts().sort_index()
        ax.bar(counts.index, counts.to_numpy(), color="tab:blue")
        for i, v in enumerate(counts.to_numpy()):
            ax.text(i, v, str(v), ha="center", va="bottom", fontsize=8)
        ax.set(xlabel=target, ylabel="rows", title=f"classes (n = {int(counts.sum())})")
    return fig


def leaderboard_figure(board: pd.DataFrame, metric: str):
    """Every algorithm tried: outer-CV mean ± std of `metric` (left) and mean fit time (right)."""
    pyplot = plt()
    fig, (ax, ax_time) = pyplot.subplots(1, 2, figsize=(9, 0.4 * len(board) + 1.6), sharey=True, gridspec_kw={"width_ratios": [2.2, 1]})
    final = board["in_final_model"].astype(bool).to_numpy() if "in_final_model" in board else np.zeros(len(board), bool)
    colors = ["tab:orange" if f else "tab:gray" for f in final]
    ax.barh(board["model"], board[f"{metric}_mean"], xerr=board[f"{metric}_std"], color=colors, capsize=3)
    ax.invert_yaxis()
    ax.set(xlabel=f"{metric} (nested CV, mean ± std over outer folds)", title="leaderboard (orange: in the final model)")
    if "fit_seconds" in board:
        ax_time.barh(board["model"], board["fit_seconds"], color=colors)
        ax_time.set(xlabel="fit time per outer fold (s)", xscale="log" if board["fit_seconds"].max() > 20 * max(board["fit_seconds"].min(), 1e-3) else "linear")
    return fig


def parity_figure(oof: pd.DataFrame, target: str = "target"):
    """Out-of-fold predicted vs true values with ±1σ error bars (the reported uncertainty) and y = x."""
    fig, ax = plt().subplots(figsize=(5, 5))
    y, p = oof["y_true"].to_numpy(float), oof["y_pred"].to_numpy(float)
    err = oof["y_std"].to_numpy(float) if "y_std" in oof else None
    ax.errorbar(y, p, yerr=err, fmt="o", ms=2.5, alpha=0.45, elinewidth=0.5, color="tab:blue", ecolor="tab:gray")
    low, high = np.nanmin([y.min(), p.min()]), np.nanmax([y.max(), p.max()])
    ax.plot([low, high], [low, high], "k--", lw=1)
    # rows that stand for merged duplicates count as many times as in metrics.json
    w = oof["weight"].to_numpy(float) if "weight" in oof else np.ones(len(y))
    mae = np.average(np.abs(y - p), weights=w)
    r2 = 1 - np.sum(w * (y - p) ** 2) / max(np.sum(w * (y - np.average(y, weights=w)) ** 2), 1e-300)
    ax.set(xlabel=f"true {target}", ylabel=f"predicted {target} (out of fold)", title=f"parity: MAE = {mae:.4g}, R² = {r2:.3f}\n(error bars: ±1 standard uncertainty)")
    return fig


def residual_figure(oof: pd.DataFrame, target: str = "target"):
    """Histogram of out-of-fold residuals (predicted − true)."""
    fig, ax = plt().subplots(figsize=(5, 3.2))
    residual = oof["y_pred"].to_numpy(float) - oof["y_true"].to_numpy(float)
    ax.hist(residual, bins=min(60, max(10, int(np.sqrt(len(residual))))), color="tab:purple", alpha=0.8)
    ax.axvline(0, color="k", lw=1)
    ax.set(xlabel=f"residual: predicted − true {target}", ylabel="rows", title=f"residuals (median |r| = {np.median(np.abs(residual)):.3g})")
    return fig


def confusion_figure(oof: pd.DataFrame):
    """Out-of-fold confusion matrix (counts; rows = true class), with row-normalised recall in brackets."""
    from sklearn.metrics import confusion_matrix

    labels = sorted(set(oof["y_true"].astype(str)) | set(oof["y_pred"].astype(str)))
    matrix = confusion_matrix(oof["y_true"].astype(str), oof["y_pred"].astype(str), labels=labels)
    recall = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 3.5 + 0.5 * len(labels)
    fig, ax = plt().subplots(figsize=(size, size))
    ax.imshow(recall, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{matrix[i, j]}\n({recall[i, j]:.0%})", ha="center", va="center", fontsize=8, color="white" if recall[i, j] > 0.6 else "black")
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xticklabels=labels, yticklabels=labels, xlabel="predicted", ylabel="true", title="confusion matrix (out of fold)")
    return fig


def _one_vs_rest(oof: pd.DataFrame):
    classes, proba = _proba(oof)
    truth = oof["y_true"].astype(str).to_numpy()
    # binary: only the positive (second) class, as its curve mirrors the other's
    shown = [1] if len(classes) == 2 else range(len(classes))
    return [(classes[j], truth == classes[j], proba[:, j]) for j in shown]


def roc_figure(oof: pd.DataFrame):
    """Out-of-fold ROC curves, one per class (one-vs-rest; binary: the second class), with AUC."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = plt().subplots(figsize=(4.8, 4.5))
    for label, positive, score in _one_vs_rest(oof):
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, score)
        ax.plot(fpr, tpr, lw=1.5, label=f"{label} (AUC {roc_auc_score(positive, score):.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (out of fold)")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def precision_recall_figure(oof: pd.DataFrame):
    """Out-of-fold precision-recall curves per class, with average precision; dotted: class prevalence."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, ax = plt().subplots(figsize=(4.8, 4.5))
    for label, positive, score in _one_vs_rest(oof):
        if positive.all() or not positive.any():
            continue
        precision, recall, _ = precision_recall_curve(positive, score)
        line = ax.plot(recall, precision, lw=1.5, label=f"{label} (AP {average_precision_score(positive, score):.3f})")
        ax.axhline(positive.mean(), ls=":", lw=0.8, color=line[0].get_color())
    ax.set(xlabel="recall", ylabel="precision", ylim=(0, 1.02), title="precision-recall (out of fold)")
    ax.legend(fontsize=7, loc="lower left")
    return fig
