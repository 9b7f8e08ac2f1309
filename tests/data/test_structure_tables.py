"""`read_table` reads crystal structures as a table: a folder of CIF/POSCAR files, one such file, or the frames
of an extended XYZ file with their scalar properties; a model trained on a structure column under another name
reads such a table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure
from tests.conftest import fcc_cell

from matforge.data import parse_structures, prepare_dataset, read_table
from matforge.errors import InputError
from matforge.features._table import TableFeaturizer


def rocksalt(a: str, b: str, lattice: float) -> Structure:
    return fcc_cell(lattice, a, b)


def cesium_chloride(lattice: float = 4.1) -> Structure:
    return Structure.from_spacegroup("Pm-3m", Lattice.cubic(lattice), ["Cs", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def test_a_folder_of_structure_files_is_a_table_of_their_paths(tmp_path, monkeypatch):
    folder = tmp_path / "crystals"
    (folder / "mp-2" / "relax").mkdir(parents=True)
    (folder / ".cache").mkdir()
    rocksalt("Na", "Cl", 5.6).to(filename=str(folder / "b_nacl.cif"))
    cesium_chloride().to(filename=str(folder / "mp-2" / "relax" / "CONTCAR"), fmt="poscar")
    rocksalt("K", "Br", 6.6).to(filename=str(folder / "a_kbr.vasp"), fmt="poscar")
    rocksalt("Li", "F", 4.0).to(filename=str(folder / ".cache" / "old.cif"))  # hidden: not part of the data
    (folder / "notes.txt").write_text("DFT settings: PBE, 520 eV")
    (folder / "summary.json").write_text('{"n": 3}')

    table = read_table(folder)
    assert list(table.columns) == ["structure"]
    assert list(table["structure"]) == ["crystals/a_kbr.vasp", "crystals/b_nacl.cif", "crystals/mp-2/relax/CONTCAR"]
    monkeypatch.chdir(tmp_path / "crystals" / "mp-2")  # paths are read from the folder's parent, not the cwd
    structures = parse_structures(table["structure"], source=table.attrs["source"])
    assert [s.composition.reduced_formula for s in structures] == ["KBr", "NaCl", "CsCl"]

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing yet")
    with pytest.raises(InputError, match="no structure files"):
        read_table(tmp_path / "empty")

    # POSCAR and CONTCAR files named as VASP users name them are structures; tables named after them are not
    named = tmp_path / "named"
    named.mkdir()
    for i, name in enumerate(["POSCAR_0", "POSCAR-mp-149", "2_CONTCAR", "POSCAR.1", "Si.POSCAR"]):
        rocksalt("Na", "Cl", 5.0 + 0.1 * i).to(filename=str(named / name), fmt="poscar")
    (named / "POSCAR_energies.csv").write_text("name,energy\nPOSCAR_0,-3.3\n")
    assert sorted(read_table(named)["structure"]) == sorted(f"named/{n}" for n in ["POSCAR_0", "POSCAR-mp-149", "2_CONTCAR", "POSCAR.1", "Si.POSCAR"])


def test_one_structure_file_is_a_row_and_each_cif_data_block_a_row(tmp_path):
    single = tmp_path / "POSCAR"
    rocksalt("Na", "Cl", 5.6).to(filename=str(single), fmt="poscar")
    table = read_table(single)
    assert list(table["structure"]) == ["POSCAR"]
    assert parse_structures(table["structure"], source=table.attrs["source"])[0].composition.reduced_formula == "NaCl"

    two = tmp_path / "two.cif"
    two.write_text(rocksalt("Na", "Cl", 5.6).to(fmt="cif") + cesium_chloride().to(fmt="cif"))
    table = read_table(two)
    assert len(table) == 2 and table["structure"].str.startswith("data_").all()
    assert [s.composition.reduced_formula for s in parse_structures(table["structure"])] == ["NaCl", "CsCl"]


def test_extended_xyz_frames_become_rows_with_their_scalar_properties(tmp_path):
    ase_io = pytest.importorskip("ase.io")
    from ase.build import bulk, molecule
    from ase.calculators.singlepoint import SinglePointCalculator

    frames = [bulk("Cu", "fcc", a=3.6), bulk("Si", "diamond", a=5.43) * (2, 1, 1), bulk("NaCl", "rocksalt", a=5.6)]
    for atoms, gap in zip(frames, [0.0, 1.1, 5.0]):
        atoms.info["band_gap"] = gap
        atoms.calc = SinglePointCalculator(atoms, energy=-3.5 * len(atoms), forces=np.zeros((len(atoms), 3)))
    frames[1].info["source"] = "relaxed"
    path = tmp_path / "frames.extxyz"
    ase_io.write(path, frames)

    table = read_table(path)
    assert list(table.columns) == ["structure", "band_gap", "energy", "source"]  # forces are per atom: not a column
    assert table["band_gap"].tolist() == [0.0, 1.1, 5.0] and table["energy"].tolist() == [-3.5, -14.0, -7.0]
    structures = parse_structures(table["structure"])
    assert [s.composition.reduced_formula for s in structures] == ["Cu", "Si", "NaCl"]
    assert np.allclose(structures[1].lattice.matrix, frames[1].cell.array)
    assert np.allclose(structures[1].cart_coords, frames[1].positions)
    # and it is a training table: the structure column is found, the scalars are the other columns
    data = prepare_dataset(pd.concat([table] * 4, ignore_index=True).assign(band_gap=np.arange(12.0)), "band_gap")
    assert data.structure_cols == ["structure"] and "energy" in data.numeric_cols

    ase_io.write(tmp_path / "mixed.extxyz", [frames[0], molecule("H2O")])
    with pytest.raises(InputError, match=r"row 1: frame 1 has no periodic cell"):
        read_table(tmp_path / "mixed.extxyz")


def test_a_model_trained_on_a_named_structure_column_reads_a_folder(tmp_path):
    folder = tmp_path / "new"
    folder.mkdir()
    salts = {"kcl.cif": rocksalt("K", "Cl", 6.3), "nacl.cif": rocksalt("Na", "Cl", 5.6)}
    for name, structure in salts.items():
        structure.to(filename=str(folder / name))
    training = pd.DataFrame({"cif": [s.to_json() for s in salts.values()]})
    featurizer = TableFeaturizer(structure_cols=["cif"]).fit(training)

    features = featurizer.transform(read_table(folder))
    assert np.allclose(features.to_numpy(), featurizer.transform(training).to_numpy(), equal_nan=True)
    # an ordinary table keeps its column names: a missing column is still an error
    with pytest.raises(InputError, match="no such column"):
        featurizer.transform(pd.DataFrame({"structure": training["cif"]}))


def test_a_table_named_like_a_structure_file_is_still_a_table(tmp_path):
    path = tmp_path / "POSCAR_energies.csv"
    pd.DataFrame({"formula": ["NaCl"], "energy": [-3.3]}).to_csv(path, index=False)
    assert list(read_table(path).columns) == ["formula", "energy"]
    path = tmp_path / "POSCAR.csv"
    pd.DataFrame({"formula": ["NaCl"], "energy": [-3.3]}).to_csv(path, index=False)
    assert list(read_table(path).columns) == ["formula", "energy"]
