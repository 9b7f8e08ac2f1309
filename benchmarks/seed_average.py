"""Averaging seeds of the boosted attention model: MatBench mp_e_form, official v0.1 folds.

Per fold and seed: `CompositionAttention` with the library's CPU defaults (64 x 2, 24,000 mini-batches of 256,
one thread, its time bound lifted) on the fold's training rows, target standardized with their mean and
standard deviation as AutoModel does, with `random_state` = the seed; then the default booster of
`composition_attention_boosted` (LightGBM, 2,000 trees of 255 leaves, L1, on the `magpie_extended` features
and the network's prediction) fitted to that network's residuals on the training rows. Reported (test MAE,
eV/atom): each seed's network and boosted model; each later seed's boosted model averaged with the first's; for
the first k seeds, the average of the k networks, one booster fitted to the residuals of that average, and the
average of the k boosted models (what `AutoModel._reseed` builds: each seed a whole boosted fit). No search, no
duplicate merge. With ``--share S`` (below 1) the seeds after the first train S of the mini-batches and of the
residual trees, as the model's cheaper form (`_fewer_steps`) cuts them: what less time left than a whole fit
could pay for (`AutoModel._reseed`); the first seed stays whole.

Networks and boosted predictions are kept in ``--cache`` (one file per fold and seed), so a rerun with one
seed more trains only that seed.

Usage: ``python benchmarks/seed_average.py [--folds 0] [--seeds 0,1,2] [--share 1.0] [--data-dir
../shared/data] [--cache benchmarks/cache/seed_average] [--results FILE]`` (about 15 min a network and 4 min a
booster on one CPU thread).
Writes ``benchmarks/results/seed_average.json`` (rows merged by fold and share).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "seed_average.json"
TASK = "matbench_mp_e_form"


def _mae(prediction: np.ndarray, y: np.ndarray) -> float:
    return round(float(np.abs(prediction - y).mean()), 5)


def _boosted(network: np.ndarray, seed: int, *, template, F, y, train, mean, std) -> np.ndarray:
    """`network` + `template`'s booster (random_state `seed`) fitted to its standardized residuals on `train`."""
    booster = clone(template.booster).set_params(random_state=seed)
    booster.fit(template.booster_input(F[train], (network[train] - mean) / std), (y[train] - network[train]) / std)
    return network + booster.predict(template.booster_input(F, (network - mean) / std)) * std


def _one_thread_data(data_dir: Path):
    """torch on one thread (as each fold's process has when two run side by side on the 2 cores), and the rows,
    folds, fractions, features and targets of `attention_steps.load_with_features` (the same as the other
    attention benchmarks; a script's folder is on sys.path), or None."""
    import torch
    from attention_steps import load_with_features

    torch.set_num_threads(1)
    return load_with_features(data_dir)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--folds", default="0")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--share", type=float, default=1.0, help="share of the mini-batches and residual trees of the seeds after the first")
    parser.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "cache" / "seed_average")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    loaded = _one_thread_data(args.data_dir)
    if loaded is None:
        return 2
    _, folds, X, F, y = loaded
    from matforge.files import atomic_file
    from matforge.models import MODELS
    from matforge.models._attention import CompositionAttention

    spec = MODELS["composition_attention_boosted"]
    template = spec.build("regression", spec.defaults, seed=0)
    # the seeds after the first as the library cuts them: its network's mini-batches, its booster's trees
    cut = spec.build("regression", spec.cheaper(spec.defaults, args.share)[0], seed=0) if args.share < 1.0 else template
    seeds = [int(s) for s in args.seeds.split(",")]
    args.cache.mkdir(parents=True, exist_ok=True)
    for k in [int(f) for f in args.folds.split(",")]:
        train, test = folds != k, folds == k
        mean, std = y[train].mean(), y[train].std()
        fold = {"template": template, "F": F, "y": y, "train": train, "mean": mean, "std": std}

        networks, models, seconds = [], [], {}
        for i, seed in enumerate(seeds):
            share, built = (args.share, cut) if i > 0 and args.share < 1.0 else (1.0, template)
            tag = f"_share{share:g}" if share < 1.0 else ""
            path = args.cache / f"network_fold{k}_seed{seed}{tag}.npz"
            if not path.exists():
                start = time.perf_counter()
                network = CompositionAttention(max_time=1e9, random_state=seed, device="cpu")
                if share < 1.0:
                    network.max_steps = built.base.max_steps
                model = network.fit(X[train], (y[train] - mean) / std)
                seconds[f"network_seed{seed}"] = round(time.perf_counter() - start)
                np.savez_compressed(path, prediction=(model.predict(X) * std + mean).astype(np.float32))
            networks.append(np.load(path)["prediction"].astype(float))
            path = args.cache / f"boosted_fold{k}_seed{seed}{tag}.npy"
            if not path.exists():
                np.save(path, _boosted(networks[-1], seed, **{**fold, "template": built}).astype(np.float32))
            models.append(np.load(path).astype(float))
        row = {"fold": k, "seeds": seeds, "share_after_first": args.share, "network_mae": [_mae(n[test], y[test]) for n in networks], "boosted_mae": [_mae(m[test], y[test]) for m in models],
               "boosted_with_first_mae": [_mae((models[0][test] + m[test]) / 2, y[test]) for m in models[1:]], "first_k": []}  # fmt: skip
        for n in range(2, len(seeds) + 1):
            name = "_".join(str(s) for s in seeds[:n])
            path = args.cache / f"boosted_average_fold{k}_seeds{name}.npy"
            average = np.mean(networks[:n], axis=0)
            entry = {"k": n, "network_average_mae": _mae(average[test], y[test])}
            if args.share >= 1.0:  # one booster on the averaged networks: the whole-seed comparison only (4 min a booster)
                if not path.exists():
                    np.save(path, _boosted(average, seeds[0], **fold).astype(np.float32))
                entry["booster_on_average_mae"] = _mae(np.load(path).astype(float)[test], y[test])
            row["first_k"].append({**entry, "boosted_average_mae": _mae(np.mean(models[:n], axis=0)[test], y[test])})
        row["seconds_this_run"] = seconds
        print(json.dumps(row), flush=True)
        rows = json.loads(args.results.read_text())["results"] if args.results.exists() else []  # read late: runs of other folds or shares may have written
        rows = sorted([r for r in rows if (r["fold"], r.get("share_after_first", 1.0)) != (k, args.share)] + [row], key=lambda r: (r["fold"], -r.get("share_after_first", 1.0)))
        out = {"task": TASK, "protocol": " ".join(__doc__.split("\n\n")[1].split()), "unit": "eV/atom", "results": rows}
        with atomic_file(args.results) as tmp:
            tmp.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
