"""Generated formulas: the parser agrees with pymatgen, and the vectorized path with the Python path."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matforge.chem import ELEMENT_SYMBOLS, parse_compositions, parse_formula
from matforge.chem._fastpath import parse_plain
from matforge.chem._formula import _parse_uncached
from matforge.errors import InputError

# H..Lr; D and T are left out because pymatgen reads them as isotopes, matforge as hydrogen
SYMBOLS = ELEMENT_SYMBOLS[:103]
N_FORMULAS = 100  # per example; 100 examples make 10,000 formulas per run


class _Formulas:
    """Formulas decoded from hypothesis' bytes (cheap to draw, and shrinkable): symbols, amounts (blank,
    integer, decimal) and nested parentheses, e.g. ``Ba(Fe0.25(PO4)2)3``."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def byte(self) -> int:
        value = self.data[self.at % len(self.data)] ^ (self.at // len(self.data)) & 0xFF
        self.at += 1
        return value

    def amount(self) -> str:
        kind = self.byte()
        if kind < 90:
            return ""
        if kind < 180:
            return str(1 + kind % 40)
        return f"{self.byte() % 20}.{1 + self.byte() % 999:03d}".rstrip("0")

    def term(self, depth: int) -> str:
        if depth < 2 and self.byte() % 5 == 0:
            inner = "".join(self.term(depth + 1) for _ in range(1 + self.byte() % 3))
            return f"({inner}){self.amount()}"
        return SYMBOLS[(self.byte() * 256 + self.byte()) % len(SYMBOLS)] + self.amount()

    def formula(self) -> str:
        return "".join(self.term(0) for _ in range(1 + self.byte() % 5))


def generated(data: bytes, n: int = N_FORMULAS) -> list[str]:
    source = _Formulas(data)
    return [source.formula() for _ in range(n)]


BATCHES = st.binary(min_size=512, max_size=4096).map(generated)


def _pymatgen_amounts(formula: str) -> dict[str, float] | None:
    from pymatgen.core import Composition

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            composition = Composition(formula)
    except Exception:  # pymatgen rejects it: nothing to compare with
        return None
    return {str(el): amt for el, amt in composition.items()}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(BATCHES)
def test_agrees_with_pymatgen_on_every_formula_it_accepts(formulas):
    compared = 0
    for formula in formulas:
        reference = _pymatgen_amounts(formula)
        if reference is None or not reference:
            continue
        ours = parse_formula(formula)
        assert ours.keys() == reference.keys(), formula
        for symbol, amount in reference.items():
            assert ours[symbol] == pytest.approx(amount, rel=1e-9), formula
        compared += 1
    assert compared >= 0.9 * len(formulas)  # nearly every generated formula is one pymatgen accepts


def _as_dicts(formulas):
    done, counts, elements, amounts = parse_plain(formulas)
    offsets = np.cumsum(counts) - counts
    return done, [
        [(ELEMENT_SYMBOLS[e], a) for e, a in zip(elements[o : o + c], amounts[o : o + c], strict=False)]
        for o, c in zip(offsets, counts, strict=False)
    ]


def _with_noise(pair):
    formulas, noise = pair
    # splice characters that plain formulas lack (or that change their meaning) into some of them
    out = []
    for i, formula in enumerate(formulas):
        char = "()[].*· 0x/$-"[noise[i % len(noise)] % 13]
        where = noise[(i + 1) % len(noise)] % (len(formula) + 1)
        out.append(formula if i % 3 == 0 else formula[:where] + char + formula[where:])
    return out


NOISY = st.tuples(st.binary(min_size=256, max_size=2048).map(generated), st.binary(min_size=8, max_size=64)).map(
    _with_noise
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NOISY)
def test_vectorized_path_equals_python_parser(formulas):
    done, rows = _as_dicts(formulas)
    for formula, fast, amounts in zip(formulas, done, rows, strict=False):
        if not fast:
            continue
        # bit-for-bit: same elements, same order, same floats
        assert amounts == list(_parse_uncached(formula).items()), formula


def test_vectorized_path_takes_plain_and_parenthesized_formulas():
    done, _ = _as_dicts(["Fe2O3", "Ba0.5Sr0.5TiO3", "Ca3(PO4)2", "Fe.5O", "Ca(OH)2.5"])
    assert done.all()


@pytest.mark.parametrize(
    "formula",
    ["CuSO4.5H2O", "CaCl2.H2O", "[Co(NH3)6]Cl3", "Fe((O))", "HDO", "CH3COOH", "HLiBeBCNOFNaMgAlSiPS", "Fe2.", "Fe0O", "fe2o3", "Al0.25 Co1", "Xx", ""],
)
def test_everything_else_goes_to_the_python_parser(formula):
    done, _ = _as_dicts([formula])
    assert not done[0]


def test_batch_errors_are_those_of_the_python_parser():
    formulas = ["Fe2O3", "Xx2", "Fe2(O3", "Fe0", "Fe2$"]
    batch = parse_compositions(formulas, on_error="keep")
    for row in (1, 2, 3, 4):
        with pytest.raises(InputError) as caught:
            parse_formula(formulas[row])
        assert batch.errors[row].message == caught.value.message


def test_numbers_equal_float_of_their_text():
    texts = ["0.1", "0.3", "2.675", "123456.789012345", "0.000001", "3.14159265358979"]
    formulas = [f"Fe{t}O" for t in texts]
    done, rows = _as_dicts(formulas)
    assert done.all()
    assert [row[0][1] for row in rows] == [float(t) for t in texts]
