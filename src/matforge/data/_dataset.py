"""From a raw table to a validated `Dataset`: roles of columns, target checks, duplicates, CV groups."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matforge.chem import ELEMENT_SYMBOLS, parse_compositions
from matforge.data._structures import (
    looks_like_structures,
    parse_structures,
    structure_formulas,
    structure_keys,
)
from matforge.errors import InputError, shown_value

__all__ = ["Dataset", "Problem", "prepare_dataset", "detect_formula_columns", "detect_structure_columns", "detect_smiles_columns", "composition_keys"]

MAX_CATEGORIES = 50
# names that pandas (`to_csv` of a frame: "Unnamed: 0", "index") and data exports give a row counter
_ROW_NUMBER_NAMES = {"", "index", "idx", "id", "row", "row_id", "#", "no", "no."}


_SMILES = re.compile(r"^[A-Za-z0-9@+\-\[\]()=#$/\\%.*:]+$")


def looks_like_smiles(column: pd.Series) -> bool:
    """Text cells written as SMILES (``*CC(*)c1ccccc1``): SMILES characters only, no spaces, and bonds, branches or
    attachment points (``=``, ``#``, ``(``, ``*``) in most cells, which identifiers and names rarely have."""
    sample = column.dropna().astype(str).head(300)
    if len(sample) == 0 or not sample.map(lambda v: bool(_SMILES.match(v))).all():
        return False
    return bool(sample.str.contains(r"[=#(*]", regex=True).mean() >= 0.5)


def rdkit_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("rdkit") is not None


def detect_smiles_columns(frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> list[str]:
    """Text columns written as SMILES (`looks_like_smiles`): polymer repeat units (``*CC(*)c1ccccc1``) or
    molecules, featurized by `matforge.features.PolymerFeatures`; none without RDKit (the ``[polymer]`` extra),
    which that needs."""
    if not rdkit_available():
        return []
    return [
        name for name in frame.columns
        if name not in exclude and not pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name]) and looks_like_smiles(frame[name])
    ]  # fmt: skip


def is_row_number(name: object, column: pd.Series) -> bool:
    """A numeric column named like a row counter whose values are distinct integers: the row's place in the
    file, not a property of the material (and a leak wherever the file is sorted by source or property)."""
    label = str(name).strip().lower()
    if label not in _ROW_NUMBER_NAMES and not label.startswith("unnamed:"):
        return False
    values = column.to_numpy(dtype=float)
    return bool(np.isfinite(values).all() and (values == np.round(values)).all() and len(np.unique(values)) == len(values))


@dataclass(frozen=True)
class Problem:
    """One validation finding: where, what value, why."""

    row: int | None
    column: str | None
    value: object
    reason: str

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"row {self.row}" if self.row is not None else "", f"column '{self.column}'" if self.column else "") if p)
        value = "" if self.value is None else f" (value {shown_value(self.value)})"
        return f"{where}: {self.reason}{value}" if where else f"{self.reason}{value}"


@dataclass
class Dataset:
    """A validated table with the role of every column.

    ``frame`` holds the input columns (formula, numeric process, categorical), ``y`` the target, ``groups``
    the composition key of each row (rows with the same reduced composition never straddle train and test).
    Row numbers in ``row_ids`` refer to the user's file (0-based data rows). ``weights`` is None, or (after
    duplicates were merged) how many of the user's rows each row stands for, to pass to
    ``AutoModel.fit(sample_weight=...)``.
    """

    frame: pd.DataFrame
    y: pd.Series
    target: str
    task: str
    formula_cols: list[str]
    numeric_cols: list[str]
    categorical_cols: list[str]
    groups: np.ndarray
    row_ids: np.ndarray
    source: str | None = None
    notes: list[str] = field(default_factory=list)
    dropped_cols: list[str] = field(default_factory=list)
    duplicates_merged: int = 0
    weights: np.ndarray | None = None
    structure_cols: list[str] = field(default_factory=list)
    smiles_cols: list[str] = field(default_factory=list)

    @property
    def classes(self) -> list:
        return sorted(self.y.unique().tolist()) if self.task == "classification" else []

    def describe(self) -> dict:
        return {
            "source": self.source, "target": self.target, "task": self.task, "n_samples": int(len(self.y)),
            "formula_cols": self.formula_cols, "structure_cols": self.structure_cols, "smiles_cols": self.smiles_cols, "numeric_cols": self.numeric_cols,
            "categorical_cols": self.categorical_cols, "dropped_cols": self.dropped_cols,
            "duplicates_merged": self.duplicates_merged, "n_groups": int(len(np.unique(self.groups))),
            "notes": self.notes,
        }  # fmt: skip


