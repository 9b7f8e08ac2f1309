"""The building blocks of a design space: compositions (and alloys), site templates, process parameters.

Every block maps an integer grid index to candidate columns (for enumeration: deterministic, chunkable) and a
real vector to the same columns (for optimizers). Grid order is lexicographic, the first element or choice
varying slowest, so the same index always means the same candidate on any machine.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from matforge.chem import ELEMENT_INDEX, element_table
from matforge.errors import InputError

__all__ = ["CompositionBlock", "TemplateBlock", "ParameterBlock", "FixedBlock", "MAX_GRID"]

# grid indices are int64; anything larger cannot be enumerated (use an optimizer instead)
MAX_GRID = 2**62


def _decimals(step: float) -> int:
    for d in range(12):
        if abs(round(step, d) - step) < 1e-12:
            return d
    return 12


def _format(symbols: list[str], fractions: np.ndarray, decimals: int) -> np.ndarray:
    """Formulas like 'Fe0.7Ni0.2Cr0.1' (zero fractions left out), built column-wise with numpy."""
    out = np.full(len(fractions), "", dtype=object)
    rounded = np.round(fractions, decimals)
    for j, symbol in enumerate(symbols):
        present = rounded[:, j] > 0
        text = np.char.mod("%.12g", rounded[:, j]).astype(object)
        out = np.where(present, out + symbol + text, out)
    return out


@dataclass
class CompositionBlock:
    """Atomic fractions of `elements` summing to 1, each within [low, high]; a `base` element takes the balance.

    With `step`, fractions are multiples of it and the block can be enumerated: grid index → composition by
    unranking bounded integer compositions (counts table over 'units left', vectorized binary search).
    """

    column: str
    elements: list[str]
    low: np.ndarray
    high: np.ndarray
    step: float | None = None
    base: str | None = None
    decimals: int = 4
    _tables: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.step:
            self.decimals = _decimals(self.step)
            self.units = round(1.0 / self.step)
            self.lo_units = np.ceil(self.low * self.units - 1e-9).astype(np.int64)
            self.hi_units = np.floor(self.high * self.units + 1e-9).astype(np.int64)

    @property
    def names(self) -> list[str]:
        return [self.column]

    @property
    def size(self) -> int | None:
        if not self.step:
            return None
        self._build()
        return self._size

    def _build(self) -> None:
        if self._tables:
            return
        N, k = self.units, len(self.elements)
        # ways[i][r]: compositions of r units over elements i..k-1 within bounds (Python ints: no overflow)
        ways = [[0] * (N + 1) for _ in range(k + 1)]
        ways[k][0] = 1
        for i in range(k - 1, -1, -1):
            for r in range(N + 1):
                ways[i][r] = sum(ways[i + 1][r - v] for v in range(self.lo_units[i], min(self.hi_units[i], r) + 1))
        self._size = ways[0][N]
        if self._size >= MAX_GRID:
            self._tables = [None]
            return
        for i in range(k):
            width = int(self.hi_units[i] - self.lo_units[i] + 1)
            cum = np.zeros((N + 1, width + 1), dtype=np.int64)
            for r in range(N + 1):
                counts = [ways[i + 1][r - v] if r - v >= 0 else 0 for v in range(self.lo_units[i], self.hi_units[i] + 1)]
                cum[r, 1:] = np.cumsum(counts)
            self._tables.append(cum)

    def step_counts(self, index: np.ndarray) -> np.ndarray:
        """Grid index → (n, elements) integer numbers of steps, summing to ``1 / step``."""
        self._build()
        rem = np.full(len(index), self.units, dtype=np.int64)
        left = index.astype(np.int64).copy()
        units = np.zeros((len(index), len(self.elements)), dtype=np.int64)
        for i, cum in enumerate(self._tables):
            # cum[r, j]: cumulative counts of the choices for this element with r units left; the largest j
            # with cum[rem, j] <= left, by a binary search for all rows at once that reads only the probed
            # entries (gathering each row's whole table was most of the enumeration time for wide bounds)
            lo, hi = np.zeros(len(index), np.int64), np.full(len(index), cum.shape[1] - 1, np.int64)
            while (lo < hi).any():
                mid = (lo + hi + 1) // 2
                go = cum[rem, mid] <= left
                lo, hi = np.where(go, mid, lo), np.where(go, hi, mid - 1)
            left -= cum[rem, lo]
            units[:, i] = self.lo_units[i] + lo
            rem -= units[:, i]
        return units

    def grid(self, index: np.ndarray) -> tuple[dict, dict]:
        return self.grid_columns(self.step_counts(index))

    def _labels(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per element, the formula piece (``'Ni0.2'``, ``''`` for zero) and its parsed amount for every step count."""
        if not hasattr(self, "_label_cache"):
            from matforge.chem import parse_formula

            texts, amounts = [], []
            for j, symbol in enumerate(self.elements):
                counts = np.arange(self.lo_units[j], self.hi_units[j] + 1)
                fractions = np.zeros((len(counts), len(self.elements)))
                fractions[:, j] = counts / self.units
                # the very function the optimizers' formulas go through, so both write the same text
                pieces = _format(self.elements, fractions, self.decimals)
                texts.append(pieces)
                # parsed by the one parser, so that features from these amounts equal features of the text
                amounts.append(np.array([parse_formula(t)[symbol] if t else 0.0 for t in pieces]))
            self._label_cache = (texts, amounts)
        return self._label_cache

    def grid_columns(self, units: np.ndarray, *, text: bool = True) -> tuple[dict, dict]:
        """Columns and constraint namespace of grid points given as step counts (formula text by table look-up;
        no columns with ``text=False``)."""
        fractions = units / self.units
        namespace = {e: fractions[:, j] for j, e in enumerate(self.elements)}
        if not text:
            return {}, namespace
        texts, _ = self._labels()
        formula = np.full(len(units), "", dtype=object)
        for j in range(len(self.elements)):
            formula = formula + texts[j][units[:, j] - self.lo_units[j]]
        return {self.column: formula}, namespace

    def compositions(self, units: np.ndarray):
        """The parsed form (`matforge.chem.Compositions`) of the formulas `grid_columns` writes, built without
        writing and parsing text: the same elements in the same order with the same amounts, so every feature
        is the same to the last bit."""
        from matforge.chem import ELEMENT_INDEX, Compositions

        _, amounts = self._labels()
        n, k = units.shape
        amount = np.empty((n, k))
        for j in range(k):
            amount[:, j] = amounts[j][units[:, j] - self.lo_units[j]]
        present = amount > 0
        # elements as written: in the block's order, zero fractions left out
        order = np.argsort(~present, axis=1, kind="stable")
        n_elements = present.sum(axis=1)
        width = max(1, int(n_elements.max())) if n else 1
        order = order[:, :width]
        amount = np.take_along_axis(amount, order, axis=1)
        element = np.array([ELEMENT_INDEX[e] for e in self.elements], dtype=np.int16)[order]
        padding = np.arange(width)[None, :] >= n_elements[:, None]
        amount[padding] = 0.0
        element[padding] = 0
        total = amount.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            fraction = np.where(total > 0, amount / np.where(total > 0, total, 1.0), 0.0)
        return Compositions(element=element, amount=amount, fraction=fraction, n_elements=n_elements, valid=n_elements > 0)

    def _columns(self, fractions: np.ndarray) -> tuple[dict, dict]:
        namespace = {e: fractions[:, j] for j, e in enumerate(self.elements)}
        return {self.column: _format(self.elements, fractions, self.decimals)}, namespace

    # ---- continuous encoding for optimizers: one variable per element, projected onto the bounded simplex
    @property
    def lower(self) -> np.ndarray:
        return self.low.astype(float)

    @property
    def upper(self) -> np.ndarray:
        return self.high.astype(float)

    def decode(self, X: np.ndarray) -> tuple[dict, dict, np.ndarray]:
        # Euclidean projection onto {sum = 1, low <= x <= high}: find the shift t by bisection
        lo_t = (X - self.high[None, :]).min(axis=1) - 1.0
        hi_t = (X - self.low[None, :]).max(axis=1) + 1.0
        for _ in range(60):
            t = (lo_t + hi_t) / 2
            total = np.clip(X - t[:, None], self.low, self.high).sum(axis=1)
            lo_t, hi_t = np.where(total > 1, t, lo_t), np.where(total > 1, hi_t, t)
        fractions = np.clip(X - ((lo_t + hi_t) / 2)[:, None], self.low, self.high)
        if self.step:
            # largest-remainder rounding keeps the sum exactly `units` steps
            raw = fractions * self.units
            units = np.floor(raw + 1e-9).astype(np.int64)
            deficit = self.units - units.sum(axis=1)
            order = np.argsort(-(raw - units), axis=1, kind="stable")
            rank = np.argsort(order, axis=1, kind="stable")
            units += rank < deficit[:, None]
            fractions = units / self.units
        fractions = fractions / fractions.sum(axis=1, keepdims=True)
        outside = np.maximum(self.low - fractions - 1e-9, 0).sum(axis=1) + np.maximum(fractions - self.high - 1e-9, 0).sum(axis=1)
        columns, namespace = self._columns(fractions)
        return columns, namespace, outside


