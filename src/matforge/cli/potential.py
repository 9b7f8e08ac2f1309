"""`matforge potential ...`: fit, evaluate and run machine-learned interatomic potentials.

Heavy imports (ASE, torch, dscribe, CHGNet) happen inside each command so that `matforge --help` stays instant.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

# Parameters shared by several commands.
RunFolder = Annotated[Path, typer.Argument(help="run folder written by `matforge potential fit`, or chgnet (CHGNet's pretrained potential, offline)")]
Structure = Annotated[Path, typer.Argument(help="structure file (any format ASE reads)")]

app = typer.Typer(
    help="Machine-learned interatomic potentials: DFT frames → potential → MD, relaxation, property checks.",
    no_args_is_help=True,
)


def _parse_options(items: list[str] | None) -> dict:
    options = {}
    for item in items or []:
        if "=" not in item:
            from matforge.errors import InputError

            raise InputError("--option needs KEY=VALUE", value=item, hint="e.g. --option n_max=8")
        key, value = item.split("=", 1)
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


@contextmanager
def _about(path: Path):
    """An `InputError` raised inside (e.g. elements the potential was not trained on) names `path` as its file."""
    from matforge.errors import InputError

    try:
        yield
    except InputError as err:
        raise err.located(file=str(path)) from None


def _read_structure(path: Path):
    import ase.io

    from matforge.errors import InputError

    if not path.exists():
        raise InputError("no such file", file=str(path), hint="Check the path")
    try:
        return ase.io.read(str(path))
    except Exception as err:  # ASE raises many types on unreadable input
        raise InputError(f"ASE cannot read this structure ({type(err).__name__}: {err})", file=str(path)) from None


def _check_out_dir(out: Path, *inputs: Path) -> None:
    from matforge.files import refuse_overwrite_input

    refuse_overwrite_input(out, *inputs)
    for item in inputs:
        if item is not None and Path(item).resolve().is_relative_to(out.resolve()) and out.exists():
            from matforge.errors import InputError

            raise InputError("the output folder contains an input", file=str(out), hint="Choose another --out")


@app.command("fit")
def fit_command(
    frames: Annotated[Path, typer.Argument(help="DFT frames: extxyz/OUTCAR/vasprun (ASE), DeePMD npy folder, or .json")],
    out: Annotated[Path, typer.Option("--out", "-o", help="run folder to write (model/ + card.json)")],
    engine: Annotated[str, typer.Option(help="soap | mace | chgnet | chgnet-aligned | chgnet-finetune")] = "soap",
    valid: Annotated[Path | None, typer.Option(help="validation frames for early stopping (neural engines)")] = None,
    split: Annotated[str, typer.Option(help="hold out frames from FRAMES: none | frame | config_type | tag (80/10/10 train/validation/test; soap trains on the validation share too)")] = "none",
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    epochs: Annotated[int | None, typer.Option(help="training epochs (mace, chgnet-finetune)")] = None,
    init_model: Annotated[Path | None, typer.Option(help="mace only: fine-tune from this MACE model file or run folder")] = None,
    option: Annotated[list[str] | None, typer.Option(help="engine option KEY=VALUE, repeatable (e.g. n_max=8)")] = None,
    format: Annotated[str | None, typer.Option(help="force the frames format (deepmd, pymatgen-json, or an ASE format)")] = None,
) -> None:
    """Fit a potential to DFT energies (eV) and forces (eV/Å) and write a run folder."""
    from matforge.atoms import evaluate, fit, read_frames, save_run, split_frames
    from matforge.errors import InputError
    from matforge.progress import progress_bar

    _check_out_dir(out, frames)
    options = _parse_options(option)
    if epochs is not None:
        if engine == "mace":
            options["max_num_epochs"] = epochs
        elif engine == "chgnet-finetune":
            options["epochs"] = epochs
        else:
            raise InputError(f"--epochs does not apply to the {engine} engine")
    if valid is not None and engine == "soap":
        raise InputError("--valid is for the neural engines' early stopping; soap chooses its settings by cross-validation on the training frames",
                         hint="Score other frames with 'matforge potential eval RUN FRAMES'")
    data = read_frames(frames, format=format)
    test = []
    if split != "none":
        data, held_val, test = split_frames(data, by=split, seed=seed)
        if not data:
            raise InputError("the split left no training frames", file=str(frames))
    else:
        held_val = []
    if engine == "soap":
        # no early stopping to feed: the frames a split sets aside for validation are trained on (soap's own
        # cross-validation over the training frames chooses its settings), not silently dropped
        data, held_val = data + held_val, []
    val = read_frames(valid) if valid is not None else held_val
    with progress_bar() as progress:
        calc = fit(data, engine, val_frames=val or None, seed=seed,
                   init_model=None if init_model is None else str(init_model), progress=progress, **options)
        extra = {"frames": str(frames), "split": split}
        if test:
            metrics = evaluate(calc, test, progress=progress)
            extra["test_metrics"] = {k: v for k, v in metrics.items() if not k.startswith("_")}
    save_run(calc, out, extra=extra)
    message = f"fitted {engine} on {len(data)} frames in {calc.matforge_card['fit_seconds']:.1f} s → {out}"
    if test:
        m = extra["test_metrics"]
        message += (f"\nheld-out test ({m['n_frames']} frames): energy MAE {m['energy_mae']:.2f} meV/atom, "
                    f"force MAE {m['force_mae']:.4f} eV/Å")
    typer.echo(message)


@app.command("eval")
def eval_command(
    run: RunFolder,
    frames: Annotated[Path, typer.Argument(help="labelled test frames")],
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for metrics.json, predictions.extxyz, report.html")],
    format: Annotated[str | None, typer.Option(help="force the frames format")] = None,
) -> None:
    """Energy (meV/atom) and force (eV/Å) errors on labelled frames, with parity plots in report.html."""
    from matforge.atoms import evaluate, load_potential, read_card, read_frames, write_evaluation
    from matforge.progress import progress_bar

    _check_out_dir(out, frames, run)
    card = read_card(run)
    data = read_frames(frames, format=format)
    calc = load_potential(run)
    with progress_bar() as progress:
        metrics = evaluate(calc, data, progress=progress)
    write_evaluation(metrics, data, out, card=card, frames_path=str(frames))
    typer.echo(f"{metrics['n_frames']} frames: energy MAE {metrics['energy_mae']:.2f} meV/atom "
               f"(RMSE {metrics['energy_rmse']:.2f}), force MAE {metrics['force_mae']:.4f} eV/Å "
               f"(RMSE {metrics['force_rmse']:.4f}) → {out}/report.html")


@app.command("md")
def md_command(
    run: RunFolder,
    structure: Structure,
    out: Annotated[Path, typer.Option("--out", "-o", help="trajectory file (extxyz)")],
    ensemble: Annotated[str, typer.Option(help="nve | nvt (Langevin)")] = "nve",
    temperature: Annotated[float, typer.Option(help="initial / thermostat temperature, K")] = 300.0,
    steps: Annotated[int, typer.Option(help="number of MD steps")] = 1000,
    timestep: Annotated[float, typer.Option(help="time step, fs")] = 1.0,
    interval: Annotated[int, typer.Option(help="write a frame every this many steps")] = 10,
    seed: Annotated[int, typer.Option(help="seed of the initial velocities and thermostat noise")] = 0,
) -> None:
    """Molecular dynamics with a fitted potential; reports the total-energy drift."""
    from matforge.atoms import load_potential, run_md
    from matforge.progress import progress_bar

    _check_out_dir(out, structure)
    atoms = _read_structure(structure)
    calc = load_potential(run)
    with progress_bar() as progress, _about(structure):
        result = run_md(atoms, calc, ensemble=ensemble, temperature=temperature, steps=steps, timestep=timestep,
                        seed=seed, out=out, interval=interval, progress=progress)
    typer.echo(f"{steps} steps of {timestep} fs ({ensemble.upper()}, {result['n_atoms']} atoms): "
               f"final T {result['temperature'][-1]:.0f} K, energy drift "
               f"{result['energy_drift_meV_per_atom_per_ps']:.3f} meV/atom/ps, max |ΔE_total| "
               f"{result['max_energy_deviation_meV_per_atom']:.3f} meV/atom → {out}")


@app.command("relax")
def relax_command(
    run: RunFolder,
    structure: Annotated[Path, typer.Argument(help="structure file (any format ASE reads), or a folder of CIF/POSCAR files (and its subfolders)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="relaxed structure(s) (extxyz; one frame per structure of a folder)")],
    fmax: Annotated[float, typer.Option(help="force convergence threshold, eV/Å")] = 0.01,
    steps: Annotated[int, typer.Option(help="maximum optimizer steps")] = 500,
    cell: Annotated[bool, typer.Option(help="relax the cell too")] = False,
    keep_symmetry: Annotated[bool, typer.Option(help="keep each structure's space group (ASE's FixSymmetry)")] = False,
) -> None:
    """Relax atomic positions (and optionally the cell) with BFGS: one structure, or every structure of a folder.

    A folder's relaxed structures go to one extxyz file, a frame each with its source file, relaxed energy
    (eV and eV/atom) and convergence, which `matforge screen --candidates` and `matforge predict` read as a table."""
    from matforge.atoms import load_potential, relax

    _check_out_dir(out, structure)
    if structure.is_dir():
        _relax_folder(structure, out, run, fmax=fmax, steps=steps, cell=cell, keep_symmetry=keep_symmetry)
        return
    atoms = _read_structure(structure)  # a bad file fails before the potential is loaded
    with _about(structure):
        result = relax(atoms, load_potential(run), fmax=fmax, steps=steps, cell=cell, keep_symmetry=keep_symmetry, out=out)
    state = "converged" if result.info["converged"] else f"NOT converged after {steps} steps"
    typer.echo(f"{state}: energy {result.info['relaxed_energy']:.6f} eV in {result.info['relax_steps']} steps → {out}")


def _relax_folder(folder: Path, out: Path, run: Path, *, fmax: float, steps: int, cell: bool, keep_symmetry: bool) -> None:
    import ase.io
    from pymatgen.io.ase import AseAtomsAdaptor

    from matforge.atoms import load_potential, relax
    from matforge.data import parse_structures, read_table
    from matforge.files import atomic_file
    from matforge.progress import progress_bar

    table = read_table(folder)
    structures = parse_structures(table["structure"].to_numpy(dtype=object), source=table.attrs.get("source"), column="structure")
    calc = load_potential(run)  # after the structures, so that a bad file fails first
    frames = []
    with progress_bar() as bar:
        task = bar.add_task(f"relaxing {folder.name}", total=len(structures))
        for source, structure in zip(table["structure"], structures, strict=True):
            with _about(source):
                result = relax(AseAtomsAdaptor.get_atoms(structure), calc, fmax=fmax, steps=steps, cell=cell, keep_symmetry=keep_symmetry)
            result.info["source"] = str(source)
            frames.append(result)
            bar.advance(task)
    with atomic_file(out, suffix=".extxyz") as tmp:
        ase.io.write(str(tmp), frames, format="extxyz")
    stuck = sum(not f.info["converged"] for f in frames)
    typer.echo(f"{len(frames)} structures relaxed ({stuck} not converged after {steps} steps) → {out}")


@app.command("properties")
def properties_command(
    run: RunFolder,
    structure: Structure,
    reference: Annotated[Path | None, typer.Option(help="JSON of reference values: lattice_constant (Å), "
                                                        "bulk_modulus_GPa, vacancy_formation_energy (eV)")] = None,
    vacancy: Annotated[bool, typer.Option(help="also compute the vacancy formation energy")] = True,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write the results as JSON")] = None,
) -> None:
    """Lattice constant and bulk modulus (equation of state) and vacancy formation energy."""
    from matforge.atoms import load_potential, property_checks
    from matforge.errors import InputError
    from matforge.files import atomic_file

    ref = None
    if reference is not None:
        try:
            ref = json.loads(Path(reference).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(f"cannot read reference JSON ({err})", file=str(reference)) from None
        known = ("lattice_constant", "bulk_modulus_GPa", "vacancy_formation_energy")
        unknown = [k for k in (ref if isinstance(ref, dict) else {}) if k not in known]
        if not isinstance(ref, dict) or unknown:
            raise InputError(f"unknown reference key(s) {unknown}" if unknown else "the reference JSON must be an object of values", file=str(reference),
                             hint=f"Use {', '.join(known)}")
    atoms = _read_structure(structure)
    result = property_checks(atoms, load_potential(run), reference=ref, vacancy=vacancy)
    if out is not None:
        _check_out_dir(out, structure)
        with atomic_file(out) as tmp:
            tmp.write_text(json.dumps(result, indent=2))
    model = result["model"]
    line = (f"a = {model['lattice_constant']:.4f} Å, B = {model['bulk_modulus_GPa']:.1f} GPa, "
            f"E/atom = {model['energy_per_atom']:.4f} eV")
    if vacancy:
        line += f", E_vac = {model['vacancy_formation_energy']:.3f} eV"
    typer.echo(line)
    for key, value in result.get("errors", {}).items():
        typer.echo(f"  {key}: {value:+.4g}")


def _attach() -> None:
    from matforge.cli.app import app as root

    if not any(group.name == "potential" for group in root.registered_groups):
        root.add_typer(app, name="potential")


_attach()
