"""`matforge featurize`: a table with a formula (or crystal-structure) column → the same table plus features.

Streams the rows in slices (bounded memory for millions of rows), writes CSV or Parquet under a temporary
name and renames it into place only when complete, and never overwrites its input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from matforge.cli.app import app

_WRITERS = (".csv", ".parquet")


def rejected_path(out: Path) -> Path:
    """Where `--on-error skip` writes the rejected rows: ``FILE.rejected.csv`` beside ``FILE.ext``."""
    return out.with_name(f"{out.stem}.rejected.csv")


@app.command("featurize")
def featurize_command(
    data: Annotated[Path, typer.Argument(help="Table with a formula or structure column (CSV, TSV, XLSX, JSON or Parquet), or crystal structures: a folder of CIF/POSCAR files, one such file, or an extxyz file (read as the column 'structure').")],
    out: Annotated[Path, typer.Option("--out", help="Output .csv or .parquet: the input columns plus features.")],
    formula_col: Annotated[str | None, typer.Option("--formula-col", help="Column holding the formulas.")] = None,
    structure_col: Annotated[str | None, typer.Option("--structure-col", help="Column holding crystal structures instead (CIF/POSCAR paths relative to the table, CIF or POSCAR text, or pymatgen dicts): the preset's features of each structure's composition plus 47 structure descriptors.")] = None,
    smiles_col: Annotated[str | None, typer.Option("--smiles-col", help="Column holding polymer repeat units as PSMILES (*CC(*)c1ccccc1) or molecules as SMILES instead: RDKit descriptors, backbone and side-chain descriptors and a 512-bit Morgan count fingerprint (\\[polymer] extra; --preset does not apply).")] = None,
    preset: Annotated[
        str, typer.Option("--preset", help="Feature preset or featurizer name(s), comma-separated.")
    ] = "magpie",
    on_error: Annotated[
        str,
        typer.Option("--on-error", help="fail: stop at the first bad formula; skip: leave bad rows out and list "
                     "them with reasons beside OUT (features.csv: features.rejected.csv)."),
    ] = "fail",  # fmt: skip
    n_jobs: Annotated[int, typer.Option("--n-jobs", help="Threads for the feature computation, processes for structures (-1: all cores).")] = 1,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", help="Rows featurized at once (bounds memory).")] = 16384,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler (tcp://HOST:PORT or local; \\[dist] extra); --out is then a folder of Parquet parts.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Workers of a local Dask cluster (with --scheduler local).")] = None,
) -> None:
    """Add composition features (default: the 145 Magpie features of Ward et al. 2016), or structure or polymer features, to a table."""
    import os

    from matforge.data._structures import STRUCTURE_COLUMN, is_structure_source
    from matforge.errors import InputError

    if formula_col is None and structure_col is None and is_structure_source(data):
        structure_col = STRUCTURE_COLUMN  # a folder of structure files, or frames: read as that column
    if sum(c is not None for c in (formula_col, structure_col, smiles_col)) != 1:
        raise InputError("give one of --formula-col, --structure-col or --smiles-col", hint="The column of the table to featurize")
    if smiles_col is not None and (scheduler or workers):
        raise InputError("--smiles-col runs in one process: leave out --scheduler and --workers", hint="--n-jobs uses the cores of this machine")
    if smiles_col is None and (scheduler or workers or os.environ.get("MATFORGE_SCHEDULER")):
        from matforge.scale import featurize_parquet

        folder = featurize_parquet(data, out, formula_col=formula_col or "formula", structure_col=structure_col, preset=preset, on_error=on_error,
                                   scheduler=scheduler, workers=workers)  # fmt: skip
        parts = len(list(folder.glob("part-*.parquet")))
        typer.echo(f"wrote {parts} Parquet part{'s' * (parts != 1)} to {folder}", err=True)
        return
    import numpy as np
    import pandas as pd

    from matforge.data import read_table
    from matforge.features import featurize_chunks, make_featurizer
    from matforge.files import atomic_file, refuse_overwrite_input
    from matforge.progress import progress_bar

    if on_error not in ("fail", "skip"):
        raise InputError(f"--on-error must be 'fail' or 'skip', not '{on_error}'")
    if out.suffix.lower() not in _WRITERS:
        raise InputError("--out must end with .csv or .parquet", file=str(out))
    if chunk_rows < 1:
        raise InputError("--chunk-rows must be at least 1")
    refuse_overwrite_input(out, data)
    refuse_overwrite_input(rejected_path(out), data)
    column = formula_col or structure_col or smiles_col
    if smiles_col is not None:
        from matforge.features import PolymerFeatures

        featurizer = PolymerFeatures(n_jobs=n_jobs)
    else:
        featurizer = make_featurizer(preset, n_jobs=n_jobs)
    names = [str(n) for n in featurizer.get_feature_names_out()]
    chunks_of = _smiles_chunks if smiles_col is not None else featurize_chunks
    if structure_col is not None:
        from matforge.features._structure import structure_feature_names

        names, chunks_of = structure_feature_names((preset,)), _structure_chunks
    table = read_table(data)
    if column not in table.columns:
        raise InputError(
            f"no column named '{column}'", file=str(data), hint=f"Columns are: {', '.join(map(str, table.columns))}"
        )
    clashes = [n for n in names if n in table.columns]
    if clashes:
        raise InputError(f"the table already has a column named '{clashes[0]}'", file=str(data),
                         hint="Featurize a table without feature columns")  # fmt: skip
    rejected: list[dict] = []
    written = 0
    with atomic_file(out) as tmp, _TableWriter(tmp, table, names) as writer, progress_bar() as bar:
        task = bar.add_task(f"featurizing {data.name}", total=len(table))
        chunks = chunks_of(featurizer, table[column].to_numpy(dtype=object), chunk_rows=chunk_rows, source=str(data), column=column)
        for start, values, batch in chunks:
            if batch.errors and on_error == "fail":
                raise batch.errors[min(batch.errors)]
            keep = batch.valid
            for row in sorted(batch.errors):
                err = batch.errors[row]
                rejected.append({"row": start + row, column: table[column].iat[start + row], "reason": err.message})
            part = table.iloc[start : start + len(batch)]
            writer.write(part[keep], values[np.asarray(keep)])
            written += int(keep.sum())
            bar.update(task, advance=len(batch))
    if on_error == "skip":
        with atomic_file(rejected_path(out)) as tmp:
            pd.DataFrame(rejected, columns=["row", column, "reason"]).to_csv(tmp, index=False)
    note = f", {len(rejected)} rejected (see {rejected_path(out)})" if on_error == "skip" else ""
    typer.echo(f"wrote {written} rows × {len(names)} features to {out}{note}", err=True)


def _structure_chunks(featurizer, values, *, chunk_rows: int, source: str, column: str):
    """(start, features, slice) per slice of a structure column, as `featurize_chunks` gives for formulas:
    `featurize_structures` with the featurizer's preset (NaN for a cell that cannot be read); the slice's
    ``valid`` and ``errors`` (row in the slice → `InputError`) say which those are."""
    from matforge.features._structure import featurize_structure_cells

    for start in range(0, len(values), chunk_rows):
        cells = values[start : start + chunk_rows]
        features, valid, errors = featurize_structure_cells(cells, (featurizer,), source=source, column=column, first_row=start,
                                                            n_jobs=getattr(featurizer, "n_jobs", 1))  # fmt: skip
        yield start, features, _Slice(valid, errors, len(cells))


def _smiles_chunks(featurizer, values, *, chunk_rows: int, source: str, column: str):
    """(start, features, slice) per slice of a SMILES column, as `featurize_chunks` gives for formulas."""
    import numpy as np

    from matforge.errors import InputError
    from matforge.features._polymer import smiles_problems

    for start in range(0, len(values), chunk_rows):
        cells = values[start : start + chunk_rows]
        problems = smiles_problems(cells)
        errors = {row: InputError(reason, file=source, row=start + row, column=column, value=cells[row]) for row, reason in problems.items()}
        valid = np.array([row not in problems for row in range(len(cells))])
        yield start, featurizer.transform(cells, on_error="nan"), _Slice(valid, errors, len(cells))


class _Slice:
    """What the writer loop reads of a slice: which rows are valid, why the others are not, how many rows."""

    def __init__(self, valid, errors, n):
        self.valid, self.errors, self.n = valid, errors, n

    def __len__(self) -> int:
        return self.n


class _TableWriter:
    """Appends slices (input columns + feature matrix) to a CSV or Parquet file as they come."""

    def __init__(self, path: Path, table, names: list[str]):
        self.path, self.names, self.table = path, names, table
        self.parquet = path.suffix.lower() == ".parquet"
        self.handle = None

    def __enter__(self) -> _TableWriter:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            # schema from the whole input, so that a slice of missing values cannot change a column's type
            inputs = pa.Schema.from_pandas(self.table, preserve_index=False)
            self.schema = pa.schema(list(inputs) + [pa.field(n, pa.float64()) for n in self.names])
            # dictionary pages only for the input columns: for the float features they cost twice the
            # writing time for about 5% less space
            self.handle = pq.ParquetWriter(self.path, self.schema, use_dictionary=[f.name for f in inputs])
        else:
            self.handle = open(self.path, "w", newline="", encoding="utf-8")
            self.first = True
        return self

    def write(self, part, values) -> None:
        import pandas as pd

        features = pd.DataFrame(values, columns=self.names, index=part.index)
        frame = pd.concat([part, features], axis=1)
        if self.parquet:
            import pyarrow as pa

            self.handle.write_table(pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False))
        else:
            frame.to_csv(self.handle, header=self.first, index=False)
            self.first = False

    def __exit__(self, *exc) -> None:
        if self.handle is None:
            return
        if not self.parquet and self.first:  # no rows at all: still a table with its header
            self.write(self.table.iloc[:0], self.table.iloc[:0, :0].to_numpy(dtype=float).reshape(0, len(self.names)))
        self.handle.close()
