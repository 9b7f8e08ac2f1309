"""The SOAP kernel potential against EMT: accuracy, conservative forces, stable NVE, lattice constant."""

from __future__ import annotations

import numpy as np
import pytest

from matforge.atoms import equation_of_state, evaluate, load_potential, run_md, save_run

# Thresholds stated in the terms: EMT is exact and noise-free, so a potential fitted on 24 strained,
# rattled 32-atom cells must reproduce it well on 6 unseen ones.
FORCE_MAE_MAX = 0.06  # eV/Å (typical EMT force components here are ~0.5 eV/Å)
ENERGY_MAE_MAX = 3.0  # meV/atom


def test_soap_reproduces_emt_on_unseen_frames(soap_calc, cu_test):
    metrics = evaluate(soap_calc, cu_test)
    assert metrics["n_frames"] == 6
    assert metrics["force_mae"] < FORCE_MAE_MAX
    assert metrics["energy_mae"] < ENERGY_MAE_MAX
    assert metrics["by_config_type"]["rattled"]["n_frames"] == 6


def test_soap_forces_are_the_energy_gradient(soap_calc, cu_test):
    atoms = cu_test[0].copy()
    atoms.calc = soap_calc
    forces = atoms.get_forces()
    # the energies carry a few 1e-9 eV of rounding noise, which a step of 1e-4 A turns into ~2e-5 eV/A in the
    # quotient (enough to fail on some CPUs); 1e-3 A keeps it near 2e-6, and the O(h^2) truncation error is smaller
    h = 1e-3
    for index, axis in [(0, 0), (7, 2), (20, 1)]:
        shifted = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[index, axis] += sign * h
            moved.calc = soap_calc
            shifted.append(moved.get_potential_energy())
        # dscribe's descriptor derivatives are themselves central differences, so agreement is to ~1e-5
        # relative; a force that is not the energy gradient would be off by O(1).
        assert -(shifted[0] - shifted[1]) / (2 * h) == pytest.approx(forces[index, axis], rel=1e-4, abs=1e-5)


def test_soap_nve_conserves_energy(soap_calc):
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", 3.6, cubic=True).repeat(2)
    result = run_md(atoms, soap_calc, ensemble="nve", temperature=300, steps=40, timestep=2.0, interval=5, seed=1)
    # Bound: 1 meV/atom over 80 fs at 300 K (kinetic energy ~39 meV/atom), i.e. < 3% of kT-scale fluctuations.
    assert result["max_energy_deviation_meV_per_atom"] < 1.0
    assert abs(result["energy_drift_meV_per_atom_per_ps"]) < 5.0
    assert result["temperature"].max() > 50  # atoms really moved


def test_soap_lattice_constant_within_one_percent_of_emt(soap_calc):
    from ase.build import bulk
    from ase.calculators.emt import EMT

    cell = bulk("Cu", "fcc", 3.6, cubic=True)
    model = equation_of_state(cell, soap_calc)
    reference = equation_of_state(cell, EMT())
    assert abs(model["lattice_constant"] / reference["lattice_constant"] - 1) < 0.01
    assert model["bulk_modulus_GPa"] == pytest.approx(reference["bulk_modulus_GPa"], rel=0.25)


def test_soap_vacancy_formation_energy_matches_emt(soap_calc):
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from matforge.atoms import property_checks

    result = property_checks(bulk("Cu", "fcc", 3.6, cubic=True), soap_calc, reference=EMT())
    assert result["model"]["relax_converged"]
    # Bound: 0.1 eV on a formation energy of ~1 eV, learned from four vacancy cells.
    assert abs(result["errors"]["vacancy_formation_energy_error"]) < 0.1
    assert abs(result["errors"]["lattice_constant_rel_error"]) < 0.01


def test_soap_run_folder_round_trip(soap_calc, cu_test, tmp_path):
    save_run(soap_calc, tmp_path / "run")
    reloaded = load_potential(tmp_path / "run")
    assert reloaded.matforge_card["engine"] == "soap"
    assert len(reloaded.matforge_card["training"]["data_sha256"]) == 64
    for calc in (soap_calc, reloaded):
        atoms = cu_test[1].copy()
        atoms.calc = calc
        if calc is soap_calc:
            expected = (atoms.get_potential_energy(), atoms.get_forces())
        else:
            assert atoms.get_potential_energy() == pytest.approx(expected[0], abs=1e-10)
            np.testing.assert_allclose(atoms.get_forces(), expected[1], atol=1e-10)


def test_unknown_soap_option_is_input_error(cu_train):
    from matforge.atoms import fit
    from matforge.errors import InputError

    with pytest.raises(InputError, match="unknown SOAP options"):
        fit(cu_train[:2], engine="soap", nmax=3)
    # values that would fail deep in dscribe or numpy (--option n_max=abc, n_max=-2, r_cut=0)
    for bad, message in [({"n_max": "abc"}, "n_max must be a whole number"), ({"n_max": -2}, "n_max must be"), ({"r_cut": 0}, "r_cut must be a number > 0")]:
        with pytest.raises(InputError, match=message):
            fit(cu_train[:2], engine="soap", **bad)


def test_soap_refuses_unseen_elements(soap_calc):
    from ase.build import bulk

    from matforge.errors import InputError

    atoms = bulk("Ni", "fcc", 3.5)
    atoms.calc = soap_calc
    with pytest.raises(InputError, match="not trained on"):
        atoms.get_potential_energy()
