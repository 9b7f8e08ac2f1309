"""The one element table of matforge, built once from the data that ships with matminer and pymatgen.

Sources (nothing is copied into this repository):
- Magpie element properties: ``matminer/utils/data_files/magpie_elementdata/*.table`` (Ward et al., npj
  Comput. Mater. 2016), missing values imputed exactly as matminer's ``MagpieData(impute_nan=True)`` does
  (mean over the elements that have a value), so our features equal matminer's.
- Pauling electronegativity, common oxidation states and Shannon ionic radii: pymatgen.
- Deml et al. 2016's and pymatgen's element properties of matminer's ``deml`` and ``matminer`` presets
  (`matminer_element_data`): read through matminer's ``DemlData`` / ``PymatgenData`` with their imputation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from matforge.chem._formula import ELEMENT_INDEX, ELEMENT_SYMBOLS

__all__ = [
    "ElementTable",
    "element_table",
    "shannon_radius",
    "MAGPIE_PROPERTIES",
    "DEML_PROPERTIES",
    "PYMATGEN_PROPERTIES",
    "matminer_element_data",
]

N_ELEMENTS = len(ELEMENT_SYMBOLS)

MAGPIE_PROPERTIES: tuple[str, ...] = (
    "Number", "MendeleevNumber", "AtomicWeight", "MeltingT", "Column", "Row", "CovalentRadius",
    "Electronegativity", "NsValence", "NpValence", "NdValence", "NfValence", "NValence", "NsUnfilled",
    "NpUnfilled", "NdUnfilled", "NfUnfilled", "NUnfilled", "GSvolume_pa", "GSbandgap", "GSmagmom",
    "SpaceGroupNumber",
)  # fmt: skip
"""The 22 element properties of the Magpie feature set, in matminer's order."""

DEML_PROPERTIES: tuple[str, ...] = (
    "atom_num", "atom_mass", "row_num", "col_num", "atom_radius", "molar_vol", "heat_fusion", "melting_point",
    "boiling_point", "heat_cap", "first_ioniz", "electronegativity", "electric_pol", "GGAU_Etot", "mus_fere",
    "FERE correction",
)  # fmt: skip
"""The 16 element properties of matminer's ``ElementProperty.from_preset("deml")`` (Deml et al. 2016)."""

PYMATGEN_PROPERTIES: tuple[str, ...] = (
    "X", "row", "group", "block", "atomic_mass", "atomic_radius", "mendeleev_no", "electrical_resistivity",
    "velocity_of_sound", "thermal_conductivity", "melting_point", "bulk_modulus",
    "coefficient_of_linear_thermal_expansion",
)  # fmt: skip
"""The 13 element properties of matminer's ``ElementProperty.from_preset("matminer")`` (pymatgen's data)."""


