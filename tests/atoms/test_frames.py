"""Reading, validating and splitting DFT frames."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matforge.atoms import frames_hash, read_frames, split_frames
from matforge.errors import InputError


def test_reads_extxyz_energies_and_forces(emt_extxyz, cu_train):
    frames = read_frames(emt_extxyz)
    assert len(frames) == 8
    assert frames[3].info["ref_energy"] == pytest.approx(cu_train[3].info["ref_energy"])
    np.testing.assert_allclose(frames[3].arrays["ref_forces"], cu_train[3].arrays["ref_forces"], atol=1e-8)
    assert frames[0].calc is None


def _write_deepmd(root, frames, type_map=("Cu",)):
    system = root / "sys_a"
    (system / "set.000").mkdir(parents=True)
    (system / "type.raw").write_text("\n".join("0" for _ in frames[0]) + "\n")
    (system / "type_map.raw").write_text("\n".join(type_map) + "\n")
    np.save(system / "set.000" / "coord.npy", np.stack([a.positions.reshape(-1) for a in frames]).astype(np.float32))
    np.save(system / "set.000" / "box.npy", np.stack([a.cell.array.reshape(-1) for a in frames]).astype(np.float32))
    np.save(system / "set.000" / "energy.npy", np.array([a.info["ref_energy"] for a in frames], dtype=np.float32))
    np.save(system / "set.000" / "force.npy",
            np.stack([a.arrays["ref_forces"].reshape(-1) for a in frames]).astype(np.float32))
    return system


def test_reads_deepmd_npy_layout(tmp_path, cu_train):
    _write_deepmd(tmp_path, cu_train[:5])
    frames = read_frames(tmp_path)
    assert len(frames) == 5
    assert frames[2].get_chemical_symbols() == ["Cu"] * 32
    np.testing.assert_allclose(frames[2].positions, cu_train[2].positions, atol=1e-4)
    np.testing.assert_allclose(frames[2].arrays["ref_forces"], cu_train[2].arrays["ref_forces"], atol=1e-4)
    assert frames[2].info["config_type"] == "sys_a"


def test_deepmd_coordinate_count_mismatch_is_input_error(tmp_path, cu_train):
    system = _write_deepmd(tmp_path, cu_train[:2])
    (system / "type.raw").write_text("0\n0\n")
    with pytest.raises(InputError, match="coord.npy"):
        read_frames(tmp_path)


def test_reads_pymatgen_json_with_groups_and_tags(tmp_path, cu_train):
    from pymatgen.io.ase import AseAtomsAdaptor

    entries = []
    for i, atoms in enumerate(cu_train[:4]):
        entries.append({"structure": AseAtomsAdaptor.get_structure(atoms).as_dict(),
                        "outputs": {"energy": atoms.info["ref_energy"], "forces": atoms.arrays["ref_forces"].tolist()},
                        "group": "Elastic" if i % 2 else "AIMD", "tag": "test" if i == 3 else "train"})
    path = tmp_path / "training.json"
    path.write_text(json.dumps(entries))
    frames = read_frames(path)
    assert [a.info["config_type"] for a in frames] == ["AIMD", "Elastic", "AIMD", "Elastic"]
    np.testing.assert_allclose(frames[1].positions, cu_train[1].positions, atol=1e-8)
    train, val, test = split_frames(frames, by="tag")
    assert (len(train), len(val), len(test)) == (3, 0, 1)


def test_frame_without_energy_names_file_and_frame(tmp_path):
    from ase.build import bulk

    path = tmp_path / "no_energy.extxyz"
    bulk("Cu", "fcc", 3.6).write(path, format="extxyz")
    with pytest.raises(InputError, match="no_energy.extxyz: frame 0 has no energy"):
        read_frames(path)


def test_frames_read_and_written_back_read_again(tmp_path, cu_train):
    import ase.io

    ase.io.write(tmp_path / "again.extxyz", cu_train[:3])
    frames = read_frames(tmp_path / "again.extxyz")  # info['ref_energy'], arrays['ref_forces'] as read_frames keeps them
    assert [f.info["ref_energy"] for f in frames] == pytest.approx([f.info["ref_energy"] for f in cu_train[:3]])
    np.testing.assert_allclose(frames[2].arrays["ref_forces"], cu_train[2].arrays["ref_forces"], atol=1e-8)


def test_forces_of_wrong_shape_are_rejected(tmp_path, cu_train):
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = cu_train[0]
    entry = {"structure": AseAtomsAdaptor.get_structure(atoms).as_dict(),
             "outputs": {"energy": -1.0, "forces": atoms.arrays["ref_forces"][:-1].tolist()}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([entry]))
    with pytest.raises(InputError, match=r"shape \(31, 3\), expected \(32, 3\)"):
        read_frames(path)


def test_forces_in_wrong_units_are_flagged(tmp_path, cu_train):
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = cu_train[0]
    entry = {"structure": AseAtomsAdaptor.get_structure(atoms).as_dict(),
             "outputs": {"energy": -1.0, "forces": (atoms.arrays["ref_forces"] * 1e4).tolist()}}
    path = tmp_path / "units.json"
    path.write_text(json.dumps([entry]))
    with pytest.raises(InputError, match="eV/Å"):
        read_frames(path)


def test_folder_without_type_raw_is_input_error(tmp_path):
    with pytest.raises(InputError, match="type.raw"):
        read_frames(tmp_path)


def _labelled(n_families: int, per_family: int):
    from ase import Atoms

    frames = []
    for family in range(n_families):
        for k in range(per_family):
            atoms = Atoms("Cu", positions=[[0, 0, 0]], cell=[3, 3, 3], pbc=True)
            atoms.info.update({"ref_energy": -float(family * 100 + k), "config_type": f"md{family}"})
            atoms.arrays["ref_forces"] = np.zeros((1, 3))
            frames.append(atoms)
    return frames


def test_split_by_config_type_keeps_families_whole():
    frames = _labelled(10, 5)
    train, val, test = split_frames(frames, by="config_type", seed=3)
    families = [{a.info["config_type"] for a in part} for part in (train, val, test)]
    assert not (families[0] & families[1] or families[0] & families[2] or families[1] & families[2])
    assert (len(train), len(val), len(test)) == (40, 5, 5)


def test_split_by_frame_is_reproducible_and_complete():
    frames = _labelled(2, 10)
    first = split_frames(frames, by="frame", fractions=(0.6, 0.2, 0.2), seed=1)
    second = split_frames(frames, by="frame", fractions=(0.6, 0.2, 0.2), seed=1)
    assert [len(p) for p in first] == [12, 4, 4]
    assert [[a.info["ref_energy"] for a in p] for p in first] == [[a.info["ref_energy"] for a in p] for p in second]


def test_bad_split_fractions_are_input_error():
    with pytest.raises(InputError, match="fractions"):
        split_frames(_labelled(1, 3), fractions=(0.5, 0.5, 0.5))


def test_frames_hash_tracks_labels(cu_train):
    changed = [a.copy() for a in cu_train[:3]]
    changed[1].info["ref_energy"] += 1e-3
    assert frames_hash(cu_train[:3]) == frames_hash([a.copy() for a in cu_train[:3]])
    assert frames_hash(cu_train[:3]) != frames_hash(changed)
