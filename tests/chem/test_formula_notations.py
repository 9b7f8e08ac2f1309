"""The formula notations matforge promises to read (issue 2), and the errors it gives for bad input."""

import math
import time

import numpy as np
import pytest

from matforge.chem import ELEMENT_INDEX, fraction_matrix, parse_compositions, parse_formula
from matforge.errors import InputError


@pytest.mark.parametrize(
    "formula, expected",
    [
        ("Fe2O3", {"Fe": 2, "O": 3}),
        ("Ca(OH)2", {"Ca": 1, "O": 2, "H": 2}),
        ("Ca3(PO4)2", {"Ca": 3, "P": 2, "O": 8}),
        ("[Co(NH3)6]Cl3", {"Co": 1, "N": 6, "H": 18, "Cl": 3}),
        ("CuSO4·5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
        ("CuSO4*5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
        ("CuSO4.5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
        ("CaCl2.H2O", {"Ca": 1, "Cl": 2, "H": 2, "O": 1}),
        ("Ba0.5Sr0.5TiO3", {"Ba": 0.5, "Sr": 0.5, "Ti": 1, "O": 3}),
        ("(Ba0.5Sr0.5)TiO3", {"Ba": 0.5, "Sr": 0.5, "Ti": 1, "O": 3}),
        ("Al0.25 Co1 Fe1 Ni1", {"Al": 0.25, "Co": 1, "Fe": 1, "Ni": 1}),
        ("Co", {"Co": 1}),
        ("CO", {"C": 1, "O": 1}),
        ("D2O", {"H": 2, "O": 1}),
        ("T2O", {"H": 2, "O": 1}),
        ("Fe1/3O", {"Fe": 1 / 3, "O": 1}),
    ],
)
def test_reads_each_notation(formula, expected):
    assert parse_formula(formula) == pytest.approx(expected, rel=1e-12)
    assert list(parse_formula(formula)) == list(expected)  # order of appearance is kept
    batch = parse_compositions([formula])
    row = {f"{k}": a for k, a in zip(batch.element[0, : batch.n_elements[0]], batch.amount[0], strict=False)}
    assert row == pytest.approx({f"{ELEMENT_INDEX[s]}": a for s, a in expected.items()}, rel=1e-12)


def test_symbols_are_case_sensitive():
    assert parse_formula("Co") != parse_formula("CO")
    with pytest.raises(InputError, match="capital letter"):
        parse_formula("co")


@pytest.mark.parametrize(
    "text, message, character",
    [
        ("Xx2O3", "unknown element symbol 'Xx'", "character 1 ('X')"),
        ("FeQ2", "unknown element symbol 'Q'", "character 3 ('Q')"),
        ("Fe2(O3", "unclosed bracket", "character 4 ('(')"),
        ("Fe2O3)", "unbalanced bracket", "character 6 (')')"),
        ("Ca(OH]2", "unbalanced bracket", "character 6 (']')"),
        ("Fe2$O3", "unexpected character", "character 4 ('$')"),
        ("Fe()O", "empty brackets", "character 3 ('(')"),
    ],
)
def test_bad_formula_names_text_and_character(text, message, character):
    with pytest.raises(InputError) as caught:
        parse_formula(text)
    assert message in str(caught.value)
    assert character in str(caught.value)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("text", ["Fe0O0", "Fe0", "", "   "])
def test_zero_or_empty_formula_is_rejected(text):
    with pytest.raises(InputError, match="zero|empty"):
        parse_formula(text)


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan])
def test_missing_formula_is_an_input_error(missing):
    with pytest.raises(InputError, match="missing formula"):
        parse_formula(missing)


@pytest.mark.parametrize("bad", [None, float("nan"), "", "Xx", "Fe2(O3", 42])
def test_column_error_names_the_row(bad):
    formulas = ["Fe2O3", "NaCl", bad, "SrTiO3"]
    with pytest.raises(InputError) as caught:
        parse_compositions(formulas, column="formula", source="data.csv")
    assert caught.value.row == 2
    assert "row 2" in str(caught.value) and "column 'formula'" in str(caught.value) and "data.csv" in str(caught.value)


def test_keep_mode_marks_bad_rows_and_keeps_the_rest():
    batch = parse_compositions(["Fe2O3", "Xx", None, "NaCl"], on_error="keep")
    assert batch.valid.tolist() == [True, False, False, True]
    assert sorted(batch.errors) == [1, 2]
    assert "unknown element symbol" in str(batch.errors[1])
    assert batch.fraction[3, :2].tolist() == [0.5, 0.5]


def test_fraction_matrix_normalizes_and_marks_bad_rows_nan():
    matrix = fraction_matrix(["Fe2O3", "Xx"], on_error="keep")
    assert matrix.shape == (2, 118)
    assert matrix[0, ELEMENT_INDEX["Fe"]] == pytest.approx(0.4)
    assert matrix[0].sum() == pytest.approx(1.0)
    assert np.isnan(matrix[1]).all()


def test_huge_formula_parses_fast():
    start = time.perf_counter()
    amounts = parse_formula("C100H3815Br21I279N2185Pb100")
    assert time.perf_counter() - start < 0.5
    assert amounts == {"C": 100, "H": 3815, "Br": 21, "I": 279, "N": 2185, "Pb": 100}
    assert math.isclose(sum(amounts.values()), 6500)


def test_parsing_in_worker_processes_gives_the_same_batch():
    # more than 50,000 distinct formulas: the size at which parse_compositions uses processes
    formulas = [f"Fe{i}O{i % 7 + 1}Na0.{i % 9 + 1}" for i in range(1, 50_500)] + ["Ca(OH)2", "Xx", None]
    serial = parse_compositions(formulas, on_error="keep")
    parallel = parse_compositions(formulas, on_error="keep", n_jobs=2)
    for name in ("element", "amount", "fraction", "n_elements", "valid"):
        np.testing.assert_array_equal(getattr(parallel, name), getattr(serial, name))
    assert {r: str(e) for r, e in parallel.errors.items()} == {r: str(e) for r, e in serial.errors.items()}
    assert sorted(serial.errors) == [len(formulas) - 2, len(formulas) - 1]
