"""Whole columns of formulas as padded numpy arrays, the input of every vectorized featurizer."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from matforge._workers import worker_count
from matforge.chem._fastpath import parse_plain
from matforge.chem._formula import ELEMENT_INDEX, ELEMENT_SYMBOLS, _parse_cached, parse_formula
from matforge.errors import InputError

__all__ = ["Compositions", "parse_compositions", "fraction_matrix"]

# formulas per slice of the vectorized parser: its temporaries (~100 bytes per character) stay in cache-sized blocks
_SLICE = 16384


@dataclass
class Compositions:
    """A batch of parsed formulas in padded form.

    Row ``i`` holds ``n_elements[i]`` elements: ``element[i, :k]`` (index into `ELEMENT_SYMBOLS`),
    ``amount[i, :k]`` (atoms per formula unit as written) and ``fraction[i, :k]`` (atomic fractions,
    summing to 1). Padding slots have ``element == 0``, ``amount == fraction == 0``; rows that failed to
    parse have ``valid[i] == False`` and their error in ``errors[i]``.
    """

    element: np.ndarray
    amount: np.ndarray
    fraction: np.ndarray
    n_elements: np.ndarray
    valid: np.ndarray
    errors: dict[int, InputError] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.valid)

    @property
    def mask(self) -> np.ndarray:
        """(n, K) bool: which padded slots hold an element."""
        return np.arange(self.element.shape[1])[None, :] < self.n_elements[:, None]

    def take(self, rows: np.ndarray | slice) -> Compositions:
        """The sub-batch of the given rows (errors re-indexed)."""
        index = np.arange(len(self))[rows]
        remap = {}
        if self.errors:
            bad = np.flatnonzero(np.isin(index, np.fromiter(self.errors, dtype=np.int64)))
            remap = {int(index[new]): int(new) for new in bad}
        n_elements = self.n_elements[index]
        # the sub-batch is only as wide as its widest row: one long formula elsewhere costs it nothing
        width = max(1, int(n_elements.max())) if len(index) else 1
        return Compositions(
            element=self.element[index, :width],
            amount=self.amount[index, :width],
            fraction=self.fraction[index, :width],
            n_elements=n_elements,
            valid=self.valid[index],
            errors={new: self.errors[old] for old, new in remap.items()},
        )

    def formulas(self) -> list[str]:
        """Each row written back as a formula with atomic fractions (for messages and debugging)."""
        out = []
        for i in range(len(self)):
            k = self.n_elements[i]
            out.append("".join(f"{ELEMENT_SYMBOLS[e]}{a:g}" for e, a in zip(self.element[i, :k], self.amount[i, :k], strict=False)))
        return out


def _parse_unique(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, InputError]]:
    """Parse formulas into flat (element index, amount) arrays plus per-formula counts.

    Plain formulas take the vectorized fast path, in slices of `_SLICE` so its temporaries stay small;
    the rest go through `parse_formula`'s Python parser one by one.
    """
    texts = list(texts)
    counts = np.zeros(len(texts), dtype=np.int64)
    fast_elements: list[np.ndarray] = []
    fast_amounts: list[np.ndarray] = []
    done = np.zeros(len(texts), dtype=bool)
    for start in range(0, len(texts), _SLICE):
        part_done, part_counts, part_elements, part_amounts = parse_plain(texts[start : start + _SLICE])
        done[start : start + len(part_done)] = part_done
        counts[start : start + len(part_done)] = part_counts
        fast_elements.append(part_elements)
        fast_amounts.append(part_amounts)
    errors: dict[int, InputError] = {}
    slow: dict[int, tuple[tuple[str, float], ...]] = {}
    for u in np.flatnonzero(~done).tolist():
        text = texts[u]
        try:
            if not isinstance(text, str):
                parse_formula(text)  # raises the right InputError for None/NaN/numbers
            slow[u] = _parse_cached(text)
        except InputError as err:
            errors[u] = err
            continue
        counts[u] = len(slow[u])
    offsets = np.cumsum(counts) - counts
    total = int(counts.sum())
    elements = np.zeros(total, dtype=np.int16)
    amounts = np.zeros(total)
    fast_slots = np.repeat(offsets[done], counts[done]) + _ranks(counts[done])
    elements[fast_slots] = np.concatenate(fast_elements) if fast_elements else []
    amounts[fast_slots] = np.concatenate(fast_amounts) if fast_amounts else []
    if slow:
        rows = np.fromiter(slow, dtype=np.int64, count=len(slow))
        slots = np.repeat(offsets[rows], counts[rows]) + _ranks(counts[rows])
        elements[slots] = [ELEMENT_INDEX[sym] for items in slow.values() for sym, _ in items]
        amounts[slots] = [amt for items in slow.values() for _, amt in items]
    return elements, amounts, counts, errors


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for each count c, concatenated: each element's slot within its formula."""
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def parse_compositions(
    formulas: Sequence[str] | np.ndarray,
    *,
    on_error: str = "raise",
    n_jobs: int = 1,
    source: str | None = None,
    column: str | None = None,
) -> Compositions:
    """Parse a column of formulas into a `Compositions` batch.

    Plain formulas (symbols and numbers, one level of parentheses: nearly all real data) are read by the
    vectorized fast path of `parse_formula` in `matforge.chem._fastpath`, everything else by `parse_formula`
    itself; both give the same amounts to the last bit and the same error messages.

    Parameters
    ----------
    formulas : sequence of formula strings (duplicates are parsed once).
    on_error : ``"raise"`` raises the first row's `InputError` (with its row number); ``"keep"`` marks bad
        rows invalid and records their errors.
    n_jobs : worker processes for parsing large columns (-1: all cores). Parsing is the only per-formula
        Python work; everything after it is numpy.
    source, column : file name and column name, put into error messages.
    """
    import pandas as pd

    if on_error not in ("raise", "keep"):
        raise ValueError(f"on_error must be 'raise' or 'keep', not {on_error!r}")
    # an object array, not a Series: building a Series from a list costs as much as parsing it
    if isinstance(formulas, pd.Series):
        values = formulas.to_numpy(dtype=object)
    else:
        values = np.empty(len(formulas), dtype=object)
        values[:] = formulas  # element by element: a list of equal-length tuples must not become 2-D
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = list(uniques)
    n_jobs = worker_count(n_jobs, processes=True)
    if n_jobs > 1 and len(uniques) > 50_000:
        bounds = np.linspace(0, len(uniques), n_jobs * 4 + 1).astype(int)
        parts = [uniques[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=False)]
        pieces, errors = [], {}
        with ProcessPoolExecutor(n_jobs) as pool:
            for offset, (e, a, c, err) in zip(bounds[:-1], pool.map(_parse_unique, parts), strict=False):
                pieces.append((e, a, c))
                errors.update({int(offset) + k: v for k, v in err.items()})
        elements, amounts, counts = (np.concatenate(column) for column in zip(*pieces, strict=False))
    else:
        elements, amounts, counts, errors = _parse_unique(uniques)

    n_unique = len(uniques)
    count_u = np.asarray(counts, dtype=np.int64)
    width = int(count_u.max()) if n_unique and count_u.max() > 0 else 1
    elem_u = np.zeros((n_unique + 1, width), dtype=np.int16)
    amt_u = np.zeros((n_unique + 1, width), dtype=np.float64)
    if len(elements):
        owner = np.repeat(np.arange(n_unique), count_u)
        slot = _ranks(count_u)
        elem_u[owner, slot] = elements
        amt_u[owner, slot] = amounts
    valid_u = np.ones(n_unique + 1, dtype=bool)
    valid_u[list(errors)] = False
    valid_u[n_unique] = False  # the slot for missing values (code -1)
    count_u = np.append(count_u, 0)

    codes = np.where(codes < 0, n_unique, codes)
    amount = amt_u[codes]
    total = amount.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(total > 0, amount / np.where(total > 0, total, 1.0), 0.0)
    batch = Compositions(
        element=elem_u[codes],
        amount=amount,
        fraction=fraction,
        n_elements=count_u[codes],
        valid=valid_u[codes],
    )
    bad_rows = np.flatnonzero(~batch.valid)
    if len(bad_rows):
        missing = InputError("missing formula", hint="Fill in the formula or drop the row")
        batch.errors = {
            int(r): (errors.get(int(codes[r]), missing)).located(file=source, row=int(r), column=column)
            for r in bad_rows
        }
        if on_error == "raise":
            raise batch.errors[int(bad_rows[0])]
    return batch


def fraction_matrix(
    formulas: Sequence[str] | np.ndarray, *, on_error: str = "raise", n_jobs: int = 1
) -> np.ndarray:
    """Normalized atomic fractions as an (n, 118) matrix, columns in `ELEMENT_SYMBOLS` order (H..Og).

    With ``on_error="raise"`` (default) the first bad row raises an `InputError` naming the row; with
    ``on_error="keep"`` bad rows are all-NaN. Memory is n × 118 × 8 bytes: for millions of rows work in
    chunks or use `parse_compositions`, whose padded form is what the featurizers use.

    >>> fraction_matrix(["Fe2O3"])[0, [25, 7]]
    array([0.4, 0.6])
    """
    batch = parse_compositions(formulas, on_error=on_error, n_jobs=n_jobs)
    out = np.zeros((len(batch), len(ELEMENT_SYMBOLS)))
    rows = np.repeat(np.arange(len(batch))[:, None], batch.element.shape[1], axis=1)
    mask = batch.mask
    np.add.at(out, (rows[mask], batch.element[mask].astype(np.int64)), batch.fraction[mask])
    out[~batch.valid] = np.nan
    return out
