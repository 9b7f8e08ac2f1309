"""How far the predicted intervals can be trusted, measured on out-of-fold predictions.

The intervals of a run are normalised split-conformal intervals (`matforge.learn.IntervalCalibrator`): the
half-width at level ``p`` is the ``p``-quantile of the scores ``|y - ŷ| / s(x)`` times the row's scale
``s(x)``, and the reported ``y_std`` is proportional to ``s(x)``. Checking them on the same residuals that
set the quantile would be circular (coverage equals ``p`` by construction), so here every outer fold is
covered with quantiles taken from the *other* folds (cross-conformal; Vovk 2015) — the same check as
``metrics.json``'s ``uncertainty.cv_coverage`` at 90 %, extended to every nominal level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = ["coverage_curve", "miscalibration_area", "NOMINAL_LEVELS"]

NOMINAL_LEVELS = np.round(np.linspace(0.05, 0.95, 19), 2)


def _scores(oof: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    residual = np.abs(oof["y_true"].to_numpy(float) - oof["y_pred"].to_numpy(float))
    std = oof["y_std"].to_numpy(float)
    ok = np.isfinite(residual) & np.isfinite(std) & (std > 0)
    folds = oof["fold"].to_numpy() if "fold" in oof else np.zeros(len(oof), int)
    return residual[ok] / std[ok], folds[ok]


def coverage_curve(oof: pd.DataFrame, levels: np.ndarray | None = None) -> pd.DataFrame:
    """Observed coverage of the run's intervals at each nominal level, cross-conformally per outer fold.

    Parameters
    ----------
    oof : a run's ``oof_predictions.csv`` (columns ``fold``, ``y_true``, ``y_pred``, ``y_std``).
    levels : nominal coverage levels in (0, 1); default 0.05, 0.10, ..., 0.95.

    Returns a table with ``nominal``, ``conformal`` (coverage of the conformal interval at that level — what
    ``lower_90``/``upper_90`` are at 0.9) and ``gaussian`` (coverage of ``ŷ ± z_p·uncertainty`` when the
    reported uncertainty is read as a normal standard deviation, z_p the normal quantile).
    """
    levels = NOMINAL_LEVELS if levels is None else np.asarray(levels, float)
    z, folds = _scores(oof)
    conformal = np.zeros((len(levels), len(z)), dtype=bool)
    gaussian = np.zeros_like(conformal)
    unique = np.unique(folds)
    for fold in unique:
        held = folds == fold
        other = z[~held] if len(unique) > 1 else z
        n = len(other)
        for i, p in enumerate(levels):
            conformal[i, held] = z[held] <= np.quantile(other, min(1.0, p * (1 + 1 / max(1, n))))
        # the reported uncertainty is the 68.27 % quantile of the scores: one "sigma"
        sigma = np.quantile(other, 0.6827)
        gaussian[:, held] = z[held][None, :] <= norm.ppf((1 + levels[:, None]) / 2) * sigma
    return pd.DataFrame({"nominal": levels, "conformal": conformal.mean(axis=1), "gaussian": gaussian.mean(axis=1)})


def miscalibration_area(curve: pd.DataFrame, column: str = "conformal") -> float:
    """Area between the observed-coverage curve and the diagonal (0 = perfectly calibrated; Tran et al.,
    Mach. Learn.: Sci. Technol. 1, 025006 (2020)), by the trapezoid rule over the nominal levels given."""
    x = np.concatenate([[0.0], curve["nominal"].to_numpy(float), [1.0]])
    gap = np.abs(np.concatenate([[0.0], curve[column].to_numpy(float) - curve["nominal"].to_numpy(float), [0.0]]))
    return float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(x)))


def calibration_figure(curve: pd.DataFrame):
    """Observed vs nominal coverage (`coverage_curve`): on the diagonal the intervals mean what they say;
    below it they are too narrow (over-confident), above too wide."""
    from matforge.report._style import plt

    fig, ax = plt().subplots(figsize=(4.8, 4.6))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="ideal")
    area = miscalibration_area(curve)
    ax.fill_between(curve["nominal"], curve["nominal"], curve["conformal"], color="tab:blue", alpha=0.15)
    ax.plot(curve["nominal"], curve["conformal"], "o-", ms=3, color="tab:blue", label=f"conformal intervals (area {area:.3f})")
    ax.plot(curve["nominal"], curve["gaussian"], "s:", ms=3, color="tab:orange", label=f"±z·uncertainty, read as Gaussian (area {miscalibration_area(curve, 'gaussian'):.3f})")
    at90 = curve.loc[np.isclose(curve["nominal"], 0.9), "conformal"]
    if len(at90):
        ax.axvline(0.9, color="tab:gray", lw=0.6)
        ax.annotate(f"90 % intervals cover {float(at90.iloc[0]):.1%}", (0.9, float(at90.iloc[0])), xytext=(0.3, 0.93), fontsize=8, arrowprops={"arrowstyle": "->", "lw": 0.6})
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="nominal coverage", ylabel="observed coverage (out of fold, cross-conformal)", title="calibration of the prediction intervals")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def reliability_figure(oof: pd.DataFrame, bins: int = 10):
    """Classifier calibration: accuracy of the predicted class vs the confidence given to it (out of fold),
    with the expected calibration error (ECE; Guo et al., ICML 2017) and the histogram of confidences."""
    from matforge.report._style import plt

    columns = [c for c in oof.columns if c.startswith("proba_")]
    proba = oof[columns].to_numpy(float)
    labels = np.array([c[len("proba_") :] for c in columns])
    confidence = proba.max(axis=1)
    correct = labels[proba.argmax(axis=1)] == oof["y_true"].astype(str).to_numpy()
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges) - 1, 0, bins - 1)
    centres, accuracy, counts = [], [], []
    for b in range(bins):
        mask = which == b
        if mask.any():
            centres.append(confidence[mask].mean())
            accuracy.append(correct[mask].mean())
            counts.append(mask.sum())
    ece = float(np.sum(np.abs(np.array(accuracy) - np.array(centres)) * np.array(counts)) / len(confidence))
    fig, ax = plt().subplots(figsize=(4.8, 4.6))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.plot(centres, accuracy, "o-", color="tab:blue", label=f"out of fold (ECE {ece:.3f})")
    ax.bar(edges[:-1] + 0.5 / bins, np.bincount(which, minlength=bins) / len(confidence), width=1 / bins, alpha=0.2, color="tab:gray", label="share of rows")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence in the predicted class", ylabel="accuracy", title="probability calibration (reliability)")
    ax.legend(fontsize=7, loc="upper left")
    return fig
