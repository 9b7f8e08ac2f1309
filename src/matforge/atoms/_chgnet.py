"""CHGNet universal potential: zero-shot, with re-aligned elemental reference energies, or fine-tuned.

CHGNet (B. Deng, P. Zhong, K. Jun, J. Riebesell, K. Han, C. J. Bartel, G. Ceder, "CHGNet as a pretrained
universal neural network potential for charge-informed atomistic modelling", Nat. Mach. Intell. 5, 1031
(2023), doi:10.1038/s42256-023-00716-3) ships its pretrained weights (MPtrj, PBE/PBE+U) inside its wheel, so it
loads offline.

Reference-energy alignment: a DFT code, pseudopotential set or functional other than the Materials Project's
shifts every element's energy by a constant. Before fine-tuning (and as the "aligned zero-shot" baseline) the
per-element shift is fitted by least squares on the training frames and added to CHGNet's AtomRef layer; the
network itself is unchanged by that step.

Saved models are plain state dicts read back with ``torch.load(weights_only=True)``: no pickle of code.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np

from matforge.atoms._frames import ref_energy, ref_forces
from matforge.errors import InputError, ModelError

__all__ = ["chgnet_calculator", "fit_chgnet", "load_chgnet", "CHGNET_DEFAULTS"]

CHGNET_DEFAULTS = {
    "epochs": 20,
    "learning_rate": 3e-4,
    "batch_size": 8,
    "energy_loss_ratio": 1.0,
    "force_loss_ratio": 1.0,
    "freeze_embeddings": True,  # keep the pretrained embeddings and early layers (small data, CPU)
    "threads": 2,
}
_STATE_FILE = "chgnet_state.pt"


def _load_pretrained():
    from chgnet.model import CHGNet

    with contextlib.redirect_stdout(io.StringIO()):
        return CHGNet.load(use_device="cpu", verbose=False)


def chgnet_calculator(model=None):
    """ASE calculator for CHGNet (the pretrained model when `model` is None): eV, eV/Å, eV/Å³."""
    import warnings

    from chgnet.model.dynamics import CHGNetCalculator

    # CHGNet warns at every step of a cell relaxation about torch internals and about constraints pymatgen cannot
    # hold (ASE applies them): noise in a user's terminal, not something they can act on
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad", module="chgnet")
    warnings.filterwarnings("ignore", message="Only FixAtoms and FixCartesian", module="chgnet")

    model = model if model is not None else _load_pretrained()
    with contextlib.redirect_stdout(io.StringIO()):
        calc = CHGNetCalculator(model=model, use_device="cpu", on_isolated_atoms="ignore")
    calc.chgnet_model = model
    return calc


def _predicted_energies(model, frames, batch_size: int = 16) -> np.ndarray:
    from pymatgen.io.ase import AseAtomsAdaptor

    structures = [AseAtomsAdaptor.get_structure(a) for a in frames]
    out = []
    for start in range(0, len(structures), batch_size):
        preds = model.predict_structure(structures[start:start + batch_size], task="e", batch_size=batch_size)
        preds = preds if isinstance(preds, list) else [preds]
        out.extend(float(p["e"]) * len(s) for p, s in zip(preds, structures[start:start + batch_size], strict=True))
    return np.asarray(out)


def align_reference_energies(model, frames, max_frames: int = 50) -> dict[str, float]:
    """Add to CHGNet's per-element reference energies the least-squares shift (eV/atom) to the frames' DFT.

    At most `max_frames` evenly spread frames are used: a few constants need few frames, and CHGNet inference
    is the expensive part. Returns the shift of each element. The model is changed in place.
    """
    import torch

    frames = list(frames)[:: max(1, len(frames) // max_frames)]

    species = sorted({s for a in frames for s in a.get_chemical_symbols()})
    counts = np.array([[a.get_chemical_symbols().count(s) for s in species] for a in frames], dtype=float)
    residual = np.array([ref_energy(a) for a in frames]) - _predicted_energies(model, frames)
    shift = np.linalg.lstsq(counts, residual, rcond=None)[0]
    from ase.data import atomic_numbers

    with torch.no_grad():
        weight = model.composition_model.fc.weight
        for s, d in zip(species, shift, strict=True):
            weight[0, atomic_numbers[s] - 1] += float(d)
    return dict(zip(species, shift.tolist(), strict=True))


def fit_chgnet(frames, val_frames=None, *, seed: int = 0, log=None, **options):
    """Fine-tune pretrained CHGNet on frames' energies (eV) and forces (eV/Å); return its ASE calculator.

    Options: see `CHGNET_DEFAULTS` (epochs, learning_rate, batch_size, energy/force loss ratios,
    freeze_embeddings, threads). With ``epochs=0`` only the reference energies are aligned.
    """
    unknown = set(options) - set(CHGNET_DEFAULTS)
    if unknown:
        raise InputError(f"unknown CHGNet options {sorted(unknown)}", hint=f"Known: {sorted(CHGNET_DEFAULTS)}")
    opts = {**CHGNET_DEFAULTS, **options}
    import torch
    from chgnet.data.dataset import StructureData, collate_graphs
    from chgnet.trainer import Trainer
    from pymatgen.io.ase import AseAtomsAdaptor
    from torch.utils.data import DataLoader

    torch.set_num_threads(int(opts["threads"]))
    torch.manual_seed(seed)
    model = _load_pretrained()
    align_reference_energies(model, frames)
    if int(opts["epochs"]) > 0:
        if not val_frames:
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(frames))
            n_val = max(1, len(frames) // 10)
            val_frames = [frames[i] for i in order[:n_val]]
            frames = [frames[i] for i in order[n_val:]]

        def loader(subset, shuffle):
            data = StructureData(
                structures=[AseAtomsAdaptor.get_structure(a) for a in subset],
                energies=[ref_energy(a) / len(a) for a in subset],  # CHGNet trains on eV/atom
                forces=[ref_forces(a).tolist() for a in subset],
                shuffle=False,
            )
            generator = torch.Generator().manual_seed(seed)
            return DataLoader(data, batch_size=int(opts["batch_size"]), shuffle=shuffle, collate_fn=collate_graphs,
                              generator=generator)

        if opts["freeze_embeddings"]:
            for layer in (model.atom_embedding, model.bond_embedding, model.angle_embedding,
                          model.bond_basis_expansion, model.angle_basis_expansion):
                for param in layer.parameters():
                    param.requires_grad = False
        trainer = Trainer(model=model, targets="ef", energy_loss_ratio=opts["energy_loss_ratio"],
                          force_loss_ratio=opts["force_loss_ratio"], optimizer="Adam", scheduler="CosLR",
                          criterion="MSE", epochs=int(opts["epochs"]), learning_rate=opts["learning_rate"],
                          use_device="cpu", print_freq=10**6, torch_seed=seed, data_seed=seed)
        captured = io.StringIO()
        with tempfile.TemporaryDirectory(prefix="matforge-chgnet-") as save_dir, \
                contextlib.redirect_stdout(captured):
            trainer.train(loader(frames, True), loader(val_frames, False), save_dir=save_dir)
        if log is not None:
            Path(log).write_text(captured.getvalue())
        model = trainer.best_model if trainer.best_model is not None else trainer.model
        model.eval()
    return chgnet_calculator(model)


def save_chgnet(calc, folder: str | Path) -> None:
    """Write the calculator's CHGNet weights as a state dict (`chgnet_state.pt`)."""
    import torch

    Path(folder).mkdir(parents=True, exist_ok=True)
    torch.save(calc.chgnet_model.state_dict(), Path(folder) / _STATE_FILE)


def load_chgnet(folder: str | Path):
    """Calculator for CHGNet weights saved by `save_chgnet` (loaded with ``weights_only=True``)."""
    import torch

    path = Path(folder) / _STATE_FILE
    if not path.is_file():
        raise ModelError(f"{folder}: no {_STATE_FILE}")
    model = _load_pretrained()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.eval()
    return chgnet_calculator(model)
