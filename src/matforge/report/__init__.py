"""Reports: plots and the self-contained HTML page of a run folder."""

from matforge.report._html import render_report
from matforge.report._plots import confusion_figure, leaderboard_figure, parity_figure

__all__ = ["confusion_figure", "leaderboard_figure", "parity_figure", "render_report"]
