"""Shared by the featurization benchmarks: generated formulas (2 to 5 distinct elements of H..Pu, amounts blank,
integer or decimal with 1-3 digits, as in typical composition data sets; same seed, same formulas) and the
writing of a result file."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np

from matforge.chem import ELEMENT_SYMBOLS

_N_SYMBOLS = 94  # H..Pu: the elements that occur in real composition data


def generate_formulas(n: int, seed: int = 0, block: int = 100_000) -> list[str]:
    """`n` plain formulas such as ``"Fe2O3"``, ``"Ba0.35Sr0.65TiO3"`` (distinct elements in each).

    Built `block` formulas at a time so that the temporaries stay small next to the result.
    """
    rng = np.random.default_rng(seed)
    formulas: list[str] = []
    for start in range(0, n, block):
        formulas += _block(min(block, n - start), rng)
    return formulas


def _block(n: int, rng: np.random.Generator) -> list[str]:
    k = rng.integers(2, 6, n)
    elements = rng.integers(0, _N_SYMBOLS, (n, 5))
    while True:  # redraw rows that picked an element twice
        # columns past each row's element count hold distinct negative fillers, so only used ones can repeat
        used = np.where(np.arange(5)[None, :] < k[:, None], elements, -1 - np.arange(5)[None, :])
        ordered = np.sort(used, axis=1)
        repeated = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not repeated.any():
            break
        elements[repeated] = rng.integers(0, _N_SYMBOLS, (int(repeated.sum()), 5))
    decimals = [f"{x:.{d}f}" for x, d in zip(rng.uniform(0.05, 5.0, 4000), rng.integers(1, 4, 4000), strict=False)]
    vocabulary = np.array(["", "", "", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"] + decimals, dtype=object)
    amounts = vocabulary[rng.integers(0, len(vocabulary), (n, 5))]
    symbols = np.array(ELEMENT_SYMBOLS[:_N_SYMBOLS], dtype=object)[elements]
    parts = (symbols + amounts).tolist()
    return ["".join(row[:count]) for row, count in zip(parts, k.tolist(), strict=False)]


def save_result(result: dict, out: Path) -> dict:
    """Add the machine and its load (the benchmarks run on shared machines) and write `result` as JSON."""
    result["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    result["load_average_1min_after"] = os.getloadavg()[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result
