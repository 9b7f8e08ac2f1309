"""Featurizing and predicting tables too large for one machine: one Parquet partition per task."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from matforge.errors import InputError
from matforge.scale._cluster import describe_scheduler, map_partitions, scheduler_from_options
from matforge.scale._parts import (
    Partition,
    PartitionedOutput,
    input_schema,
    plan_partitions,
    read_partition,
    write_part,
)

__all__ = ["featurize_parquet", "predict_parquet"]


def _relocated(err: InputError, row: int, source: str | None) -> InputError:
    """The error of a partition's row, numbered by its row in the whole input."""
    return InputError(err.message, file=source, row=row, column=err.column, value=err.value, hint=err.hint)


def _featurize_part(part: Partition, *, work: str, formula_col: str, structure_col: str | None, preset: str, on_error: str, schema,
                    source: str | None, base: str | None) -> list[dict]:
    """Featurize one partition into its file; returns the rejected rows (``on_error="skip"``)."""
    import numpy as np
    import pyarrow as pa

    frame = read_partition(part)
    column = structure_col or formula_col
    cells = frame[column].to_numpy(dtype=object)
    if structure_col is None:
        from matforge.chem import parse_compositions
        from matforge.features import make_featurizer

        featurizer = make_featurizer(preset)
        names = [str(n) for n in featurizer.get_feature_names_out()]
        batch = parse_compositions(cells, on_error="keep", column=column)
        errors = {row: _relocated(err, part.first_row + row, source) for row, err in batch.errors.items()}
        values, keep = featurizer.transform_compositions(batch), np.asarray(batch.valid)
    else:  # the preset's features of each structure's composition, then the structure descriptors, as `matforge featurize`
        from matforge.features._structure import featurize_structure_cells, structure_feature_names

        names = structure_feature_names((preset,))
        values, keep, errors = featurize_structure_cells(cells, (preset,), source=source, base=base, column=column, first_row=part.first_row)
    rejected = []
    for row in sorted(errors):
        if on_error == "fail":
            raise errors[row]
        rejected.append({"row": part.first_row + row, column: cells[row], "reason": errors[row].message})
    features = pd.DataFrame(values[keep], columns=names)
    table = pd.concat([frame[keep].reset_index(drop=True), features], axis=1)
    full = pa.schema(list(schema) + [pa.field(n, pa.float64()) for n in names])
    write_part(table, Path(work) / f"part-{part.index:05d}.parquet", full)
    return rejected


def featurize_parquet(
    data: str | Path | pd.DataFrame,
    out: str | Path,
    *,
    formula_col: str = "formula",
    structure_col: str | None = None,
    preset: str = "magpie",
    on_error: str = "fail",
    rows_per_partition: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = True,
) -> Path:
    """Add composition (or crystal-structure) features to every row of `data`, written as partitioned Parquet in the folder `out`.

    Parameters
    ----------
    data : a Parquet file, a folder of Parquet files (each cut into row ranges that the workers read
        themselves), or any table `matforge.data.read_table` reads, or a DataFrame.
    out : output folder of ``part-NNNNN.parquet`` files: the input columns plus the features, rows in input
        order (``pandas.read_parquet(out)`` reads it whole). Replaced only when every partition is done.
    formula_col, preset : as `matforge featurize`.
    structure_col : featurize this column of crystal structures instead (as `matforge featurize --structure-col`:
        the preset's features of each structure's composition, then the 47 structure descriptors). A folder of
        CIF/POSCAR files or an extxyz file as `data` is read here as the column ``structure``, featurized so.
        Paths in the column are read relative to the table's folder, which the workers must see.
    on_error : ``"fail"`` stops at the first bad formula (its row counted over the whole input); ``"skip"``
        leaves bad rows out and lists them in ``out/_rejected.csv``.
    rows_per_partition : rows per task and per output file (default 200,000 formulas, about a second's work,
        or 5,000 structures, about 35 s on one core at 7 ms each); a worker holds about rows × (input width +
        features) × 8 bytes × 3 at once.
    scheduler, workers : see `scheduler_from_options`; None runs the same partitions here, one after the
        other, so the files are byte-identical to a cluster run.
    resume : reuse the finished partitions of an interrupted run with the same settings.
    """
    from matforge.features import make_featurizer
    from matforge.files import refuse_overwrite_input

    if on_error not in ("fail", "skip"):
        raise InputError(f"on_error must be 'fail' or 'skip', not '{on_error}'")
    if not isinstance(data, pd.DataFrame):
        refuse_overwrite_input(out, data)
    make_featurizer(preset)  # an unknown preset fails here, before any work is sent out
    source = None if isinstance(data, pd.DataFrame) else str(data)
    base = source and str(Path(source).resolve())  # the workers' current folder may differ: resolve paths from here
    if source is not None:
        from matforge.data import read_table
        from matforge.data._structures import STRUCTURE_COLUMN, is_structure_source

        path = Path(source)
        if is_structure_source(path) and not (path.is_dir() and any(path.glob("*.parquet"))):
            data = read_table(path)  # structure files or frames: their table is made here, its slices sent out
            structure_col = structure_col or STRUCTURE_COLUMN
    column = structure_col or formula_col
    if rows_per_partition is None:
        rows_per_partition = 200_000 if structure_col is None else 5_000
    parts = plan_partitions(data, rows_per_partition)
    schema = input_schema(data, parts)
    if column not in schema.names:
        raise InputError(f"no column named '{column}'", file=source, hint=f"Columns are: {', '.join(schema.names)}")
    settings = {"command": "featurize", "data": source, "formula_col": formula_col, "structure_col": structure_col, "preset": preset, "on_error": on_error,
                "rows": [(p.path, p.start, p.stop) for p in parts] if parts and parts[0].path else len(parts)}  # fmt: skip
    output = PartitionedOutput(out, settings, resume=resume and source is not None)
    todo = [p for p in parts if not output.done(p.index)]
    shared = {"work": str(output.work), "formula_col": formula_col, "structure_col": structure_col, "preset": preset, "on_error": on_error,
              "schema": schema, "source": source, "base": base}  # fmt: skip
    with scheduler_from_options(scheduler, workers) as client:
        results = map_partitions(_featurize_part, todo, client=client, shared=shared, label=f"featurizing ({describe_scheduler(scheduler, workers) or 'in-process'})")
    rejected = [row for rows in results for row in rows]
    extra = {"_rejected.csv": pd.DataFrame(rejected, columns=["row", column, "reason"])} if on_error == "skip" else None
    return output.finish(extra)


