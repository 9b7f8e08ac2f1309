"""Crystal structures in a table column: one cell, one structure, read with pymatgen.

A cell may hold a pymatgen ``Structure.as_dict()`` (JSON, or the Python literal that ``str(dict)`` writes, as
the MatBench structure files do), the text of a CIF or POSCAR file, a path to a structure file (any format
pymatgen's ``Structure.from_file`` reads: CIF, POSCAR/CONTCAR, extxyz with a cell, ...; relative paths are
taken from the table's folder), or a pymatgen ``Structure`` itself (a DataFrame built in Python).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd

from matforge.errors import InputError

__all__ = ["StructureColumn", "input_formulas", "looks_like_structures", "parse_structures", "structure_formulas", "structure_keys"]

_FILE_SUFFIXES = (".cif", ".vasp", ".poscar", ".contcar", ".json", ".xyz", ".extxyz", ".cssr", ".xsf", ".res")
_FILE_NAMES = ("POSCAR", "CONTCAR")


def _kind(value) -> str | None:
    """What a cell holds: 'object', 'dict', 'cif', 'poscar', 'file', or None (not a structure)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if type(value).__name__ in ("Structure", "IStructure"):
        return "object"
    if isinstance(value, dict):
        return "dict"
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("{") and "lattice" in text and "sites" in text:
        return "dict"
    if "_cell_length_a" in text:
        return "cif"
    if "\n" in text and _looks_like_poscar(text):
        return "poscar"
    name = Path(text).name
    if "\n" not in text and (name.lower().endswith(_FILE_SUFFIXES) or name.split(".")[0] in _FILE_NAMES):
        return "file"
    return None


def _looks_like_poscar(text: str) -> bool:
    """A comment line, a scale factor, then three lattice vectors of three numbers each."""
    lines = text.strip().splitlines()
    if len(lines) < 7:
        return False
    try:
        float(lines[1].split()[0])
        return all(len([float(v) for v in line.split()[:3]]) == 3 for line in lines[2:5])
    except (ValueError, IndexError):
        return False


def looks_like_structures(values: pd.Series, base: Path | None = None) -> bool:
    """Whether a column holds structures: ≥ 95 % of a sample of its non-empty cells are read as one (a path
    only when the file exists, relative to `base`, so that a column of other file names is not taken)."""
    sample = values.dropna().head(50)
    if len(sample) == 0 or not all(isinstance(v, str) or _kind(v) in ("object", "dict") for v in sample):
        return False
    found = 0
    for value in sample:
        kind = _kind(value)
        if kind == "file":
            path = Path(value.strip())
            kind = kind if (path if path.is_absolute() or base is None else base / path).exists() else None
        found += kind is not None
    return found >= 0.95 * len(sample)


def _read_one(value, base: Path | None):
    from pymatgen.core import Structure

    kind = _kind(value)
    if kind == "object":
        return value
    if kind == "dict":
        if isinstance(value, dict):
            data = value
        else:
            try:
                data = json.loads(value)
            except json.JSONDecodeError:
                # MatBench's files write the dict as a Python literal (single quotes, tuples, None);
                # literal_eval reads literals only, never code
                data = ast.literal_eval(value.strip())
        return Structure.from_dict(data)
    if kind in ("cif", "poscar"):
        return Structure.from_str(value, fmt=kind)
    if kind == "file":
        path = Path(value.strip())
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.exists():
            raise FileNotFoundError(f"no structure file {path}")
        return Structure.from_file(path)
    raise ValueError("not a structure (a pymatgen dict, CIF or POSCAR text, or a path to a structure file)")


def parse_structures(values, *, source: str | None = None, column: str | None = None, on_error: str = "raise") -> list:
    """The pymatgen `Structure` of every cell, oxidation-state decorations removed (a featurizer reads
    elements; guessed valences are not data). ``on_error="raise"`` raises `InputError` naming the first bad
    row; ``"keep"`` gives None for bad cells and records why in the returned list's ``errors``."""
    base = Path(source).parent if source else None
    out = StructureColumn()
    for row, value in enumerate(np.asarray(values, dtype=object).ravel()):
        try:
            structure = _read_one(value, base)
            if len(structure) == 0:
                raise ValueError("the structure has no sites")
            if not structure.is_ordered:
                raise ValueError("a disordered structure (partial occupancies) is not supported; order it first, e.g. with pymatgen's OrderDisorderedStructureTransformation")
            structure = structure.copy()
            structure.remove_oxidation_states()
            out.append(structure)
        except Exception as err:  # pymatgen raises many types for a bad file; each becomes one clear line
            message = f"cannot read the crystal structure ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'})"
            if on_error == "raise":
                raise InputError(message, file=source, row=row, column=column, hint="Give a pymatgen Structure.as_dict(), CIF or POSCAR text, or a path to a structure file") from None
            out.errors[row] = message
            out.append(None)
    return out


class StructureColumn(list):
    """A list of structures (None where a cell could not be read) with ``errors``: row → reason."""

    def __init__(self, *args):
        super().__init__(*args)
        self.errors: dict[int, str] = {}


def structure_formulas(structures) -> np.ndarray:
    """The reduced formula of each structure (None where there is none), so that composition features and
    composition groups apply to structure columns as they do to formulas."""
    return np.array([None if s is None else s.composition.reduced_formula for s in structures], dtype=object)


def input_formulas(table: pd.DataFrame, formula_cols, structure_cols=()) -> list[np.ndarray]:
    """The formulas of each formula column and the compositions of each structure column of `table` (a cell
    that cannot be read gives None), for what works on compositions: CV groups, element counts."""
    out = [table[c].to_numpy(dtype=object) for c in formula_cols]
    source = table.attrs.get("source")
    return out + [structure_formulas(parse_structures(table[c].to_numpy(dtype=object), source=source, column=c, on_error="keep")) for c in structure_cols]


def structure_keys(structures) -> np.ndarray:
    """A key per structure, equal for the same material written twice (in any cell): reduced composition and
    volume per atom to 0.01 Å³. Polymorphs of one composition differ in density and get different keys (they
    are different materials, not duplicate rows)."""
    keys = np.empty(len(structures), dtype=object)
    for i, s in enumerate(structures):
        if s is None:
            keys[i] = f"invalid:{i}"
            continue
        keys[i] = f"{s.composition.reduced_composition.alphabetical_formula}|{s.volume / len(s):.2f}"
    return keys
