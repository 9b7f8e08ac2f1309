"""`matforge benchmark matbench`: the MatBench v0.1 composition tasks (and two structure tasks) on their official folds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from matforge.cli.app import app

benchmark_app = typer.Typer(help="Run public benchmarks with the default pipeline.", no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("matbench")
def matbench(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for per-fold files, results.json and results.md (finished folds are reused).")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Folder holding the matbench_* dataset folders.")] = Path("../shared/data"),
    tasks: Annotated[str, typer.Option("--tasks", help="Comma-separated: expt_gap, steels, expt_is_metal, glass, mp_e_form (composition); jdft2d, phonons (crystal structure).")] = "expt_gap,steels,expt_is_metal,glass",
    folds: Annotated[str, typer.Option("--folds", help="Comma-separated official folds to run (0-4).")] = "0,1,2,3,4",
    budget: Annotated[float, typer.Option("--budget", help="Wall-clock seconds of model search per fold.")] = 60.0,
    trials: Annotated[int, typer.Option("--trials", help="Search trials per model at most (the same seed reproduces a run when this binds before --budget).")] = 40,
    models: Annotated[str | None, typer.Option("--models", help="Comma-separated model names (default: the library's default set).")] = None,
    ensemble: Annotated[int, typer.Option("--ensemble", help="Ensemble selection draws from the top N models and each one's N best configurations (1: single best).")] = 5,
    preset: Annotated[str, typer.Option("--preset", help="Composition feature preset for every task; auto (default): each fold picks magpie_extended or magpie_wide on its training rows (see PRESETS).")] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="Seed for inner splits, search and models.")] = 0,
    n_jobs: Annotated[int, typer.Option("--n-jobs", help="Threads per model fit.")] = 1,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Run the folds on a Dask cluster: tcp://HOST:PORT, or 'local' (\\[dist] extra; default $MATFORGE_SCHEDULER). The data travel with the tasks, so workers need no access to --data-dir.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Workers of --scheduler local (default: one per core).")] = None,
) -> None:
    """MatBench v0.1: train on each official fold's training rows, score its test rows, compare with the leaderboard."""
    import os

    from matforge.benchmark import run_matbench

    results = run_matbench(
        data_dir, tasks, out, folds=folds, budget=budget, max_trials=trials, seed=seed, models=models, ensemble=ensemble, preset=preset, n_jobs=n_jobs,
        say=lambda text: print(text, file=sys.stderr, flush=True), scheduler=scheduler or os.environ.get("MATFORGE_SCHEDULER") or None, workers=workers,
    )  # fmt: skip
    print((out / "results.md").read_text(), end="")
    print(f"{out / 'results.json'}: {len(results['tasks'])} task(s), {results['wall_seconds'] / 60:.1f} min wall time")
