"""Child process that owns MACE: matforge never imports `mace` in the user's process.

Why a separate process: importing mace-torch 0.3.16 sets ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` in
``os.environ``, which turns every later ``torch.load`` of the whole process (CHGNet's, the user's own) into an
unrestricted pickle load. Here that setting dies with the child. The child also loads MACE model files, which
are whole pickled torch modules: matforge only loads the ones inside run folders it wrote.

Protocol on the multiprocessing pipe: the parent sends ``(numbers, positions, cell, pbc)`` (Å) and receives
``("ok", energy_eV, forces_eV_per_A, stress_eV_per_A3)`` or ``("error", message)``; ``None`` ends the child.
"""

from __future__ import annotations

import os


def serve(conn, model_path: str, threads: int) -> None:
    """Load the model at `model_path` and answer energy/force/stress requests until told to stop."""
    try:
        import torch

        torch.set_num_threads(max(1, int(threads)))
        from ase import Atoms
        from mace.calculators import MACECalculator

        calc = MACECalculator(model_paths=model_path, device="cpu", default_dtype="float64")
    except Exception as err:  # report any load failure to the parent instead of dying silently
        conn.send(("error", f"{type(err).__name__}: {err}"))
        conn.close()
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            break
        if request is None:
            break
        numbers, positions, cell, pbc = request
        try:
            atoms = Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc)
            atoms.calc = calc
            energy = float(atoms.get_potential_energy())
            forces = atoms.get_forces()
            stress = atoms.get_stress() if all(pbc) else None
            conn.send(("ok", energy, forces, stress))
        except Exception as err:  # the parent turns this into a typed error
            conn.send(("error", f"{type(err).__name__}: {err}"))
    conn.close()
