"""DFT frames: one reader for extxyz/ASE formats, DeePMD npy folders and pymatgen-style JSON; validation; splits.

A *frame* is an `ase.Atoms` carrying its DFT labels as plain data, never as a calculator, so that a model's
calculator attached later cannot be confused with the reference:

- ``atoms.info["ref_energy"]``: total energy of the cell, eV;
- ``atoms.arrays["ref_forces"]``: forces, eV/Å, shape (n_atoms, 3);
- ``atoms.info["config_type"]``: the configuration family (e.g. "AIMD-NVT", "Vacancy", a DeePMD system
  folder name), used for grouped splits and per-family errors.

Units: matforge assumes eV and Å everywhere, which is what VASP, ASE's extxyz convention, the DeePMD npy format
and pymatgen's `Structure` use. Forces far beyond anything physical are reported as a probable unit error.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matforge.errors import InputError

__all__ = ["read_frames", "split_frames", "frames_hash", "ref_energy", "ref_forces", "config_types"]

# A force of 100 eV/Å is already two orders of magnitude above typical AIMD values; anything beyond this is
# almost certainly a unit mistake (Hartree/Bohr, kcal/mol/Å) or a corrupted frame.
_MAX_FORCE_EV_PER_A = 1000.0


def ref_energy(atoms) -> float:
    """DFT total energy of a frame, eV."""
    return float(atoms.info["ref_energy"])


def ref_forces(atoms) -> np.ndarray:
    """DFT forces of a frame, eV/Å, shape (n_atoms, 3)."""
    return np.asarray(atoms.arrays["ref_forces"], dtype=float)


def config_types(frames: Sequence) -> list[str]:
    """The configuration family of every frame."""
    return [str(a.info.get("config_type", "default")) for a in frames]


def read_frames(path: str | os.PathLike, format: str | None = None, *, require_forces: bool = True) -> list:
    """Read labelled DFT frames from `path`, dispatching on what the path is (like `ase.io.read`).

    Parameters
    ----------
    path : a DeePMD npy system folder (holding ``type.raw`` and ``set.*/``) or a folder of such systems;
        a ``.json`` file with a list of pymatgen-style entries (``structure`` as ``Structure.as_dict()``,
        ``outputs.energy`` in eV, ``outputs.forces`` in eV/Å, optional ``group``/``tag``, as in mlearn);
        or any file ASE reads with energies and forces (extxyz, VASP OUTCAR/vasprun.xml, ...).
    format : force a format: "deepmd", "pymatgen-json", or an `ase.io` format name.
    require_forces : raise `InputError` when a frame has no forces (needed for fitting).

    Returns
    -------
    list of `ase.Atoms` with ``info["ref_energy"]`` (eV), ``arrays["ref_forces"]`` (eV/Å) and
    ``info["config_type"]``.

    Example
    -------
    >>> frames = read_frames("Si/training.json")          # doctest: +SKIP
    >>> frames[0].info["ref_energy"], frames[0].info["config_type"]  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", file=str(path), hint="Check the path")
    kind = format or _guess_format(path)
    if kind == "deepmd":
        frames = _read_deepmd(path)
    elif kind == "pymatgen-json":
        frames = _read_pymatgen_json(path)
    else:
        frames = _read_ase(path, None if kind == "ase" else kind)
    if not frames:
        raise InputError("no frames found", file=str(path))
    _validate(frames, path, require_forces)
    return frames


def _guess_format(path: Path) -> str:
    if path.is_dir():
        if (path / "type.raw").exists() or any(path.glob("*/type.raw")) or any(path.glob("**/type.raw")):
            return "deepmd"
        raise InputError(
            "folder is not a DeePMD npy system (no type.raw found)",
            file=str(path),
            hint="Give a file (extxyz, OUTCAR, vasprun.xml, .json) or a folder with type.raw and set.*/",
        )
    if path.suffix.lower() == ".json":
        return "pymatgen-json"
    return "ase"


