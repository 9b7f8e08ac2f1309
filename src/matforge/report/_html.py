"""The self-contained report.html of a run folder: every image inline, no script, no request to anywhere."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd

from matforge.report._sections import SECTIONS, ReportContext, esc, render_section

__all__ = ["render_report"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:0 auto;padding:0 1.5em 3em;color:#222;line-height:1.45}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:.5em 0;z-index:1}
nav a{margin-right:1.2em;color:#1f5fa8;text-decoration:none;font-weight:600}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #1f5fa8;padding-bottom:.2em;margin-top:1.8em}
.summary{font-size:1.05em;background:#f4f7fb;padding:.7em 1em;border-radius:6px}
table{border-collapse:collapse;font-size:.88em;margin:.6em 0}td,th{border:1px solid #d6d6d6;padding:3px 8px}
table.data td{text-align:right}table.facts th{text-align:left;background:#f3f3f3;font-weight:600}
figure{margin:1em 0}figure img{max-width:100%;height:auto}figcaption{font-size:.88em;color:#444;max-width:800px}
.row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}.row figure{flex:1 1 420px}
.note{color:#8a5a00;background:#fff6e0;padding:.4em .7em;border-left:3px solid #e0a800}
.small{font-size:.8em;color:#555}pre{font-size:.75em;overflow:auto;background:#f7f7f7;padding:.6em;max-height:30em}
footer{margin-top:3em;font-size:.8em;color:#777}
"""


def _context(run_dir: Path, seed: int) -> ReportContext:
    from matforge.learn import load_run

    metrics = json.loads((run_dir / "metrics.json").read_text())
    card = json.loads((run_dir / "model" / "card.json").read_text())
    board = pd.read_csv(run_dir / "leaderboard.csv")
    oof = pd.read_csv(run_dir / "oof_predictions.csv")
    try:
        run = load_run(run_dir)
    except Exception:  # the sections that need the model say so; the others still render
        run = None
    table_file = run_dir / "model" / "train_data.parquet"
    table = pd.read_parquet(table_file) if table_file.exists() else None
    return ReportContext(path=run_dir, metrics=metrics, card=card, board=board, oof=oof, run=run, table=table, seed=seed)


def _summary(ctx: ReportContext) -> str:
    metrics = ctx.metrics
    main = "mae" if ctx.task == "regression" else "roc_auc"
    score = metrics["cv"].get(main, {})
    line = f"{main.upper()} {score.get('mean', float('nan')):.4g} ± {score.get('std', float('nan')):.2g}" if score else ""
    extra = ""
    if ctx.task == "regression" and "uncertainty" in metrics:
        extra = f"; 90 % intervals cover {metrics['uncertainty'].get('cv_coverage', float('nan')):.1%} of out-of-fold targets"
    return (
        f'<p class="summary">Predicting <b>{esc(ctx.target)}</b> ({ctx.task}) from {metrics["n_samples"]} rows. Final model '
        f"<b>{esc(metrics['best_model'])}</b>; out-of-fold {line} ({esc(metrics['protocol']['name'])}, {metrics['protocol']['folds']} folds, "
        f"seed {metrics['protocol']['seed']}){extra}.</p>"
    )  # fmt: skip


def render_report(run_dir: str | Path, out: str | Path | None = None, *, seed: int = 0) -> Path:
    """Write the self-contained ``report.html`` of a run folder (or to `out`) and return its path.

    Sections: data, model selection, accuracy, explanations, uncertainty, provenance. Figures that cannot be
    computed (e.g. no tree model for SHAP) are replaced by a note; the page is still written. Explanations
    use seeded subsamples of the training rows (see `EXPLAIN_ROWS`), so rendering a 5000-row run takes
    seconds, not minutes.
    """
    from matforge.files import atomic_file

    start = time.perf_counter()
    run_dir = Path(run_dir)
    ctx = _context(run_dir, seed)
    nav = "".join(f'<a href="#{key}">{title}</a>' for key, title, _ in SECTIONS)
    body = "".join(f'<section id="{key}"><h2>{title}</h2>{render_section(ctx, key, build)}</section>' for key, title, build in SECTIONS)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in ctx.timings.items())
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>matforge report: {esc(ctx.target)}</title><style>{_STYLE}</style></head><body>"
        f"<nav>{nav}</nav><h1>{esc(ctx.target)}: {ctx.task} report</h1>{_summary(ctx)}{body}"
        f"<footer>matforge report of {esc(run_dir.name.removeprefix('.').removesuffix('.partial'))}, rendered in {time.perf_counter() - start:.1f} s ({timings}).</footer></body></html>"
    )  # fmt: skip
    target = Path(out) if out is not None else run_dir / "report.html"
    with atomic_file(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
        # the temporary file is private (0600); the report is meant to be shared like the other run files
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
    return target
