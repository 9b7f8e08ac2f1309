"""Screening a design space of any size on a cluster: enumerate → featurize → predict → keep the top N.

The space is cut into index ranges (partitions). A worker screens its range chunk by chunk with
`matforge.design.screen_chunk`, keeping only the best `top` rows (`merge_top`), so its memory is one chunk
plus `top` rows whatever the partition's size; it writes them as one Parquet file with the partition's
counts in the file's metadata. This process merges the partition files as they arrive. `merge_top` orders
rows by score, then (equal scores) in-domain first, uncertainty and candidate index, a total order, so any
split and any merge order give the same table as `matforge.design.screen` in one process, byte for byte
once written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matforge.errors import InputError
from matforge.scale._cluster import describe_scheduler, map_partitions, scheduler_from_options
from matforge.scale._parts import PartitionedOutput

__all__ = ["screen_distributed"]

_SUMMARY_KEY = b"matforge.screen.summary"


@dataclass(frozen=True)
class _Range:
    index: int
    start: int
    stop: int


def _space_fingerprint(space, spec) -> str:
    if isinstance(spec, (str, Path)):
        return hashlib.sha256(Path(spec).read_bytes()).hexdigest()
    if isinstance(spec, dict):
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    return f"{space!r} size={space.size}"


def _model_fingerprint(model, predictor) -> str:
    if isinstance(model, (str, Path)):
        from matforge.learn._run import MODEL_FILE

        return hashlib.sha256((Path(model) / "model" / MODEL_FILE).read_bytes()).hexdigest()
    import skops.io as sio

    return hashlib.sha256(sio.dumps(predictor)).hexdigest()


def _screen_range(part: _Range, *, work: str, space, predictor, objective, top: int, chunk_size: int, in_domain_only: bool) -> int:
    """Screen the grid indices of one partition; write its best rows and its counts as one file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from matforge.design import merge_summary, merge_top
    from matforge.design._screen import one_blas_thread, screen_space_range
    from matforge.files import atomic_file

    best, summary = None, None
    with one_blas_thread():
        for start in range(part.start, part.stop, chunk_size):
            stop = min(part.stop, start + chunk_size)
            scored, counts = screen_space_range(predictor, space, start, stop, objective, top=top, in_domain_only=in_domain_only)
            best, summary = merge_top(best, scored, top), merge_summary(summary, counts)
    table = pa.Table.from_pandas(best, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _SUMMARY_KEY: json.dumps(summary).encode()})
    with atomic_file(Path(work) / f"part-{part.index:05d}.parquet") as tmp:
        pq.write_table(table, tmp)
    return len(best)


def _read_range(path: Path) -> tuple[pd.DataFrame, dict]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return table.to_pandas(), json.loads(table.schema.metadata[_SUMMARY_KEY])


def screen_distributed(
    model,
    space,
    out: str | Path,
    *,
    objective="max",
    top: int = 100,
    in_domain_only: bool = False,
    chunk_size: int = 20_000,
    rows_per_partition: int = 1_000_000,
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = True,
):
    """`matforge.design.screen` of a design space over partitions, here or on a Dask cluster.

    Parameters
    ----------
    model : run folder (or a loaded `Run` / predictor); sent to each worker once.
    space : design space file, dict or `DesignSpace` (see docs/design.md).
    out : table of the `top` best candidates (csv, parquet, ...), best first, as `matforge screen` writes.
        Finished partitions are kept in a hidden ``.OUT.partial/`` folder beside it until the screen completes,
        so the same command run again after an interruption only screens the partitions not yet done.
    objective, top, in_domain_only, chunk_size : as `matforge.design.screen`.
    rows_per_partition : grid points per task (rounded up to a multiple of `chunk_size`, so that chunk
        boundaries, and hence every value, are those of the single-process screen).
    scheduler, workers : see `scheduler_from_options`; None screens the partitions in this process.
    resume : reuse finished partitions of an interrupted run with the same space, model and options.

    Returns the `ScreenResult` (top table and counts); the counts also go to ``OUT.summary.json``.
    """
    from matforge.design import Objective, ScreenResult, load_space, merge_summary, merge_top, tied_at_best
    from matforge.design._screen import MERGE_ORDER, as_predictor, check_columns
    from matforge.files import atomic_file, refuse_overwrite_input
    from matforge.learn import write_table

    if top < 1:
        raise InputError(f"--top must be at least 1, not {top}")
    if chunk_size < 1:
        raise InputError(f"chunk size must be at least 1, not {chunk_size}")
    out = Path(out)
    if isinstance(space, (str, Path)):
        refuse_overwrite_input(out, space)
    spec = space
    space = load_space(space)
    predictor = as_predictor(model)
    objective = Objective.parse(objective)
    check_columns(predictor, space.columns, space.source)
    size = space.size
    if space.max_chunk:  # candidates relaxed by a potential: small tasks, so every worker gets some
        chunk_size, rows_per_partition = min(chunk_size, space.max_chunk), min(rows_per_partition, space.max_chunk)
    per_part = max(chunk_size, -(-rows_per_partition // chunk_size) * chunk_size)
    ranges = [_Range(i, s, min(size, s + per_part)) for i, s in enumerate(range(0, size, per_part))]
    settings = {
        "command": "screen", "space": _space_fingerprint(space, spec), "model": _model_fingerprint(model, predictor),
        "objective": str(objective), "kappa": objective.kappa, "positive": objective.positive, "top": top,
        "in_domain_only": in_domain_only, "chunk_size": chunk_size, "rows_per_partition": per_part, "size": size,
        "order": MERGE_ORDER,
    }  # fmt: skip
    parts = PartitionedOutput(out, settings, resume=resume)
    best, summary = None, None
    for r in ranges:
        if parts.done(r.index):
            frame, counts = _read_range(parts.part(r.index))
            best, summary = merge_top(best, frame, top), merge_summary(summary, counts)
    todo = [r for r in ranges if not parts.done(r.index)]

    def merge(i: int, _rows: int) -> None:
        # merged as partitions finish, so this process holds `top` rows plus one partition's file at a time
        nonlocal best, summary
        frame, counts = _read_range(parts.part(todo[i].index))
        best, summary = merge_top(best, frame, top), merge_summary(summary, counts)

    shared = {"work": str(parts.work), "space": space, "predictor": predictor, "objective": objective, "top": top,
              "chunk_size": chunk_size, "in_domain_only": in_domain_only}  # fmt: skip
    where = describe_scheduler(scheduler, workers) or "in-process"
    with scheduler_from_options(scheduler, workers) as client:
        map_partitions(_screen_range, todo, client=client, shared=shared, label=f"screening {size:,} ({where})", on_done=merge)
    if best is None:
        best = pd.DataFrame({"candidate": np.zeros(0, np.int64), "score": np.zeros(0)})
        summary = {"grid_points": 0, "candidates": 0, "in_domain": 0, "classes": {}}
    summary.update(objective=str(objective), kappa=objective.kappa, in_domain_only=in_domain_only, top=int(len(best)), tied_at_best=tied_at_best(best),
                   partitions=len(ranges), resumed_partitions=len(ranges) - len(todo), scheduler=where)  # fmt: skip
    write_table(best, out)
    with atomic_file(out.with_name(out.stem + ".summary.json")) as tmp:
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
    import shutil

    shutil.rmtree(parts.work, ignore_errors=True)
    return ScreenResult(top=best, summary=summary)

