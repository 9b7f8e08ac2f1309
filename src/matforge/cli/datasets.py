"""`matforge datasets list|show|export`: real data that works offline."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from matforge.cli.app import app

datasets_app = typer.Typer(help="Datasets shipped with installed packages (offline) or downloadable.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")


@datasets_app.command("list")
def list_datasets() -> None:
    """One line per dataset: name, rows, default target, offline or download."""
    from matforge.data import DATASETS

    for info in DATASETS.values():
        rows = f"{info.n_rows:>7}" if info.n_rows else "      ?"
        print(f"{info.name:26s} {rows}  {info.task:15s} target={info.target!r:16s} {'offline' if info.offline else 'download'}  {info.title}")


@datasets_app.command("show")
def show(name: str = typer.Argument(..., help="Dataset name (see 'matforge datasets list').")) -> None:
    """Columns with units, citation and source of a dataset."""
    from matforge.data import dataset_info

    print(json.dumps(dataset_info(name).describe(), indent=2, ensure_ascii=False))


@datasets_app.command("export")
def export(
    name: str = typer.Argument(..., help="Dataset name."),
    out: Path = typer.Option(..., "--out", "-o", help="Output table (csv, parquet, xlsx, json)."),
) -> None:
    """Write a dataset to a file, e.g. to train on it with 'matforge train'."""
    from matforge.data import load_dataset
    from matforge.learn import write_table

    frame = load_dataset(name)
    write_table(frame, out)
    print(f"{out}: {len(frame)} rows")
