"""Polymer repeat units as SMILES: descriptors with known values, one key per polymer however it is written,
bad cells named by row."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("rdkit")

from matforge.errors import InputError  # noqa: E402
from matforge.features import PolymerFeatures, polymer_keys  # noqa: E402
from matforge.features._polymer import CHAIN_LABELS  # noqa: E402


def chain(smiles: str) -> dict[str, float]:
    featurizer = PolymerFeatures(n_bits=16).fit()
    values = featurizer.transform([smiles])[0]
    names = list(featurizer.get_feature_names_out())
    return {label: values[names.index(label)] for label in CHAIN_LABELS} | {"MolWt": values[names.index("MolWt")]}


def test_polystyrene_has_a_two_atom_backbone_and_a_phenyl_side_chain():
    f = chain("*CC(*)c1ccccc1")
    assert f["backbone_atoms"] == 2 and f["sidechain_atoms"] == 6 and f["sidechains"] == 1 and f["longest_sidechain"] == 6
    assert f["backbone_ring_fraction"] == 0
    # the C-C bond inside the unit and the one to the next unit: both single, both free to rotate
    assert f["backbone_rotatable_bonds"] == 2 and f["backbone_rotatable_fraction"] == 1
    assert f["MolWt"] == pytest.approx(106.17, abs=0.01)  # the capped unit: ethylbenzene, C8H10


def test_rings_the_chain_runs_through_are_backbone():
    f = chain("*c1ccc(*)cc1")  # poly(p-phenylene)
    assert f["backbone_atoms"] == 6 and f["sidechain_atoms"] == 0 and f["backbone_aromatic_fraction"] == 1
    assert f["backbone_rotatable_bonds"] == 1  # only the bond between rings turns
    assert chain("*CCCCCC*")["backbone_rotatable_fraction"] == 1
    # a longer side chain lowers the stiffness share of the unit
    butyl, methyl = chain("*CC(*)CCCC"), chain("*CC(*)C")
    assert butyl["longest_sidechain"] == 4 and methyl["longest_sidechain"] == 1
    assert butyl["sidechain_fraction"] > methyl["sidechain_fraction"]


def test_a_molecule_has_no_chain_descriptors():
    f = chain("CCO")
    assert f["chain_ends"] == 0 and math.isnan(f["backbone_atoms"]) and f["heavy_atoms"] == 3


def test_the_same_polymer_written_from_another_atom_has_one_key():
    keys = polymer_keys(["*CC(*)C", "*C(C)C*", "*CC*", "*CCCC*", "*C(F)(F)*", "*C(*)(F)F", "*CC(*)c1ccccc1", "CCO"])
    assert keys[0] == keys[1] and keys[2] == keys[3] and keys[4] == keys[5]
    assert len(set(keys)) == 5
    # cis- and trans-1,4-polybutadiene are different polymers (a ring of four cannot hold the double bond's stereo)
    cis, trans, plain = polymer_keys(["*C/C=C\\C*", "*/C=C/CC*", "*CC=CC*"])
    assert len({cis, trans, plain}) == 3


def test_a_bad_cell_is_named_by_row():
    with pytest.raises(InputError, match="row 1") as err:
        PolymerFeatures(n_bits=16).fit().transform(["*CC(*)C", "*CC(*)(C", "*CC(*)C"], source="polymers.csv", column="psmiles")
    assert "polymers.csv" in str(err.value) and "psmiles" in str(err.value)
    with pytest.raises(InputError, match="two '\\*' chain ends"):
        PolymerFeatures(n_bits=16).fit().transform(["*CC(*)C*"])
    rows = PolymerFeatures(n_bits=16).fit().transform(["*CC(*)C", "nonsense("], on_error="nan")
    assert np.isfinite(rows[0]).all() and np.isnan(rows[1]).all()


def test_worker_processes_give_the_same_features(monkeypatch):
    import matforge.features._polymer as polymer

    smiles = ["*CC(*)C", "*CC(*)c1ccccc1", "*c1ccc(*)cc1", "*CC(*)(C)C(=O)OC", "*CCO*", "*C=CC*"] * 2
    serial = PolymerFeatures(n_bits=32).fit().transform(smiles)
    monkeypatch.setattr(polymer, "PARALLEL_ROWS", 2)
    parallel = PolymerFeatures(n_bits=32, n_jobs=2).fit().transform(smiles)
    assert np.array_equal(np.isnan(serial), np.isnan(parallel)) and np.allclose(np.nan_to_num(serial), np.nan_to_num(parallel))


def test_a_saved_featurizer_reads_descriptors_by_name_when_rdkit_lists_others():
    import pandas as pd

    from matforge.features._table import TableFeaturizer

    table = pd.DataFrame({"psmiles": ["*CC(*)C", "*CC(*)c1ccccc1"]})
    featurizer = TableFeaturizer(smiles_cols=["psmiles"]).fit(table)
    expected = featurizer.transform(table)
    # as if saved with an RDKit that had one descriptor fewer, listed in another order
    names = featurizer.smiles_features_["psmiles"]
    featurizer.smiles_features_["psmiles"] = names[1:][::-1] + ["NoSuchDescriptor"]
    featurizer.columns_ = featurizer.smiles_features_["psmiles"]
    old = featurizer.transform(table)
    assert list(old.columns) == names[1:][::-1] + ["NoSuchDescriptor"]
    assert np.allclose(old[names[1:]].to_numpy(), expected[names[1:]].to_numpy(), equal_nan=True)
    assert old["NoSuchDescriptor"].isna().all()
