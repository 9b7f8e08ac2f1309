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

__all__ = [
    "STRUCTURE_COLUMN", "STRUCTURE_HINT", "StructureColumn", "align_structure_column", "input_formulas", "is_structure_source",
    "looks_like_structures", "parse_structures", "read_structure_table", "structure_formulas", "structure_keys",
]  # fmt: skip

_FILE_SUFFIXES = (".cif", ".vasp", ".poscar", ".contcar", ".json", ".xyz", ".extxyz", ".cssr", ".xsf", ".res")
_FILE_NAMES = ("POSCAR", "CONTCAR")


def _vasp_name(name: str) -> bool:
    # named as VASP users name them, which pymatgen's Structure.from_file reads: POSCAR, POSCAR_0, POSCAR-mp-149,
    # 2_CONTCAR, POSCAR.1, Si.POSCAR; not a table or a note named after one (POSCAR_energies.csv)
    suffix = Path(name).suffix
    plain = suffix == "" or suffix[1:].isdigit() or suffix[1:].upper() in _FILE_NAMES
    return plain and any(key in name.upper() for key in _FILE_NAMES)

# files of one structure each, as a folder of them holds (JSON and xyz files are too often something else)
_SINGLE_SUFFIXES = (".cif", ".vasp", ".poscar", ".contcar", ".cssr", ".xsf", ".res")
_FRAME_SUFFIXES = (".extxyz", ".xyz")
STRUCTURE_COLUMN = "structure"  # the column `read_structure_table` writes
STRUCTURE_HINT = "Give a pymatgen Structure.as_dict(), CIF or POSCAR text, or a path to a structure file"


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
    if "\n" not in text and (name.lower().endswith(_FILE_SUFFIXES) or _vasp_name(name)):
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
    elements; guessed valences are not data). Partially occupied sites are kept as they are (`StructureFeatures`
    reads them as the average of their occupants). ``on_error="raise"`` raises `InputError` naming the first bad
    row; ``"keep"`` gives None for bad cells and records why in the returned list's ``errors``."""
    base = Path(source).parent if source else None
    out = StructureColumn()
    for row, value in enumerate(np.asarray(values, dtype=object).ravel()):
        try:
            structure = _read_one(value, base)
            if len(structure) == 0:
                raise ValueError("the structure has no sites")
            structure = structure.copy()
            structure.remove_oxidation_states()
            out.append(structure)
        except Exception as err:  # pymatgen raises many types for a bad file; each becomes one clear line
            named = f" file {value.strip()}" if _kind(value) == "file" else ""  # the file, where a row number says little
            message = f"cannot read the crystal structure{named} ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'})"
            if on_error == "raise":
                raise InputError(message, file=source, row=row, column=column, hint=STRUCTURE_HINT) from None
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


def _is_single_structure_file(path: Path) -> bool:
    return path.suffix.lower() in _SINGLE_SUFFIXES or _vasp_name(path.name)


def is_structure_source(path: Path) -> bool:
    """Whether `read_table` reads `path` as structures: a folder, a CIF/POSCAR-like file, or (ext)xyz frames."""
    return path.is_dir() or _is_single_structure_file(path) or path.suffix.lower() in _FRAME_SUFFIXES


