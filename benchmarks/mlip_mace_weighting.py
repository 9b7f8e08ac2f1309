"""Which MACE loss weighting to use on CPU budgets: chosen on a validation split of the TRAINING frames only.

The 55-epoch MACE row on mlearn Si had good forces (0.060 eV/Å) but a large energy error (41.7 meV/atom). MACE's
default loss weights energy (per atom, eV²) by 1 and force components (eV²/Å²) by 100, so a short run barely
fits energies. mace-torch's "stage two" (formerly SWA) switches to energy weight 1000 and a 10x smaller learning
rate for the last quarter of the epochs. This script trains the same model with each weighting on 90% of the
training frames (seeded split) and scores it on the other 10%; the test frames are never read.

Usage: ``python benchmarks/mlip_mace_weighting.py [--dataset Si] [--epochs 20] [--variants default,stage_two]``.
Writes ``benchmarks/results/mlip_mace_weighting.json`` (merged by dataset/variant/epochs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mlip_mace_weighting.json"
sys.path.insert(0, str(ROOT / "benchmarks"))

from mlip import MACE_OPTIONS, load_dataset  # noqa: E402  (the benchmark's own model size and data reader)

VARIANTS = {
    "default": {"stage_two_start": None},  # energy 1, forces 100 throughout (mace-torch's defaults)
    "stage_two": {"stage_two_start": 0.75, "stage_two_energy_weight": 1000.0, "stage_two_forces_weight": 100.0,
                  "stage_two_lr": 1e-3},
    "energy10": {"stage_two_start": None, "energy_weight": 10.0},
    "energy10_stage_two": {"energy_weight": 10.0, "stage_two_start": 0.75, "stage_two_energy_weight": 1000.0,
                           "stage_two_forces_weight": 100.0, "stage_two_lr": 1e-3},
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--dataset", default="Si")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--variants", default="default,stage_two")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--water-stride", type=int, default=16)
    args = parser.parse_args(argv)
    from matforge.atoms import evaluate, fit

    train, _ = load_dataset(args.dataset, args.data_dir, args.water_stride)  # the test frames are not used
    order = np.random.default_rng(0).permutation(len(train))
    n_val = max(1, len(train) // 10)
    val = [train[i] for i in order[:n_val]]
    fit_frames = [train[i] for i in order[n_val:]]
    previous = json.loads(RESULTS.read_text())["results"] if RESULTS.exists() else []
    for name in args.variants.split(","):
        options = MACE_OPTIONS | VARIANTS[name] | {"max_num_epochs": args.epochs, "threads": args.threads}
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        calc = fit(fit_frames, engine="mace", val_frames=val, seed=0, **options)
        fit_s = time.perf_counter() - start
        m = evaluate(calc, val)
        calc.close()
        row = {"dataset": args.dataset, "variant": name, "epochs": args.epochs, "options": options,
               "n_fit_frames": len(fit_frames), "n_val_frames": len(val), "threads": args.threads,
               "fit_seconds": fit_s, "load_avg_1min_fit_start": load_before,
               "load_avg_1min_fit_end": os.getloadavg()[0],
               "val_energy_mae": m["energy_mae"], "val_force_mae": m["force_mae"],
               "val_energy_rmse": m["energy_rmse"], "val_force_rmse": m["force_rmse"]}
        print(f"{args.dataset} {name:20} {args.epochs} ep: val E MAE {m['energy_mae']:.2f} meV/atom, "
              f"F MAE {m['force_mae']:.4f} eV/Å, fit {fit_s:.0f} s", flush=True)
        previous = [r for r in previous if (r["dataset"], r["variant"], r["epochs"]) !=
                    (args.dataset, name, args.epochs)] + [row]
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        tmp = RESULTS.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({
            "protocol": "seeded 90/10 split of the training frames (rng seed 0); MACE trained on the 90% with the "
                        "10% as its validation set, scored on that 10% with matforge.atoms.evaluate; test frames "
                        "never read; same model options as benchmarks/mlip.py; one thread on the shared 2-core "
                        "machine",
            "results": previous}, indent=2, default=float))
        os.replace(tmp, RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
