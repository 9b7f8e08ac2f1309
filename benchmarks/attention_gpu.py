"""The composition attention model at GPU size on MatBench mp_e_form, official v0.1 folds: networks on a GPU.

Two steps, because the GPU machine holds neither the shared data nor pymatgen/matminer:

1. ``pack`` (here): the mp_e_form rows as their non-zero element fractions (element index + fraction), the
   target, the official test fold of each row, the element symbols and the matscholar element table the model
   starts from, into one compressed file (``.gpu/mp_e_form.npz`` by default; ``.gpu/`` is git-ignored).
2. ``fit`` (on the GPU machine, ``PYTHONPATH=src``): one process per fold, all at once on the one GPU. Each
   trains ``CompositionAttention`` (the library estimator; its size from the options, everything else its
   defaults, seed 0) on its fold's training rows, target standardized with their mean and standard deviation
   as AutoModel does. It trains until the common deadline (``--seconds`` after the start) or
   ``--max-steps`` / ``--max-epochs``, whichever comes first; the learning rate's cosine runs over that same
   bound, so every fold ends annealed. Each writes the network's predictions for every row (eV/atom) to
   ``OUT/fold{k}.npz``, with its settings and timings.

The trees that correct the network's residuals (``composition_attention_boosted``'s booster) are fitted here,
on the CPU: ``python benchmarks/attention_boosted.py --networks OUT``.

Usage: ``python benchmarks/attention_gpu.py pack [--data-dir ../shared/data]``, then on the GPU
``PYTHONPATH=src python3 benchmarks/attention_gpu.py fit --out DIR [--folds 0,1,2,3,4] [--seconds 420]
[--d-model 256] [--layers 3] [--batch-size 512] [--max-steps 60000] [--max-epochs 1000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / ".gpu" / "mp_e_form.npz"


def pack(data_dir: Path, path: Path) -> int:
    from attention_steps import load_mp_e_form  # the same rows and folds as the CPU benchmarks

    from matforge.chem import ELEMENT_SYMBOLS
    from matforge.features._embeddings import embedding_table

    loaded = load_mp_e_form(data_dir)
    if loaded is None:
        return 2
    table, folds, X = loaded
    width = int((X > 0).sum(axis=1).max())
    index = np.argsort(-X, axis=1, kind="stable")[:, :width]  # the non-zero fractions first, largest first
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as handle:
        np.savez_compressed(handle, index=index.astype(np.uint8), fraction=np.take_along_axis(X, index, axis=1),
                            target=table["target"].to_numpy(dtype=np.float32), fold=folds.astype(np.int8),
                            symbols=np.asarray(ELEMENT_SYMBOLS), matscholar=embedding_table("matscholar"))  # fmt: skip
    tmp.replace(path)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): {len(X)} rows, at most {width} elements per row")
    return 0


def unpack(path: Path):
    """(fractions n x 118 float32, target, fold, symbols, matscholar table) from `pack`'s file."""
    data = np.load(path)
    X = np.zeros((len(data["index"]), len(data["symbols"])), dtype=np.float32)
    np.put_along_axis(X, data["index"].astype(np.int64), data["fraction"], axis=1)
    return X, data["target"], data["fold"], tuple(str(s) for s in data["symbols"]), data["matscholar"]


def fit_fold(args) -> int:
    X, y, folds, symbols, matscholar = unpack(args.pack)
    # the GPU machine has no pymatgen or matminer: the two things the model reads from them come from the pack
    sys.modules.setdefault("matforge.chem", types.SimpleNamespace(ELEMENT_SYMBOLS=symbols))
    sys.modules.setdefault("matforge.features._embeddings", types.SimpleNamespace(embedding_table=lambda name: matscholar))
    import torch

    from matforge.models._attention import CompositionAttention

    torch.set_num_threads(max(1, (os.cpu_count() or 2) // max(1, args.n_parallel)))
    train = folds != args.fold
    mean, std = float(y[train].mean()), float(y[train].std())
    target = (y[train] - mean) / std
    size = {"d_model": args.d_model, "n_layers": args.layers, "batch_size": args.batch_size, "max_epochs": args.max_epochs, "device": args.device}
    # the learning rate follows its cosine over max_steps or over max_time, whichever runs out first: every fold
    # trains until the common deadline (or the step cap) and ends annealed
    left = args.deadline - time.time() - 30.0  # the prediction and the writing
    start, cpu = time.perf_counter(), time.process_time()
    model = CompositionAttention(max_steps=args.max_steps, max_time=max(60.0, left), random_state=0, **size).fit(X[train], target)
    seconds = time.perf_counter() - start
    prediction = (model.predict(X) * std + mean).astype(np.float32)
    test = ~train
    row = {"fold": args.fold, **size, "max_steps": args.max_steps, "max_time": round(max(60.0, left), 1), "steps_run": int(model.n_steps_), "epochs": int(model.n_epochs_),
           "fit_seconds": round(seconds, 1), "cpu_seconds": round(time.process_time() - cpu, 1),
           "ms_per_step": round(1000 * seconds / max(1, model.n_steps_), 2),
           "mae_ev_per_atom": round(float(np.abs(prediction[test] - y[test]).mean()), 5),
           "train_mae_ev_per_atom": round(float(np.abs(prediction[train] - y[train]).mean()), 5),
           "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else "none", "torch": torch.__version__,
           "parallel_folds": args.n_parallel}  # fmt: skip
    out = args.out / f"fold{args.fold}.npz"
    with open(out.with_name(out.name + ".part"), "wb") as handle:
        np.savez_compressed(handle, prediction=prediction, target_mean=mean, target_std=std, settings=json.dumps(row))
    out.with_name(out.name + ".part").replace(out)
    print(json.dumps(row), flush=True)
    return 0


def fit(args) -> int:
    """One process per fold, started together, so that the GPU is shared by all of them for the whole time."""
    args.out.mkdir(parents=True, exist_ok=True)
    folds = [int(f) for f in args.folds.split(",")]
    deadline = time.time() + args.seconds
    common = ["--pack", str(args.pack), "--out", str(args.out), "--d-model", str(args.d_model), "--layers", str(args.layers),
              "--batch-size", str(args.batch_size), "--max-steps", str(args.max_steps), "--max-epochs", str(args.max_epochs), "--device", args.device,
              "--deadline", str(deadline), "--n-parallel", str(len(folds))]  # fmt: skip
    procs = [subprocess.Popen([sys.executable, __file__, "fit-fold", "--fold", str(k), *common]) for k in folds]
    codes = [p.wait() for p in procs]
    print(json.dumps({"folds": folds, "exit_codes": codes, "wall_seconds": round(time.time() - deadline + args.seconds, 1)}))
    return max(codes)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["pack", "fit", "fit-fold"])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--pack", type=Path, default=PACK)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "attention_gpu")
    parser.add_argument("--folds", default="0,1,2,3,4")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=420.0, help="wall time for the training of all folds together")
    parser.add_argument("--deadline", type=float, default=None)
    parser.add_argument("--n-parallel", type=int, default=1)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--max-steps", type=int, default=60000)
    parser.add_argument("--max-epochs", type=int, default=1000, help="the library's 200 would cap 512-row batches at 37,400 steps")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)
    if args.step == "pack":
        return pack(args.data_dir, args.pack)
    if args.step == "fit":
        return fit(args)
    if args.deadline is None:
        args.deadline = time.time() + args.seconds
    return fit_fold(args)


if __name__ == "__main__":
    raise SystemExit(main())
