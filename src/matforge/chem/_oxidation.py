"""Charge balance and oxidation-state guesses, bounded in time for any formula.

pymatgen's `Composition.oxi_state_guesses` enumerates every assignment per site and can run for minutes on
formulas like ``C100H3815Br21I279N2185Pb100``. Here each element takes one oxidation state (the assumption of
matminer's ``IonProperty(fast=True)`` and of Ward et al. 2016), sums are enumerated with numpy over whole
groups of rows, and the work per row is capped.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from matforge.chem._batch import Compositions
from matforge.chem._elements import element_table
from matforge.chem._formula import ELEMENT_INDEX, parse_formula

__all__ = ["charge_balanced", "guess_oxidation_states"]

# assignments enumerated per row at most; rows beyond this fall back to a pruned set search
_MAX_COMBINATIONS = 4096
# numbers held in memory at once while enumerating (bounds memory for any batch size)
_MAX_CELLS = 4_000_000


@lru_cache(maxsize=1)
def _state_table() -> tuple[np.ndarray, np.ndarray]:
    states = element_table().common_oxidation_states
    width = max(len(s) for s in states)
    table = np.full((len(states), width), np.nan)
    for i, s in enumerate(states):
        table[i, : len(s)] = s
    return table, np.array([len(s) for s in states])


@lru_cache(maxsize=1)
def _state_range() -> tuple[np.ndarray, np.ndarray]:
    """Each element's lowest and highest common oxidation state (0 where it has none)."""
    table, n_states = _state_table()
    filled = np.where(n_states[:, None] > 0, table, 0.0)
    return np.nanmin(filled, axis=1), np.nanmax(filled, axis=1)


def _balanced_by_sets(elements: np.ndarray, amounts: np.ndarray) -> bool:
    """Reachable charge sums as a set, rounded so that equal sums merge (bounded by the sum range)."""
    states = element_table().common_oxidation_states
    sums = {0.0}
    for e, a in zip(elements, amounts, strict=False):
        options = states[int(e)]
        if not options:
            return False
        sums = {round(s + a * o, 9) for s in sums for o in options}
        if len(sums) > 200_000:  # pathological: give up rather than hang
            return False
    return any(abs(s) <= 1e-8 for s in sums)


def charge_balanced(batch: Compositions) -> np.ndarray:
    """Whether each row can be charge-neutral with one common oxidation state per element.

    Single elements count as balanced and invalid rows as not, as in matminer's ``IonProperty(fast=True)``
    (which checks ``isclose(sum(amount * state), 0)`` over the product of common oxidation states).
    """
    table, n_states = _state_table()
    result = np.zeros(len(batch), dtype=bool)
    result[(batch.n_elements == 1) & batch.valid] = True
    for k in np.unique(batch.n_elements):
        if k < 2:
            continue
        rows = np.flatnonzero((batch.n_elements == k) & batch.valid)
        if not len(rows):
            continue
        elements = batch.element[rows, :k].astype(np.int64)
        amounts = batch.amount[rows, :k]
        widths = n_states[elements]
        possible = (widths > 0).all(axis=1)
        # every assignment's sum lies between the sums of each element's lowest and highest state: rows whose
        # range excludes zero (alloys of metals, where all states are positive) need no enumeration
        lowest, highest = _state_range()
        low = np.einsum("ij,ij->i", amounts, lowest[elements])
        high = np.einsum("ij,ij->i", amounts, highest[elements])
        possible &= (low <= 1e-8) & (high >= -1e-8)
        combos = np.prod(np.maximum(widths, 1), axis=1)
        fast = possible & (combos <= _MAX_COMBINATIONS)
        for r in np.flatnonzero(possible & ~fast):
            result[rows[r]] = _balanced_by_sets(elements[r], amounts[r])
        # Enumerate assignments as mixed-radix numbers, rows bucketed by their number of assignments so
        # that no row pays for another row's many-valent elements (e.g. carbon's nine common states).
        radix = np.cumprod(np.concatenate([np.ones((len(rows), 1), dtype=np.int64), widths[:, :-1]], axis=1), axis=1)
        lower = 0
        for cap in (1, 4, 16, 64, 256, 1024, _MAX_COMBINATIONS):
            bucket = np.flatnonzero(fast & (combos > lower) & (combos <= cap))
            lower = cap
            step = max(1, _MAX_CELLS // (cap * k))
            for start in range(0, len(bucket), step):
                chunk = bucket[start : start + step]
                combo = np.arange(cap)[None, :]
                sums = np.zeros((len(chunk), cap))
                for col in range(k):
                    pick = (combo // radix[chunk, col, None]) % widths[chunk, col, None]
                    sums += amounts[chunk, col, None] * table[elements[chunk, col, None], pick]
                hit = (np.abs(sums) <= 1e-8) & (combo < combos[chunk, None])
                result[rows[chunk]] = hit.any(axis=1)
    return result


def guess_oxidation_states(formula: str | dict[str, float], max_combinations: int = 100_000) -> dict[str, int] | None:
    """One charge-balanced oxidation state per element, or None.

    Among balanced assignments of common oxidation states, the one whose states are most common (first in
    pymatgen's lists) wins; anions are taken as the most electronegative elements.

    >>> guess_oxidation_states("SrTiO3")
    {'Sr': 2, 'Ti': 4, 'O': -2}
    """
    amounts = parse_formula(formula) if isinstance(formula, str) else dict(formula)
    table = element_table()
    symbols = list(amounts)
    options = [table.common_oxidation_states[ELEMENT_INDEX[s]] for s in symbols]
    if len(symbols) == 1:
        return {symbols[0]: 0}
    if any(not o for o in options) or np.prod([len(o) for o in options], dtype=float) > max_combinations:
        return None
    electroneg = {s: table.electronegativity[ELEMENT_INDEX[s]] for s in symbols}
    best, best_cost = None, None
    for combo in itertools.product(*[list(enumerate(o)) for o in options]):
        charge = sum(amounts[s] * state for s, (_, state) in zip(symbols, combo, strict=False))
        if abs(charge) > 1e-6:
            continue
        # prefer common states; prefer the most electronegative element negative
        cost = sum(rank for rank, _ in combo)
        cost += sum(1.0 for s, (_, st) in zip(symbols, combo, strict=False) if st < 0 and electroneg[s] < max(electroneg.values()))
        if best_cost is None or cost < best_cost:
            best, best_cost = {s: int(st) for s, (_, st) in zip(symbols, combo, strict=False)}, cost
    return best
