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


@pytest.mark.parametrize("preset", ["deml", "matminer"])
def test_element_property_presets_equal_matminer(preset):
    # matminer's presets of these names read Deml et al.'s and pymatgen's element data; with impute_nan=True
    # (matforge always imputes) every value is defined, and std_dev is matminer's reliability-weighted one
    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    reference_featurizer = ElementProperty.from_preset(preset, impute_nan=True)
    ours = features.ElementProperty(preset=preset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = np.array([reference_featurizer.featurize(Composition(f)) for f in FORMULAS], dtype=float)
    assert list(ours.get_feature_names_out()) == list(reference_featurizer.feature_labels())
    values = ours.fit_transform(FORMULAS)
    assert np.isfinite(values).all()
    np.testing.assert_allclose(values, reference, rtol=1e-6, atol=1e-12)


def test_std_dev_does_not_depend_on_how_the_formula_is_written():
    ours = features.ElementProperty(preset="deml", stats=("std_dev",))
    values = ours.fit_transform(["Fe2O3", "Fe4O6", "Fe0.4O0.6", "Fe", "CuZr"])
    np.testing.assert_allclose(values[1:3], np.repeat(values[:1], 2, axis=0), rtol=1e-12)
    assert np.all(values[3] == 0.0)  # one element: no spread
    # two elements at equal fractions: Σ f (p - mean)² / (1 - Σ f²) = (Δp / 2)² / (1 / 2) = Δp² / 2
    atom_num = features.ElementProperty(preset="deml", properties=("atom_num",), stats=("std_dev", "range"))
    std_dev, spread = atom_num.fit_transform(["CuZr"])[0]
    assert spread == 11 and std_dev == pytest.approx(11 / np.sqrt(2))


def test_element_property_rejects_unknown_presets_and_properties():
    with pytest.raises(ValueError, match="unknown ElementProperty preset"):
        features.ElementProperty(preset="nope").get_feature_names_out()
    with pytest.raises(KeyError, match="unknown element properties"):
        features.ElementProperty(preset="deml", properties=("Number",)).fit_transform(["NaCl"])


def test_alloy_features_equal_matminer_wen_alloys():
    from matminer.featurizers.composition import WenAlloys
    from matminer.utils.data import MixingEnthalpy
    from pymatgen.core import Composition

    formulas = FORMULAS[::3] + ["Cu50Zr42.5Al7.5", "Fe80B20", "Zr", "Ti20Zr20Hf20Nb20Ta20"]  # WenAlloys: ~40 ms each
    ours = features.AlloyFeatures()
    values = ours.fit_transform(formulas)
    labels = list(ours.get_feature_names_out())
    reference_featurizer, mixing = WenAlloys(), MixingEnthalpy()
    wen_labels = reference_featurizer.feature_labels()
    shared = [label for label in labels if label in wen_labels]
    assert len(shared) == len(labels) - 1  # all but the signed enthalpy are WenAlloys' own
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = [reference_featurizer.featurize(Composition(f)) for f in formulas]
    for label in shared:
        expected = np.array([row[wen_labels.index(label)] for row in reference], dtype=float)
        np.testing.assert_allclose(values[:, labels.index(label)], expected, rtol=1e-6, atol=1e-12, err_msg=label)
    # the signed sum 4 Σ_{i<j} c_i c_j ΔH_ij, from matminer's table of binary liquid enthalpies
    for formula, row in zip(formulas, values):
        items = list(Composition(formula).fractional_composition.items())
        signed = 4 * sum(a * b * mixing.get_mixing_enthalpy(ea, eb) for k, (ea, a) in enumerate(items) for eb, b in items[:k])
        assert row[labels.index("Mixing enthalpy signed")] == pytest.approx(signed, rel=1e-9, abs=1e-12)
        assert row[labels.index("Mixing enthalpy")] == pytest.approx(max(1e-6, abs(signed)), rel=1e-9)


def test_alloy_features_do_not_depend_on_how_the_formula_is_written():
    values = features.AlloyFeatures().fit_transform(["CuZr", "Cu50Zr50", "Cu0.5Zr0.5"])
    np.testing.assert_allclose(values[1:], np.repeat(values[:1], 2, axis=0), rtol=1e-12)
    cu_zr = dict(zip(features.AlloyFeatures().get_feature_names_out(), values[0]))
    assert cu_zr["Mixing enthalpy signed"] == pytest.approx(-23.0)  # Takeuchi & Inoue's ΔH(Cu-Zr) = -23 kJ/mol
