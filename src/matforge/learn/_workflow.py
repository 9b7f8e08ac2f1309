"""The train and predict workflows shared by the CLI and the Python API."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

from matforge.errors import InputError

__all__ = ["train", "predict_file", "write_table"]


def _work_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.partial"


def train(
    data: str | Path | pd.DataFrame,
    target: str,
    out: str | Path,
    *,
    task: str | None = None,
    formula_cols: str | list[str] | None = None,
    structure_cols: str | list[str] | None = None,
    smiles_cols: str | list[str] | None = None,
    drop: str | list[str] | None = None,
    group_col: str | None = None,
    models: str | list[str] | None = None,
    cv: int = 5,
    budget: float = 120.0,
    seed: int = 0,
    preset: str = "auto",
    ensemble: int = 3,
    protocol: str = "group",
    resume: bool = False,
    max_trials: int = 40,
    zero_inflated: str | bool = "auto",
    log_target: str | bool = "auto",
    n_jobs: int = 1,
    verbose: bool = False,
    command: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    join_study: str | None = None,
    storage: str | None = None,
) -> Path:
    """Validate `data`, run AutoModel and write the run folder `out` (atomically; see ARCHITECTURE.md).

    Work in progress lives in a hidden ``.<out>.partial`` folder beside `out` (the Optuna study and finished
    outer folds); with ``resume=True`` an interrupted run continues from there. Bad input raises `InputError`
    before anything is written. The search stops at the `budget` or after `max_trials` trials per model and
    stage, whichever comes first; a run is exactly reproducible (same seed) when the trial cap ends it.
    `scheduler`/`workers` fit the outer folds on a Dask cluster; `join_study`/`storage` add every search's
    trials to a shared Optuna study (see `AutoModel`); both are recorded in metrics.json. `zero_inflated`
    (``"auto"``, True, False) models a regression target with a point mass at its minimum as gate + regressor;
    `log_target` (``"auto"``, True, False) lets the search fit a strictly positive, right-skewed one on a log
    scale as well (see `AutoModel`). `structure_cols` name crystal-structure columns (detected when None, as
    formula columns are; see `matforge.data.parse_structures`), `smiles_cols` SMILES columns of polymer repeat
    units or molecules (detected when None and RDKit, the ``[polymer]`` extra, is installed).
    """
    from matforge.data import prepare_dataset, read_table
    from matforge.files import check_output_dir, refuse_overwrite_input, replace_dir
    from matforge.learn._automodel import AutoModel
    from matforge.learn._pipeline import log_target_option
    from matforge.learn._run import data_hash, write_run
    from matforge.models import resolve_models
    from matforge.report import render_report

    out = Path(out)
    if isinstance(data, (str, Path)):
        refuse_overwrite_input(out, data)
    # before any work: --out must not be a file, a folder holding the data, or a folder matforge did not write
    check_output_dir(out, data if isinstance(data, (str, Path)) else None)
    if isinstance(data, (str, Path)):
        frame = read_table(data)
    else:
        frame = data
    if cv < 2:
        raise InputError(f"--cv must be at least 2, not {cv}")
    if budget <= 0:
        raise InputError(f"--budget must be positive seconds, not {budget}")
    dataset = prepare_dataset(frame, target, task=task, formula_cols=formula_cols, drop=drop, group_col=group_col, structure_cols=structure_cols, smiles_cols=smiles_cols)
    if len(dataset.y) < 10 and dataset.duplicates_merged:
        raise InputError(f"only {len(dataset.y)} distinct inputs once the {dataset.duplicates_merged} duplicate rows are merged; at least 10 are needed to train and evaluate",
                         file=dataset.source, hint="Rows with the same composition and process values are one measurement repeated: the table needs more distinct materials, or the column that tells them apart")
    # unknown or unfit model names fail before anything is written
    resolve_models(models, dataset.task, len(dataset.y), compositions=bool(dataset.formula_cols or dataset.structure_cols))
    _check_settings(preset, protocol)  # and so do unknown presets and protocols
    if dataset.task == "regression":
        log_target_option(log_target, dataset.y)  # so does the log of a target that is not positive
    settings = {"target": target, "task": dataset.task, "models": models, "cv": cv, "seed": seed, "preset": preset, "ensemble": ensemble, "protocol": protocol, "max_trials": max_trials, "zero_inflated": zero_inflated, "log_target": log_target, "study": join_study, "data_sha256": data_hash(dataset.frame, dataset.y)}
    work = _work_dir(out)
    if work.exists():
        previous = json.loads((work / "settings.json").read_text()) if (work / "settings.json").exists() else None
        if not resume or previous != json.loads(json.dumps(settings)):
            if resume:
                raise InputError("cannot resume: the interrupted run used other data or settings", file=str(out), hint="Run again without --resume")
            shutil.rmtree(work)
    elif resume and not out.exists():
        raise InputError("nothing to resume: no interrupted run found", file=str(out), hint="Run without --resume")
    work.mkdir(parents=True, exist_ok=True)
    (work / "settings.json").write_text(json.dumps(settings, indent=2))

    if verbose:  # after every check of the input, so that bad input still gives one line
        for line in input_summary(dataset):
            print(line, file=sys.stderr)
    model = AutoModel(
        task=dataset.task, models=models, budget=budget, cv=cv, ensemble=ensemble, preset=preset,
        formula_cols=dataset.formula_cols, numeric_cols=dataset.numeric_cols, categorical_cols=dataset.categorical_cols,
        structure_cols=dataset.structure_cols, smiles_cols=dataset.smiles_cols, protocol=protocol, seed=seed, n_jobs=n_jobs, max_trials=max_trials, zero_inflated=zero_inflated, log_target=log_target, verbose=verbose,
        scheduler=scheduler, workers=workers, study=join_study, storage=storage,
    )  # fmt: skip
    model.fit(dataset.frame, dataset.y, dataset.groups, sample_weight=dataset.weights, work_dir=work)
    write_run(work, model, dataset, command=command)
    render_report(work)
    for name in list(work.iterdir()):
        if name.name.startswith("fold_") or name.name == "settings.json":
            name.unlink()
    replace_dir(work, out)
    return out


def _check_settings(preset, protocol: str) -> None:
    from matforge.features import make_featurizer
    from matforge.learn._automodel import AUTO_PRESETS
    from matforge.learn._protocols import _check_protocol

    _check_protocol(protocol)
    for name in AUTO_PRESETS if preset == "auto" else (preset,) if isinstance(preset, str) else preset:
        make_featurizer(name)


def input_summary(dataset) -> list[str]:
    """What `train` will learn from, in a user's words: each column's role, then the notes of reading the table
    (dropped identifiers, merged duplicates, outliers), so a wrongly kept or dropped column is seen before the fit."""
    roles = [("composition", dataset.formula_cols), ("structure", dataset.structure_cols), ("SMILES", dataset.smiles_cols), ("numeric", dataset.numeric_cols),
             ("categorical", dataset.categorical_cols)]
    described = "; ".join(f"{role} {', '.join(repr(str(c)) for c in columns)}" for role, columns in roles if columns)
    return [f"{len(dataset.y)} rows, {dataset.task} of '{dataset.target}' from {described}", *dataset.notes]


def write_table(frame: pd.DataFrame, out: str | Path) -> None:
    """Write a table atomically in the format its extension names (csv, tsv, parquet, xlsx, json)."""
    from matforge.files import atomic_file

    out = Path(out)
    suffix = out.suffix.lower()
    writers = {
        ".csv": lambda p: frame.to_csv(p, index=False),
        ".tsv": lambda p: frame.to_csv(p, index=False, sep="\t"),
        ".parquet": lambda p: frame.to_parquet(p, index=False),
        ".xlsx": lambda p: frame.to_excel(p, index=False),
        ".json": lambda p: frame.to_json(p, orient="records", indent=1),
    }
    if suffix not in writers:
        raise InputError(f"unknown output format '{suffix}'", file=str(out), hint="Use .csv, .tsv, .parquet, .xlsx or .json")
    with atomic_file(out) as tmp:
        writers[suffix](tmp)


def predict_file(run_dir: str | Path, data: str | Path, out: str | Path, *, on_error: str = "raise") -> pd.DataFrame:
    """Predict every row of the table `data` with the run in `run_dir`; write the rows in order plus
    ``prediction``, ``uncertainty`` (or class probabilities) and ``in_domain`` to `out`."""
    from matforge.data import read_table
    from matforge.files import refuse_overwrite_input
    from matforge.learn._run import load_run

    refuse_overwrite_input(out, data)
    run = load_run(run_dir)
    table = read_table(data)
    predictions = run.predict(table, on_error=on_error)
    write_table(predictions, out)
    return predictions
