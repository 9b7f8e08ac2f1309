"""CHGNet: pretrained weights load offline, zero-shot works, reference alignment and fine-tuning round-trip."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from matforge.atoms import evaluate, fit, load_potential, save_run

if importlib.util.find_spec("chgnet") is None:
    pytest.skip("chgnet is not installed", allow_module_level=True)


def _small_cu_frames(n, seed):
    """4-atom Cu cells labelled by EMT: enough to exercise CHGNet's paths at little CPU cost."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        atoms = bulk("Cu", "fcc", 3.6 * rng.uniform(0.97, 1.03), cubic=True)
        atoms.rattle(0.05, seed=int(rng.integers(2**31)))
        atoms.calc = EMT()
        atoms.info["ref_energy"] = atoms.get_potential_energy()
        atoms.arrays["ref_forces"] = atoms.get_forces()
        atoms.calc = None
        frames.append(atoms)
    return frames


def test_chgnet_zero_shot_gives_sensible_silicon():
    from ase.build import bulk

    atoms = bulk("Si", "diamond", 5.43)
    atoms.calc = fit([_small_cu_frames(1, 0)[0]], engine="chgnet")
    # MPtrj PBE energy of diamond Si is about -5.4 eV/atom; forces vanish by symmetry.
    assert atoms.get_potential_energy() / len(atoms) == pytest.approx(-5.4, abs=0.15)
    assert np.abs(atoms.get_forces()).max() < 1e-3


def test_aligned_reference_energies_remove_the_emt_offset():
    train, test = _small_cu_frames(3, 1), _small_cu_frames(2, 2)
    raw = evaluate(fit(train, engine="chgnet"), test)
    aligned = evaluate(fit(train, engine="chgnet-aligned"), test)
    # EMT's energy zero is far from DFT's (~3.7 eV/atom apart for Cu); alignment must remove that offset.
    assert raw["energy_mae"] > 1000
    assert aligned["energy_mae"] < 100
    assert aligned["force_mae"] == pytest.approx(raw["force_mae"], rel=1e-6)


def test_fine_tuned_chgnet_round_trips_through_a_run_folder(tmp_path):
    train, test = _small_cu_frames(3, 3), _small_cu_frames(1, 4)
    calc = fit(train[:2], engine="chgnet-finetune", val_frames=train[2:], seed=0, epochs=1, batch_size=2)
    save_run(calc, tmp_path / "run")
    assert (tmp_path / "run" / "model" / "chgnet_state.pt").is_file()
    reloaded = load_potential(tmp_path / "run")
    a, b = test[0].copy(), test[0].copy()
    a.calc, b.calc = calc, reloaded
    assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), abs=1e-5)


def test_the_name_chgnet_stands_for_the_pretrained_potential_without_a_run_folder(tmp_path, monkeypatch):
    from ase.build import bulk

    from matforge.atoms import read_card, relax

    monkeypatch.chdir(tmp_path)  # no folder called chgnet here
    assert read_card("chgnet")["engine"] == "chgnet"
    relaxed = relax(bulk("Si", "diamond", 5.30, cubic=True), load_potential("chgnet"), fmax=0.01, cell=True)
    # PBE (MPtrj) puts diamond Si at about 5.47 Å (mp-149); the cell grows from 5.30 to there
    assert relaxed.cell.lengths()[0] == pytest.approx(5.47, abs=0.04) and relaxed.info["converged"]
