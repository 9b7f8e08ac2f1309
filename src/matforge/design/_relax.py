"""Relaxing substituted prototype crystals with an interatomic potential before a structure model sees them.

A substituted crystal scaled by ionic radii keeps the prototype's cell shape and fractional coordinates, so its
bond lengths are an estimate. With ``relax`` in a prototype block, each candidate's cell and positions are
relaxed by an ASE calculator: CHGNet's pretrained universal potential (its weights ship in its wheel, so this
works offline; the ``atoms`` extra) or a potential fitted with ``matforge potential fit``. The relaxation keeps
the prototype's space group (ASE's ``FixSymmetry``): a candidate stays of the prototype's structure type, as in
prototype-based high-throughput screening, and a structure model then reads the bond lengths the potential
predicts. The relaxed energy per atom comes along as a column (eV/atom, on the potential's energy scale; not a
formation energy).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np

from matforge.errors import InputError

__all__ = ["Relaxer", "RELAX_COLUMNS"]

ENERGY_COLUMN = "energy per atom"
CONVERGED_COLUMN = "relax converged"
RELAX_COLUMNS = (ENERGY_COLUMN, CONVERGED_COLUMN)

# a relaxation that changes the volume by more than this factor either way left the potential's domain (a
# potential fitted to a few configurations can collapse or explode a cell far from its data): the candidate
# keeps its radii-scaled cell and is flagged as not converged
_VOLUME_FACTOR = 3.0
_CHGNET_LAST_Z = 94  # Pu


class Relaxer:
    """Relax a pymatgen Structure's cell and positions within its space group with an ASE calculator.

    Parameters
    ----------
    potential : ``"chgnet"`` (pretrained, offline), the folder of a ``matforge potential fit`` run, or an ASE
        calculator (Python API).
    fmax : largest force (eV/Å) at convergence; for the cell (ASE's FrechetCellFilter) the stress times the volume
        per atom, so 0.01 leaves a pressure of at most about 0.05 GPa in a salt of 30 Å³ an atom (0.05 eV/Å
        stopped KCl 0.3 % short of the potential's lattice constant).
    steps : most BFGS steps per candidate.
    symprec : tolerance (Å) for the symmetry that is kept.

    Calling it returns ``(structure, energy_per_atom, converged)``; where the calculator fails or the volume
    changes more than threefold, the input structure with NaN energy and ``converged=False``.
    """

    def __init__(self, potential, *, fmax: float = 0.01, steps: int = 200, symprec: float = 0.01):
        self.potential = potential
        self.fmax = fmax
        self.steps = steps
        self.symprec = symprec
        self._calc = None if isinstance(potential, (str, Path)) else potential

    @classmethod
    def from_spec(cls, value: object, *, fmax: object, steps: object, where: str, file: str | None) -> Relaxer:
        """The relaxer a space file's ``relax`` (and ``relax_fmax``, ``relax_steps``) describe, checked now so
        that a missing extra or potential fails before any candidate is built. A space given as a Python dict
        may hold an ASE calculator itself."""
        if hasattr(value, "get_potential_energy") and hasattr(value, "calculate"):  # an ASE calculator
            return cls(value, fmax=float(fmax), steps=int(steps))
        if not isinstance(value, str) or not value:
            raise InputError(f"{where}.relax: 'chgnet' or the folder of a 'matforge potential fit' run", file=file, value=value)
        try:
            fmax, steps = float(fmax), int(steps)
        except (TypeError, ValueError):
            raise InputError(f"{where}: relax_fmax is a force in eV/Å and relax_steps a whole number", file=file) from None
        if not (fmax > 0 and math.isfinite(fmax)) or steps < 1:
            raise InputError(f"{where}: relax_fmax and relax_steps must be positive", file=file)
        if importlib.util.find_spec("ase") is None:
            raise InputError(f"{where}.relax needs ASE", file=file, hint="pip install 'matforge[atoms]'")
        from matforge.atoms._engines import PRETRAINED

        if value == PRETRAINED:  # the name `load_potential` reads as CHGNet as it ships
            if importlib.util.find_spec("chgnet") is None:
                raise InputError(f"{where}.relax: chgnet is not installed", file=file, hint="pip install 'matforge[atoms]'")
            return cls(PRETRAINED, fmax=fmax, steps=steps)
        folder = Path(value)
        if not folder.is_absolute() and file is not None:
            folder = Path(file).parent / folder
        if not (folder / "card.json").is_file():
            raise InputError(f"{where}.relax: {value} is not a potential run folder (no card.json in {folder})", file=file,
                             hint="Give 'chgnet' or the --out folder of 'matforge potential fit'")
        return cls(folder, fmax=fmax, steps=steps)

    def check_elements(self, elements: set[str], where: str, file: str | None) -> None:
        """Refuse elements the potential never saw (it would predict them from nothing): beyond Pu for CHGNet
        (its training data, the Materials Project's, ends there), outside a fitted potential's training frames."""
        from matforge.atoms._engines import PRETRAINED

        if self.potential == PRETRAINED:
            from matforge.chem import ELEMENT_INDEX

            beyond = sorted(e for e in elements if ELEMENT_INDEX[e] + 1 > _CHGNET_LAST_Z)
            if beyond:
                raise InputError(f"{where}.relax: CHGNet knows the elements up to Pu, not {' '.join(beyond)}", file=file,
                                 hint="Leave those elements out of the sites, or relax with a potential fitted to them")
            return
        if not isinstance(self.potential, Path):
            return
        from matforge.atoms._engines import read_card

        known = read_card(self.potential).get("training", {}).get("elements")
        if known is None:
            return
        missing = sorted(elements - set(known))
        if missing:
            raise InputError(f"{where}.relax: the potential in {self.potential} was fitted to {' '.join(known)} only, not {' '.join(missing)}",
                             file=file, hint="Use relax: chgnet, or leave those elements out of the sites")

    @property
    def calculator(self):
        if self._calc is None:
            from matforge.atoms import load_potential

            self._calc = load_potential(self.potential)
        return self._calc

    def __call__(self, structure):
        from pymatgen.io.ase import AseAtomsAdaptor

        from matforge.atoms import relax

        atoms = AseAtomsAdaptor.get_atoms(structure)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a user's calculator may warn at every step
            try:
                relaxed = relax(atoms, self.calculator, fmax=self.fmax, steps=self.steps, cell=True, keep_symmetry=True, symprec=self.symprec)
            except (RuntimeError, ValueError, FloatingPointError, np.linalg.LinAlgError):
                return structure, math.nan, False
        energy = relaxed.info["energy_per_atom"]
        ratio = relaxed.get_volume() / atoms.get_volume()
        if not math.isfinite(energy) or not (1 / _VOLUME_FACTOR < ratio < _VOLUME_FACTOR):
            return structure, math.nan, False
        return AseAtomsAdaptor.get_structure(relaxed), float(energy), bool(relaxed.info["converged"])

    def __getstate__(self) -> dict:
        # a loaded calculator (a torch model) is not sent to Dask workers; each loads its own
        state = dict(self.__dict__)
        if isinstance(self.potential, (str, Path)):
            state["_calc"] = None
        return state

    def __repr__(self) -> str:
        name = self.potential if isinstance(self.potential, (str, Path)) else type(self.potential).__name__
        return f"Relaxer({str(name)!r}, fmax={self.fmax}, steps={self.steps})"
