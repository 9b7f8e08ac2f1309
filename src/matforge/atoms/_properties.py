"""Property checks of a potential: equation of state (lattice constant, bulk modulus), vacancy formation energy.

The equation of state is the Birch–Murnaghan fit of ASE (F. Birch, Phys. Rev. 71, 809 (1947)) to energies
of the cell scaled isotropically around its input volume, atoms at fixed fractional positions. The vacancy
formation energy is E_f = E(N−1, relaxed) − (N−1)/N · E(N), for the bulk cell repeated to at least
`min_atoms` atoms.
"""

from __future__ import annotations

import numpy as np

from matforge.errors import InputError

__all__ = ["equation_of_state", "vacancy_formation_energy", "property_checks"]

_EV_PER_A3_IN_GPA = 160.21766208


def equation_of_state(atoms, calc, *, strain: float = 0.04, points: int = 9) -> dict:
    """Lattice scale and bulk modulus from energies at `points` volumes within ±`strain` (linear strain).

    Returns `volume_per_atom` (Å³), `energy_per_atom` (eV), `bulk_modulus_GPa`, and `lattice_constant` (Å):
    the length of the first cell vector at the minimum (for a cubic conventional cell, the lattice
    parameter a).
    """
    from ase.eos import EquationOfState

    if not all(atoms.pbc) or atoms.get_volume() <= 0:
        raise InputError("the equation of state needs a periodic cell")
    base = atoms.copy()
    cell = base.cell.array.copy()
    scales = np.linspace(1 - strain, 1 + strain, points)
    volumes, energies = [], []
    for s in scales:
        a = base.copy()
        a.set_cell(cell * s, scale_atoms=True)
        a.calc = calc
        energies.append(a.get_potential_energy())
        volumes.append(a.get_volume())
    eos = EquationOfState(volumes, energies, eos="birchmurnaghan")
    try:
        v0, e0, b = eos.fit()
    except Exception as err:  # ASE raises on fits without a minimum in range
        raise InputError(f"no energy minimum within ±{strain:.0%} strain ({err})",
                         hint="Start from a cell closer to equilibrium or widen the strain") from None
    n = len(atoms)
    return {
        "volume_per_atom": float(v0 / n),
        "energy_per_atom": float(e0 / n),
        "bulk_modulus_GPa": float(b * _EV_PER_A3_IN_GPA),
        "lattice_constant": float(np.linalg.norm(cell[0]) * (v0 / atoms.get_volume()) ** (1 / 3)),
    }


def vacancy_formation_energy(atoms, calc, *, min_atoms: int = 32, fmax: float = 0.02) -> dict:
    """Unrelaxed and relaxed vacancy formation energies (eV) of the bulk cell `atoms` (removing atom 0)."""
    from matforge.atoms._dynamics import relax

    reps = 1
    while len(atoms) * reps ** 3 < min_atoms:
        reps += 1
    bulk = atoms.repeat(reps)
    bulk.calc = calc
    e_bulk = bulk.get_potential_energy()
    n = len(bulk)
    vacancy = bulk.copy()
    del vacancy[0]
    vacancy.calc = calc
    e_unrelaxed = vacancy.get_potential_energy()
    relaxed = relax(vacancy, calc, fmax=fmax)
    e_relaxed = relaxed.info["relaxed_energy"]
    return {
        "n_atoms": n,
        "vacancy_formation_energy_unrelaxed": float(e_unrelaxed - (n - 1) / n * e_bulk),
        "vacancy_formation_energy": float(e_relaxed - (n - 1) / n * e_bulk),
        "relax_converged": bool(relaxed.info["converged"]),
    }


def property_checks(atoms, calc, *, reference=None, vacancy: bool = True) -> dict:
    """Equation of state (and vacancy formation energy) of `calc`, next to a reference where one is given.

    `reference` is either a dict of the same keys (e.g. DFT values) or another ASE calculator (e.g. the
    method the training data came from), whose properties are then computed the same way. Differences are
    reported as ``<key>_error`` (model − reference) and ``lattice_constant_rel_error``.
    """
    props = equation_of_state(atoms, calc)
    if vacancy:
        props.update(vacancy_formation_energy(atoms, calc))
    result = {"model": props}
    if reference is not None:
        if isinstance(reference, dict):
            ref = dict(reference)
        else:
            ref = equation_of_state(atoms, reference)
            if vacancy:
                ref.update(vacancy_formation_energy(atoms, reference))
        result["reference"] = ref
        errors = {}
        for key in ("lattice_constant", "bulk_modulus_GPa", "vacancy_formation_energy", "energy_per_atom"):
            if key in ref and key in props:
                errors[f"{key}_error"] = props[key] - float(ref[key])
        if "lattice_constant" in ref:
            errors["lattice_constant_rel_error"] = props["lattice_constant"] / float(ref["lattice_constant"]) - 1
        result["errors"] = errors
    return result
