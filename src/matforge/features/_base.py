"""The contract every composition featurizer follows: a scikit-learn transformer over a column of formulas.

Subclasses implement `feature_labels()`, `citations()` and `compute(batch)`, where `batch` is a parsed
`matforge.chem.Compositions`; parsing, chunking, threading and the NaN policy live here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from matforge.chem import Compositions, parse_compositions
from matforge.errors import InputError

__all__ = ["CompositionFeaturizer", "formulas_from"]

_FORMULA_NAMES = ("formula", "composition", "compound", "formula_pretty", "pretty_formula", "material")


def formulas_from(X, formula_col: str | None = None) -> tuple[np.ndarray, str | None]:
    """The formula column of `X` (DataFrame, Series, 1-D/2-D array or list) as an object array.

    A DataFrame with several columns needs `formula_col`, or a column named like a formula column.
    """
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        if formula_col is not None:
            if formula_col not in X.columns:
                raise InputError(
                    f"no column named '{formula_col}'", column=formula_col,
                    hint=f"Columns are: {', '.join(map(str, X.columns))}",
                )  # fmt: skip
            return X[formula_col].to_numpy(dtype=object), formula_col
        if X.shape[1] == 1:
            return X.iloc[:, 0].to_numpy(dtype=object), str(X.columns[0])
        for name in X.columns:
            if str(name).lower() in _FORMULA_NAMES:
                return X[name].to_numpy(dtype=object), str(name)
        raise InputError("cannot tell which column holds the formulas", hint="Pass formula_col=...")
    if isinstance(X, pd.Series):
        return X.to_numpy(dtype=object), None if X.name is None else str(X.name)
    if isinstance(X, str):
        raise InputError("expected a column of formulas, got a single string", value=X, hint="Wrap it in a list")
    array = np.asarray(X, dtype=object)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise InputError(f"expected one column of formulas, got an array of shape {array.shape}")
    return array, None


class CompositionFeaturizer(TransformerMixin, BaseEstimator):
    """Base class: formulas in, a float matrix out (one row per formula, columns `get_feature_names_out()`).

    Parameters (shared by every subclass)
    ----------
    formula_col : column of a DataFrame input holding the formulas (default: the only column, or one named
        ``formula``/``composition``).
    on_error : ``"raise"`` (default) raises `InputError` naming the first bad row; ``"nan"`` gives bad rows
        all-NaN features.
    n_jobs : processes for parsing and threads for the numpy work (1 = serial, -1 = all cores).
    chunk_size : rows computed at once; bounds memory to about chunk_size × width × 8 bytes × a few.
    """

    #: one-line description used in reports and `matforge featurize --help`
    summary = ""

    def __init__(
        self, formula_col: str | None = None, on_error: str = "raise", n_jobs: int = 1, chunk_size: int = 4096
    ):
        self.formula_col = formula_col
        self.on_error = on_error
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size

    def fit(self, X, y=None):
        """Check the input; composition featurizers learn nothing from data. Returns self."""
        values, name = formulas_from(X, getattr(self, "formula_col", None))
        self.n_features_in_ = 1
        self.formula_col_ = name
        return self

    def transform(self, X) -> np.ndarray:
        """Featurize the formulas of `X`; returns an (n_rows, n_features) float array."""
        values, name = formulas_from(X, getattr(self, "formula_col", None))
        batch = parse_compositions(
            values, on_error="raise" if self._on_error == "raise" else "keep", n_jobs=self._n_jobs, column=name
        )
        # parsing stays in this thread: threads parsing side by side were measured slower than one, as its
        # many small steps contend for the GIL; the feature computation below is what runs in parallel
        return self.transform_compositions(batch)

    def transform_compositions(self, batch: Compositions) -> np.ndarray:
        """Featurize an already parsed batch (used by composites so a column is parsed once)."""
        n = len(batch)
        width = len(self.feature_labels())
        out = np.empty((n, width))
        threads = self._n_jobs
        chunk = max(1, int(getattr(self, "chunk_size", 4096) or 4096))
        # with threads, split evenly so that no thread waits for a longer last chunk
        chunk = min(chunk, max(256, -(-n // threads)))
        starts = list(range(0, n, chunk))

        def work(start: int) -> None:
            part = batch.take(slice(start, start + chunk))
            values = self.compute(part)
            values[~part.valid] = np.nan
            out[start : start + chunk] = values

        if threads > 1 and len(starts) > 1:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(work, starts))
        else:
            for start in starts:
                work(start)
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.feature_labels(), dtype=object)

    # --- to implement -------------------------------------------------------------------------------
    def feature_labels(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def citations(self) -> list[str]:
        return []

    def compute(self, batch: Compositions) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- helpers ------------------------------------------------------------------------------------
    @property
    def _on_error(self) -> str:
        mode = getattr(self, "on_error", "raise")
        if mode not in ("raise", "nan"):
            raise InputError(f"on_error must be 'raise' or 'nan', not {mode!r}")
        return mode

    @property
    def _n_jobs(self) -> int:
        from matforge._workers import worker_count

        return worker_count(getattr(self, "n_jobs", 1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


def rows_shifted(errors: dict[int, InputError], offset: int) -> dict[int, InputError]:
    """Errors of a slice that starts at row `offset`, keyed and located by their row in the whole column."""
    return {
        offset + row: InputError(
            err.message, file=err.file, row=offset + row, column=err.column, value=err.value, hint=err.hint
        )
        for row, err in errors.items()
    }


def gather(table: np.ndarray, batch: Compositions) -> np.ndarray:
    """Per-slot element values: table (118, p) → (n, K, p), padding slots filled with 0."""
    values = table[batch.element.astype(np.int64)]
    values[~batch.mask] = 0.0
    return values


def weighted_mean(values: np.ndarray, batch: Compositions) -> np.ndarray:
    """Fraction-weighted mean over each row's elements: (n, K, p) → (n, p)."""
    return weighted_sum(batch.fraction, values)


def weighted_sum(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``Σ_k weights[:, k] · values[:, k, :]``, summed slot by slot in a fixed order.

    Not a batched matmul: BLAS picks its summation order from the array shapes, so a row's value would
    change in the last bit with the width of the batch it is in. Padding slots (weight 0) add exact zeros.
    """
    total = weights[:, 0, None] * values[:, 0, :]
    for k in range(1, values.shape[1]):
        total += weights[:, k, None] * values[:, k, :]
    return total


def labels_for(names: Sequence[str], prefix: str = "") -> list[str]:
    return [f"{prefix}{n}" for n in names]
