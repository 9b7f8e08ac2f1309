"""Molecular dynamics and relaxation with any ASE calculator (the fitted potentials included).

NVE uses velocity Verlet; NVT uses ASE's Langevin thermostat (friction 0.01/fs by default). The total-energy
drift of an NVE run — the slope of a straight-line fit of E_total(t), in meV/atom/ps — measures how well the
potential conserves energy at the chosen time step.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from matforge.errors import InputError
from matforge.files import atomic_file

__all__ = ["run_md", "relax"]


def run_md(
    atoms,
    calc,
    *,
    ensemble: str = "nve",
    temperature: float = 300.0,
    steps: int = 1000,
    timestep: float = 1.0,
    friction: float = 0.01,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    interval: int = 10,
    progress=None,
) -> dict:
    """Run MD from `atoms` with `calc`.

    Parameters
    ----------
    ensemble : "nve" (velocity Verlet) or "nvt" (Langevin).
    temperature : initial Maxwell-Boltzmann temperature and, for NVT, the thermostat target, K.
    steps : number of MD steps.
    timestep : fs.
    friction : Langevin friction, 1/fs (NVT only).
    seed : seed of the initial velocities and of the Langevin noise.
    out : extxyz trajectory written every `interval` steps (atomically: nothing if the run fails).

    Returns
    -------
    dict with `time_fs`, `total_energy`, `potential_energy`, `temperature` arrays (eV, eV, K) sampled every
    `interval` steps, `energy_drift_meV_per_atom_per_ps` (slope of E_total; meaningful for NVE) and
    `max_energy_deviation_meV_per_atom` (largest |E_total − E_total(0)|).
    """
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary

    try:
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # ASE < 3.25 only has the older name
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    from ase.md.verlet import VelocityVerlet

    if ensemble not in ("nve", "nvt"):
        raise InputError(f"unknown ensemble '{ensemble}'", hint="Use nve or nvt")
    if steps < 1 or timestep <= 0 or temperature < 0 or interval < 1:
        raise InputError("steps and interval must be ≥ 1, timestep > 0 fs and temperature ≥ 0 K",
                         value={"steps": steps, "timestep": timestep, "temperature": temperature})
    atoms = atoms.copy()
    atoms.calc = calc
    rng = np.random.default_rng(seed)
    thermalize_momenta(atoms, temperature_K=temperature, rng=rng)
    Stationary(atoms)
    if ensemble == "nve":
        dyn = VelocityVerlet(atoms, timestep=timestep * units.fs)
    else:
        dyn = Langevin(atoms, timestep=timestep * units.fs, temperature_K=temperature,
                       friction=friction / units.fs, rng=rng, fixcm=False)
    record = {"time_fs": [], "total_energy": [], "potential_energy": [], "temperature": []}
    frames = []

    def sample():
        epot = atoms.get_potential_energy()
        ekin = atoms.get_kinetic_energy()
        record["time_fs"].append(dyn.nsteps * timestep)
        record["potential_energy"].append(epot)
        record["total_energy"].append(epot + ekin)
        record["temperature"].append(atoms.get_temperature())
        if out is not None:
            snapshot = atoms.copy()
            snapshot.calc = None
            snapshot.info.update({"time_fs": dyn.nsteps * timestep, "potential_energy": epot})
            snapshot.arrays["forces"] = atoms.get_forces()
            frames.append(snapshot)

    task = progress.add_task(f"MD {ensemble.upper()}", total=steps) if progress is not None else None
    sample()
    done = 0
    while done < steps:
        chunk = min(interval, steps - done)
        dyn.run(chunk)
        done += chunk
        sample()
        if task is not None:
            progress.update(task, completed=done)
    t = np.asarray(record["time_fs"])
    etot = np.asarray(record["total_energy"])
    n = len(atoms)
    slope = np.polyfit(t, etot, 1)[0] if len(t) > 1 else 0.0  # eV/fs
    result = {k: np.asarray(v) for k, v in record.items()}
    result["energy_drift_meV_per_atom_per_ps"] = float(slope * 1e3 * 1e3 / n)
    result["max_energy_deviation_meV_per_atom"] = float(np.abs(etot - etot[0]).max() * 1e3 / n)
    result["n_atoms"] = n
    if out is not None:
        import ase.io

        with atomic_file(out, suffix=".extxyz") as tmp:
            ase.io.write(str(tmp), frames, format="extxyz")
    return result


def relax(atoms, calc, *, fmax: float = 0.01, steps: int = 500, cell: bool = False, keep_symmetry: bool = False,
          symprec: float = 0.01, out: str | os.PathLike | None = None):
    """Relax positions (and with `cell`, the cell) with BFGS until the largest force is below `fmax` eV/Å.

    With `keep_symmetry` the structure keeps its space group (ASE's FixSymmetry, tolerance `symprec` Å): a
    prototype stays of its structure type. Returns the relaxed copy of `atoms` (with the constraints it came
    with) and ``info["relaxed_energy"]`` (eV), ``info["energy_per_atom"]`` (eV/atom), ``info["converged"]``
    and ``info["relax_steps"]``.
    """
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    given = list(atoms.constraints)
    atoms = atoms.copy()
    if keep_symmetry:
        from ase.constraints import FixSymmetry

        atoms.set_constraint([*given, FixSymmetry(atoms, symprec=symprec)])
    atoms.calc = calc
    target = FrechetCellFilter(atoms) if cell else atoms
    optimizer = BFGS(target, logfile=None)
    converged = bool(optimizer.run(fmax=fmax, steps=steps))
    energy = float(atoms.get_potential_energy())
    result = atoms.copy()
    result.set_constraint(given)
    result.info["relaxed_energy"] = energy
    result.info["energy_per_atom"] = energy / len(result)
    result.info["converged"] = converged
    result.info["relax_steps"] = optimizer.nsteps
    if out is not None:
        import ase.io

        with atomic_file(out, suffix=Path(out).suffix or ".extxyz") as tmp:
            written = result.copy()
            written.calc = None
            ase.io.write(str(tmp), written, format="extxyz")
    return result
