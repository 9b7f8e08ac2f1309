"""Machine-learned interatomic potentials: DFT frames → fitted potential (an ASE calculator) → MD and properties.

Needs the ``atoms`` extra (``pip install matforge[atoms]``): ASE, dscribe, mace-torch, CHGNet.

>>> from matforge.atoms import read_frames, split_frames, fit, evaluate, run_md   # doctest: +SKIP
>>> train, val, test = split_frames(read_frames("data.extxyz"), by="config_type")  # doctest: +SKIP
>>> calc = fit(train, engine="soap")                                               # doctest: +SKIP
>>> evaluate(calc, test)["force_mae"]                                              # doctest: +SKIP
"""

from matforge.atoms._dynamics import relax, run_md
from matforge.atoms._engines import ENGINES, fit, load_potential, read_card, save_run
from matforge.atoms._evaluation import error_metrics, evaluate, write_evaluation
from matforge.atoms._frames import (
    config_types,
    frames_hash,
    read_frames,
    ref_energy,
    ref_forces,
    split_frames,
)
from matforge.atoms._properties import equation_of_state, property_checks, vacancy_formation_energy

__all__ = [
    "ENGINES",
    "config_types",
    "equation_of_state",
    "error_metrics",
    "evaluate",
    "fit",
    "frames_hash",
    "load_potential",
    "property_checks",
    "read_card",
    "read_frames",
    "ref_energy",
    "ref_forces",
    "relax",
    "run_md",
    "save_run",
    "split_frames",
    "vacancy_formation_energy",
    "write_evaluation",
]
