"""Composition featurizers of the Magpie family, vectorized over whole columns.

Each gives the same numbers as its matminer namesake (tested to 1e-6 relative) but works on the padded
(rows × elements) arrays of `matforge.chem.Compositions` with numpy instead of one Python call per formula.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from matforge.chem import (
    DEML_PROPERTIES,
    ELEMENT_SYMBOLS,
    MAGPIE_PROPERTIES,
    PYMATGEN_PROPERTIES,
    Compositions,
    charge_balanced,
    element_table,
    matminer_element_data,
)
from matforge.features._base import CompositionFeaturizer, gather, weighted_mean, weighted_sum

__all__ = [
    "ElementProperty",
    "Stoichiometry",
    "ValenceOrbital",
    "ElementFraction",
    "TMetalFraction",
    "IonProperty",
    "BandCenter",
]

WARD_2016 = (
    "L. Ward, A. Agrawal, A. Choudhary, C. Wolverton, A general-purpose machine learning framework for "
    "predicting properties of inorganic materials, npj Comput. Mater. 2, 16028 (2016). doi:10.1038/npjcompumats.2016.28"
)
MATMINER = (
    "L. Ward et al., Matminer: An open source toolkit for materials data mining, Comput. Mater. Sci. 152, "
    "60-69 (2018). doi:10.1016/j.commatsci.2018.05.018"
)

_STATS = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
_STD_STATS = ("minimum", "maximum", "range", "mean", "std_dev")
DEML_2016 = (
    "A. M. Deml, R. O'Hayre, C. Wolverton, V. Stevanovic, Predicting density functional theory total energies and "
    "enthalpies of formation of metal-nonmetal compounds by linear regression, Phys. Rev. B 93, 085142 (2016)."
)
PYMATGEN = (
    "S. P. Ong et al., Python Materials Genomics (pymatgen): A robust, open-source python library for materials "
    "analysis, Comput. Mater. Sci. 68, 314-319 (2013). doi:10.1016/j.commatsci.2012.10.028"
)


class _Preset(NamedTuple):
    label: str  # matminer's name of the data source, the first word of every feature label
    source: str  # which element data (`_property_table`)
    properties: tuple[str, ...]
    stats: tuple[str, ...]  # the default statistics
    citation: str


_PRESETS = {
    "magpie": _Preset("MagpieData", "magpie", MAGPIE_PROPERTIES, _STATS, WARD_2016),
    "deml": _Preset("DemlData", "deml", DEML_PROPERTIES, _STD_STATS, DEML_2016),
    "matminer": _Preset("PymatgenData", "pymatgen", PYMATGEN_PROPERTIES, _STD_STATS, PYMATGEN),
}


class ElementProperty(CompositionFeaturizer):
    """Statistics of element properties weighted by atomic fraction (Ward et al. 2016).

    ``preset="magpie"`` gives the 132 Magpie features (minimum, maximum, range, mean, avg_dev and mode of 22
    element properties), labelled and valued as matminer's ``ElementProperty.from_preset("magpie")``:
    ``mean = Σ f_i p_i``, ``avg_dev = Σ f_i |p_i - mean|``, ``mode`` = property of the most abundant element
    (the smallest value on ties). ``preset="deml"`` (16 properties of Deml et al. 2016: heats of fusion,
    boiling points, polarizability, ionization energy, ...) and ``preset="matminer"`` (13 of pymatgen's: bulk
    modulus, thermal conductivity and expansion, resistivity, ...) give minimum, maximum, range, mean and
    ``std_dev = (Σ f_i (p_i - mean)² / (1 - Σ f_i²))^½`` (0 for one element), as matminer's presets of those
    names with ``impute_nan=True``.
    `stats` (default: the preset's) picks and orders the statistics; `properties` a subset of the preset's.

    >>> ElementProperty().fit_transform(["Fe2O3"]).shape
    (1, 132)
    >>> ElementProperty(preset="deml").fit_transform(["Fe2O3"]).shape
    (1, 80)
    """

    summary = "element-property statistics: Magpie (132 features), Deml (80) or pymatgen (65) data"

    def __init__(
        self,
        preset: str = "magpie",
        properties: tuple[str, ...] | None = None,
        stats: tuple[str, ...] | None = None,
        formula_col: str | None = None,
        on_error: str = "raise",
        n_jobs: int = 1,
        chunk_size: int = 4096,
    ):
        self.preset = preset
        self.properties = properties
        self.stats = stats
        self.formula_col = formula_col
        self.on_error = on_error
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size

    def _preset(self) -> _Preset:
        if self.preset not in _PRESETS:
            raise ValueError(f"unknown ElementProperty preset {self.preset!r}; use one of {sorted(_PRESETS)}")
        return _PRESETS[self.preset]

    def _properties(self) -> tuple[str, ...]:
        return self._preset().properties if self.properties is None else tuple(self.properties)

    def _stats(self) -> tuple[str, ...]:
        return self._preset().stats if self.stats is None else tuple(self.stats)

    def feature_labels(self) -> list[str]:
        label = self._preset().label
        return [f"{label} {stat} {prop}" for prop in self._properties() for stat in self._stats()]

    def citations(self) -> list[str]:
        return list(dict.fromkeys([WARD_2016, MATMINER, self._preset().citation]))

    def compute(self, batch: Compositions) -> np.ndarray:
        props, stats = self._properties(), self._stats()
        unknown = [s for s in stats if s not in _STATS + ("std_dev",)]
        if unknown:
            raise ValueError(f"unknown statistic {unknown[0]!r}; choose from {_STATS + ('std_dev',)}")
        n, k = batch.element.shape
        mask = batch.mask
        # Padding slots repeat the row's first element: equal values leave minimum and maximum unchanged and
        # zero fractions leave the weighted sums unchanged, so no (rows × elements × properties) masking.
        element = np.where(mask, batch.element, batch.element[:, :1]).astype(np.intp)
        values = np.take(_property_table(self._preset().source, props), element, axis=0)  # (n, K, p)
        mean = weighted_sum(batch.fraction, values)
        results: dict[str, np.ndarray] = {"mean": mean}
        if "minimum" in stats or "range" in stats:
            results["minimum"] = _reduce_slots(np.minimum, values)
        if "maximum" in stats or "range" in stats:
            results["maximum"] = _reduce_slots(np.maximum, values)
        if "range" in stats:
            results["range"] = results["maximum"] - results["minimum"]
        if "avg_dev" in stats or "std_dev" in stats:
            deviation = values - mean[:, None, :]
            if "std_dev" in stats:
                # matminer's PropertyStats.std_dev: the unbiased weighted variance with the fractions as
                # reliability weights, Σ f (p - mean)² / (1 - Σ f²), which does not depend on how the
                # formula is scaled; 0 for one element
                spread = 1.0 - np.sum(batch.fraction**2, axis=1, keepdims=True)
                variance = weighted_sum(batch.fraction, deviation**2)
                results["std_dev"] = np.sqrt(np.divide(variance, spread, out=np.zeros_like(variance), where=spread > 1e-12))
            np.abs(deviation, out=deviation)
            results["avg_dev"] = weighted_sum(batch.fraction, deviation)
        if "mode" in stats:
            # as matminer: among the elements whose amount is close to the largest, the smallest value
            amount = np.where(mask, batch.amount, -np.inf)
            top = np.isclose(amount, amount.max(axis=1, keepdims=True))
            mode = values[np.arange(n), np.argmax(amount, axis=1)]
            tied = np.flatnonzero(top.sum(axis=1) > 1)
            if len(tied):
                mode[tied] = np.where(top[tied, :, None], values[tied], np.inf).min(axis=1)
            results["mode"] = mode
        # columns property-major, statistic-minor (matminer's order)
        out = np.empty((n, len(props), len(stats)))
        for j, stat in enumerate(stats):
            out[:, :, j] = results[stat]
        return out.reshape(n, -1)


def _reduce_slots(ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
    """(n, K, p) → (n, p) slot by slot: a few whole-array operations instead of a reduction along a short
    middle axis, which numpy walks element by element."""
    result = values[:, 0, :].copy()
    for k in range(1, values.shape[1]):
        ufunc(result, values[:, k, :], out=result)
    return result


@lru_cache(maxsize=16)
def _property_table(source: str, names: tuple[str, ...]) -> np.ndarray:
    if source == "magpie":
        return element_table().properties(names)
    available = DEML_PROPERTIES if source == "deml" else PYMATGEN_PROPERTIES
    missing = [n for n in names if n not in available]
    if missing:
        raise KeyError(f"unknown element properties {missing}; available: {list(available)}")
    return matminer_element_data(source)[:, [available.index(n) for n in names]]


class Stoichiometry(CompositionFeaturizer):
    """L^p norms of the atomic fractions, ``(Σ f_i^p)^(1/p)``; p = 0 counts the elements (Ward et al. 2016)."""

    summary = "stoichiometric p-norms (6 features)"

    def __init__(self, p_list: tuple[int, ...] = (0, 2, 3, 5, 7, 10), formula_col=None, on_error="raise", n_jobs=1, chunk_size=4096):
        self.p_list = p_list
        self.formula_col = formula_col
        self.on_error = on_error
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size

    def feature_labels(self) -> list[str]:
        return [f"{p}-norm" for p in self.p_list]

    def citations(self) -> list[str]:
        return [WARD_2016]

    def compute(self, batch: Compositions) -> np.ndarray:
        cols = []
        for p in self.p_list:
            if p < 0:
                raise ValueError("p-norm is not defined for p < 0")
            if p == 0:
                cols.append(batch.n_elements.astype(float))
            else:
                cols.append(np.sum(batch.fraction**p, axis=1) ** (1.0 / p))
        return np.column_stack(cols)


class ValenceOrbital(CompositionFeaturizer):
    """Mean number of s, p, d, f valence electrons (``avg``) and their share of all valence electrons (``frac``)."""

    summary = "valence-orbital occupation (s, p, d, f)"

    def __init__(self, orbitals=("s", "p", "d", "f"), props=("avg", "frac"), formula_col=None, on_error="raise", n_jobs=1, chunk_size=4096):
        self.orbitals = orbitals
        self.props = props
        self.formula_col = formula_col
        self.on_error = on_error
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size

    def feature_labels(self) -> list[str]:
        return [f"{prop} {orb} valence electrons" for prop in self.props for orb in self.orbitals]

    def citations(self) -> list[str]:
        return [WARD_2016]

    def compute(self, batch: Compositions) -> np.ndarray:
        names = tuple(f"N{o}Valence" for o in self.orbitals) + ("NValence",)
        means = weighted_mean(gather(element_table().properties(names), batch), batch)
        avg, total = means[:, :-1], means[:, -1:]
        with np.errstate(invalid="ignore", divide="ignore"):  # rows that failed to parse have no electrons
            parts = {"avg": avg, "frac": avg / total}
        return np.column_stack([parts[p] for p in self.props])


class ElementFraction(CompositionFeaturizer):
    """Atomic fraction of each element H..Og (118 columns, as matminer 0.10's ``ElementFraction``)."""

    summary = "atomic fraction of each element (118 features)"
    n_elements = 118

    def feature_labels(self) -> list[str]:
        return list(ELEMENT_SYMBOLS[: self.n_elements])

    def citations(self) -> list[str]:
        return [MATMINER]

    def compute(self, batch: Compositions) -> np.ndarray:
        out = np.zeros((len(batch), len(ELEMENT_SYMBOLS)))
        rows = np.broadcast_to(np.arange(len(batch))[:, None], batch.element.shape)
        mask = batch.mask
        np.add.at(out, (rows[mask], batch.element[mask].astype(np.int64)), batch.fraction[mask])
        return out[:, : self.n_elements]


_MAGNETIC_METALS = np.isin(
    np.array(ELEMENT_SYMBOLS),
    ["Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Ta", "W", "Re", "Os",
     "Ir", "Pt"],
)  # fmt: skip


class TMetalFraction(CompositionFeaturizer):
    """Fraction of atoms that are magnetic transition metals (Deml et al., Phys. Rev. B 93, 085142, 2016).

    The metals are Deml's (and matminer's ``TMetalFraction``): Ti-Cu, Nb-Ag and Ta-Pt; Sc, Y, Zn, Cd, Hf, La
    and Hg do not count.
    """

    summary = "transition-metal fraction"

    def feature_labels(self) -> list[str]:
        return ["transition metal fraction"]

    def citations(self) -> list[str]:
        return [DEML_2016]

    def compute(self, batch: Compositions) -> np.ndarray:
        tm = _MAGNETIC_METALS[batch.element.astype(np.int64)] & batch.mask
        return np.sum(batch.fraction * tm, axis=1, keepdims=True)


class IonProperty(CompositionFeaturizer):
    """Ionic-compound features (Ward et al. 2016), as matminer's ``IonProperty(fast=True)``.

    ``compound possible``: 1 if a charge-neutral assignment of one common oxidation state per element exists;
    ``max ionic char`` and ``avg ionic char``: ``I_ij = 1 - exp(-(χ_i - χ_j)² / 4)`` (Pauling χ), the maximum
    over element pairs and ``Σ_{i<j} f_i f_j I_ij``.
    """

    summary = "ionic character and charge balance (3 features)"

    def feature_labels(self) -> list[str]:
        return ["compound possible", "max ionic char", "avg ionic char"]

    def citations(self) -> list[str]:
        return [WARD_2016]

    def compute(self, batch: Compositions) -> np.ndarray:
        chi = element_table().electronegativity[batch.element.astype(np.int64)]
        mask = batch.mask
        k = chi.shape[1]
        # slot pairs i < j, vectorized over rows: present elements fill the leading slots, so pair (i, j) is
        # real where slot j is; I rises with |Δχ|, so its maximum is the pair of largest and smallest χ
        max_ionic = np.zeros(len(chi))
        avg_ionic = np.zeros(len(chi))
        for j in range(1, k):
            for i in range(j):
                ionic = np.where(mask[:, j], 1.0 - np.exp(-0.25 * (chi[:, i] - chi[:, j]) ** 2), 0.0)
                np.maximum(max_ionic, ionic, out=max_ionic)
                avg_ionic += batch.fraction[:, i] * batch.fraction[:, j] * ionic
        possible = charge_balanced(batch).astype(float)
        return np.column_stack([possible, max_ionic, avg_ionic])


class BandCenter(CompositionFeaturizer):
    """Estimated absolute band centre: minus the geometric mean of Pauling electronegativity (Butler & Ginley 1978)."""

    summary = "band centre from electronegativity"

    def feature_labels(self) -> list[str]:
        return ["band center"]

    def citations(self) -> list[str]:
        return ["M. A. Butler, R. M. Ginley, Prediction of flatband potentials at semiconductor-electrolyte "
                "interfaces from atomic electronegativities, J. Electrochem. Soc. 125, 228 (1978)."]  # fmt: skip

    def compute(self, batch: Compositions) -> np.ndarray:
        chi = element_table().electronegativity[batch.element.astype(np.int64)]
        log_chi = np.where(batch.mask, np.log(np.where(batch.mask, chi, 1.0)), 0.0)
        return -np.exp(np.sum(batch.fraction * log_chi, axis=1, keepdims=True))
