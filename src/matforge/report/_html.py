"""The self-contained report.html of a run folder (no network: images inline, no external scripts)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from matforge.report._plots import confusion_figure, figure_to_base64, leaderboard_figure, parity_figure

__all__ = ["render_report"]

_STYLE = "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}section{margin-bottom:2em}"


def _img(fig) -> str:
    return f'<img alt="plot" src="data:image/png;base64,{figure_to_base64(fig)}"/>'


def render_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write `report.html` for a run folder (or to `out`); returns its path."""
    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    card = json.loads((run_dir / "model" / "card.json").read_text())
    board = pd.read_csv(run_dir / "leaderboard.csv")
    oof = pd.read_csv(run_dir / "oof_predictions.csv")
    task = metrics["task"]
    metric = "mae" if task == "regression" else "roc_auc"
    scores = "".join(f"<tr><th>{html.escape(m)}</th><td>{v['mean']:.4g} ± {v['std']:.2g}</td></tr>" for m, v in metrics["cv"].items())
    accuracy = _img(parity_figure(oof, metrics["target"])) if task == "regression" else _img(confusion_figure(oof))
    cites = "".join(f"<li>{html.escape(c)}</li>" for c in card.get("citations", []))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>matforge run: {html.escape(metrics['target'])}</title><style>{_STYLE}</style></head><body>
<h1>{html.escape(metrics['target'])} — {task}</h1>
<section id="summary"><p>{metrics['n_samples']} samples, protocol {html.escape(metrics['protocol']['name'])} ({metrics['protocol']['folds']} outer folds, seed {metrics['protocol']['seed']}); final model: <b>{html.escape(metrics['best_model'])}</b>.</p><table>{scores}</table></section>
<section id="leaderboard"><h2>Model selection</h2>{_img(leaderboard_figure(board, metric))}{board.to_html(index=False, float_format=lambda v: f"{v:.4g}")}</section>
<section id="accuracy"><h2>Accuracy (out-of-fold)</h2>{accuracy}</section>
<section id="provenance"><h2>Provenance</h2><p>data sha256 {html.escape(card['data']['sha256'])}; seed {card['seed']}; versions {html.escape(json.dumps(card['versions']))}</p><ul>{cites}</ul></section>
</body></html>"""
    target = Path(out) if out is not None else run_dir / "report.html"
    target.write_text(page, encoding="utf-8")
    return target
