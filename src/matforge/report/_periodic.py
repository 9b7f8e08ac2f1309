"""Which elements a data set covers, drawn where chemists look for them: a periodic-table heat map."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matforge.report._style import plt

__all__ = ["element_counts", "periodic_table_figure", "table_position"]

# last atomic number of each period
_PERIOD_ENDS = (2, 10, 18, 36, 54, 86, 118)


def table_position(z: int) -> tuple[float, int]:
    """(row, column) of element `z` in the 18-column layout; lanthanides and actinides sit in two rows
    below the main table (rows 8.5 and 9.5), columns 3-17."""
    period = next(p for p, end in enumerate(_PERIOD_ENDS, start=1) if z <= end)
    start = _PERIOD_ENDS[period - 2] if period > 1 else 0
    pos = z - start
    if period == 1:
        return 1, 1 if z == 1 else 18
    if period in (2, 3):
        return period, pos if pos <= 2 else pos + 10
    if period in (4, 5):
        return period, pos
    if pos <= 2:
        return period, pos
    if pos <= 17:  # La-Yb / Ac-No (Lu and Lr continue group 3's f row here, as 15-element rows)
        return period + 2.5, pos
    return period, pos - 14


def element_counts(formulas) -> pd.Series:
    """Number of rows containing each element (index: element symbol, only elements that occur)."""
    from matforge.chem import parse_compositions
    from matforge.chem._formula import ELEMENT_SYMBOLS

    batch = parse_compositions(np.asarray(formulas, dtype=object), on_error="keep")
    elements = batch.element[batch.mask & batch.valid[:, None]].astype(np.int64)
    counts = np.bincount(elements, minlength=len(ELEMENT_SYMBOLS))
    present = np.flatnonzero(counts)
    return pd.Series(counts[present], index=[ELEMENT_SYMBOLS[i] for i in present], name="rows")


def periodic_table_figure(counts: pd.Series, *, n_rows: int | None = None, title: str = "element frequency"):
    """Heat map of `counts` (rows per element symbol, e.g. from `element_counts`) on the periodic table.

    Colour: fraction of the `n_rows` rows that contain the element (log scale); grey: absent elements.
    """
    from matplotlib.colors import LogNorm

    from matforge.chem._formula import ELEMENT_SYMBOLS

    pyplot = plt()
    total = n_rows or int(counts.max()) or 1
    fig, ax = pyplot.subplots(figsize=(11, 6))
    share = counts / total
    positive = share[share > 0]
    top = max(float(share.max()), 1e-3)
    norm = LogNorm(vmin=max(min(float(positive.min()), top / 10), 1e-4) if len(positive) else 1e-4, vmax=top)
    cmap = pyplot.get_cmap("viridis")
    for z, symbol in enumerate(ELEMENT_SYMBOLS, start=1):
        row, col = table_position(z)
        value = float(share.get(symbol, 0.0))
        color = cmap(norm(value)) if value > 0 else (0.92, 0.92, 0.92, 1.0)
        ax.add_patch(pyplot.Rectangle((col - 0.5, row - 0.5), 0.95, 0.95, facecolor=color, edgecolor="white"))
        dark = value > 0 and norm(value) < 0.6
        ax.text(col - 0.03, row - 0.12, symbol, ha="center", va="center", fontsize=8, color="white" if dark else "black", fontweight="bold" if value > 0 else "normal")
        if value > 0:
            ax.text(col - 0.03, row + 0.22, f"{int(counts[symbol])}", ha="center", va="center", fontsize=5.5, color="white" if dark else "black")
    ax.set(xlim=(0.4, 18.6), ylim=(10.1, 0.4), aspect="equal", title=f"{title} ({len(positive)} elements in {total} rows; number: rows containing it)")
    ax.axis("off")
    mappable = pyplot.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=ax, shrink=0.6, pad=0.01, label="fraction of rows containing the element")
    return fig
