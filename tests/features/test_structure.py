"""Crystal structures as inputs: cells read in every form a user has, descriptors with known values that do not
depend on the cell a structure is written in, and roles, duplicates and groups in `prepare_dataset`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure
from tests.conftest import fcc_cell

from matforge.data import parse_structures, prepare_dataset
from matforge.errors import InputError
from matforge.features import StructureFeatures


def rock_salt(a: float = 5.64) -> Structure:
    return fcc_cell(a, "Na", "Cl")


def features(structure) -> dict[str, float]:
    values = StructureFeatures().fit().transform([structure])[0]
    return dict(zip(StructureFeatures.feature_labels(), values, strict=True))


def test_rock_salt_descriptors_have_their_textbook_values():
    f = features(rock_salt())
    assert f["spacegroup_number"] == 225 and f["crystal_system"] == 7 and f["point_group_order"] == 48 and f["centrosymmetric"] == 1
    assert f["min nn_distance"] == pytest.approx(2.82) and f["max nn_distance"] == pytest.approx(2.82)
    assert f["mean first_shell_cn"] == 6 and f["std first_shell_cn"] == 0
    assert f["mean nn_reduced_mass"] == pytest.approx(22.98977 * 35.453 / (22.98977 + 35.453), rel=1e-4)
    assert f["volume_per_atom"] == pytest.approx(5.64**3 / 8)
    assert f["density"] == pytest.approx(4 * (22.98977 + 35.453) / 6.02214076e23 / (5.64e-8) ** 3, rel=1e-4)
    assert f["primitive_sites"] == pytest.approx(2) and f["wyckoff_orbits"] == 2 and f["axis_ratio_long"] == pytest.approx(1)
    assert f["max_angle_deviation"] == pytest.approx(30)  # the fcc primitive cell's rhombohedral angles are 60°
    assert f["mean nn_electronegativity_difference"] == pytest.approx(3.16 - 0.93)
    assert f["mean nn_distance_over_volume"] == pytest.approx(1) and f["mean second_shell_ratio"] == pytest.approx(np.sqrt(2))
    # a compressed crystal: shorter bonds, a higher frequency proxy, denser packing
    squeezed = features(rock_salt(5.2))
    assert squeezed["mean nn_frequency_proxy"] > f["mean nn_frequency_proxy"] and squeezed["packing_fraction"] > f["packing_fraction"]


def test_a_layered_crystal_has_its_van_der_waals_gap_and_a_dense_one_none():
    # sheets of atoms 3.3 Å apart in a 2.5 × 2.5 × 10 Å cell: 6.7 Å of empty space between the sheets
    layered = Structure(Lattice.hexagonal(2.5, 10.0), ["C", "C"], [[0, 0, 0.4], [0, 0, 0.73]])
    f = features(layered)
    assert f["largest_gap"] == pytest.approx(6.7) and f["largest_gap_fraction"] == pytest.approx(0.67)
    dense = features(rock_salt())
    assert dense["largest_gap"] < 2.0


def test_descriptors_do_not_depend_on_the_cell_the_structure_is_written_in():
    rng = np.random.default_rng(0)
    low_symmetry = Structure(Lattice.from_parameters(4.1, 5.3, 6.2, 82, 95, 101), ["Ti", "O", "O", "Sr"], rng.uniform(size=(4, 3)))
    for structure in (rock_salt(), low_symmetry):
        same = [structure * (2, 1, 1), structure.get_primitive_structure(), structure.copy().perturb(0.0)]
        reference = StructureFeatures().fit().transform([structure])[0]
        for other in same:
            np.testing.assert_allclose(StructureFeatures().fit().transform([other])[0], reference, rtol=1e-6, atol=1e-8)


def test_every_cell_form_is_read_and_a_bad_cell_names_its_row(tmp_path):
    s = rock_salt()
    s.add_oxidation_state_by_element({"Na": 1, "Cl": -1})  # guessed valences are dropped on reading
    (tmp_path / "cells").mkdir()
    s.to(filename=str(tmp_path / "cells" / "nacl.cif"))
    s.to(filename=str(tmp_path / "cells" / "POSCAR"))
    cells = [json.dumps(s.as_dict()), str(s.as_dict()), s.to(fmt="cif"), s.to(fmt="poscar"), "cells/nacl.cif", "cells/POSCAR", s]
    read = parse_structures(cells, source=str(tmp_path / "table.csv"), column="structure")
    assert len(read) == len(cells)
    for structure in read:
        assert structure.composition.reduced_formula == "NaCl" and str(structure[0].specie) in ("Na", "Cl")
        assert structure.volume / len(structure) == pytest.approx(5.64**3 / 8, rel=1e-4)
    with pytest.raises(InputError) as err:
        parse_structures([cells[0], "cells/missing.cif"], source=str(tmp_path / "table.csv"), column="structure")
    assert err.value.row == 1 and err.value.column == "structure" and "missing.cif" in str(err.value)
    kept = parse_structures([cells[0], "{'lattice': 1, 'sites': 2}"], on_error="keep")
    assert kept[1] is None and 1 in kept.errors


def test_prepare_dataset_finds_the_structure_column_merges_copies_but_not_polymorphs():
    s = rock_salt()
    table = pd.DataFrame({
        "structure": [str(s.as_dict()), str((s * (1, 1, 2)).as_dict()), str(rock_salt(5.0).as_dict()), *[str(rock_salt(5.3 + 0.05 * i).as_dict()) for i in range(9)]],
        "energy": [1.5, 3.5, 7.5, *np.arange(9) + 0.25],
    })  # fmt: skip
    dataset = prepare_dataset(table, "energy")
    assert dataset.structure_cols == ["structure"] and dataset.formula_cols == [] and dataset.numeric_cols == []
    # rows 0 and 1 are one crystal in two cells: merged (median target 2.5); the compressed polymorph stays a row
    assert dataset.duplicates_merged == 1 and dataset.y.iloc[0] == 2.5 and dataset.weights[0] == 2
    assert len(set(dataset.groups)) == 1  # one composition: one CV group, polymorphs never straddle a split
    bad = table.copy()
    bad.loc[5, "structure"] = "{'lattice': 'oops', 'sites': []}"
    with pytest.raises(InputError) as err:
        prepare_dataset(bad, "energy")
    assert err.value.row == 5 and err.value.column == "structure"


def test_the_point_group_table_agrees_with_pymatgens_groups():
    from pymatgen.symmetry.groups import PointGroup

    from matforge.features._structure import _POINT_GROUP_ORDER, _point_group_order

    for symbol in _POINT_GROUP_ORDER:
        if symbol in ("321", "312", "3m1", "31m", "-3m1", "-31m", "-4m2", "-62m"):  # settings pymatgen names otherwise
            continue
        assert _point_group_order(symbol) == len(PointGroup(symbol).symmetry_ops), symbol


def test_only_columns_of_structures_are_taken_for_structures(tmp_path):
    (tmp_path / "cif").mkdir()
    names = []
    for i, a in enumerate(np.linspace(5.2, 6.0, 12)):
        rock_salt(a).to(filename=str(tmp_path / "cif" / f"s{i}.cif"))
        names.append(f"cif/s{i}.cif")
    table = pd.DataFrame({
        "file": names, "log": [f"run{i}.json" for i in range(12)],  # names of files that are not there
        "notes": ["\n".join([f"sample {i}", "annealed 2 h", "", "", "", "", "", "ok"]) for i in range(12)],  # free text over lines
        "gap": np.linspace(0.5, 2.0, 12),
    })  # fmt: skip
    table.attrs["source"] = str(tmp_path / "table.csv")
    dataset = prepare_dataset(table, "gap")
    assert dataset.structure_cols == ["file"]
    assert "log" in dataset.dropped_cols and "notes" in dataset.dropped_cols


def test_structure_objects_in_a_table_built_in_python_are_kept_as_json_the_run_can_save():
    structures = [rock_salt(5.3 + 0.05 * i) for i in range(12)]
    table = pd.DataFrame({"structure": structures, "energy": np.linspace(0.5, 2.0, 12)})
    dataset = prepare_dataset(table, "energy")
    assert dataset.structure_cols == ["structure"] and all(isinstance(v, str) for v in dataset.frame["structure"])
    assert table["structure"].iloc[0] is structures[0]  # the caller's table is left as it was
    back = parse_structures(dataset.frame["structure"])
    assert [s.volume for s in back] == pytest.approx([s.volume for s in structures])
    pd.util.hash_pandas_object(dataset.frame)  # hashable (the run's data hash), unlike Structure objects


def test_a_table_featurizer_saved_before_structure_columns_still_works():
    from matforge.features._table import TableFeaturizer

    table = pd.DataFrame({"formula": ["NaCl", "KCl"], "T": [300.0, 400.0]})
    old = TableFeaturizer(["formula"], ["T"], (), presets=("magpie",)).fit(table)
    del old.structure_cols  # as skops loads one written before the attribute existed
    assert old.transform(table).shape == (2, 146) and old.get_params()["structure_cols"] == () and "TableFeaturizer" in repr(old)


def test_worker_processes_give_the_same_rows_in_the_same_order(monkeypatch):
    import matforge.features._structure as module

    monkeypatch.setattr(module, "PARALLEL_ROWS", 4)
    rng = np.random.default_rng(1)
    structures = [rock_salt(a) for a in rng.uniform(4.8, 6.2, 9)] + [None]
    serial = StructureFeatures().fit().transform(structures)
    np.testing.assert_array_equal(StructureFeatures(n_jobs=2).fit().transform(structures), serial)
    assert np.isnan(serial[-1]).all() and len(np.unique(serial[:-1, 1])) == 9


def _count_in_daemon(queue):
    from matforge._workers import worker_count

    queue.put((worker_count(4, processes=True), worker_count(4)))


def test_a_daemonic_worker_starts_no_processes_of_its_own():
    import multiprocessing

    from matforge._workers import worker_count

    queue = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(target=_count_in_daemon, args=(queue,), daemon=True)
    child.start()
    assert queue.get(timeout=60) == (1, 4)  # a Dask worker is such a process: it may not start children
    child.join()
    assert worker_count(-1, processes=True) >= 1 and worker_count(3, processes=True) == 3 and worker_count(None) == 1


def test_a_solid_solution_is_read_as_the_average_of_its_site_occupants(tmp_path):
    def perovskite(a_site) -> Structure:
        coords = [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
        return Structure(Lattice.cubic(3.95), [a_site, "Ti", "O", "O", "O"], coords)

    (tmp_path / "bst.cif").write_text(perovskite({"Ba": 0.5, "Sr": 0.5}).to(fmt="cif"))  # a CIF with occupancies
    mixed = parse_structures(["bst.cif"], source=str(tmp_path / "table.csv"))[0]
    assert not mixed.is_ordered
    rows = StructureFeatures().fit().transform([perovskite("Ba"), mixed, perovskite("Sr"), perovskite({"Ba": 0.9})])
    f = {name: rows[:, i] for i, name in enumerate(StructureFeatures.feature_labels())}
    for name in ("density", "packing_fraction", "mean nn_reduced_mass"):  # halfway between the end members
        assert f[name][1] == pytest.approx((f[name][0] + f[name][2]) / 2, rel=0.02)
    assert f["spacegroup_number"][1] == 221 and f["mean first_shell_cn"][1] == f["mean first_shell_cn"][0]
    assert f["packing_fraction"][3] < f["packing_fraction"][0]  # a tenth of the Ba sites empty
    # and a table of such structures trains: its compositions are the average ones
    table = pd.DataFrame({"cif": [perovskite({"Ba": x, "Sr": 1 - x}).to_json() for x in np.linspace(0, 1, 12)], "y": np.linspace(0, 1, 12)})
    data = prepare_dataset(table, "y")
    assert data.structure_cols == ["cif"] and len(data.frame) == 12


def test_a_run_fitted_when_there_were_fewer_structure_descriptors_predicts_with_those():
    from matforge.features._table import TableFeaturizer

    table = pd.DataFrame({"cif": [rock_salt(a).to_json() for a in (5.2, 5.64, 6.0)]})
    current = TableFeaturizer(structure_cols=["cif"], presets=("magpie",)).fit(table)
    old = TableFeaturizer(structure_cols=["cif"], presets=("magpie",)).fit(table)
    first = StructureFeatures.feature_labels()[:30]  # the descriptors of 2026-12-05, as a run of that day recorded them
    newer = set(StructureFeatures.feature_labels()[30:])
    old.columns_ = [c for c in old.columns_ if c not in newer]
    old.feature_sets_["main"] = [c for c in old.feature_sets_["main"] if c not in newer]
    features = old.transform(table)
    assert list(features.columns[-30:]) == first and features.shape[1] == 145 + 30
    pd.testing.assert_frame_equal(features, current.transform(table)[list(old.columns_)])
