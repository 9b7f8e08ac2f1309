"""Prototype candidates relaxed by an interatomic potential: the potential's lattice constants, the prototype's
space group, each candidate relaxed once, and clear refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matforge.design import DesignSpace
from matforge.errors import InputError
from tests.conftest import fcc_cell

emt = pytest.importorskip("ase.calculators.emt")

FCC_METALS = ["Cu", "Ni", "Ag", "Au", "Al"]  # all within ASE's EMT


class CountingEMT(emt.EMT):
    """ASE's EMT potential, counting energy evaluations (to see that a candidate is relaxed once)."""

    calls = 0

    def calculate(self, *args, **kwargs):
        type(self).calls += 1
        super().calculate(*args, **kwargs)


def _fcc_copper(tmp_path):

    path = tmp_path / "cu.cif"
    fcc_cell(3.61, "Cu").to(filename=str(path))
    return path


def _emt_lattice_constant(element: str) -> float:
    """The fcc lattice constant at EMT's energy minimum, by an equation-of-state fit (independent of the space)."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.eos import EquationOfState

    reference = bulk(element, "fcc", a=4.0, cubic=True)  # four atoms: the volume is a**3
    volumes, energies = [], []
    for a in np.linspace(3.3, 4.3, 41):
        atoms = reference.copy()
        atoms.set_cell(reference.cell * a / 4.0, scale_atoms=True)
        atoms.calc = EMT()
        volumes.append(atoms.get_volume())
        energies.append(atoms.get_potential_energy())
    near = np.argsort(energies)[:9]  # fit around the minimum
    v0, _, _ = EquationOfState(np.array(volumes)[near], np.array(energies)[near]).fit()
    return v0 ** (1 / 3)


def test_relaxed_candidates_take_the_potentials_lattice_constants_and_keep_the_space_group(tmp_path):
    from pymatgen.core import Structure
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    _fcc_copper(tmp_path)
    calc = CountingEMT()
    space = DesignSpace({"variables": [{"type": "prototype", "structure": "cu.cif", "sites": {"Cu": FCC_METALS}, "charge_balanced": False, "relax": calc}]},
                        source=str(tmp_path / "space.yaml"))
    frame = space.candidates(0, space.size)
    assert list(frame.columns) == ["candidate", "structure", "formula", "Cu site", "energy per atom", "relax converged"]
    assert frame["relax converged"].all()
    for element, text, energy in zip(frame["Cu site"], frame["structure"], frame["energy per atom"], strict=True):
        crystal = Structure.from_str(text, fmt="json")
        assert SpacegroupAnalyzer(crystal).get_space_group_number() == 225
        assert crystal.lattice.a == pytest.approx(_emt_lattice_constant(element), abs=0.01)
        assert abs(energy) < 0.02  # EMT puts each pure fcc metal at zero at its equilibrium
    calls = calc.calls
    again = space.candidates(0, space.size)  # screening asks for its kept rows a second time
    assert calc.calls == calls and again["structure"].tolist() == frame["structure"].tolist()
    assert [stop - start for start, stop in space.chunks(20_000)] == [5]
    assert space.max_chunk == 32


def test_an_unrelaxed_space_has_no_energy_columns(tmp_path):
    _fcc_copper(tmp_path)
    space = DesignSpace({"variables": [{"type": "prototype", "structure": "cu.cif", "sites": {"Cu": FCC_METALS}, "charge_balanced": False}]},
                        source=str(tmp_path / "space.yaml"))
    assert "energy per atom" not in space.columns


def test_a_failing_potential_leaves_the_scaled_cell_and_says_so(tmp_path):
    from ase.calculators.calculator import Calculator
    from pymatgen.core import Structure

    from matforge.design._relax import Relaxer

    class Broken(Calculator):
        implemented_properties = ["energy", "forces", "stress"]

        def calculate(self, *args, **kwargs):
            raise RuntimeError("the model has no parameters for this element")

    start = Structure.from_file(str(_fcc_copper(tmp_path)))
    structure, energy, converged = Relaxer(Broken())(start)
    assert structure is start and np.isnan(energy) and not converged


def test_bad_relax_settings_say_why(tmp_path):
    _fcc_copper(tmp_path)
    base = {"type": "prototype", "structure": "cu.cif", "sites": {"Cu": ["Cu", "Ni", "Ag"]}, "charge_balanced": False}
    with pytest.raises(InputError, match="not a potential run folder"):
        DesignSpace({"variables": [{**base, "relax": "runs/nowhere"}]}, source=str(tmp_path / "space.yaml"))
    with pytest.raises(InputError, match="'chgnet' or the folder"):
        DesignSpace({"variables": [{**base, "relax": 3}]}, source=str(tmp_path / "space.yaml"))
    with pytest.raises(InputError, match="must be positive"):
        DesignSpace({"variables": [{**base, "relax": "chgnet", "relax_fmax": 0}]}, source=str(tmp_path / "space.yaml"))
    potential = tmp_path / "cu_ni_potential"  # a fitted potential's card names the elements it was trained on
    potential.mkdir()
    (potential / "card.json").write_text(json.dumps({"card_version": 1, "engine": "soap", "training": {"elements": ["Cu", "Ni"]}}))
    with pytest.raises(InputError, match="fitted to Cu Ni only, not Ag"):
        DesignSpace({"variables": [{**base, "relax": "cu_ni_potential"}]}, source=str(tmp_path / "space.yaml"))


def test_chgnet_relaxes_substituted_salts_to_their_pbe_lattice_constants(tmp_path):
    pytest.importorskip("chgnet")
    from pymatgen.core import Structure

    fcc_cell(5.64, "Na", "Cl").to(filename=str(tmp_path / "nacl.cif"))
    (tmp_path / "space.yaml").write_text("variables:\n  - type: prototype\n    structure: nacl.cif\n    sites: {Na: [Na, K]}\n    relax: chgnet\n")
    frame = DesignSpace.from_file(tmp_path / "space.yaml").candidates(0, 2)
    edges = {f: Structure.from_str(s, fmt="json").lattice.a for f, s in zip(frame["formula"], frame["structure"], strict=True)}
    # PBE (the Materials Project's functional, CHGNet's training data): NaCl 5.69 Å, KCl 6.38 Å (mp-22862, mp-23193)
    assert edges["NaCl"] == pytest.approx(5.69, rel=0.015) and edges["KCl"] == pytest.approx(6.38, rel=0.015)
    assert frame["relax converged"].all() and (frame["energy per atom"] < -2).all()
    (tmp_path / "americium.yaml").write_text("variables:\n  - type: prototype\n    structure: nacl.cif\n    sites: {Na: [Na, Am]}\n    relax: chgnet\n")
    with pytest.raises(InputError, match="up to Pu, not Am"):  # beyond CHGNet's training data
        DesignSpace.from_file(tmp_path / "americium.yaml")
