"""Whole columns of formulas as padded numpy arrays, the input of every vectorized featurizer."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from matforge.chem._formula import ELEMENT_INDEX, ELEMENT_SYMBOLS, _parse_cached
from matforge.errors import InputError

__all__ = ["Compositions", "parse_compositions", "fraction_matrix"]


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
        remap = {int(old): new for new, old in enumerate(index) if int(old) in self.errors}
        return Compositions(
            element=self.element[index],
            amount=self.amount[index],
            fraction=self.fraction[index],
            n_elements=self.n_elements[index],
            valid=self.valid[index],
            errors={new: self.errors[old] for old, new in remap.items()},
        )

    def formulas(self) -> list[str]:
        """Each row written back as a formula with atomic fractions (for messages and debugging)."""
        out = []
        for i in range(len(self)):
            k = self.n_elements[i]
            out.append("".join(f"{ELEMENT_SYMBOLS[e]}{a:g}" for e, a in zip(self.element[i, :k], self.amount[i, :k])))
        return out


def _parse_unique(texts: Sequence[str]) -> tuple[list[int], list[float], list[int], dict[int, InputError]]:
    """Parse formulas into flat (element index, amount) lists plus per-formula counts."""
    elements: list[int] = []
    amounts: list[float] = []
    counts: list[int] = []
    errors: dict[int, InputError] = {}
    index = ELEMENT_INDEX
    for u, text in enumerate(texts):
        try:
            if not isinstance(text, str):
                from matforge.chem._formula import parse_formula

                parse_formula(text)  # raises the right InputError for None/NaN/numbers
            items = _parse_cached(text)
        except InputError as err:
            errors[u] = err
            counts.append(0)
            continue
        counts.append(len(items))
        for sym, amt in items:
            elements.append(index[sym])
            amounts.append(amt)
    return elements, amounts, counts, errors


def parse_compositions(
    formulas: Sequence[str] | np.ndarray,
    *,
    on_error: str = "raise",
    n_jobs: int = 1,
    source: str | None = None,
    column: str | None = None,
) -> Compositions:
    """Parse a column of formulas into a `Compositions` batch.

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
    values = pd.Series(formulas, dtype=object) if not isinstance(formulas, pd.Series) else formulas.astype(object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = list(uniques)
    n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else max(1, n_jobs)
    if n_jobs > 1 and len(uniques) > 50_000:
        bounds = np.linspace(0, len(uniques), n_jobs * 4 + 1).astype(int)
        parts = [uniques[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        elements, amounts, counts, errors = [], [], [], {}
        with ProcessPoolExecutor(n_jobs) as pool:
            for offset, (e, a, c, err) in zip(bounds[:-1], pool.map(_parse_unique, parts)):
                elements += e
                amounts += a
                counts += c
                errors.update({offset + k: v for k, v in err.items()})
    else:
        elements, amounts, counts, errors = _parse_unique(uniques)

    n_unique = len(uniques)
    count_u = np.asarray(counts, dtype=np.int64)
    width = int(count_u.max()) if n_unique and count_u.max() > 0 else 1
    elem_u = np.zeros((n_unique + 1, width), dtype=np.int16)
    amt_u = np.zeros((n_unique + 1, width), dtype=np.float64)
    if elements:
        starts = np.repeat(np.cumsum(count_u) - count_u, count_u)
        owner = np.repeat(np.arange(n_unique), count_u)
        slot = np.arange(len(elements)) - starts
        elem_u[owner, slot] = np.asarray(elements, dtype=np.int16)
        amt_u[owner, slot] = np.asarray(amounts)
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
