"""Shared fixtures: ASE's EMT potential is the exact, offline "DFT" that the fitted potentials must reproduce."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ase")
pytest.importorskip("dscribe")

EMT_CU_A = 3.6  # Å, starting lattice parameter of the generated Cu cells (EMT's own minimum is ~3.59 Å)


def emt_cu_frames(n: int, seed: int, *, strain: float = 0.04, rattle: float = 0.08, family: str = "rattled",
                  vacancy: bool = False):
    """Strained and rattled 32-atom fcc Cu cells (31 with `vacancy`) labelled with EMT energies and forces."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        atoms = bulk("Cu", "fcc", EMT_CU_A * rng.uniform(1 - strain, 1 + strain), cubic=True).repeat(2)
        if vacancy:
            del atoms[int(rng.integers(len(atoms)))]
        atoms.rattle(rattle, seed=int(rng.integers(2**31)))
        atoms.calc = EMT()
        atoms.info["ref_energy"] = atoms.get_potential_energy()
        atoms.arrays["ref_forces"] = atoms.get_forces()
        atoms.calc = None
        atoms.info["config_type"] = family
        frames.append(atoms)
    return frames


@pytest.fixture(scope="session")
def cu_train():
    """24 rattled bulk cells, then 4 cells with a vacancy (a second configuration family)."""
    return emt_cu_frames(24, seed=0) + emt_cu_frames(4, seed=2, strain=0.01, rattle=0.05, family="vacancy",
                                                     vacancy=True)


@pytest.fixture(scope="session")
def cu_test():
    return emt_cu_frames(6, seed=1)


@pytest.fixture(scope="session")
def soap_calc(cu_train):
    from matforge.atoms import fit

    return fit(cu_train, engine="soap", seed=0, n_sparse=200)


@pytest.fixture(scope="session")
def emt_extxyz(tmp_path_factory, cu_train):
    """The training frames written as extxyz with an EMT single-point calculator (as a DFT code's output)."""
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    path = tmp_path_factory.mktemp("frames") / "cu.extxyz"
    images = []
    for atoms in cu_train[:8]:
        a = atoms.copy()
        del a.arrays["ref_forces"]
        a.info.pop("ref_energy")
        a.calc = SinglePointCalculator(a, energy=atoms.info["ref_energy"], forces=atoms.arrays["ref_forces"])
        images.append(a)
    ase.io.write(path, images, format="extxyz")
    return path


@pytest.fixture(autouse=True)
def _two_threads():
    import torch

    torch.set_num_threads(2)
