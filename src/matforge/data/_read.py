"""`read_table`: one entry point for the table formats materials scientists keep their data in."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from matforge.data._structures import is_structure_source, read_structure_table
from matforge.errors import InputError

__all__ = ["read_table", "TABLE_FORMATS"]

TABLE_FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "excel", ".xlsm": "excel",
    ".xls": "excel", ".json": "json", ".jsonl": "jsonl", ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip


def _check_header(path: Path, sep: str) -> None:
    """Reject duplicate or empty column names before pandas silently renames them (``a`` → ``a.1``)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle, delimiter=sep), None)
    if header is None:
        raise InputError("the file is empty", file=str(path), hint="Give a table with a header row and data rows")
    if sep == "," and len(header) == 1 and ";" in header[0]:
        # a spreadsheet's CSV export where the decimal separator is a comma: columns split by ';', numbers
        # written 12,5; read as one column it would only fail later with a puzzling "no column" message
        raise InputError("the columns are separated by ';', not commas", file=str(path),
                         hint="Export the table as CSV with comma separators and decimal points (or save it as .xlsx, which matforge reads)")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        name = name.strip()
        if name in seen and name:
            raise InputError(
                f"duplicate column name '{name}' (columns {seen[name] + 1} and {i + 1})", file=str(path),
                hint="Rename one of them",
            )  # fmt: skip
        seen[name] = i


_NA_TEXT = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "None", "n/a", "nan", "null"]


def _numeric_with_nan_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of numbers in which some cells say 'NaN' become numeric columns."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object and (column == "NaN").any():
            numbers = pd.to_numeric(column.where(column != "NaN"), errors="coerce")
            if numbers.notna().sum() == column.notna().sum() - (column == "NaN").sum():
                frame[name] = numbers
    return frame


def _drop_saved_index(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop an unnamed first column that is just 0..n-1 (a pandas index written by `to_csv`)."""
    first = frame.columns[0] if len(frame.columns) else None
    if first is not None and (str(first).startswith("Unnamed: 0") or str(first) == ""):
        column = frame[first]
        if pd.api.types.is_integer_dtype(column) and (column.to_numpy() == range(len(frame))).all():
            return frame.drop(columns=[first])
    return frame


def read_table(path: str | os.PathLike, *, sheet: str | int | None = None, format: str | None = None) -> pd.DataFrame:
    """Read a table from CSV, TSV, Excel, JSON (records or columns), JSON lines or Parquet, or crystal
    structures as a table with a ``structure`` column: a folder of CIF/POSCAR files, one such file, or an
    extended XYZ file of frames with their scalar properties (`matforge.data.read_structure_table`).

    The format follows the extension unless `format` is given. A leading unnamed 0..n-1 index column (as
    written by pandas) is dropped. Problems raise `InputError` naming the file: missing or empty file, a
    header without data rows, text that is not UTF-8, duplicate column names.

    >>> read_table("data.csv")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path), hint="Check the path")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError("the file is empty", file=str(path), hint="Give a table with a header row and data rows")
    if format is None and path.suffix.lower() not in TABLE_FORMATS and is_structure_source(path):
        return read_structure_table(path)
    kind = format or TABLE_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"unknown table format '{path.suffix}'", file=str(path),
            hint=f"Use one of {', '.join(sorted(TABLE_FORMATS))}, or a structure file or folder (cif, POSCAR, extxyz)",
        )  # fmt: skip
    try:
        if kind in ("csv", "tsv"):
            sep = "\t" if kind == "tsv" else ","
            _check_header(path, sep)
            # "NaN" is also a formula (Na1N1): keep it as text here, numeric columns are converted below
            frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig", skipinitialspace=True, keep_default_na=False, na_values=_NA_TEXT)
            frame = _numeric_with_nan_text(frame)
        elif kind == "excel":
            frame = pd.read_excel(path, sheet_name=sheet or 0)
        elif kind == "json":
            try:
                frame = pd.read_json(path, orient="records")
            except ValueError:
                frame = pd.read_json(path)
        elif kind == "jsonl":
            frame = pd.read_json(path, lines=True)
        else:
            frame = pd.read_parquet(path)
    except InputError:
        raise
    except UnicodeDecodeError as err:
        raise InputError(
            f"the file is not UTF-8 text (byte {err.start})", file=str(path),
            hint="Save it as UTF-8 (in Excel: 'CSV UTF-8')",
        ) from None  # fmt: skip
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", file=str(path), hint="Give a table with a header row and data rows") from None
    except pd.errors.ParserError as err:
        raise InputError(f"cannot parse the table: {str(err).strip().splitlines()[-1]}", file=str(path)) from None
    except (ValueError, OSError, ImportError) as err:
        raise InputError(f"cannot read the {kind} file: {str(err).strip().splitlines()[0]}", file=str(path)) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.columns.duplicated().any():
        name = frame.columns[frame.columns.duplicated()][0]
        raise InputError(f"duplicate column name '{name}'", file=str(path), hint="Rename one of them")
    frame = _drop_saved_index(frame)
    if len(frame) == 0:
        raise InputError("the table has a header but no data rows", file=str(path))
    frame.attrs["source"] = str(path)
    return frame