def read_structure_table(path: str | Path) -> pd.DataFrame:
    """A table with one row per crystal structure, its column ``structure``:

    - a folder: every CIF, POSCAR/CONTCAR, .vasp, .cssr, .xsf or .res file in it and its subfolders (hidden
      ones skipped), sorted by path, each cell the file's path (``folder/sub/POSCAR``, read relative to the
      folder's parent, so that the table can be predicted, featurized or screened as it is);
    - one such file: one row (a CIF with several data blocks: one row per block, each cell the block's text);
    - an extended XYZ file (.extxyz, .xyz; read with ASE, the ``[atoms]`` extra): one row per frame, the cell a
      pymatgen ``Structure.as_dict()`` as JSON, plus one column per scalar the frames carry (``info`` keys and
      the energy, as written: a total energy grows with the cell, divide it by the atom count for a per-atom
      property). Per-atom arrays (forces) are not table columns. A frame without a periodic cell is refused.

    The table's ``attrs`` name the column (``attrs["structure_col"]``), so that a model trained on one structure
    column under another name reads it (`align_structure_column`).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*")
            if p.is_file() and _is_single_structure_file(p) and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )  # fmt: skip
        if not files:
            raise InputError(
                "the folder holds no structure files", file=str(path),
                hint="Give a folder of CIF or POSCAR files, or a table file (csv, xlsx, json, parquet)",
            )  # fmt: skip
        frame = pd.DataFrame({STRUCTURE_COLUMN: [(Path(path.name) / p.relative_to(path)).as_posix() for p in files]})
    elif path.suffix.lower() in _FRAME_SUFFIXES:
        frame = _read_frames_table(path)
    else:
        text = path.read_text(encoding="utf-8", errors="replace")
        blocks = _cif_blocks(text) if path.suffix.lower() == ".cif" else []
        frame = pd.DataFrame({STRUCTURE_COLUMN: blocks if len(blocks) > 1 else [path.name]})
    frame.attrs["source"] = str(path)  # paths in the column are relative to its parent
    frame.attrs["structure_col"] = STRUCTURE_COLUMN
    return frame


def _cif_blocks(text: str) -> list[str]:
    """The data blocks of a CIF file (a block starts at a line ``data_<name>``)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.lstrip().lower().startswith("data_")]
    return ["\n".join(lines[a:b]) + "\n" for a, b in zip(starts, [*starts[1:], len(lines)])]


def _read_frames_table(path: Path) -> pd.DataFrame:
    try:
        import ase.io
    except ImportError:
        raise InputError("reading extended XYZ files needs ASE", file=str(path), hint="pip install 'matforge[atoms]'") from None
    from pymatgen.core import Lattice, Structure

    try:
        frames = ase.io.read(path, index=":", format="extxyz")
    except Exception as err:  # ASE raises many types for a malformed file; each becomes one clear line
        raise InputError(f"cannot read the extended XYZ file ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'})", file=str(path)) from None
    if not frames:
        raise InputError("the file holds no frames", file=str(path))
    rows = []
    for i, atoms in enumerate(frames):
        if not atoms.pbc.any() or abs(atoms.cell.volume) < 1e-8:
            raise InputError(
                f"frame {i} has no periodic cell (a molecule?); structure features need a crystal", file=str(path), row=i,
                hint="Write the frames with their cell (Lattice=... pbc=\"T T T\")",
            )  # fmt: skip
        structure = Structure(Lattice(atoms.cell.array), atoms.get_chemical_symbols(), atoms.positions, coords_are_cartesian=True)
        row = {STRUCTURE_COLUMN: structure.to_json()}
        values = dict(atoms.info)
        if atoms.calc is not None:
            values.update({k: v for k, v in atoms.calc.results.items() if k in ("energy", "free_energy")})
        for key, value in values.items():
            if key == STRUCTURE_COLUMN:
                raise InputError(f"frame {i} has a value named '{key}', the name of the structure column", file=str(path), row=i, hint="Rename it in the file")
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, (bool, int, float, str)):
                row[key] = value
        rows.append(row)
    return pd.DataFrame(rows)


def align_structure_column(table: pd.DataFrame, structure_cols) -> pd.DataFrame:
    """`table` with its structure column (from `read_structure_table`) named as a model's one structure column,
    where the two names differ: a model trained on a column ``cif`` predicts a folder of CIF files."""
    given, wanted = table.attrs.get("structure_col"), list(structure_cols)
    if given is None or given not in table.columns or len(wanted) != 1 or wanted[0] in table.columns:
        return table
    return table.rename(columns={given: wanted[0]})
