"""Test-set errors of a potential: energies per atom (meV/atom), forces (eV/Å), per configuration family.

Energy errors are computed per atom ((E_pred − E_DFT)/N, reported in meV/atom) so cells of different sizes
weigh the same, as in Zuo et al., J. Phys. Chem. A 124, 731 (2020). Force errors are over every Cartesian
component of every atom, in eV/Å.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from pathlib import Path

import numpy as np

from matforge.atoms._frames import config_types, ref_energy, ref_forces
from matforge.files import atomic_dir

__all__ = ["predict_frames", "evaluate", "error_metrics", "write_evaluation"]


def predict_frames(calc, frames, *, progress=None) -> dict:
    """Energies (eV) and forces (eV/Å) of `calc` on every frame, with the seconds spent per atom-step."""
    energies, forces = [], []
    task = progress.add_task("evaluating", total=len(frames)) if progress is not None else None
    start = time.perf_counter()
    for atoms in frames:
        a = atoms.copy()
        a.calc = calc
        forces.append(np.asarray(a.get_forces(), dtype=float))
        energies.append(float(a.get_potential_energy()))
        if task is not None:
            progress.advance(task)
    seconds = time.perf_counter() - start
    n_atoms = sum(len(a) for a in frames)
    return {"energy": np.asarray(energies), "forces": forces, "seconds": seconds,
            "seconds_per_atom_step": seconds / max(n_atoms, 1)}


def error_metrics(frames, energies, forces) -> dict:
    """MAE/RMSE of energies per atom (meV/atom) and of force components (eV/Å)."""
    n = np.array([len(a) for a in frames], dtype=float)
    de = (np.asarray(energies) - np.array([ref_energy(a) for a in frames])) / n * 1000.0
    df = np.concatenate([(np.asarray(f) - ref_forces(a)).reshape(-1) for a, f in zip(frames, forces, strict=True)])
    return {
        "n_frames": len(frames),
        "n_atoms": int(n.sum()),
        "energy_mae": float(np.mean(np.abs(de))),
        "energy_rmse": float(np.sqrt(np.mean(de ** 2))),
        "force_mae": float(np.mean(np.abs(df))),
        "force_rmse": float(np.sqrt(np.mean(df ** 2))),
    }


def evaluate(calc, frames, *, progress=None) -> dict:
    """Errors of `calc` on `frames`, overall and per configuration family, plus inference speed.

    Returns a dict with `n_frames`, `energy_mae`, `energy_rmse` (meV/atom), `force_mae`, `force_rmse` (eV/Å),
    `by_config_type` (the same per family), `seconds_per_atom_step` and, under ``"_predictions"``, the raw
    predictions used by `write_evaluation`'s plots.
    """
    pred = predict_frames(calc, frames, progress=progress)
    metrics = error_metrics(frames, pred["energy"], pred["forces"])
    types = np.asarray(config_types(frames))
    metrics["by_config_type"] = {}
    for family in sorted(set(types.tolist())):
        idx = np.flatnonzero(types == family)
        metrics["by_config_type"][family] = error_metrics([frames[i] for i in idx], pred["energy"][idx],
                                                          [pred["forces"][i] for i in idx])
    metrics["seconds_per_atom_step"] = pred["seconds_per_atom_step"]
    metrics["units"] = {"energy_mae": "meV/atom", "energy_rmse": "meV/atom", "force_mae": "eV/Å",
                        "force_rmse": "eV/Å", "seconds_per_atom_step": "s"}
    metrics["_predictions"] = pred
    return metrics


def _parity_png(frames, pred) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = np.array([len(a) for a in frames], dtype=float)
    e_ref = np.array([ref_energy(a) for a in frames]) / n
    e_pred = np.asarray(pred["energy"]) / n
    f_ref = np.concatenate([ref_forces(a).reshape(-1) for a in frames])
    f_pred = np.concatenate([np.asarray(f).reshape(-1) for f in pred["forces"]])
    types = np.asarray(config_types(frames))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for family in sorted(set(types.tolist())):
        mask = types == family
        axes[0].scatter(e_ref[mask], e_pred[mask], s=12, label=family, alpha=0.8)
    lo, hi = min(e_ref.min(), e_pred.min()), max(e_ref.max(), e_pred.max())
    axes[0].plot([lo, hi], [lo, hi], "k--", lw=1)
    e_mae = np.mean(np.abs(e_pred - e_ref)) * 1e3
    axes[0].set(xlabel="DFT energy (eV/atom)", ylabel="predicted energy (eV/atom)",
                title=f"Energy parity (MAE {e_mae:.2f} meV/atom)")
    axes[0].legend(fontsize=8)
    axes[1].scatter(f_ref, f_pred, s=3, alpha=0.4)
    lo, hi = min(f_ref.min(), f_pred.min()), max(f_ref.max(), f_pred.max())
    axes[1].plot([lo, hi], [lo, hi], "k--", lw=1)
    axes[1].set(xlabel="DFT force component (eV/Å)", ylabel="predicted (eV/Å)",
                title=f"Force parity (MAE {np.mean(np.abs(f_pred - f_ref)):.3f} eV/Å)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _report_html(metrics: dict, card: dict, png: str, frames_path: str) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{m['n_frames']}</td><td>{m['energy_mae']:.2f}</td>"
        f"<td>{m['energy_rmse']:.2f}</td><td>{m['force_mae']:.4f}</td><td>{m['force_rmse']:.4f}</td></tr>"
        for name, m in [("all", metrics), *metrics["by_config_type"].items()]
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>matforge potential evaluation</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}</style></head>
<body><h1>Potential evaluation</h1>
<p>Engine <b>{html.escape(str(card.get('engine')))}</b> ({html.escape(str(card.get('description', '')))}),
seed {html.escape(str(card.get('seed')))}, training frames {card.get('training', {}).get('n_frames')};
test frames from <code>{html.escape(frames_path)}</code>.</p>
<h2>Errors (energy per atom in meV/atom, forces in eV/Å)</h2>
<table><tr><th>configuration type</th><th>frames</th><th>energy MAE</th><th>energy RMSE</th>
<th>force MAE</th><th>force RMSE</th></tr>{rows}</table>
<p>Inference: {metrics['seconds_per_atom_step'] * 1e3:.3f} ms per atom per energy+force call on this machine.</p>
<h2>Parity plots</h2><img alt="parity plots" src="data:image/png;base64,{png}" style="max-width:100%">
</body></html>"""


def write_evaluation(metrics: dict, frames, out: str | Path, *, card: dict, frames_path: str) -> Path:
    """Write ``metrics.json``, ``predictions.extxyz`` and a self-contained ``report.html`` into folder `out`."""
    import ase.io

    pred = metrics["_predictions"]
    public = {k: v for k, v in metrics.items() if not k.startswith("_")}
    public["engine"] = card.get("engine")
    public["frames"] = frames_path
    with atomic_dir(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(public, indent=2))
        annotated = []
        for atoms, energy, forces in zip(frames, pred["energy"], pred["forces"], strict=True):
            a = atoms.copy()
            a.info["pred_energy"] = float(energy)
            a.arrays["pred_forces"] = np.asarray(forces)
            annotated.append(a)
        ase.io.write(str(tmp / "predictions.extxyz"), annotated, format="extxyz")
        (tmp / "report.html").write_text(_report_html(public, card, _parity_png(frames, pred), frames_path))
    return Path(out)
