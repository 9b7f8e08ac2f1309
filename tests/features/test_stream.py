"""featurize_chunks: slice-by-slice featurization gives the whole-column result and whole-column row numbers."""

import numpy as np
import pytest

from matforge.features import featurize_chunks, make_featurizer

FORMULAS = ["Fe2O3", "SrTiO3", "Xx", "Ca3(PO4)2", None, "NaCl", "CuSO4.5H2O"] * 5


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_chunks_join_to_the_whole_column_result(n_jobs):
    featurizer = make_featurizer("magpie", n_jobs=n_jobs, on_error="nan")
    whole = featurizer.fit_transform(FORMULAS)
    parts = list(featurize_chunks(featurizer, FORMULAS, chunk_rows=4))
    assert [start for start, _, _ in parts] == list(range(0, len(FORMULAS), 4))
    np.testing.assert_array_equal(np.vstack([values for _, values, _ in parts]), whole)


def test_errors_carry_row_numbers_of_the_whole_column():
    featurizer = make_featurizer("stoichiometry")
    errors = {}
    for _, _, batch in featurize_chunks(featurizer, FORMULAS, chunk_rows=3, column="formula"):
        errors.update({err.row: err for err in batch.errors.values()})
    assert sorted(errors) == [i for i, f in enumerate(FORMULAS) if f in ("Xx", None)]
    assert "row 9" in str(errors[9]) and "unknown element symbol" in str(errors[9])
