"""`matforge train`, `predict`, `demo` and `report`: thin wrappers over `matforge.learn` and `matforge.report`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from matforge.cli.app import app

DEMO_DATASET, DEMO_TARGET, DEMO_ROWS = "transport", "S_p", 3000
DEMO_MODELS = "lightgbm,extra_trees,knn,ridge"


def _say(text: str) -> None:
    print(text, file=sys.stderr)


@app.command()
def train(
    data: Path = typer.Argument(..., help="Table of training data (csv, tsv, xlsx, json, parquet), or an extxyz file of crystals with their properties."),
    target: str = typer.Option(..., "--target", "-t", help="Column to predict."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to write (replaced only when training succeeds)."),
    task: str = typer.Option("auto", help="regression, classification or auto (from the target's values)."),
    formula_col: str = typer.Option(None, "--formula-col", help="Formula column(s), comma-separated; detected when omitted."),
    structure_col: str = typer.Option(None, "--structure-col", help="Crystal-structure column(s), comma-separated; detected when omitted. A cell: a path to a CIF/POSCAR file (relative to the table), CIF or POSCAR text, or a pymatgen Structure.as_dict()."),
    smiles_col: str = typer.Option(None, "--smiles-col", help="SMILES column(s), comma-separated: polymer repeat units as PSMILES (*CC(*)c1ccccc1, two * chain ends) or molecules; detected when omitted. Needs the \\[polymer] extra (RDKit)."),
    drop: str = typer.Option(None, "--drop", help="Columns to ignore, comma-separated (identifiers, leaky columns)."),
    group_col: str = typer.Option(None, "--group-col", help="Column defining CV groups (default: the reduced composition, or the polymer of a SMILES column)."),
    cv: int = typer.Option(5, "--cv", help="Outer cross-validation folds."),
    budget: float = typer.Option(120.0, "--budget", help="Wall-clock seconds for featurizing, model search and evaluation (the report comes on top). Where it cannot pay for every stage's default trials, the inner CV is not repeated, defaults get fewer trees (or rounds, or training steps) and later models that even a cut cannot fit are skipped; the summary says which."),
    models: str = typer.Option(None, "--models", help="Comma-separated model names, or 'all'; see 'matforge models'."),
    preset: str = typer.Option("auto", "--preset", help="Composition feature preset. auto (default): each CV stage picks magpie_extended (Magpie + element fractions) or magpie_wide (+ statistics of Deml's and pymatgen's element data) on its own training rows; magpie_ranked adds fractions ranked by element property; all: matforge.features.PRESETS."),
    ensemble: int = typer.Option(3, "--ensemble", help="Ensemble selection draws from the top N models and, up to 50,000 rows, each one's N best configurations (1: single best)."),
    protocol: str = typer.Option("group", "--protocol", help="group (by composition), kfold, loco (leave one k-means cluster out) or chemsys (by chemical system)."),
    seed: int = typer.Option(0, "--seed", help="Seed for splits, search and models."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run into the same --out."),
    max_trials: int = typer.Option(40, "--max-trials", help="Trials per model and CV stage at most (reproducible runs: cap trials, not time)."),
    zero_inflated: str = typer.Option("auto", "--zero-inflated", help="auto, yes or no: model a regression target that sits at its minimum for >= 20% of rows (band gap 0 of metals) as a classifier 'above the minimum?' plus a regressor on the rows above it."),
    log_target: str = typer.Option("auto", "--log-target", help="auto (default), yes or no: fit regression models to log(target). auto: the search tries both scales where the target is strictly positive with a long right tail (skewness > 2, less on the log scale); yes: always (positive targets only)."),
    n_jobs: int = typer.Option(1, "--n-jobs", help="Threads per model fit; also processes for featurizing 1,000 or more crystal structures."),
    scheduler: str = typer.Option(None, "--scheduler", help="Fit the outer CV folds on a Dask cluster: tcp://HOST:PORT, or 'local' (\\[dist] extra; default $MATFORGE_SCHEDULER)."),
    workers: int = typer.Option(None, "--workers", help="Workers of --scheduler local (default: one per core)."),
    join_study: str = typer.Option(None, "--join-study", help="Add every search's trials to this shared Optuna study (with --storage); other train processes giving the same name cooperate."),
    storage: str = typer.Option(None, "--storage", help="Database of the shared study: sqlite:///file.db (one machine) or postgresql://user:pass@host/db."),
) -> None:
    """Train a model with nested cross-validation and write a run folder."""
    import os

    from matforge.learn import train as train_run

    scheduler = scheduler or os.environ.get("MATFORGE_SCHEDULER") or None
    from matforge.learn._pipeline import log_target_option, zero_inflated_option

    run = train_run(
        data, target, out, task=task, formula_cols=formula_col, structure_cols=structure_col, smiles_cols=smiles_col, drop=drop, group_col=group_col, models=models,
        cv=cv, budget=budget, seed=seed, preset=preset, ensemble=ensemble, protocol=protocol, resume=resume, max_trials=max_trials,
        zero_inflated=zero_inflated_option(zero_inflated), log_target=log_target_option(log_target), n_jobs=n_jobs, verbose=True, command=" ".join(sys.argv), scheduler=scheduler, workers=workers, join_study=join_study, storage=storage,
    )  # fmt: skip
    _summary(run)


def _summary(run: Path) -> None:
    import json

    metrics = json.loads((run / "metrics.json").read_text())
    scores = ", ".join(f"{m} {v['mean']:.4g} ± {v['std']:.2g}" for m, v in metrics["cv"].items())
    _say(f"{run}: {metrics['task']} of '{metrics['target']}' on {metrics['n_samples']} rows; best {metrics['best_model']}; nested CV {scores}")
    if (run / "leaderboard.csv").exists():
        import pandas as pd

        from matforge.learn import unreached_models

        unreached = unreached_models(pd.read_csv(run / "leaderboard.csv"))
        if unreached:
            _say(f"not reached within --budget {metrics['budget_seconds']:g} s (the fit took {metrics['fit_seconds']:.0f} s): {', '.join(unreached)}; a larger --budget tries them")
    from matforge.learn import cut_defaults

    cut = cut_defaults(metrics["protocol"])
    if cut:
        _say(f"default configuration cut to fit --budget {metrics['budget_seconds']:g} s: {cut}; a larger --budget fits it whole")


@app.command()
def predict(
    run_dir: Path = typer.Argument(..., help="Run folder written by 'matforge train'."),
    data: Path = typer.Argument(..., help="Table with the same input columns; for a model of one structure column also a folder of CIF/POSCAR files, one such file, or an extxyz file."),
    out: Path = typer.Option(..., "--out", "-o", help="Output table (csv, tsv, parquet, xlsx, json)."),
    on_error: str = typer.Option("fail", "--on-error", help="fail: stop at a bad row; skip: leave its prediction empty."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler (tcp://HOST:PORT or local; \\[dist] extra); --out is then a folder of Parquet parts."),
    workers: int = typer.Option(None, "--workers", help="Workers of a local Dask cluster (with --scheduler local)."),
) -> None:
    """Predict every row of DATA (same order), with uncertainty and an in-domain flag."""
    import os

    from matforge.errors import InputError
    from matforge.learn import predict_file

    if on_error not in ("fail", "skip"):
        raise InputError(f"--on-error must be fail or skip, not '{on_error}'")
    if scheduler or workers or os.environ.get("MATFORGE_SCHEDULER"):
        from matforge.scale import predict_parquet

        predict_parquet(run_dir, data, out, on_error="raise" if on_error == "fail" else "nan", scheduler=scheduler, workers=workers)
        _say(f"{out}: predictions written as Parquet parts")
        return
    table = predict_file(run_dir, data, out, on_error="raise" if on_error == "fail" else "nan")
    predicted = int(table["prediction"].notna().sum())
    skipped = f" ({len(table) - predicted} could not be read: no prediction)" if predicted < len(table) else ""
    _say(f"{out}: {predicted} of {len(table)} rows predicted{skipped}, {int((~table['in_domain']).sum())} flagged out of domain")


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Run folder to write."),
    budget: float = typer.Option(60.0, "--budget", help="Wall-clock seconds for featurizing, model search and evaluation (as for train: a larger budget reaches more of the models)."),
    models: str = typer.Option(DEMO_MODELS, "--models", help="Models to try (see 'matforge models')."),
    rows: int = typer.Option(DEMO_ROWS, "--rows", help="Compounds sampled from the 47,737 (0: all)."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Train on the embedded transport database (Ricci et al. 2017): the p-type Seebeck coefficient."""
    from matforge.data import load_dataset
    from matforge.learn import train as train_run

    frame = load_dataset(DEMO_DATASET)
    if rows and rows < len(frame):
        frame = frame.sample(rows, random_state=seed).reset_index(drop=True)
    _say(f"demo: predicting the p-type Seebeck coefficient S_p (µV/K, 300 K, 1e20 cm^-3) of {len(frame)} compounds from composition alone")
    run = train_run(
        frame, DEMO_TARGET, out, formula_cols="formula", drop="mp_id,sigma_p,sigma_n,S_n,kappa_p,kappa_n,PF_p,PF_n,m_p,m_n",
        models=models, budget=budget, seed=seed, verbose=True, command=" ".join(sys.argv),
    )  # fmt: skip
    _summary(run)