def _looks_like_formulas(values: pd.Series) -> bool:
    sample = values.dropna()
    sample = sample[sample.map(lambda v: isinstance(v, str))]
    if len(sample) == 0 or len(sample) < 0.9 * len(values.dropna()):
        return False
    n_levels = len(sample.drop_duplicates())
    sample = sample.drop_duplicates().head(300)
    batch = parse_compositions(sample.to_numpy(dtype=object), on_error="keep")
    has_letters = sample.str.contains(r"[A-Z]", regex=True).to_numpy()
    # 95 % of the distinct values must parse; half where the column has too many distinct values to be a
    # category, so that a formula column with typos ('FE0.6Ni0.4' in every third row) is taken as formulas
    # and its bad rows reported, instead of being dropped as an identifier
    many = n_levels > MAX_CATEGORIES or n_levels >= 0.5 * len(values.dropna())
    if not (batch.valid & has_letters).mean() >= (0.5 if many else 0.95):
        return False
    # identifiers such as S001, S002 parse as formulas but name the same composition again and again
    distinct = len(set(composition_keys(sample.to_numpy(dtype=object))))
    return distinct >= 0.5 * len(sample)


def detect_formula_columns(frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> list[str]:
    """Columns whose values parse as chemical formulas (≥ 95% of a sample of distinct values)."""
    found = []
    for name in frame.columns:
        if name in exclude or pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name]):
            continue
        if _looks_like_formulas(frame[name]):
            found.append(name)
    return found


