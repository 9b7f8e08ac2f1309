"""Partitioned Parquet: how inputs are cut into partitions and how outputs are written one file per partition.

An output is a folder ``OUT/`` of ``part-00000.parquet``, ``part-00001.parquet``, ... (read it back whole
with ``pandas.read_parquet(OUT)``). While a command runs, the files go into a hidden ``.OUT.partial/``
beside it, each renamed into place only when complete, so "partition done" is "its file exists": an
interrupted command run again with the same settings skips the finished partitions, and a worker killed
half-way leaves nothing that counts. The folder replaces ``OUT`` only when every partition is there.
Workers read and write these paths themselves, so on a multi-machine cluster they must be on a filesystem
every worker sees (NFS, a cluster filesystem); a LocalCluster shares this machine's.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from matforge.errors import InputError

__all__ = ["Partition", "PartitionedOutput", "plan_partitions", "read_partition", "write_part", "input_schema"]

PART_NAME = "part-{:05d}.parquet"


@dataclass(frozen=True)
class Partition:
    """Rows ``start:stop`` of one input file (global row numbers count across all files, for messages)."""

    index: int
    path: str | None
    start: int
    stop: int
    first_row: int
    frame: pd.DataFrame | None = None  # the rows themselves, for inputs that are not Parquet


def _parquet_files(data: Path) -> list[Path]:
    if data.is_dir():
        files = sorted(p for p in data.rglob("*.parquet") if not p.name.startswith((".", "_")))
        if not files:
            raise InputError("no .parquet files in this folder", file=str(data))
        return files
    return [data]


def plan_partitions(data: str | Path | pd.DataFrame, rows_per_partition: int) -> list[Partition]:
    """Cut the input into partitions of at most `rows_per_partition` rows, in input order.

    Parquet files (or a folder of them) are cut by row ranges that each worker reads itself; any other table
    format is read here and its slices are sent to the workers.
    """
    if rows_per_partition < 1:
        raise InputError(f"rows per partition must be at least 1, not {rows_per_partition}")
    parts: list[Partition] = []
    # Parquet: a .parquet file or a folder holding some; a folder of CIF/POSCAR files is read as any table is
    parquet = not isinstance(data, pd.DataFrame) and (
        Path(data).suffix.lower() in (".parquet", ".pq")
        or (Path(data).is_dir() and any(not p.name.startswith((".", "_")) for p in Path(data).rglob("*.parquet")))
    )  # fmt: skip
    if not parquet:
        from matforge.data import read_table

        frame = data if isinstance(data, pd.DataFrame) else read_table(data)
        for start in range(0, len(frame), rows_per_partition):
            stop = min(start + rows_per_partition, len(frame))
            parts.append(Partition(len(parts), None, start, stop, start, frame.iloc[start:stop].reset_index(drop=True)))
        return parts
    import pyarrow.parquet as pq

    data = Path(data)
    if not data.exists():
        raise InputError("file not found", file=str(data), hint="Check the path")
    offset = 0
    for file in _parquet_files(data):
        rows = pq.ParquetFile(file).metadata.num_rows
        for start in range(0, rows, rows_per_partition):
            stop = min(start + rows_per_partition, rows)
            parts.append(Partition(len(parts), str(file), start, stop, offset + start))
        offset += rows
    return parts


def input_schema(data: str | Path | pd.DataFrame, partitions: list[Partition]):
    """One Arrow schema for the input columns of every partition (so a slice of missing values cannot
    change a column's type from one partition file to the next)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if partitions and partitions[0].path is not None:
        return pq.read_schema(partitions[0].path).remove_metadata()
    frame = data if isinstance(data, pd.DataFrame) else pd.concat([p.frame for p in partitions])
    return pa.Schema.from_pandas(frame, preserve_index=False).remove_metadata()


def read_partition(part: Partition, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of one partition as a DataFrame (reading only the Parquet row groups that hold them)."""
    if part.frame is not None:
        return part.frame if columns is None else part.frame[columns]
    import pyarrow.parquet as pq

    file = pq.ParquetFile(part.path)
    meta = file.metadata
    groups, first, seen = [], None, 0
    for g in range(meta.num_row_groups):
        n = meta.row_group(g).num_rows
        if seen + n > part.start and seen < part.stop:
            groups.append(g)
            first = seen if first is None else first
        seen += n
    table = file.read_row_groups(groups, columns=columns)
    return table.slice(part.start - first, part.stop - part.start).to_pandas()


def write_part(frame: pd.DataFrame, path: Path, schema=None) -> None:
    """Write one partition file atomically (a killed worker leaves no file that looks finished)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from matforge.files import atomic_file

    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)


class PartitionedOutput:
    """The output folder of a partitioned command, with resume from finished partitions.

    Parameters
    ----------
    out : the folder to produce.
    settings : everything that determines the output (inputs, model, options); a finished partition is
        reused only when an interrupted run had exactly these settings.
    resume : keep the finished partitions of an interrupted run with the same settings (default True);
        False starts afresh.
    """

    def __init__(self, out: str | Path, settings: dict, *, resume: bool = True):
        self.out = Path(out)
        self.work = self.out.parent / f".{self.out.name}.partial"
        self.settings = json.loads(json.dumps(settings, default=str))
        stamp = self.work / "_settings.json"
        if self.work.exists():
            previous = json.loads(stamp.read_text()) if stamp.exists() else None
            if not resume or previous != self.settings:
                shutil.rmtree(self.work)
        self.work.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(self.settings, indent=1))

    def part(self, index: int) -> Path:
        return self.work / PART_NAME.format(index)

    def done(self, index: int) -> bool:
        return self.part(index).exists()

    def finish(self, extra: dict[str, pd.DataFrame] | None = None) -> Path:
        """Write the side tables in `extra` (name → frame, as CSV), then put the folder in place of `out`."""
        from matforge.files import replace_dir

        for name, frame in (extra or {}).items():
            frame.to_csv(self.work / name, index=False)
        (self.work / "_settings.json").unlink()
        replace_dir(self.work, self.out)
        return self.out
