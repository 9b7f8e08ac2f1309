"""One entry point to fit any engine, and the run folder that keeps a fitted potential.

Every engine returns an ASE calculator, so MD, relaxation and property checks never know which engine is
behind it. A run folder holds ``model/`` (the engine's files) and ``card.json``: engine, options, seed,
training-data hash, element list, package versions and, once evaluated, metrics.
"""

from __future__ import annotations

import json
import platform
import time
from importlib import metadata
from pathlib import Path

from matforge.atoms._frames import frames_hash
from matforge.errors import InputError, ModelError
from matforge.files import atomic_dir

__all__ = ["ENGINES", "fit", "save_run", "load_potential", "read_card"]

ENGINES = {
    "soap": "SOAP descriptors (dscribe) + sparse GAP-style kernel ridge on energies and forces",
    "mace": "MACE equivariant message passing (mace-torch), trained from scratch or fine-tuned, in a child process",
    "chgnet": "CHGNet pretrained universal potential, zero-shot (no fitting)",
    "chgnet-aligned": "CHGNet pretrained, per-element reference energies re-fitted to the training frames",
    "chgnet-finetune": "CHGNet pretrained, fine-tuned on the training frames",
}
CARD_VERSION = 1


def fit(frames, engine: str = "soap", *, val_frames=None, seed: int = 0, init_model=None, progress=None,
        log=None, **options):
    """Fit an interatomic potential to DFT frames and return it as an ASE calculator.

    Parameters
    ----------
    frames : training frames from `read_frames` (energies in eV, forces in eV/Å).
    engine : one of `ENGINES`: "soap" (fast small-data baseline), "mace" (equivariant network),
        "chgnet" (pretrained, zero-shot), "chgnet-aligned", "chgnet-finetune".
    val_frames : validation frames for the neural engines' early stopping (else 10% of `frames`).
    seed : random seed (sparse-point choice, network initialisation, batch order).
    init_model : for "mace", a MACE model file or run folder to fine-tune from.
    options : engine options (see `SOAP_DEFAULTS`, `MACE_DEFAULTS`, `CHGNET_DEFAULTS`).

    Returns
    -------
    An `ase.calculators.calculator.Calculator`; ``calc.matforge_card`` records how it was made.

    Example
    -------
    >>> calc = fit(read_frames("train.extxyz"), engine="soap")   # doctest: +SKIP
    >>> atoms.calc = calc; atoms.get_forces()                     # doctest: +SKIP
    """
    if engine not in ENGINES:
        raise InputError(f"unknown engine '{engine}'", hint=f"Choose one of {', '.join(ENGINES)}")
    if not frames:
        raise InputError("no training frames")
    if init_model is not None and engine != "mace":
        raise InputError("--init-model is for the mace engine; chgnet-finetune starts from CHGNet's weights")
    start = time.perf_counter()
    if engine == "soap":
        from matforge.atoms._soap import fit_soap

        calc = fit_soap(frames, seed=seed, progress=progress, **options)
    elif engine == "mace":
        from matforge.atoms._mace import fit_mace

        calc = fit_mace(frames, val_frames, seed=seed, init_model=init_model, log=log, **options)
    elif engine == "chgnet":
        if options:
            raise InputError("the zero-shot chgnet engine takes no options")
        from matforge.atoms._chgnet import chgnet_calculator

        calc = chgnet_calculator()
    else:
        from matforge.atoms._chgnet import fit_chgnet

        if engine == "chgnet-aligned":
            options = {**options, "epochs": 0}
        calc = fit_chgnet(frames, val_frames, seed=seed, log=log, **options)
    n_atoms = sum(len(a) for a in frames)
    calc.matforge_card = {
        "card_version": CARD_VERSION,
        "engine": engine,
        "description": ENGINES[engine],
        "options": {k: v for k, v in options.items()},
        "seed": seed,
        "init_model": None if init_model is None else str(init_model),
        "training": {"n_frames": len(frames), "n_atoms": n_atoms, "data_sha256": frames_hash(frames),
                     "n_val_frames": len(val_frames or []),
                     "elements": sorted({s for a in frames for s in a.get_chemical_symbols()})},
        "fit_seconds": round(time.perf_counter() - start, 2),
        # what cross-validation chose for options left at "auto" (soap), with each grid point's CV errors
        "tuning": getattr(calc, "tuning", None),
        "versions": _versions(),
        "units": {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å³"},
    }
    return calc


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for package in ("matforge", "ase", "numpy", "torch", "dscribe", "mace-torch", "chgnet", "e3nn"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = None
    return out


def save_run(calc, out: str | Path, *, extra: dict | None = None) -> Path:
    """Write a run folder (``model/`` + ``card.json``) for a fitted calculator; nothing is left half-written."""
    card = dict(getattr(calc, "matforge_card", {}))
    if not card:
        raise ModelError("this calculator was not made by matforge.atoms.fit; nothing to describe in card.json")
    card.update(extra or {})
    engine = card["engine"]
    with atomic_dir(out) as tmp:
        model_dir = tmp / "model"
        model_dir.mkdir()
        if engine == "soap" or engine == "mace":
            calc.save(model_dir)
        elif engine in ("chgnet-aligned", "chgnet-finetune"):
            from matforge.atoms._chgnet import save_chgnet

            save_chgnet(calc, model_dir)
        (tmp / "card.json").write_text(json.dumps(card, indent=2))
    return Path(out)


PRETRAINED = "chgnet"
"""Where a potential run folder is asked for, this name (when no folder has it) means CHGNet's pretrained
potential as it ships, the zero-shot engine without a fitting step."""


def is_pretrained_name(run_dir: str | Path) -> bool:
    return str(run_dir) == PRETRAINED and not Path(run_dir).exists()


def read_card(run_dir: str | Path) -> dict:
    """The card.json of a run folder (for `PRETRAINED`, a card describing CHGNet as it ships)."""
    if is_pretrained_name(run_dir):
        return {"card_version": CARD_VERSION, "engine": "chgnet", "description": ENGINES["chgnet"], "options": {}, "seed": None,
                "training": {"n_frames": None, "source": "MPtrj (Materials Project relaxations), CHGNet's own pretraining"},
                "versions": _versions(), "units": {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å³"}}  # fmt: skip
    path = Path(run_dir) / "card.json"
    if not path.is_file():
        raise InputError("not a potential run folder (no card.json)", file=str(run_dir),
                         hint="Give the folder written by `matforge potential fit`")
    try:
        card = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"card.json is not valid JSON ({err})", file=str(path)) from None
    if card.get("card_version", 0) > CARD_VERSION:
        raise ModelError(f"{run_dir} was written by a newer matforge (card version {card['card_version']})")
    return card


def load_potential(run_dir: str | Path):
    """The ASE calculator stored in a run folder written by `save_run` (or `matforge potential fit`), or CHGNet's
    pretrained one for the name ``"chgnet"``."""
    card = read_card(run_dir)
    model_dir = Path(run_dir) / "model"
    engine = card.get("engine")
    if engine == "soap":
        from matforge.atoms._soap import SoapKernelCalculator

        calc = SoapKernelCalculator.load(model_dir)
    elif engine == "mace":
        from matforge.atoms._mace import MaceCalculator

        calc = MaceCalculator.load(model_dir, threads=int(card.get("options", {}).get("threads", 2)))
    elif engine == "chgnet":
        from matforge.atoms._chgnet import chgnet_calculator

        calc = chgnet_calculator()
    elif engine in ("chgnet-aligned", "chgnet-finetune"):
        from matforge.atoms._chgnet import load_chgnet

        calc = load_chgnet(model_dir)
    else:
        raise ModelError(f"{run_dir}: unknown engine '{engine}' in card.json")
    calc.matforge_card = card
    return calc
