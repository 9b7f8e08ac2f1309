"""Perovskite descriptors against the values published by Bartel et al., Sci. Adv. 5, eaav0693 (2019)."""

import math

import numpy as np
import pandas as pd
import pytest

from matforge.features import PerovskiteDescriptors, perovskite_sites

# (formula, t, τ) from Table S1 of Bartel et al. 2019 (values given there to two decimals), with radii from
# Shannon (1976): A at CN XII, B and X at CN VI
BARTEL_TABLE_S1 = [
    ("SrTiO3", 1.00, 3.80),
    ("BaTiO3", 1.06, 3.75),
    ("CaTiO3", 0.97, 3.88),
    ("LaAlO3", 1.01, 1.79),
    ("LaFeO3", 0.95, 1.65),
    ("KNbO3", 1.05, 3.91),
    ("NaNbO3", 0.97, 3.99),
    ("KMgF3", 1.02, 3.61),
    ("CsPbI3", 0.85, 4.30),
]
COLUMNS = {name: i for i, name in enumerate(["t", "mu", "tau"])}


@pytest.mark.parametrize("formula, t, tau", BARTEL_TABLE_S1)
def test_guessed_sites_reproduce_published_t_and_tau(formula, t, tau):
    values = PerovskiteDescriptors().fit_transform([formula])[0]
    assert values[COLUMNS["t"]] == pytest.approx(t, abs=0.006)
    assert values[COLUMNS["tau"]] == pytest.approx(tau, abs=0.006)


def test_srtio3_sites_and_tolerance_factor():
    a_site, b_site, anion, a_states, b_states, x_state = perovskite_sites("SrTiO3")
    assert (a_site, b_site, anion, a_states, b_states, x_state) == (("Sr",), ("Ti",), "O", (2,), (4,), -2)
    t = PerovskiteDescriptors().fit_transform(["SrTiO3"])[0, 0]
    # Shannon: Sr2+ (XII) 1.44 Å, Ti4+ (VI) 0.605 Å, O2- (VI) 1.40 Å
    assert t == pytest.approx((1.44 + 1.40) / (math.sqrt(2) * (0.605 + 1.40)), rel=1e-9)


def test_given_radii_and_states_are_used_as_given():
    table = pd.DataFrame(
        {"formula": ["LaAlO3"], "A": ["La"], "B": ["Al"], "X": ["O"], "nA": [3], "nB": [3], "nX": [-2],
         "rA": [1.36], "rB": [0.535], "rX": [1.40]}
    )  # fmt: skip
    featurizer = PerovskiteDescriptors(
        site_cols=("A", "B", "X"), oxidation_cols=("nA", "nB", "nX"), radius_cols=("rA", "rB", "rX"), formula_col="formula"
    )
    t, mu, tau = featurizer.fit_transform(table)[0, :3]
    ratio = 1.36 / 0.535
    assert t == pytest.approx((1.36 + 1.40) / (math.sqrt(2) * (0.535 + 1.40)), rel=1e-12)
    assert mu == pytest.approx(0.535 / 1.40, rel=1e-12)
    assert tau == pytest.approx(1.40 / 0.535 - 3 * (3 - ratio / math.log(ratio)), rel=1e-12)
    assert tau == pytest.approx(1.79, abs=0.006)  # Bartel et al. 2019, Table S1


def test_double_perovskite_averages_the_b_site():
    a_site, b_site, *_ = perovskite_sites("Ba2FeMoO6")
    assert a_site == ("Ba",) and set(b_site) == {"Fe", "Mo"}
    assert np.isfinite(PerovskiteDescriptors().fit_transform(["Ba2FeMoO6"])[0, :3]).all()


@pytest.mark.parametrize("formula", ["Fe2O3", "NaCl", "Cu", "C100H3815Br21I279N2185Pb100"])
def test_non_perovskites_get_nan(formula):
    assert np.isnan(PerovskiteDescriptors().fit_transform([formula])).all()
