"""MACE equivariant message-passing potential, trained and evaluated in child processes.

MACE (I. Batatia, D. P. Kovács, G. N. C. Simm, C. Ortner, G. Csányi, "MACE: Higher Order Equivariant Message
Passing Neural Networks for Fast and Accurate Force Fields", NeurIPS 2022, arXiv:2206.07697) is trained with
mace-torch's own `run_train` script in a subprocess and evaluated by a long-lived child (`_mace_worker`), so
that mace's process-wide ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` setting never reaches the user's process.

CPU-sized defaults (2 cores): 2 interactions, 16 channels with L ≤ 1 messages, correlation order 2, r_max 5 Å;
loss weights energy 1 (per atom, eV²) and forces 100 (eV²/Å²), then mace-torch's stage two (energy weight 1000,
learning rate 1e-3) for the last quarter of the epochs, without which short CPU runs leave energies poorly fitted.
Fine-tuning starts from a local MACE model file (a previous run's, or a foundation model downloaded by the
user): matforge itself never downloads weights.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from matforge.atoms._frames import ref_energy, ref_forces
from matforge.errors import InputError, ModelError

__all__ = ["MaceCalculator", "fit_mace", "MACE_DEFAULTS"]

MACE_DEFAULTS = {
    "r_max": 5.0,  # Å
    "num_interactions": 2,
    "num_channels": 16,
    "max_L": 1,
    "correlation": 2,
    "batch_size": 4,
    "max_num_epochs": 60,
    "lr": 0.01,
    "energy_weight": 1.0,
    "forces_weight": 100.0,
    # mace-torch's "stage two" (formerly SWA): from this fraction of the epochs on, train with the weights and
    # learning rate below; None turns it off. Why on by default: with energy weight 1 against forces 100 a CPU-length
    # run barely fits energies (mlearn Si, 20 epochs, validation split of the training frames: 166 meV/atom
    # without, 20 with, forces 0.082 and 0.083 eV/Å; benchmarks/results/mlip_mace_weighting.json).
    "stage_two_start": 0.75,
    "stage_two_energy_weight": 1000.0,
    "stage_two_forces_weight": 100.0,
    "stage_two_lr": 1e-3,
    "threads": 2,
}
_MODEL_FILE = "mace.model"
# Names that mace-torch resolves by downloading weights (MACE-MP, MACE-OFF, MACE-OMOL, MACE-polar).
_DOWNLOADED_NAMES = {"small", "medium", "large", "small_off", "medium_off", "large_off", "mace_omol",
                     "medium-mpa-0", "medium-omat-0", "small-0b", "medium-0b", "small-0b2", "medium-0b2",
                     "large-0b2", "medium-0b3", "mace-mp", "mace-mp-0", "mace-off", "mace-mpa-0", "mace-omat-0"}


def _foundation_path(init_model: str | os.PathLike) -> Path:
    path = Path(init_model)
    if path.is_dir():
        path = path / "model" / _MODEL_FILE if (path / "model" / _MODEL_FILE).exists() else path / _MODEL_FILE
    if path.is_file():
        return path
    if str(init_model).lower() in _DOWNLOADED_NAMES or not path.suffix:
        raise InputError(
            f"'{init_model}' names a MACE foundation model whose weights mace-torch downloads at first use; "
            "matforge works offline and never downloads weights",
            hint="Download the .model file yourself and pass its path, or use --engine chgnet-finetune "
                 "(CHGNet's weights ship inside its package)")
    raise InputError("no MACE model file here", file=str(init_model),
                     hint="Pass a .model file or a matforge run folder fitted with --engine mace")


def _write_extxyz(frames, path: Path) -> None:
    import ase.io

    out = []
    for atoms in frames:
        a = atoms.copy()
        a.calc = None
        a.info = {"REF_energy": ref_energy(atoms), "config_type": str(atoms.info.get("config_type", "default"))}
        for key in list(a.arrays):
            if key not in ("numbers", "positions"):
                del a.arrays[key]
        a.arrays["REF_forces"] = ref_forces(atoms)
        out.append(a)
    ase.io.write(str(path), out, format="extxyz")


def fit_mace(frames, val_frames=None, *, seed: int = 0, init_model=None, log=None, **options) -> MaceCalculator:
    """Train a MACE model on frames' energies (eV) and forces (eV/Å) in a subprocess; return its calculator.

    Parameters
    ----------
    frames, val_frames : training and validation frames (10% of `frames` are held out when no validation set).
    seed : mace-torch's random seed.
    init_model : fine-tune from this local MACE model file or matforge run folder (its hyper-parameters win).
    log : a path to keep mace's training log.
    options : see `MACE_DEFAULTS` (r_max Å, num_interactions, num_channels, max_L, correlation, batch_size,
        max_num_epochs, lr, energy_weight, forces_weight, stage_two_start, stage_two_energy_weight,
        stage_two_forces_weight, stage_two_lr, threads).
    """
    unknown = set(options) - set(MACE_DEFAULTS)
    if unknown:
        raise InputError(f"unknown MACE options {sorted(unknown)}", hint=f"Known: {sorted(MACE_DEFAULTS)}")
    opts = {**MACE_DEFAULTS, **options}
    foundation = _foundation_path(init_model) if init_model is not None else None
    start = opts["stage_two_start"]
    if start is not None and not (isinstance(start, int | float) and 0 < start < 1):
        raise InputError("stage_two_start is a fraction of the epochs, between 0 and 1 (or null: off)", value=start)
    work = Path(tempfile.mkdtemp(prefix="matforge-mace-"))
    try:
        _write_extxyz(frames, work / "train.xyz")
        args = [sys.executable, "-m", "mace.cli.run_train", "--name", "mace", "--work_dir", str(work),
                "--train_file", str(work / "train.xyz"), "--energy_key", "REF_energy", "--forces_key", "REF_forces",
                "--E0s", "average", "--model", "MACE", "--device", "cpu", "--default_dtype", "float64",
                "--seed", str(seed), "--r_max", str(opts["r_max"]),
                "--num_interactions", str(opts["num_interactions"]), "--num_channels", str(opts["num_channels"]),
                "--max_L", str(opts["max_L"]), "--correlation", str(opts["correlation"]),
                "--batch_size", str(opts["batch_size"]), "--valid_batch_size", str(opts["batch_size"]),
                "--max_num_epochs", str(opts["max_num_epochs"]), "--lr", str(opts["lr"]),
                "--energy_weight", str(opts["energy_weight"]), "--forces_weight", str(opts["forces_weight"]),
                "--eval_interval", "1", "--patience", str(max(10, opts["max_num_epochs"])), "--save_cpu",
                "--error_table", "PerAtomMAE",
                # mace re-evaluates train/valid sets after training; matforge evaluates separately, so skip it
                "--skip_evaluate_heads", "Default"]
        if val_frames:
            _write_extxyz(val_frames, work / "valid.xyz")
            args += ["--valid_file", str(work / "valid.xyz")]
        else:
            args += ["--valid_fraction", "0.1"]
        if start is not None:
            args += ["--swa", "--start_swa", str(max(1, round(float(start) * opts["max_num_epochs"]))),
                     "--swa_energy_weight", str(opts["stage_two_energy_weight"]),
                     "--swa_forces_weight", str(opts["stage_two_forces_weight"]),
                     "--swa_lr", str(opts["stage_two_lr"])]
        if foundation is not None:
            args += ["--foundation_model", str(foundation), "--multiheads_finetuning", "False"]
        env = {**os.environ, "OMP_NUM_THREADS": str(opts["threads"]), "MKL_NUM_THREADS": str(opts["threads"])}
        with open(work / "stdout.log", "w") as out:
            proc = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)
        # with stage two, mace-torch saves the stage-two model beside the stage-one one: keep the final one
        model_file = work / "mace_stagetwo.model"
        if not model_file.exists():
            model_file = work / "mace.model"
        if log is not None:
            shutil.copyfile(work / "stdout.log", log)
        if proc.returncode != 0 or not model_file.exists():
            tail = (work / "stdout.log").read_text().strip().splitlines()[-5:]
            raise ModelError("MACE training failed: " + " | ".join(tail))
        keep = Path(tempfile.mkdtemp(prefix="matforge-mace-model-"))
        shutil.copyfile(model_file, keep / _MODEL_FILE)
        calc = MaceCalculator(keep / _MODEL_FILE, threads=opts["threads"])
        calc._owned_dir = keep  # a fitted model lives in a temporary folder until saved into a run folder
        calc.stage_two_kept = model_file.name == "mace_stagetwo.model"
        return calc
    finally:
        shutil.rmtree(work, ignore_errors=True)


class MaceCalculator(Calculator):
    """ASE calculator for a MACE model file, evaluated in a child process (see `_mace_worker`).

    Returns energy (eV), forces (eV/Å) and, for periodic cells, stress (eV/Å³). Call `close()` (or let the
    object be garbage-collected) to stop the child.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model_path: str | os.PathLike, *, threads: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.model_path = Path(model_path)
        self.threads = threads
        self._conn = None
        self._process = None
        self._owned_dir = None
        self.stage_two_kept = None  # after fit_mace: whether the stage-two model is the one kept

    def _start(self) -> None:
        from matforge.atoms import _mace_worker

        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_mace_worker.serve, args=(child, str(self.model_path), self.threads),
                                        daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        status = self._conn.recv()
        if status[0] != "ready":
            self.close()
            raise ModelError(f"cannot load MACE model {self.model_path}: {status[1]}")

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if self._conn is None:
            self._start()
        a = self.atoms
        self._conn.send((a.numbers.copy(), a.positions.copy(), a.cell.array.copy(), a.pbc.copy()))
        reply = self._conn.recv()
        if reply[0] != "ok":
            raise ModelError(f"MACE evaluation failed: {reply[1]}")
        _, energy, forces, stress = reply
        self.results["energy"] = self.results["free_energy"] = energy
        self.results["forces"] = np.asarray(forces)
        if stress is not None:
            self.results["stress"] = np.asarray(stress)

    def close(self) -> None:
        """Stop the child process."""
        if self._conn is not None:
            try:
                self._conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.terminate()
            self._process = None

    def __del__(self):
        self.close()
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)

    def save(self, folder: str | Path) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.model_path, Path(folder) / _MODEL_FILE)

    @classmethod
    def load(cls, folder: str | Path, threads: int = 2) -> MaceCalculator:
        path = Path(folder) / _MODEL_FILE
        if not path.is_file():
            raise ModelError(f"{folder}: no {_MODEL_FILE}")
        return cls(path, threads=threads)