def _read_ase(path: Path, fmt: str | None) -> list:
    import ase.io

    try:
        images = ase.io.read(str(path), index=":", format=fmt)
    except Exception as err:  # ASE raises many types for unreadable files; all mean "bad input" here
        raise InputError(f"ASE cannot read this file ({type(err).__name__}: {err})", file=str(path),
                         hint="Check the format or pass --format") from None
    frames = []
    for i, atoms in enumerate(images):
        energy = forces = None
        calc = atoms.calc
        if calc is not None:
            energy = calc.results.get("energy", calc.results.get("free_energy"))
            forces = calc.results.get("forces")
        # ref_energy / ref_forces: frames matforge itself read and wrote back out (read_frames round-trips)
        for key in ("ref_energy", "REF_energy", "energy"):
            energy = atoms.info.get(key, energy) if key in atoms.info else energy
        for key in ("ref_forces", "REF_forces", "forces"):
            if key in atoms.arrays:
                forces = atoms.arrays[key]
        clean = atoms.copy()
        clean.calc = None
        for key in ("energy", "REF_energy", "free_energy", "ref_energy"):
            clean.info.pop(key, None)
        for key in ("forces", "REF_forces", "ref_forces"):
            if key in clean.arrays:
                del clean.arrays[key]
        if energy is None:
            raise InputError(f"frame {i} has no energy", file=str(path),
                             hint="Each frame needs a DFT total energy in eV (energy=, REF_energy= or ref_energy= in its comment line)")
        clean.info["ref_energy"] = float(energy)
        if forces is not None:
            clean.arrays["ref_forces"] = np.asarray(forces, dtype=float)
        clean.info.setdefault("config_type", atoms.info.get("config_type", path.stem))
        frames.append(clean)
    return frames


def _read_deepmd(path: Path) -> list:
    from ase import Atoms

    systems = sorted({p.parent for p in path.glob("**/type.raw")})
    frames = []
    for system in systems:
        types = np.loadtxt(system / "type.raw", dtype=int, ndmin=1)
        type_map_file = system / "type_map.raw"
        if not type_map_file.exists():
            raise InputError("DeePMD system has no type_map.raw (element names)", file=str(system),
                             hint="Add type_map.raw with one element symbol per line")
        type_map = type_map_file.read_text().split()
        if types.max() >= len(type_map):
            raise InputError("type.raw uses a type index missing from type_map.raw", file=str(system))
        symbols = [type_map[t] for t in types]
        n_atoms = len(types)
        sets = sorted(system.glob("set.*"))
        if not sets:
            raise InputError("DeePMD system has no set.* folders", file=str(system))
        for set_dir in sets:
            arrays = {}
            for name in ("coord", "energy", "box", "force"):
                file = set_dir / f"{name}.npy"
                if file.exists():
                    arrays[name] = np.load(file, allow_pickle=False).astype(float)
                elif name in ("coord", "energy"):
                    raise InputError(f"missing {name}.npy", file=str(set_dir),
                                     hint="DeePMD sets need coord.npy and energy.npy (eV)")
            n_frames = arrays["coord"].shape[0]
            coord = arrays["coord"].reshape(n_frames, -1)
            if coord.shape[1] != 3 * n_atoms:
                raise InputError(f"coord.npy has {coord.shape[1]} columns, type.raw lists {n_atoms} atoms "
                                 f"(expected {3 * n_atoms})", file=str(set_dir / "coord.npy"))
            energy = arrays["energy"].reshape(-1)
            if energy.shape[0] != n_frames:
                raise InputError(f"energy.npy has {energy.shape[0]} frames, coord.npy {n_frames}",
                                 file=str(set_dir / "energy.npy"))
            force = arrays.get("force")
            if force is not None and force.reshape(n_frames, -1).shape[1] != 3 * n_atoms:
                raise InputError("force.npy does not hold 3 components per atom", file=str(set_dir / "force.npy"))
            box = arrays.get("box")
            for k in range(n_frames):
                cell = box[k].reshape(3, 3) if box is not None else None
                atoms = Atoms(symbols=symbols, positions=coord[k].reshape(n_atoms, 3), cell=cell,
                              pbc=box is not None)
                atoms.info["ref_energy"] = float(energy[k])
                if force is not None:
                    atoms.arrays["ref_forces"] = force.reshape(n_frames, n_atoms, 3)[k]
                atoms.info["config_type"] = system.name
                atoms.info["source"] = f"{system.name}/{set_dir.name}#{k}"
                frames.append(atoms)
    return frames


def _read_pymatgen_json(path: Path) -> list:
    from ase import Atoms

    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"not valid JSON ({err})", file=str(path)) from None
    entries = data if isinstance(data, list) else [data]
    frames = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "structure" not in entry:
            raise InputError("entry has no 'structure'", file=str(path), row=i,
                             hint="Expected pymatgen-style entries: structure, outputs.energy, outputs.forces")
        outputs = entry.get("outputs", entry)
        if outputs.get("energy") is None:
            raise InputError("entry has no energy (outputs.energy, eV)", file=str(path), row=i)
        structure = entry["structure"]
        try:
            lattice = np.asarray(structure["lattice"]["matrix"], dtype=float)
            sites = structure["sites"]
            symbols = [site["species"][0]["element"] for site in sites]
            positions = np.asarray([site["xyz"] for site in sites], dtype=float)
        except (KeyError, TypeError, IndexError) as err:
            raise InputError(f"structure is not a pymatgen Structure dict (missing {err})", file=str(path),
                             row=i) from None
        atoms = Atoms(symbols=symbols, positions=positions, cell=lattice, pbc=True)
        atoms.info["ref_energy"] = float(outputs["energy"])
        if outputs.get("forces") is not None:
            atoms.arrays["ref_forces"] = np.asarray(outputs["forces"], dtype=float)
        atoms.info["config_type"] = str(entry.get("group", entry.get("config_type", "default")))
        if "tag" in entry:
            atoms.info["split"] = str(entry["tag"])
        frames.append(atoms)
    return frames


