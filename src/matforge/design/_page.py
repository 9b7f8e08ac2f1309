"""A small self-contained HTML page for an inverse-design result: the plot (convergence or Pareto front) and
the designs table, images inline, no scripts or network."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from matforge.design._optimize import DesignResult

__all__ = ["design_figure", "write_design_page"]


def design_figure(result: DesignResult):
    """Pareto front (two goals: predicted values, every evaluation in grey) or the convergence curve."""
    from matforge.report._style import plt as _plt

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    if len(result.names) >= 2:
        a, b = (f"{name}:prediction" for name in result.names[:2])
        ev = result.evaluations
        feasible = ev["violation"] == 0
        ax.scatter(ev.loc[feasible, a], ev.loc[feasible, b], s=6, c="#bbbbbb", label="evaluated (feasible)")
        front = result.designs.sort_values(a)
        ax.plot(front[a], front[b], "o-", c="#c0392b", ms=4, label=f"Pareto front ({len(front)})")
        ax.set_xlabel(f"{result.names[0]} ({result.objectives[0]})")
        ax.set_ylabel(f"{result.names[1]} ({result.objectives[1]})")
        ax.set_title(f"NSGA-II Pareto front, {len(ev)} evaluations")
    else:
        history = result.history
        best = history["best_score"].replace(-np.inf, np.nan)
        ax.plot(history["evaluations"], best, drawstyle="steps-post", c="#2c3e50")
        ax.set_xlabel("model evaluations")
        ax.set_ylabel(f"best feasible score ({result.objectives[0]})")
        ax.set_title(f"{result.optimizer.upper()} convergence")
    ax.grid(alpha=0.3)
    if len(result.names) >= 2:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def write_design_page(result: DesignResult, path: str | Path, *, title: str = "matforge design") -> Path:
    """Write the page atomically; returns its path."""
    from matforge.files import atomic_file
    from matforge.report._style import figure_to_base64

    image = figure_to_base64(design_figure(result))
    shown = result.designs.head(50)
    table = shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="")
    settings = html.escape(json.dumps(result.info, default=str))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}}table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}th{{background:#f3f3f3}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Optimizer <b>{html.escape(result.optimizer)}</b>; goals {html.escape(', '.join(f'{n}: {o}' for n, o in zip(result.names, result.objectives, strict=True)))};
{len(result.evaluations)} designs evaluated, {int((result.evaluations['violation'] == 0).sum())} feasible. Predictions are the model's; check
<code>in_domain</code> and <code>uncertainty</code> before trusting a design far from the training data.</p>
<img alt="plot" src="data:image/png;base64,{image}"/>
<h2>Designs ({len(result.designs)}{', first 50 shown' if len(result.designs) > 50 else ''})</h2>{table}
<p style="color:#666;font-size:12px">settings {settings}</p>
</body></html>"""
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
