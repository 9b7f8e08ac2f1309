"""`matforge scale featurize | predict | screen | tune`: the same work on a Dask cluster or a shared study.

Thin wrappers over `matforge.scale`; without ``--scheduler`` (and without ``MATFORGE_SCHEDULER``) each command
runs in this process and writes exactly the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from matforge.cli.app import app

scale_app = typer.Typer(
    help="Run featurize, predict, screen and tuning on a Dask cluster (--scheduler) or a shared Optuna study.",
    no_args_is_help=True,
)
app.add_typer(scale_app, name="scale")

_SCHEDULER_HELP = "Dask scheduler: tcp://HOST:PORT, or 'local' for a LocalCluster on this machine (default: $MATFORGE_SCHEDULER, else in-process)."
_WORKERS_HELP = "Worker processes of --scheduler local (default: one per core)."


def _say(text: str) -> None:
    typer.echo(text, err=True)


@scale_app.command("featurize")
def featurize_command(
    data: Annotated[Path, typer.Argument(help="Parquet file, folder of Parquet files, or any table matforge reads.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder of part-NNNNN.parquet files.")],
    formula_col: Annotated[str, typer.Option("--formula-col", help="Column holding the formulas.")] = "formula",
    structure_col: Annotated[str | None, typer.Option("--structure-col", help="Column of crystal structures to featurize instead (as 'matforge featurize --structure-col'); a folder of CIF/POSCAR files or an extxyz file as DATA is read as the column 'structure'.")] = None,
    preset: Annotated[str, typer.Option("--preset", help="Feature preset or featurizer name(s), comma-separated.")] = "magpie",
    on_error: Annotated[str, typer.Option("--on-error", help="fail: stop at the first bad formula; skip: leave bad rows out (listed in OUT/_rejected.csv).")] = "fail",
    rows: Annotated[int | None, typer.Option("--rows-per-partition", help="Rows per task and per output file (default 200,000 formulas or 5,000 structures).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help=_SCHEDULER_HELP)] = None,
    workers: Annotated[int | None, typer.Option("--workers", help=_WORKERS_HELP)] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore the finished partitions of an interrupted run.")] = False,
) -> None:
    """Add composition (or structure) features to a large table, one Parquet partition per task."""
    from matforge.scale import featurize_parquet

    folder = featurize_parquet(data, out, formula_col=formula_col, structure_col=structure_col, preset=preset, on_error=on_error, rows_per_partition=rows,
                               scheduler=scheduler, workers=workers, resume=not fresh)  # fmt: skip
    _say(f"{folder}: {len(list(folder.glob('part-*.parquet')))} partitions written")


@scale_app.command("predict")
def predict_command(
    run_dir: Annotated[Path, typer.Argument(help="Run folder written by 'matforge train' (on a filesystem the workers see).")],
    data: Annotated[Path, typer.Argument(help="Parquet file, folder of Parquet files, or any table matforge reads.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder of part-NNNNN.parquet files.")],
    on_error: Annotated[str, typer.Option("--on-error", help="fail: stop at a bad row; skip: leave its prediction empty.")] = "fail",
    rows: Annotated[int, typer.Option("--rows-per-partition", help="Rows per task and per output file.")] = 200_000,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help=_SCHEDULER_HELP)] = None,
    workers: Annotated[int | None, typer.Option("--workers", help=_WORKERS_HELP)] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore the finished partitions of an interrupted run.")] = False,
) -> None:
    """Predict every row of a large table (same order), with uncertainty and the in-domain flag."""
    from matforge.errors import InputError
    from matforge.scale import predict_parquet

    if on_error not in ("fail", "skip"):
        raise InputError(f"--on-error must be fail or skip, not '{on_error}'")
    folder = predict_parquet(run_dir, data, out, on_error="raise" if on_error == "fail" else "nan", rows_per_partition=rows,
                             scheduler=scheduler, workers=workers, resume=not fresh)  # fmt: skip
    _say(f"{folder}: {len(list(folder.glob('part-*.parquet')))} partitions written")


@scale_app.command("screen")
def screen_command(
    run_dir: Annotated[Path, typer.Argument(help="Run folder written by 'matforge train'.")],
    space: Annotated[Path, typer.Option("--space", help="Design space (YAML or JSON; see docs/design.md).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Table of the best candidates (csv, parquet, ...); counts go to OUT.summary.json.")],
    top: Annotated[int, typer.Option("--top", help="Candidates kept, best first.")] = 100,
    objective: Annotated[str, typer.Option("--objective", help="max, min, target:VALUE or range:LO:HI.")] = "max",
    kappa: Annotated[float, typer.Option("--kappa", help="Add kappa × uncertainty to the score (negative: prefer confident predictions).")] = 0.0,
    in_domain_only: Annotated[bool, typer.Option("--in-domain-only", help="Keep only candidates inside the model's domain.")] = False,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Candidates featurized at once on a worker.")] = 20_000,
    rows: Annotated[int, typer.Option("--rows-per-partition", help="Grid points per task (a finished task is kept for --resume).")] = 1_000_000,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help=_SCHEDULER_HELP)] = None,
    workers: Annotated[int | None, typer.Option("--workers", help=_WORKERS_HELP)] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore the finished partitions of an interrupted screen.")] = False,
) -> None:
    """Screen a design space of any size: each worker keeps its best candidates, merged as they finish."""
    from matforge.design import Objective
    from matforge.scale import screen_distributed

    result = screen_distributed(
        run_dir, space, out, objective=Objective.parse(objective, kappa=kappa), top=top, in_domain_only=in_domain_only,
        chunk_size=chunk_size, rows_per_partition=rows, scheduler=scheduler, workers=workers, resume=not fresh,
    )  # fmt: skip
    s = result.summary
    resumed = f", {s['resumed_partitions']} of {s['partitions']} partitions reused" if s["resumed_partitions"] else ""
    _say(f"{out}: best {len(result.top)} of {s['candidates']:,} candidates ({s['in_domain']:,} in domain){resumed}")


@scale_app.command("tune")
def tune_command(
    data: Annotated[Path, typer.Argument(help="Training table (the same file for every worker).")],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.")],
    study: Annotated[str, typer.Option("--join-study", help="Study name: workers giving the same name and storage cooperate.")],
    storage: Annotated[str, typer.Option("--storage", help="sqlite:///study.db (one machine) or postgresql://user:pass@host/db (a team).")],
    model: Annotated[str, typer.Option("--model", help="Model to tune (see 'matforge models').")] = "lightgbm",
    trials: Annotated[int, typer.Option("--trials", help="Trials this worker records (fewer if --timeout or --max-trials ends it first).")] = 20,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds this worker runs at most.")] = None,
    max_trials: Annotated[int | None, typer.Option("--max-trials", help="Stop when the whole study has this many finished trials.")] = None,
    formula_col: Annotated[str | None, typer.Option("--formula-col", help="Formula column(s), comma-separated; detected when omitted.")] = None,
    drop: Annotated[str | None, typer.Option("--drop", help="Columns to ignore, comma-separated.")] = None,
    group_col: Annotated[str | None, typer.Option("--group-col", help="Column defining CV groups.")] = None,
    preset: Annotated[str, typer.Option("--preset", help="Composition feature preset.")] = "magpie",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the CV splits (the same for every worker).")] = 0,
    worker: Annotated[str | None, typer.Option("--worker-name", help="Name recorded on this worker's trials (default host:pid).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for this worker's record (tuning.json with the storage used, trials.csv).")] = None,
) -> None:
    """Add trials to a shared Optuna study; run the same command on several machines to tune together."""
    from matforge.scale import tune_worker

    record = tune_worker(
        data, target, study=study, storage=storage, model=model, trials=trials, timeout=timeout, max_trials=max_trials,
        seed=seed, preset=preset, formula_cols=formula_col, drop=drop, group_col=group_col, worker=worker, out=out,
    )  # fmt: skip
    _say(f"study '{study}' ({record['storage']}): {record['trials_by_this_worker']} trials by {record['worker']}, "
         f"{record['trials_in_study']} in all from {len(record['workers_in_study'])} worker(s); best {record['best']['value']}")  # fmt: skip