@dataclass(frozen=True)
class ElementTable:
    """Read-only per-element data, indexed by ``Z - 1`` (see `ELEMENT_SYMBOLS`)."""

    symbols: tuple[str, ...]
    magpie: dict[str, np.ndarray]
    electronegativity: np.ndarray
    common_oxidation_states: tuple[tuple[int, ...], ...]
    is_transition_metal: np.ndarray

    def properties(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """The (118, len(names)) matrix of Magpie properties, in the order asked."""
        missing = [n for n in names if n not in self.magpie]
        if missing:
            raise KeyError(f"unknown element properties {missing}; available: {sorted(self.magpie)}")
        return np.column_stack([self.magpie[n] for n in names])

    def index(self, symbol: str) -> int:
        return ELEMENT_INDEX[symbol]


def _read_magpie_tables() -> dict[str, np.ndarray]:
    folder = resources.files("matminer") / "utils" / "data_files" / "magpie_elementdata"
    tables: dict[str, np.ndarray] = {}
    for entry in folder.iterdir():
        name = entry.name
        if not name.endswith(".table") or name == "OxidationStates.table":
            continue
        lines = entry.read_text().splitlines()
        values = np.full(N_ELEMENTS, np.nan)
        for z in range(1, N_ELEMENTS + 1):
            try:
                values[z - 1] = float(lines[z - 1])
            except (ValueError, IndexError):
                pass
        if np.isnan(values).all():
            continue
        values[np.isnan(values)] = np.nanmean(values)
        values.setflags(write=False)
        tables[name[: -len(".table")]] = values
    return tables


@lru_cache(maxsize=1)
def element_table() -> ElementTable:
    """The element table, built on first use and shared by every featurizer (about 50 ms)."""
    from pymatgen.core.periodic_table import Element

    elements = [Element.from_Z(z) for z in range(1, N_ELEMENTS + 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = np.array([e.X if e.X and not np.isnan(e.X) else np.nan for e in elements], dtype=float)
    # impute as matminer's PymatgenData(impute_nan=True): mean over the elements that have a value
    x[np.isnan(x)] = np.nanmean(x)
    x.setflags(write=False)
    tm = np.array([e.is_transition_metal for e in elements], dtype=bool)
    tm.setflags(write=False)
    return ElementTable(
        symbols=ELEMENT_SYMBOLS,
        magpie=_read_magpie_tables(),
        electronegativity=x,
        common_oxidation_states=tuple(tuple(int(o) for o in e.common_oxidation_states) for e in elements),
        is_transition_metal=tm,
    )


@lru_cache(maxsize=2)
def matminer_element_data(source: str) -> np.ndarray:
    """The (118, p) matrix of matminer's ``DemlData`` (``source="deml"``, `DEML_PROPERTIES`) or ``PymatgenData``
    (``"pymatgen"``, `PYMATGEN_PROPERTIES`) element properties, missing values imputed as their
    ``impute_nan=True`` does (mean over the elements that have one; pymatgen's block s/p/d/f as 1/2/3/3).

    Read through matminer's own data classes, element by element, once per process (0.6-3.3 s measured, most of it
    importing matminer), so that the values and their imputation are matminer's and not a second copy of them.
    """
    from matminer.utils.data import DemlData, PymatgenData
    from pymatgen.core.periodic_table import Element

    sources = {"deml": (DemlData, DEML_PROPERTIES), "pymatgen": (PymatgenData, PYMATGEN_PROPERTIES)}
    if source not in sources:
        raise ValueError(f"unknown element data source {source!r}; choose from {sorted(sources)}")
    data_class, names = sources[source]
    data = data_class(impute_nan=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns for every property it lacks; they are imputed
        table = np.array(
            [[float(data.get_elemental_property(Element.from_Z(z), name)) for name in names] for z in range(1, N_ELEMENTS + 1)]
        )
    table.setflags(write=False)
    return table


_ROMAN = {
    2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII", 8: "VIII", 9: "IX", 10: "X", 11: "XI", 12: "XII",
    14: "XIV",
}  # fmt: skip


@lru_cache(maxsize=4096)
def shannon_radius(symbol: str, oxidation_state: int, coordination: int) -> float:
    """Shannon (1976) effective ionic radius in Å, from pymatgen; NaN where the table has no entry.

    Where the exact coordination is not tabulated, the nearest tabulated coordination is used (the common
    practice for A-site radii at CN XII, e.g. Bartel et al. 2019).
    """
    from pymatgen.core.periodic_table import Species

    try:
        species = Species(symbol, oxidation_state)
        radii = species.element.data.get("Shannon radii", {}).get(str(int(oxidation_state)), {})
    except (ValueError, KeyError, AttributeError):
        return float("nan")
    if not radii:
        return float("nan")
    by_cn: dict[int, float] = {}
    inverse_roman = {v: k for k, v in _ROMAN.items()}
    for cn_label, spins in radii.items():
        cn = inverse_roman.get(cn_label.replace("_", " ").split()[0])
        if cn is None:
            continue
        # high spin where spin states differ (the usual choice without further knowledge)
        spin = spins.get("High Spin") or spins.get("") or next(iter(spins.values()))
        by_cn[cn] = float(spin["ionic_radius"])
    if not by_cn:
        return float("nan")
    nearest = min(by_cn, key=lambda cn: (abs(cn - coordination), -cn))
    return by_cn[nearest]
