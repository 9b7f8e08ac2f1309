"""Same numbers as matminer (the reference implementation of the Magpie features) on generated formulas."""

import warnings

import numpy as np
import pytest

from matforge import features

# symbols H..Pu with Magpie data; plain and parenthesized formulas that pymatgen reads as we do
_SYMBOLS = ["H", "Li", "Be", "B", "C", "N", "O", "F", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "K", "Ca", "Sc", "Ti",
            "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Rb", "Sr", "Y", "Zr", "Nb",
            "Mo", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Cs", "Ba", "La", "Ce", "Nd", "Sm", "Gd",
            "Yb", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Th", "U", "Xe", "He"]  # fmt: skip
_AMOUNTS = ["", "", "2", "3", "4", "5", "0.5", "0.25", "1.5", "0.1", "2.75", "12"]


def _sample(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    formulas = []
    for _ in range(n):
        elements = rng.choice(len(_SYMBOLS), rng.integers(1, 6), replace=False)
        parts = [_SYMBOLS[e] + _AMOUNTS[rng.integers(len(_AMOUNTS))] for e in elements]
        if len(parts) > 2 and rng.random() < 0.3:  # a parenthesized group, as in Ca3(PO4)2
            parts = parts[:1] + [f"({''.join(parts[1:3])}){rng.integers(2, 4)}"] + parts[3:]
        formulas.append("".join(parts))
    return formulas


FORMULAS = _sample(200, seed=7) + ["Fe2O3", "NaCl", "SrTiO3", "Ca3(PO4)2", "(Ba0.5Sr0.5)TiO3", "Cu", "CO", "Co"]


def _matminer(name: str):
    from matminer.featurizers import composition as mm

    return {
        "ElementProperty": lambda: mm.ElementProperty.from_preset("magpie"),
        "Stoichiometry": mm.Stoichiometry,
        "ValenceOrbital": mm.ValenceOrbital,
        "IonProperty": lambda: mm.IonProperty(fast=True),
        "ElementFraction": mm.ElementFraction,
        "TMetalFraction": mm.TMetalFraction,
    }[name]()


@pytest.mark.parametrize(
    "name", ["ElementProperty", "Stoichiometry", "ValenceOrbital", "IonProperty", "ElementFraction", "TMetalFraction"]
)
def test_equals_matminer(name):
    from pymatgen.core import Composition

    reference_featurizer = _matminer(name)
    ours = getattr(features, name)()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = np.array([reference_featurizer.featurize(Composition(f)) for f in FORMULAS], dtype=float)
    assert list(ours.get_feature_names_out()) == list(reference_featurizer.feature_labels())
    np.testing.assert_allclose(ours.fit_transform(FORMULAS), reference, rtol=1e-6, atol=1e-12)