def detect_structure_columns(frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> list[str]:
    """Columns whose cells hold crystal structures (`matforge.data.parse_structures`: pymatgen dicts, CIF or
    POSCAR text, paths to existing structure files, relative to the table's folder)."""
    from pathlib import Path

    source = frame.attrs.get("source")
    base = Path(source).parent if source else None
    return [name for name in frame.columns if name not in exclude and not pd.api.types.is_numeric_dtype(frame[name]) and looks_like_structures(frame[name], base)]


def composition_keys(formulas: np.ndarray) -> np.ndarray:
    """A key per row equal for the same reduced composition (``Fe2O3`` and ``Fe4O6`` share one)."""
    batch = parse_compositions(formulas, on_error="keep")
    keys = np.empty(len(batch), dtype=object)
    for i in range(len(batch)):
        k = batch.n_elements[i]
        order = np.argsort(batch.element[i, :k])
        keys[i] = " ".join(
            f"{ELEMENT_SYMBOLS[batch.element[i, j]]}{batch.fraction[i, j]:.6f}" for j in order
        ) if batch.valid[i] else f"invalid:{formulas[i]!r}"
    return keys


def _split(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def _mostly_numbers(values: pd.Series) -> bool:
    """Whether a text column is numbers with a few cells that are not (a typo, ``n/a?``, ``12,5``): at least
    90 % of its filled cells read as numbers. Such a column is a numeric one with bad cells to report, not a
    class label or a category."""
    filled = values.dropna()
    return len(filled) > 0 and pd.to_numeric(filled, errors="coerce").notna().mean() >= 0.9


def number_problems(values: pd.Series, column: str, reason: str) -> tuple[pd.Series, list[Problem]]:
    """`values` read as numbers, and a `Problem` for each filled cell that is not one (its row is its position)."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & values.notna().to_numpy())
    return numbers, [Problem(int(r), column, values.iat[r], reason) for r in bad]


def formula_problems(values: pd.Series, column: str, source: str | None) -> list[Problem]:
    """A `Problem` for each cell of a formula column that does not parse (its row is its position)."""
    batch = parse_compositions(values.to_numpy(dtype=object), on_error="keep", source=source, column=column)
    return [Problem(r, column, values.iat[r], err.message) for r, err in sorted(batch.errors.items())]


def _detect_task(y: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(y):
        return "classification"
    if not pd.api.types.is_numeric_dtype(y):
        if not _mostly_numbers(y):
            return "classification"
        y = pd.to_numeric(y, errors="coerce")
    values = y.dropna().unique()
    with np.errstate(invalid="ignore"):  # ±inf is not a whole number; it is reported as a bad value elsewhere
        integer = np.all(np.mod(values, 1) == 0)
    # a few whole numbers are class codes; as many distinct values as half the rows are measurements
    return "classification" if integer and len(values) <= 10 and len(values) <= 0.5 * len(y.dropna()) else "regression"


def _raise_problems(problems: list[Problem], source: str | None) -> None:
    if not problems:
        return
    first = problems[0]
    value = "" if first.value is None else f" (value {shown_value(first.value)})"
    more = f"; and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''}: " + "; ".join(str(p) for p in problems[1:4]) + ("; ..." if len(problems) > 4 else "") if len(problems) > 1 else ""
    err = InputError(first.reason + value + more, file=source, row=first.row, column=first.column)
    err.problems = problems
    raise err


def prepare_dataset(
    frame: pd.DataFrame,
    target: str,
    *,
    task: str | None = None,
    formula_cols: str | list[str] | None = None,
    drop: str | list[str] | None = None,
    group_col: str | None = None,
    source: str | None = None,
    aggregate_duplicates: bool | str = "auto",
    structure_cols: str | list[str] | None = None,
    smiles_cols: str | list[str] | None = None,
) -> Dataset:
    """Validate a table for training and give each column its role.

    Parameters
    ----------
    frame : the table (e.g. from `read_table`).
    target : name of the column to predict.
    task : ``"regression"`` or ``"classification"``; detected from the target when None (numbers with more
        than 10 distinct values → regression).
    formula_cols : formula column(s); detected when None (values that parse as formulas).
    structure_cols : crystal-structure column(s) (`matforge.data.parse_structures`); detected when None. A
        structure's composition counts as its formula for groups; duplicates are the same structure (reduced
        composition and volume per atom), so polymorphs stay apart.
    smiles_cols : SMILES column(s): polymer repeat units written as PSMILES (two ``*`` chain ends) or molecules,
        featurized by `matforge.features.PolymerFeatures` (RDKit, the ``[polymer]`` extra); detected when None
        and RDKit is installed. The same polymer written from another atom of its repeat unit
        (``*CC(*)C``, ``*C(C)C*``) is one group and one duplicate (`matforge.features.polymer_keys`).
    drop : columns to ignore (identifiers, leaky columns).
    group_col : column whose values define CV groups (default: the reduced composition of the formula columns
        and the values of the process columns, so one material never sits in both train and test).
    aggregate_duplicates : for regression, merge rows with identical inputs into one row with the median target;
        ``weights`` then says how many rows each merged row stands for. ``"auto"`` (the default): merge up to
        `LARGE_ROWS` (50,000) rows, keep every row above (duplicates stay grouped together in CV either way).
        Above that size the models learn from every row: on MatBench mp_e_form fold 0 (106,201 training rows,
        26 % of them polymorphs of another row's composition) the default boosted attention model gave
        0.0894 eV/atom trained on the merged rows against 0.0847 on all rows (docs/benchmark.md).

    Every problem found is reported at once in the raised `InputError` (its ``problems`` attribute lists them).
    """
    source = source or frame.attrs.get("source")
    if target not in frame.columns:
        raise InputError(
            f"no target column '{target}'", file=source, column=target,
            hint=f"Columns are: {', '.join(map(str, frame.columns))}",
        )  # fmt: skip
    drop_cols = _split(drop)
    for name in drop_cols + ([group_col] if group_col else []):
        if name not in frame.columns:
            raise InputError(f"no column named '{name}'", file=source, column=name, hint=f"Columns are: {', '.join(map(str, frame.columns))}")
    if task not in (None, "auto", "regression", "classification"):
        raise InputError(f"unknown task '{task}'", hint="Use regression or classification")
    frame = frame.reset_index(drop=True)
    row_ids = np.arange(len(frame))
    y = frame[target]
    problems: list[Problem] = []

    if y.isna().all():
        raise InputError("the target column is empty (all values missing)", file=source, column=target)
    task = _detect_task(y) if task in (None, "auto") else task
    if task == "regression":
        numeric, found = number_problems(y, target, "the target of a regression must be a number")
        problems += found
        for r in np.flatnonzero(np.isinf(numeric.fillna(0).to_numpy(dtype=float))):
            problems.append(Problem(int(r), target, y.iat[r], "infinite target value"))
        y = numeric
    keep = y.notna().to_numpy()

    exclude = (target, *drop_cols, *([group_col] if group_col else []))
    given_formula_cols, given_structure_cols, given_smiles_cols = _split(formula_cols), _split(structure_cols), _split(smiles_cols)
    if given_smiles_cols and not rdkit_available():
        raise InputError("SMILES columns need RDKit, which is not installed", column=given_smiles_cols[0], hint="pip install 'matforge[polymer]'")
    for name, role in [(n, "formula") for n in given_formula_cols] + [(n, "structure") for n in given_structure_cols] + [(n, "SMILES") for n in given_smiles_cols]:
        if name not in frame.columns:
            raise InputError(f"no {role} column '{name}'", file=source, column=name, hint=f"Columns are: {', '.join(map(str, frame.columns))}")
    frame.attrs["source"] = source  # paths in a structure column are relative to the table
    structure_list = given_structure_cols or detect_structure_columns(frame, exclude=(*exclude, *given_formula_cols, *given_smiles_cols))
    formula_list = given_formula_cols or detect_formula_columns(frame, exclude=(*exclude, *structure_list, *given_smiles_cols))
    smiles_list = given_smiles_cols or detect_smiles_columns(frame, exclude=(*exclude, *structure_list, *formula_list))
    notes: list[str] = []
    if not given_smiles_cols:
        for name in [c for c in smiles_list if frame[c].notna().mean() < 0.9]:
            # a SMILES column filled for a few rows (monomers known for some polymers) is not the input
            smiles_list.remove(name)
            drop_cols.append(name)
            notes.append(f"column '{name}' dropped: SMILES in only {int(frame[name].notna().sum())} of {len(frame)} rows; name it with --smiles-col to learn from it (every row then needs one)")
    numeric_cols, categorical_cols, dropped = [], [], list(drop_cols)
    for name in frame.columns:
        if name in exclude or name in drop_cols or name in formula_list or name in structure_list or name in smiles_list:
            continue
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            frame[name] = column.astype(float)
            numeric_cols.append(name)
        elif pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=float)
            for r in np.flatnonzero(np.isinf(values)):
                problems.append(Problem(int(r), name, column.iat[r], "infinite value"))
            if column.notna().sum() == 0:
                dropped.append(name)
                notes.append(f"column '{name}' dropped: all values missing")
            elif is_row_number(name, column):
                dropped.append(name)
                notes.append(f"column '{name}' dropped: distinct whole numbers named like a row counter (an identifier, not a feature)")
            else:
                numeric_cols.append(name)
        elif _mostly_numbers(column):
            # a number column with a few text cells ('hot', '300 K'): reported, not read as categories
            frame[name], found = number_problems(
                column, name, f"a number is expected in this column (leave the cell empty where it is unknown; if the column holds codes or names, not measurements, leave it out with --drop {name!r})")
            problems += found
            numeric_cols.append(name)
        else:
            n_levels = column.nunique(dropna=True)
            if 1 < n_levels <= MAX_CATEGORIES and n_levels < 0.5 * len(column):
                categorical_cols.append(name)
            elif looks_like_smiles(column):
                dropped.append(name)
                # (only without RDKit: with it, such a column was taken as a SMILES column above)
                notes.append(f"column '{name}' dropped: it holds SMILES (molecules or polymer repeat units), which need RDKit to "
                             "featurize: pip install 'matforge[polymer]'")
            else:
                dropped.append(name)
                notes.append(f"column '{name}' dropped: {n_levels} distinct text values (an identifier, not a feature)")

    for name in formula_list:
        problems += formula_problems(frame[name], name, source)
    structures = {}
    for name in structure_list:
        structures[name] = parse_structures(frame[name].to_numpy(dtype=object), source=source, column=name, on_error="keep")
        if not all(isinstance(v, str) for v in frame[name].dropna()):
            # Structure objects or dicts (a table built in Python) as JSON text: hashable, and savable with the run
            frame[name] = [v if isinstance(v, str) or v is None else json.dumps(v) if isinstance(v, dict) else v.to_json() for v in frame[name]]
        for r, message in sorted(structures[name].errors.items()):
            problems.append(Problem(r, name, None, message))
    polymers = {}
    for name in smiles_list:
        from matforge.features._polymer import polymer_keys, smiles_problems

        for r, reason in sorted(smiles_problems(frame[name].to_numpy(dtype=object)).items()):
            problems.append(Problem(r, name, frame[name].iat[r], reason))
        polymers[name] = polymer_keys(frame[name].to_numpy(dtype=object))
    if not formula_list and not structure_list and not smiles_list and not numeric_cols and not categorical_cols:
        raise InputError(
            "no usable input column: no formula or structure column was recognised and no numeric column is left",
            file=source, hint="Name the formula column with --formula-col",
        )  # fmt: skip
    _raise_problems(problems, source)

    frame, y, row_ids = frame.loc[keep].reset_index(drop=True), y.loc[keep].reset_index(drop=True), row_ids[keep]
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} rows without a target value left out")
    if task == "classification":
        y = y.astype(str)  # booleans keep their names: classes "False" and "True" (ordered as 0 and 1)
        counts = y.value_counts()
        if len(counts) < 2:
            raise InputError(f"only one value ('{counts.index[0]}') in the target column", file=source, column=target, hint="Nothing to learn: a model needs a target that varies (at least two classes)")
        if len(counts) > 0.5 * len(y):
            raise InputError(f"the target has {len(counts)} distinct values in {len(y)} rows: too many for classes, and not numbers",
                             file=source, column=target, hint="Check that --target names the property; a numeric property needs every cell to be a number (with --task regression the bad cells are listed)")
        rare = counts[counts < 2]
        if len(rare):
            notes.append(f"classes with a single example: {', '.join(map(str, rare.index))}")
    inputs = formula_list + structure_list + smiles_list + numeric_cols + categorical_cols
    structures = {name: [structures[name][i] for i in np.flatnonzero(keep)] for name in structures}
    # a structure's composition stands for its formula in the groups
    formulas = {**{c: frame[c].to_numpy(dtype=object) for c in formula_list}, **{c: structure_formulas(structures[c]) for c in structure_list}}
    if len(y) < 10:
        raise InputError(f"only {len(y)} rows with a target; at least 10 are needed to train and evaluate", file=source, column=target)

    if formulas and task == "regression" and not structure_list:
        # (not with structures: polymorphs share the composition features this check reads)
        # data cleaning: isolation-forest outliers and identical inputs with different targets, noted (not removed)
        from matforge.explore import find_outliers, outlier_notes
        from matforge.features import make_featurizer

        features = make_featurizer("magpie", on_error="nan").fit_transform(next(iter(formulas.values())))
        notes += outlier_notes(find_outliers(features, y.to_numpy(dtype=float), seed=0), row_ids)
    comp_keys = [composition_keys(values) for values in formulas.values()]
    process_keys = [frame[c].astype(str).to_numpy() for c in numeric_cols + categorical_cols]
    # identical inputs (composition, structure and process values) are duplicates; the same composition is one group
    polymer_key_list = [polymers[c][keep] for c in smiles_list]
    input_keys = comp_keys[: len(formula_list)] + [structure_keys(structures[c]) for c in structure_list] + polymer_key_list
    duplicate_key = np.array(["|".join(map(str, p)) for p in zip(*(input_keys + process_keys))], dtype=object)
    if group_col:
        groups = frame[group_col].astype(str).to_numpy()
    elif comp_keys or polymer_key_list:
        # the same composition, or the same polymer however its repeat unit is written, is one group
        groups = np.array(["|".join(p) for p in zip(*comp_keys, *polymer_key_list)], dtype=object)
    else:
        groups = np.arange(len(y)).astype(str)

    merged, weights = 0, None
    n_duplicates = len(duplicate_key) - len(np.unique(duplicate_key))
    if aggregate_duplicates == "auto":
        from matforge.models._registry import LARGE_ROWS

        aggregate_duplicates = len(y) <= LARGE_ROWS
    if task == "regression" and aggregate_duplicates and n_duplicates:
        first = pd.Series(np.arange(len(y))).groupby(duplicate_key, sort=False).first().to_numpy()
        median = y.groupby(duplicate_key, sort=False).median()
        # a merged row counts as the rows it replaces: the median of n values is worth more than one value,
        # and the materials behind many rows (e.g. the polymorphs of one composition) keep their share of
        # the training loss and of the scores (MatBench mp_e_form fold 0, the attention model alone: MAE
        # 0.0912 eV/atom on all rows, 0.0945 merged unweighted, see docs/benchmark.md)
        counts = pd.Series(np.ones(len(y))).groupby(duplicate_key, sort=False).sum()
        weights = counts.loc[duplicate_key[first]].to_numpy(dtype=float)
        merged = len(y) - len(first)
        frame = frame.iloc[first].reset_index(drop=True)
        y = pd.Series(median.loc[duplicate_key[first]].to_numpy(), name=target)
        row_ids, groups = row_ids[first], groups[first]
        notes.append(f"{merged} duplicate rows (identical inputs: composition, structure or polymer, and process values) merged into their first row with the median target, weighted by their number in fits and scores")
    elif task == "regression" and n_duplicates:
        notes.append(f"{n_duplicates} duplicate rows (identical inputs: composition, structure or polymer, and process values) kept as rows, grouped together in CV (not merged: a large table, or asked)")
    elif task == "classification" and n_duplicates:
        labels = pd.Series(y.to_numpy()).groupby(duplicate_key).nunique()
        conflicts = int((labels > 1).sum())
        if conflicts:
            notes.append(f"{conflicts} inputs appear with conflicting class labels; kept, grouped together in CV")

    inputs_frame = frame[inputs].copy()
    inputs_frame.attrs["source"] = source  # structure files named relative to the table are found from it
    return Dataset(
        frame=inputs_frame, y=y.rename(target), target=target, task=task, formula_cols=formula_list,
        numeric_cols=numeric_cols, categorical_cols=categorical_cols, groups=groups, row_ids=row_ids,
        source=source, notes=notes, dropped_cols=dropped, duplicates_merged=merged, weights=weights, structure_cols=structure_list, smiles_cols=smiles_list,
    )  # fmt: skip
