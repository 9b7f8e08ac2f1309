"""`matforge explain`: SHAP values, sensitivity matrix and permutation importance of a run as CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from matforge.cli.app import app


@app.command()
def explain(
    run_dir: Annotated[Path, typer.Argument(help="Run folder written by 'matforge train'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the CSV files (replaced when complete).")],
    data: Annotated[Path | None, typer.Argument(help="Table to explain (default: the run's training rows).")] = None,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Rows used at most (seeded subsample; 0: all).")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the subsample and the shuffles.")] = 0,
) -> None:
    """Write SHAP values (models with a tree-ensemble member), the sensitivity matrix and permutation importance
    (data holding the target) of a model as CSV files; the console says what was not written and why."""
    from matforge.explain import explain_run

    written = explain_run(run_dir, data, out, max_rows=max_rows, seed=seed)
    print(f"{out}: {', '.join(p.name for p in written.values())}", file=sys.stderr)
    for line in (out / "README.txt").read_text().splitlines()[1:]:
        if line.startswith("no "):  # what was not written, and why
            print(f"  {line}", file=sys.stderr)
