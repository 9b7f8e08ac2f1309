"""A whole input table → feature matrix: formula, structure and SMILES columns featurized, process columns
passed through."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from matforge.chem import parse_compositions
from matforge.data._structures import align_structure_column, parse_structures
from matforge.errors import InputError
from matforge.features._registry import make_featurizer
from matforge.features._structure import StructureFeatures, featurize_structures

__all__ = ["TableFeaturizer"]


class TableFeaturizer(TransformerMixin, BaseEstimator):
    """Featurize each formula column with a preset, each structure column with the preset (applied to the
    structure's composition) and `StructureFeatures`, each SMILES column (polymer repeat units or molecules)
    with `PolymerFeatures`, keep numeric and categorical columns as they are.

    Composition and structure features depend on one row only, so this step learns nothing from other rows and cannot
    leak between CV folds; encoders and scalers that do learn sit inside each model's pipeline.

    Parameters
    ----------
    formula_cols, numeric_cols, categorical_cols, structure_cols, smiles_cols : the roles of the input columns
        (a structure cell: see `matforge.data.parse_structures`; a SMILES cell: `matforge.features.PolymerFeatures`).
    presets : feature sets to compute per formula column; the first is the main set, ``"fractions"`` adds the
        element-fraction columns used by the atom-table CNN.
    n_jobs : processes for parsing large formula columns and featurizing large structure columns (-1: all cores).

    After `fit`, ``feature_sets_`` maps ``"main"``, ``"fractions"``, ``"process"`` to column names.
    """

    # a featurizer saved before structure columns existed has no such attribute: this default stands in for it
    # (its predictions, repr and get_params keep working); the same for SMILES columns
    structure_cols = ()
    smiles_cols = ()

    def __init__(self, formula_cols=(), numeric_cols=(), categorical_cols=(), presets=("magpie",), n_jobs=1, structure_cols=(), smiles_cols=()):
        self.formula_cols = formula_cols
        self.numeric_cols = numeric_cols
        self.categorical_cols = categorical_cols
        self.presets = presets
        self.n_jobs = n_jobs
        self.structure_cols = structure_cols
        self.smiles_cols = smiles_cols

    @property
    def _structure_cols(self) -> list[str]:
        return list(self.structure_cols)

    def _prefix(self, column: str, preset: str) -> str:
        many = len(self.formula_cols) + len(self._structure_cols) + len(self.smiles_cols) > 1
        if preset == "fractions":
            return f"frac[{column}] " if many else "frac "
        return f"{column}: " if many else ""

    def fit(self, X: pd.DataFrame, y=None):
        self._check(X)
        sets: dict[str, list[str]] = {"main": [], "fractions": [], "process": list(self.numeric_cols) + list(self.categorical_cols)}
        order: list[str] = []
        for column in [*self.formula_cols, *self._structure_cols]:
            for preset in self.presets:
                featurizer = make_featurizer(preset)
                names = [self._prefix(column, preset) + n for n in featurizer.get_feature_names_out()]
                sets["fractions" if preset == "fractions" else "main"] += names
                order += names
            if column in self._structure_cols:
                names = [self._prefix(column, "structure") + n for n in StructureFeatures.feature_labels()]
                sets["main"] += names
                order += names
        self.smiles_features_ = {}
        for column in self.smiles_cols:
            from matforge.features._polymer import PolymerFeatures

            names = [self._prefix(column, "smiles") + n for n in PolymerFeatures().feature_labels()]
            self.smiles_features_[column] = names
            sets["main"] += names
            order += names
        self.feature_sets_ = sets
        self.columns_ = order + sets["process"]
        # what the training rows held, for `unusual_rows`: the categories seen, the numeric columns never empty
        self.categories_ = {c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in self.categorical_cols}
        self.complete_numeric_ = [c for c in self.numeric_cols if pd.to_numeric(X[c], errors="coerce").notna().all()]
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def _check(self, X, parsed: dict | None = None) -> None:
        if not isinstance(X, pd.DataFrame):
            raise InputError("a table (DataFrame) with named columns is needed")
        given = set(X.columns) | set(parsed or ())
        missing = [c for c in [*self.formula_cols, *self._structure_cols, *self.smiles_cols, *self.numeric_cols, *self.categorical_cols] if c not in given]
        if missing:
            others = f" (nor {', '.join(map(repr, missing[1:]))})" if len(missing) > 1 else ""
            raise InputError(
                f"no such column{others}, which the model was trained with", file=X.attrs.get("source"), column=missing[0],
                hint=f"Rename or add the column(s). Columns are: {', '.join(map(str, X.columns))}",
            )  # fmt: skip

    def transform(self, X: pd.DataFrame, on_error: str = "raise", parsed: dict | None = None) -> pd.DataFrame:
        """The feature table; with ``on_error="nan"`` rows with a bad formula get NaN features.

        `parsed` may give formula columns already parsed (`matforge.chem.Compositions`, one row per row of `X`,
        as `DesignSpace.candidates_parsed` makes them); those columns are not read and need not be in `X`.
        A table of structure files (`matforge.data.read_structure_table`) stands for the one structure column
        the featurizer was fitted on, whatever that column was called.
        """
        X = align_structure_column(X, self._structure_cols)
        self._check(X, parsed)
        numeric: list[np.ndarray] = []
        for column in self.formula_cols:
            batch = (parsed or {}).get(column)
            if batch is None:
                batch = parse_compositions(X[column].to_numpy(dtype=object), on_error="raise" if on_error == "raise" else "keep", n_jobs=self.n_jobs, source=X.attrs.get("source"), column=column)
            elif len(batch) != len(X):
                raise ValueError(f"parsed column '{column}' has {len(batch)} rows, the table {len(X)}")
            for preset in self.presets:
                numeric.append(make_featurizer(preset).transform_compositions(batch))
        for column in self._structure_cols:
            structures = parse_structures(X[column].to_numpy(dtype=object), source=X.attrs.get("source"), column=column, on_error="raise" if on_error == "raise" else "keep")
            numeric.append(self._fitted_columns(column, featurize_structures(structures, self.presets, n_jobs=self.n_jobs)))
        for column in self.smiles_cols:
            from matforge.features._polymer import PolymerFeatures

            polymer = PolymerFeatures(n_jobs=self.n_jobs)
            values = polymer.transform(X[column].to_numpy(dtype=object), on_error="raise" if on_error == "raise" else "nan", source=X.attrs.get("source"), column=column)
            numeric.append(self._fitted_smiles_columns(column, values, polymer.feature_labels()))
        for column in self.numeric_cols:
            values = pd.to_numeric(X[column], errors="coerce")
            bad = np.flatnonzero(values.isna().to_numpy() & X[column].notna().to_numpy())
            if len(bad) and on_error == "raise":
                more = f" ({len(bad) - 1} more such cell{'s' if len(bad) > 2 else ''} in the column)" if len(bad) > 1 else ""
                raise InputError(f"a number is expected in this column{more}", file=X.attrs.get("source"), row=int(bad[0]), column=column, value=X[column].iat[bad[0]],
                                 hint="Fix the cell or leave it empty (then the row is flagged out of domain), or pass --on-error skip")
            numeric.append(values.to_numpy(dtype=float)[:, None])
        # one C-ordered block: the models read it back with `to_numpy()` without a copy, where a frame glued
        # from many blocks costs a transposing copy larger than the model's own work on millions of rows
        matrix = np.hstack(numeric) if len(numeric) > 1 else (numeric[0] if numeric else np.empty((len(X), 0)))
        # ±inf (a process value written 'inf', a ratio of zeros) counts as missing, as NaN does: the models
        # impute both, and may then skip scikit-learn's finiteness scans (see `Predictor.predict_features`)
        infinite = np.isinf(matrix)
        if infinite.any():
            matrix = np.where(infinite, np.nan, matrix)
        n_numeric = matrix.shape[1]
        frame = pd.DataFrame(np.ascontiguousarray(matrix), columns=self.columns_[:n_numeric], index=X.index)
        if not self.categorical_cols:
            return frame
        labels = [X[c].astype(object).where(X[c].notna(), "missing").astype(str).rename(c).to_frame() for c in self.categorical_cols]
        return pd.concat([frame, *labels], axis=1)

    def unusual_rows(self, X: pd.DataFrame) -> np.ndarray:
        """Rows whose process values the training rows never had: a category not seen in training (its one-hot
        columns are all zero), or an empty or unreadable number in a column that was never empty in training
        (the model then sees the training median). Their predictions are extrapolations: `Predictor` flags them
        out of domain. A featurizer saved before these were recorded flags none."""
        unusual = np.zeros(len(X), bool)
        for column, seen in getattr(self, "categories_", {}).items():
            if column in X.columns:
                unusual |= X[column].notna().to_numpy() & ~X[column].astype(str).isin(seen).to_numpy()
        for column in getattr(self, "complete_numeric_", []):
            if column in X.columns:
                unusual |= pd.to_numeric(X[column], errors="coerce").isna().to_numpy()
        return unusual

    def _fitted_columns(self, column: str, values: np.ndarray) -> np.ndarray:
        """`values`, this version's features of a structure column, cut to those the featurizer was fitted with:
        a run saved when `StructureFeatures` had fewer descriptors (its first 30, in runs of 2026-12-05) predicts with those."""
        names = [self._prefix(column, preset) + n for preset in self.presets for n in make_featurizer(preset).get_feature_names_out()]
        names += [self._prefix(column, "structure") + n for n in StructureFeatures.feature_labels()]
        fitted = set(self.columns_)
        return _by_name(values, names, [name for name in names if name in fitted])

    def _fitted_smiles_columns(self, column: str, values: np.ndarray, labels: list[str]) -> np.ndarray:
        """`values` of a SMILES column in the order the featurizer was fitted with, found by name: RDKit's list of
        descriptors grows between its versions, and a run saved with another version must not read shifted
        columns (a descriptor this version lacks is NaN, imputed as missing)."""
        prefix = self._prefix(column, "smiles")
        return _by_name(values, [prefix + name for name in labels], self.smiles_features_[column])

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.columns_, dtype=object)


def _by_name(values: np.ndarray, names: list[str], wanted: list[str]) -> np.ndarray:
    """The columns `wanted` of `values` (whose columns are `names`), in that order; NaN for a name not there."""
    if wanted == names:
        return values
    position = {name: i for i, name in enumerate(names)}
    out = np.full((len(values), len(wanted)), np.nan)
    for j, name in enumerate(wanted):
        if name in position:
            out[:, j] = values[:, position[name]]
    return out
