"""Featurizers: scikit-learn transformers that turn formulas (and crystal structures, polymer SMILES) into numbers.

Every featurizer carries its labels (`get_feature_names_out`) and its papers (`citations()`); presets such as
``"magpie"`` give the same values as matminer, computed on whole columns with numpy.
"""

from matforge.features._alloy import AlloyFeatures
from matforge.features._base import CompositionFeaturizer, formulas_from
from matforge.features._composition import (
    BandCenter,
    ElementFraction,
    ElementProperty,
    IonProperty,
    Stoichiometry,
    TMetalFraction,
    ValenceOrbital,
)
from matforge.features._perovskite import PerovskiteDescriptors, perovskite_sites
from matforge.features._polymer import PolymerFeatures, polymer_keys
from matforge.features._ranked import RankedFractions
from matforge.features._registry import FEATURIZERS, PRESETS, CompositionFeatures, featurize, make_featurizer
from matforge.features._stream import featurize_chunks
from matforge.features._structure import StructureFeatures

__all__ = [
    "FEATURIZERS",
    "PRESETS",
    "AlloyFeatures",
    "BandCenter",
    "CompositionFeaturizer",
    "CompositionFeatures",
    "ElementFraction",
    "ElementProperty",
    "IonProperty",
    "PerovskiteDescriptors",
    "PolymerFeatures",
    "RankedFractions",
    "Stoichiometry",
    "StructureFeatures",
    "TMetalFraction",
    "ValenceOrbital",
    "featurize",
    "featurize_chunks",
    "formulas_from",
    "make_featurizer",
    "perovskite_sites",
    "polymer_keys",
]