_RUNS: dict[str, object] = {}


def _loaded_run(run_dir: str):
    """The run folder loaded once per worker process (loading a model is slower than predicting a partition)."""
    from matforge.learn import load_run

    if run_dir not in _RUNS:
        _RUNS[run_dir] = load_run(run_dir)
    return _RUNS[run_dir]


def _predict_part(part: Partition, *, work: str, run_dir: str, on_error: str, source: str | None) -> int:
    run = _loaded_run(run_dir)
    frame = read_partition(part)
    try:
        table = run.predict(frame, on_error=on_error)
    except InputError as err:
        raise _relocated(err, part.first_row + (err.row or 0), source) from None
    write_part(table, Path(work) / f"part-{part.index:05d}.parquet")
    return len(table)


def predict_parquet(
    run_dir: str | Path,
    data: str | Path | pd.DataFrame,
    out: str | Path,
    *,
    on_error: str = "raise",
    rows_per_partition: int = 200_000,
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = True,
) -> Path:
    """`matforge predict` over partitions: the rows of `data` plus ``prediction``, ``uncertainty`` (or class
    probabilities) and ``in_domain``, as partitioned Parquet in the folder `out`, in input order.

    Each worker loads the run folder once (it must be on a filesystem the workers see) and predicts its
    partitions with exactly the single-process code, so the values are those of `matforge.learn.predict_file`.
    `on_error`: ``"raise"`` or ``"nan"`` (bad rows get empty predictions), as `Run.predict`.
    """
    from matforge.files import refuse_overwrite_input
    from matforge.learn import load_run
    from matforge.learn._run import MODEL_FILE

    if on_error not in ("raise", "nan"):
        raise InputError(f"on_error must be 'raise' or 'nan', not '{on_error}'")
    if not isinstance(data, pd.DataFrame):
        refuse_overwrite_input(out, data)
    run_dir = Path(run_dir).resolve()
    load_run(run_dir)  # a bad run folder fails here, with its message, before any work is sent out
    import hashlib

    model_sha = hashlib.sha256((run_dir / "model" / MODEL_FILE).read_bytes()).hexdigest()
    parts = plan_partitions(data, rows_per_partition)
    source = None if isinstance(data, pd.DataFrame) else str(data)
    settings = {"command": "predict", "run": str(run_dir), "model_sha256": model_sha, "data": source, "on_error": on_error,
                "rows": [(p.path, p.start, p.stop) for p in parts] if parts and parts[0].path else len(parts)}  # fmt: skip
    output = PartitionedOutput(out, settings, resume=resume and source is not None)
    todo = [p for p in parts if not output.done(p.index)]
    shared = {"work": str(output.work), "run_dir": str(run_dir), "on_error": on_error, "source": source}
    with scheduler_from_options(scheduler, workers) as client:
        map_partitions(_predict_part, todo, client=client, shared=shared, label=f"predicting ({describe_scheduler(scheduler, workers) or 'in-process'})")
    return output.finish()