@dataclass
class TemplateBlock:
    """Site templates like 'A B X3': one element per site from its set, optionally charge balanced.

    Cation sites take positive and anion sites negative common oxidation states (pymatgen's lists via
    `matforge.chem.element_table`); a combination is kept when some assignment sums to zero. With `unique`, a
    composition reachable by several site assignments (A=Fe, B=Ho and A=Ho, B=Fe) is listed once, with its first
    assignment. The valid combinations are listed once (product order of the site sets), so the grid index is
    their position.
    Columns: the formula, each site's element and its oxidation state ``n<site>``.
    """

    column: str
    labels: list[str]
    amounts: list[float]
    sites: dict[str, list[str]]
    anion_sites: list[str]
    charge_balanced: bool = True
    distinct: bool = True
    unique: bool = True

    def __post_init__(self) -> None:
        combos = np.array(list(itertools.product(*[[ELEMENT_INDEX[e] for e in self.sites[s]] for s in self.labels])), dtype=np.int64).reshape(-1, len(self.labels))
        if self.distinct and len(combos):
            keep = np.ones(len(combos), bool)
            for a, b in itertools.combinations(range(len(self.labels)), 2):
                keep &= combos[:, a] != combos[:, b]
            combos = combos[keep]
        states = np.zeros(combos.shape, dtype=np.int64)
        if self.charge_balanced and len(combos):
            combos, states = self._balance(combos)
        if self.unique and len(combos):
            combos, states = self._unique(combos, states)
        self.combos, self.states = combos, states

    def _unique(self, combos: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # FeHoO3 from A=Fe, B=Ho and from A=Ho, B=Fe is one composition: keep its first site assignment
        seen: set = set()
        keep = np.zeros(len(combos), dtype=bool)
        for i, row in enumerate(combos.tolist()):
            amounts: dict = {}
            for element, amount in zip(row, self.amounts, strict=True):
                amounts[element] = amounts.get(element, 0.0) + amount
            key = tuple(sorted(amounts.items()))
            if key not in seen:
                seen.add(key)
                keep[i] = True
        return combos[keep], states[keep]

    def _balance(self, combos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        table = element_table().common_oxidation_states
        width = max(len(s) for s in table)
        options = []
        for j, label in enumerate(self.labels):
            sign = -1 if label in self.anion_sites else 1
            site = np.zeros((len(ELEMENT_INDEX) + 1, width), dtype=float)
            site[:] = np.nan
            for e in set(combos[:, j].tolist()):
                allowed = [s for s in table[e] if s * sign > 0]
                site[e, : len(allowed)] = allowed
            options.append(site[combos[:, j]])
        best = np.full(len(combos), np.inf)
        chosen = np.zeros(combos.shape, dtype=np.int64)
        # every assignment of one state per site; the lowest summed list position (most common states) wins
        for slots in itertools.product(range(width), repeat=len(self.labels)):
            charge = sum(self.amounts[j] * options[j][:, s] for j, s in enumerate(slots))
            better = (np.abs(charge) < 1e-8) & (sum(slots) < best)
            if better.any():
                best[better] = sum(slots)
                chosen[better] = np.column_stack([options[j][better, s] for j, s in enumerate(slots)])
        ok = np.isfinite(best)
        return combos[ok], chosen[ok]

    @property
    def names(self) -> list[str]:
        return [self.column, *self.labels, *[f"n{label}" for label in self.labels]]

    @property
    def size(self) -> int:
        return len(self.combos)

    def grid(self, index: np.ndarray) -> tuple[dict, dict]:
        from matforge.chem import ELEMENT_SYMBOLS

        symbols = np.asarray(ELEMENT_SYMBOLS, dtype=object)
        picked = self.combos[index]
        formula = np.full(len(index), "", dtype=object)
        columns: dict = {}
        for j, label in enumerate(self.labels):
            amount = self.amounts[j]
            formula = formula + symbols[picked[:, j]] + ("" if amount == 1 else f"{amount:g}")
            columns[label] = symbols[picked[:, j]]
        for j, label in enumerate(self.labels):
            columns[f"n{label}"] = self.states[index, j]
        return {self.column: formula, **columns}, {}

    lower = property(lambda self: np.zeros(1))
    upper = property(lambda self: np.full(1, float(max(len(self.combos), 1)) - 1e-9))

    def decode(self, X: np.ndarray) -> tuple[dict, dict, np.ndarray]:
        index = np.clip(np.floor(X[:, 0]).astype(np.int64), 0, len(self.combos) - 1)
        columns, namespace = self.grid(index)
        return columns, namespace, np.zeros(len(X))


@dataclass
class ParameterBlock:
    """A process parameter: continuous (low..high, optional step or levels), integer, or categorical."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    levels: int | None = None
    choices: list | None = None

    @property
    def names(self) -> list[str]:
        return [self.name]

    def values(self) -> np.ndarray | None:
        """The grid of this parameter, or None for a continuous one without step or levels."""
        if self.kind == "categorical":
            return np.asarray(self.choices, dtype=object)
        if self.kind == "integer":
            return np.arange(int(self.low), int(self.high) + 1, int(self.step or 1), dtype=np.int64)
        if self.step:
            count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
            return np.round(self.low + self.step * np.arange(count), _decimals(self.step) + 6)
        if self.levels:
            return np.linspace(self.low, self.high, self.levels)
        return None

    @property
    def size(self) -> int | None:
        grid = self.values()
        return None if grid is None else len(grid)

    def grid(self, index: np.ndarray) -> tuple[dict, dict]:
        value = self.values()[index]
        return {self.name: value}, ({} if self.kind == "categorical" else {self.name: value.astype(float)})

    @property
    def lower(self) -> np.ndarray:
        return np.zeros(1) if self.kind == "categorical" else np.array([float(self.low)])

    @property
    def upper(self) -> np.ndarray:
        if self.kind == "categorical":
            return np.array([len(self.choices) - 1e-9])
        return np.array([float(self.high) + (1 - 1e-9 if self.kind == "integer" else 0.0)])

    def decode(self, X: np.ndarray) -> tuple[dict, dict, np.ndarray]:
        x = X[:, 0]
        if self.kind == "categorical":
            return self.grid(np.clip(np.floor(x).astype(np.int64), 0, len(self.choices) - 1)) + (np.zeros(len(X)),)
        if self.kind == "integer":
            step = int(self.step or 1)
            value = int(self.low) + step * np.floor((np.clip(x, self.low, self.high) - self.low) / step + 1e-9).astype(np.int64)
        else:
            value = np.clip(x, self.low, self.high)
            if self.step:
                value = np.round(self.low + self.step * np.round((value - self.low) / self.step), _decimals(self.step) + 6)
                value = np.where(value > self.high + 1e-12, value - self.step, value)
        return {self.name: value}, {self.name: np.asarray(value, dtype=float)}, np.zeros(len(X))


@dataclass
class FixedBlock:
    """A column with one value for every candidate (e.g. a process setting the model needs but you keep)."""

    name: str
    value: object
    size: int = 1
    lower = property(lambda self: np.zeros(0))
    upper = property(lambda self: np.zeros(0))

    @property
    def names(self) -> list[str]:
        return [self.name]

    def grid(self, index: np.ndarray) -> tuple[dict, dict]:
        column = np.full(len(index), self.value, dtype=object if isinstance(self.value, str) else None)
        return {self.name: column}, ({} if isinstance(self.value, str) else {self.name: column.astype(float)})

    def decode(self, X: np.ndarray) -> tuple[dict, dict, np.ndarray]:
        return self.grid(np.zeros(len(X), dtype=np.int64)) + (np.zeros(len(X)),)


def check_element(symbol: object, where: str, file: str | None) -> str:
    if not isinstance(symbol, str) or symbol not in ELEMENT_INDEX:
        raise InputError(f"{where}: '{symbol}' is not an element symbol", file=file, hint="Use symbols like Fe, Ni, O")
    return symbol


@dataclass
class PrototypeBlock(TemplateBlock):
    """Element substitutions in a prototype crystal structure, for models of a structure column.

    Each species of the prototype is a site (every atom of that element is replaced together) with its element
    list; the combinations are chosen as for `TemplateBlock` (charge balance, distinct elements), in product
    order of the site lists. A candidate is the prototype with the new elements, its cell scaled to the volume
    pymatgen's `RLSVolumePredictor` gives from the prototype's (the volume times the cube of the ratio of the
    summed ionic radii of the states chosen, atomic radii where the sites are not charge balanced or a radius
    is missing). With a `relaxer` (`matforge.design._relax.Relaxer`) the scaled crystal is then relaxed by an
    interatomic potential within the prototype's space group; otherwise it is not relaxed, but its bond lengths
    follow its atoms' sizes.
    Columns: the structure (pymatgen JSON, the model's structure column), its reduced formula, and each
    site's element (``<species> site``) and, when charge balanced, oxidation state (``<species> site charge``);
    with a relaxer also ``energy per atom`` (eV/atom, the potential's) and ``relax converged``.
    """

    prototype: object = None  # a pymatgen Structure
    formula_column: str = "formula"
    volume: str = "radii"
    reference_states: dict = field(default_factory=dict)  # the prototype's own oxidation states
    relaxer: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._relaxed: dict[int, tuple] = {}  # grid index -> relaxed (structure, energy, converged): screens ask twice
        self._ionic = self.volume == "radii" and self.charge_balanced and bool(self.reference_states)
        self._reference = self.prototype
        if self._ionic:  # decorated with its states once, so the volume predictor reads ionic radii (no bond-valence guess)
            from pymatgen.core import Species

            self._reference = self.prototype.copy()
            self._reference.replace_species({label: Species(label, self.reference_states[label]) for label in self.labels})

    @property
    def names(self) -> list[str]:
        from matforge.design._relax import RELAX_COLUMNS

        charges = [f"{label} site charge" for label in self.labels] if self.charge_balanced else []
        relaxed = list(RELAX_COLUMNS) if self.relaxer is not None else []
        return [self.column, self.formula_column, *[f"{label} site" for label in self.labels], *charges, *relaxed]

    @property
    def max_chunk(self) -> int | None:
        """Candidates per screening chunk when each takes a relaxation (so progress shows and memory stays small)."""
        return 32 if self.relaxer is not None else None

    def grid(self, index: np.ndarray) -> tuple[dict, dict]:
        from matforge.chem import ELEMENT_SYMBOLS

        symbols = np.asarray(ELEMENT_SYMBOLS, dtype=object)
        picked, states = symbols[self.combos[index]], self.states[index]
        if self.relaxer is None:
            structures = [self._substituted(row, charge) for row, charge in zip(picked.tolist(), states.tolist(), strict=True)]
        else:
            relaxed = [self._relax(int(i), row, charge) for i, row, charge in zip(index.tolist(), picked.tolist(), states.tolist(), strict=True)]
            structures = [r[0] for r in relaxed]
        columns = {self.column: [s.to_json() for s in structures], self.formula_column: [s.composition.reduced_formula for s in structures]}
        for j, label in enumerate(self.labels):
            columns[f"{label} site"] = picked[:, j]
        if self.charge_balanced:
            for j, label in enumerate(self.labels):
                columns[f"{label} site charge"] = states[:, j]
        if self.relaxer is not None:
            from matforge.design._relax import CONVERGED_COLUMN, ENERGY_COLUMN

            columns[ENERGY_COLUMN] = np.array([r[1] for r in relaxed], dtype=float)
            columns[CONVERGED_COLUMN] = np.array([r[2] for r in relaxed], dtype=bool)
        return columns, {}

    def _relax(self, index: int, elements: list[str], states: list[int]) -> tuple:
        if index not in self._relaxed:
            self._relaxed[index] = self.relaxer(self._substituted(elements, states))
        return self._relaxed[index]

    def _substituted(self, elements: list[str], states: list[int]):
        import warnings

        from pymatgen.analysis.structure_prediction.volume_predictor import RLSVolumePredictor
        from pymatgen.core import Species

        structure = self.prototype.copy()
        structure.replace_species(dict(zip(self.labels, elements, strict=True)))
        if self.volume == "radii":
            candidate = structure
            if self._ionic:  # decorated with the states chosen, as the reference is
                candidate = self.prototype.copy()
                candidate.replace_species({label: Species(e, s) for label, e, s in zip(self.labels, elements, states, strict=True)})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "will attempt atomic radii" where an ionic radius is missing
                volume = RLSVolumePredictor(check_isostructural=False, radii_type="ionic-atomic" if self._ionic else "atomic", use_bv=False).predict(candidate, self._reference)
            structure.scale_lattice(volume)
        return structure
