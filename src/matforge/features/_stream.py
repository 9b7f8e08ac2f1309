"""Featurizing columns too large to hold as one feature matrix: parse and compute slice by slice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from matforge.chem import Compositions, parse_compositions
from matforge.features._base import CompositionFeaturizer, rows_shifted

__all__ = ["featurize_chunks"]


def featurize_chunks(
    featurizer: CompositionFeaturizer,
    formulas: Sequence[str] | np.ndarray,
    *,
    chunk_rows: int = 16384,
    source: str | None = None,
    column: str | None = None,
) -> Iterator[tuple[int, np.ndarray, Compositions]]:
    """Yield ``(first row, features, parsed batch)`` for consecutive slices of `formulas`.

    Memory stays near ``chunk_rows × n_features × 8`` bytes whatever the column length; 16384 rows keep
    every temporary under glibc's 32 MB mmap threshold, so buffers are reused instead of freshly
    page-faulted for each slice. Bad rows are never raised here: they come back as NaN features with their
    `InputError` in ``batch.errors`` (row numbers counted from the start of the whole column), and the
    caller decides whether to stop or to skip them.
    """
    values = np.asarray(formulas, dtype=object)

    def parse(start: int) -> Compositions:
        batch = parse_compositions(
            values[start : start + chunk_rows], on_error="keep", n_jobs=1, source=source, column=column
        )
        batch.errors = {row - start: err for row, err in rows_shifted(batch.errors, start).items()}
        return batch

    starts = range(0, len(values), chunk_rows)
    if featurizer._n_jobs == 1:
        for start in starts:
            batch = parse(start)
            yield start, featurizer.transform_compositions(batch), batch
        return
    # with several cores, the next slice is parsed while this one is featurized (most of both is numpy,
    # which releases the GIL)
    with ThreadPoolExecutor(1) as parser:
        pending = parser.submit(parse, 0) if len(starts) else None
        for i, start in enumerate(starts):
            batch = pending.result()
            if i + 1 < len(starts):
                pending = parser.submit(parse, starts[i + 1])
            yield start, featurizer.transform_compositions(batch), batch