def _validate(frames: list, path: Path, require_forces: bool) -> None:
    for i, atoms in enumerate(frames):
        energy = atoms.info.get("ref_energy")
        if energy is None or not np.isfinite(energy):
            raise InputError("frame energy is missing or not finite", file=str(path), row=i, value=energy)
        if "ref_forces" not in atoms.arrays:
            if require_forces:
                raise InputError("frame has no forces", file=str(path), row=i,
                                 hint="Fitting needs DFT forces in eV/Å for every frame")
            continue
        forces = np.asarray(atoms.arrays["ref_forces"])
        if forces.shape != (len(atoms), 3):
            raise InputError(f"forces have shape {forces.shape}, expected ({len(atoms)}, 3)", file=str(path), row=i)
        if not np.all(np.isfinite(forces)):
            raise InputError("forces contain NaN or infinity", file=str(path), row=i)
        if np.abs(forces).max() > _MAX_FORCE_EV_PER_A:
            raise InputError(f"force component of {np.abs(forces).max():.3g} is implausible in eV/Å",
                             file=str(path), row=i, hint="Convert forces to eV/Å (not Hartree/Bohr or kcal/mol/Å)")


def frames_hash(frames: Sequence) -> str:
    """SHA-256 of the frames' numbers, positions, cells, energies and forces (the training-data fingerprint)."""
    digest = hashlib.sha256()
    for atoms in frames:
        digest.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
        digest.update(np.round(np.asarray(atoms.positions, dtype=float), 8).tobytes())
        digest.update(np.round(np.asarray(atoms.cell.array, dtype=float), 8).tobytes())
        digest.update(np.float64(atoms.info["ref_energy"]).tobytes())
        if "ref_forces" in atoms.arrays:
            digest.update(np.round(atoms.arrays["ref_forces"].astype(float), 8).tobytes())
    return digest.hexdigest()


def split_frames(
    frames: Sequence,
    *,
    by: str = "frame",
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> tuple[list, list, list]:
    """Split frames into train, validation and test lists.

    Parameters
    ----------
    by : "frame" shuffles single frames; "config_type" keeps every configuration family (e.g. one AIMD
        trajectory, one DeePMD system) whole in one split, which is the honest choice when frames of a family
        are correlated snapshots; "tag" uses each frame's ``info["split"]`` ("train"/"val"/"test", as in the
        mlearn JSON files; frames tagged only train/test get no validation frames).
    fractions : train, validation, test fractions (summing to 1).
    seed : random seed of the shuffle.
    """
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise InputError("split fractions must be three non-negative numbers summing to 1", value=fractions)
    frames = list(frames)
    if by == "tag":
        parts = {"train": [], "val": [], "test": []}
        for atoms in frames:
            tag = str(atoms.info.get("split", "train")).lower()
            parts["val" if tag in ("val", "valid", "validation") else tag if tag in parts else "train"].append(atoms)
        return parts["train"], parts["val"], parts["test"]
    rng = np.random.default_rng(seed)
    if by == "frame":
        keys = np.arange(len(frames))
        labels = keys
    elif by == "config_type":
        labels = np.asarray(config_types(frames))
        keys = np.unique(labels)
        if len(keys) < 3:
            raise InputError(f"only {len(keys)} configuration families; a grouped split needs at least 3",
                             hint="Split by frame, or label families in info['config_type']")
    else:
        raise InputError(f"unknown split '{by}'", hint="Use frame, config_type or tag")
    order = rng.permutation(keys)
    n_train = int(round(fractions[0] * len(order)))
    n_val = int(round(fractions[1] * len(order)))
    groups = {"train": set(order[:n_train].tolist()), "val": set(order[n_train:n_train + n_val].tolist())}
    train, val, test = [], [], []
    for atoms, label in zip(frames, labels, strict=True):
        label = label.item() if hasattr(label, "item") else label
        (train if label in groups["train"] else val if label in groups["val"] else test).append(atoms)
    return train, val, test
