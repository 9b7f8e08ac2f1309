"""The domain core: one formula parser, one element table, oxidation states and ionic radii.

Every featurizer, reader and design space in matforge goes through these functions; there is no second parser.
"""

from matforge.chem._batch import Compositions, fraction_matrix, parse_compositions
from matforge.chem._elements import (
    DEML_PROPERTIES,
    MAGPIE_PROPERTIES,
    PYMATGEN_PROPERTIES,
    ElementTable,
    element_table,
    matminer_element_data,
    shannon_radius,
)
from matforge.chem._formula import ELEMENT_INDEX, ELEMENT_SYMBOLS, parse_formula
from matforge.chem._oxidation import charge_balanced, guess_oxidation_states

__all__ = [
    "ELEMENT_INDEX",
    "ELEMENT_SYMBOLS",
    "MAGPIE_PROPERTIES",
    "DEML_PROPERTIES",
    "PYMATGEN_PROPERTIES",
    "matminer_element_data",
    "Compositions",
    "ElementTable",
    "charge_balanced",
    "element_table",
    "fraction_matrix",
    "guess_oxidation_states",
    "parse_compositions",
    "parse_formula",
    "shannon_radius",
]
