"""RankedFractions: fractions of the elements ranked by a property, with answers worked out by hand."""

import numpy as np

from matforge.chem import element_table
from matforge.features import CompositionFeatures, RankedFractions


def _row(formula: str, **params) -> dict[str, float]:
    featurizer = RankedFractions(**params)
    return dict(zip(featurizer.get_feature_names_out(), featurizer.fit_transform([formula])[0]))


def test_picks_the_fraction_of_the_largest_and_smallest_atom():
    # the expected extremes are read from the same Magpie table the featurizer uses
    radius = dict(zip(element_table().symbols, element_table().properties(("CovalentRadius",))[:, 0]))
    amounts = {"Cu": 0.50, "Zr": 0.45, "Al": 0.05}
    largest = max(amounts, key=lambda e: radius[e])
    smallest = min(amounts, key=lambda e: radius[e])
    row = _row("Cu50Zr45Al5", properties=("CovalentRadius",))
    assert row["fraction with largest CovalentRadius"] == amounts[largest]
    assert row["fraction with smallest CovalentRadius"] == amounts[smallest]


def test_sorted_fractions_pad_with_zero():
    row = _row("Fe3C", properties=("Number",), n_sorted=3)
    assert (row["largest fraction"], row["2nd largest fraction"], row["3rd largest fraction"]) == (0.75, 0.25, 0.0)


def test_ties_count_together_so_formula_order_does_not_matter():
    # Cu and Ag share NValence (11), so 'fraction with largest NValence' is their sum, whatever order the
    # formula lists them in
    nvalence = dict(zip(element_table().symbols, element_table().properties(("NValence",))[:, 0]))
    assert nvalence["Cu"] == nvalence["Ag"]
    forward = RankedFractions(properties=("NValence",)).fit_transform(["Cu30Ag20Al50"])
    backward = RankedFractions(properties=("NValence",)).fit_transform(["Al50Ag20Cu30"])
    np.testing.assert_array_equal(forward, backward)
    row = _row("Cu30Ag20Al50", properties=("NValence",))
    assert np.isclose(row["fraction with largest NValence"], 0.5)


def test_single_element_is_both_extremes():
    row = _row("Fe")
    assert all(row[f"fraction with {end} {p}"] == 1.0 for p in RankedFractions().properties for end in ("largest", "smallest"))
    assert row["2nd largest fraction"] == 0.0


def test_does_not_depend_on_how_the_formula_is_written():
    values = RankedFractions().fit_transform(["CuZr2", "Cu33.333333Zr66.666667", "Zr2Cu"])
    np.testing.assert_allclose(values[0], values[1], atol=1e-7)
    np.testing.assert_array_equal(values[0], values[2])


def test_magpie_ranked_adds_them_and_magpie_extended_keeps_its_columns():
    names = list(CompositionFeatures("magpie_ranked").get_feature_names_out())
    assert "fraction with largest CovalentRadius" in names and "largest fraction" in names
    assert len(names) == len(set(names))
    # run folders saved with magpie_extended are rebuilt from the preset name: its columns must not change
    extended = list(CompositionFeatures("magpie_extended").get_feature_names_out())
    assert len(extended) == 265 and names[:265] == extended
