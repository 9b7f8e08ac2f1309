"""Reports: the figures of a run (matplotlib Figures, for notebooks) and its self-contained report.html.

>>> from matforge.learn import load_run
>>> run = load_run("runs/demo")
>>> parity_figure(run.oof(), run.card["target"]).savefig("parity.png")
"""

from matforge.report._calibration import (
    calibration_figure,
    coverage_curve,
    miscalibration_area,
    reliability_figure,
)
from matforge.report._explain_plots import (
    importance_figure,
    partial_dependence_figure,
    sensitivity_figure,
    shap_summary_figure,
)
from matforge.report._html import render_report
from matforge.report._learning import domain_check, learning_curve, learning_curve_figure
from matforge.report._periodic import element_counts, periodic_table_figure
from matforge.report._plots import (
    confusion_figure,
    leaderboard_figure,
    parity_figure,
    precision_recall_figure,
    residual_figure,
    roc_figure,
    target_figure,
)

__all__ = [
    "calibration_figure",
    "confusion_figure",
    "coverage_curve",
    "domain_check",
    "element_counts",
    "importance_figure",
    "leaderboard_figure",
    "learning_curve",
    "learning_curve_figure",
    "miscalibration_area",
    "parity_figure",
    "partial_dependence_figure",
    "periodic_table_figure",
    "precision_recall_figure",
    "reliability_figure",
    "render_report",
    "residual_figure",
    "roc_figure",
    "sensitivity_figure",
    "shap_summary_figure",
    "target_figure",
]