@app.command()
def report(run_dir: Path = typer.Argument(..., help="Run folder.")) -> None:
    """Re-render report.html of a run folder."""
    from matforge.errors import InputError
    from matforge.report import render_report

    if not (run_dir / "metrics.json").exists():
        raise InputError("not a matforge run folder (no metrics.json)", file=str(run_dir))
    if not (run_dir / "leaderboard.csv").exists() or not (run_dir / "model" / "card.json").exists():
        raise InputError("not a 'matforge train' run folder (no leaderboard.csv or model card)", file=str(run_dir),
                         hint="report re-renders runs of train and demo; micro and potential runs write their report.html when they are trained")
    _say(str(render_report(run_dir)))


@app.command("models")
def list_models(task: str = typer.Option(None, help="Only models for this task.")) -> None:
    """List every algorithm, the tasks it does and its citation."""
    from matforge.errors import InputError
    from matforge.models import MODELS

    if task and task not in ("regression", "classification"):
        raise InputError(f"unknown task '{task}'", hint="Use regression or classification")
    shown = [spec for spec in MODELS.values() if not task or task in spec.tasks]
    width = max(len(spec.name) for spec in shown)
    for spec in shown:
        status = "" if spec.available() else f"  [needs matforge[{spec.extra}]]"
        print(f"{spec.name:{width}s}  {'/'.join(spec.tasks):25s}  {spec.title}{status}")
        print(f"{'':{width}s}  {spec.citation}")
