"""matminer vs matforge on the same formulas: the 132 Magpie element-property features, strings in, numbers out.

Formulas: every composition of matbench_expt_gap plus generated ones up to ``--n``. Both sides start from
formula strings and end with the feature matrix, warm (element tables loaded before timing):

- matminer, as a user runs it: ``StrToComposition`` then ``ElementProperty.from_preset("magpie")`` with
  ``featurize_dataframe``, serial (``n_jobs=1``, its fastest setting on 2 cores here; the default
  multiprocessing setting is timed on a subsample and reported too);
- matforge: ``ElementProperty(preset="magpie").transform(formulas)``, best of ``--repeats`` runs.

``max_rel_diff`` is ``max |ours - matminer| / max(|matminer|, 1e-12)`` over every finite entry (values below
1e-12 in both count as equal); NaN positions must agree. Writes ``benchmarks/results/featurize_speed.json``.

    python benchmarks/featurize_speed.py [--data-dir ../shared/data] [--n 6000] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from featurize_formulas import generate_formulas, save_result  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def load_formulas(data_dir: Path, n: int) -> tuple[list[str], int]:
    """expt_gap compositions followed by generated formulas, `n` in all; also returns how many are real."""
    table = pd.read_csv(data_dir / "matbench_expt_gap" / "matbench_expt_gap.csv")
    real = table["composition"].astype(str).tolist()[:n]
    return real + generate_formulas(max(0, n - len(real)), seed=1), len(real)


def time_matminer(formulas: list[str], n_jobs: int | None) -> tuple[float, np.ndarray]:
    from matminer.featurizers.composition import ElementProperty
    from matminer.featurizers.conversions import StrToComposition

    to_composition = StrToComposition()
    featurizer = ElementProperty.from_preset("magpie")
    if n_jobs is not None:
        to_composition.set_n_jobs(n_jobs)
        featurizer.set_n_jobs(n_jobs)
    frame = pd.DataFrame({"formula": formulas})
    start = time.perf_counter()
    frame = to_composition.featurize_dataframe(frame, "formula", pbar=False)
    frame = featurizer.featurize_dataframe(frame, "composition", pbar=False)
    seconds = time.perf_counter() - start
    return seconds, frame[featurizer.feature_labels()].to_numpy(dtype=float)


def time_matforge(formulas: list[str], n_jobs: int, repeats: int) -> tuple[float, float, np.ndarray]:
    from matforge.features import ElementProperty

    featurizer = ElementProperty(preset="magpie", n_jobs=n_jobs)
    start = time.perf_counter()
    values = featurizer.fit_transform(formulas)
    cold = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        values = featurizer.transform(formulas)
        times.append(time.perf_counter() - start)
    return min(times), cold, values


def max_rel_diff(ours: np.ndarray, reference: np.ndarray) -> float:
    if not np.array_equal(np.isnan(ours), np.isnan(reference)):
        return float("inf")
    finite = ~np.isnan(reference)
    a, b = ours[finite], reference[finite]
    diff = np.abs(a - b)
    diff[(np.abs(a) < 1e-12) & (np.abs(b) < 1e-12)] = 0.0
    return float((diff / np.maximum(np.abs(b), 1e-12)).max())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--default-subsample", type=int, default=1000,
                        help="formulas timed with matminer's default (multiprocessing) setting")  # fmt: skip
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "featurize_speed.json")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    formulas, n_real = load_formulas(args.data_dir, args.n)
    n = len(formulas)
    matminer_s, reference = time_matminer(formulas, n_jobs=1)
    default_s, _ = time_matminer(formulas[: args.default_subsample], n_jobs=None)
    matforge_s, matforge_cold_s, ours = time_matforge(formulas, args.n_jobs, args.repeats)
    serial_s, _, _ = time_matforge(formulas, 1, args.repeats)
    result = {
        "n": n,
        "matminer_s": matminer_s,
        "matforge_s": matforge_s,
        "speedup": matminer_s / matforge_s,
        "max_rel_diff": max_rel_diff(ours, reference),
        "formulas": f"{n_real} matbench_expt_gap compositions + {n - n_real} generated (seed 1)",
        "features": "132 Magpie element-property statistics (matminer ElementProperty.from_preset('magpie'))",
        "matminer_timing": "StrToComposition + ElementProperty.featurize_dataframe, n_jobs=1, one run, warm",
        "matminer_default_n_jobs_s_per_formula": default_s / min(n, args.default_subsample),
        "matforge_timing": f"ElementProperty.transform(list of strings), n_jobs={args.n_jobs}, best of "
        f"{args.repeats} warm runs (parsing included)",
        "matforge_cold_s": matforge_cold_s,
        "matforge_serial_s": serial_s,
        "speedup_serial": matminer_s / serial_s,
    }
    print(f"{'':24}{'seconds':>10}{'us/formula':>12}")
    print(f"{'matminer (n_jobs=1)':24}{matminer_s:10.3f}{matminer_s / n * 1e6:12.1f}")
    print(f"{'matminer (default)':24}{'':10}{result['matminer_default_n_jobs_s_per_formula'] * 1e6:12.1f}")
    print(f"{f'matforge (n_jobs={args.n_jobs})':24}{matforge_s:10.4f}{matforge_s / n * 1e6:12.2f}")
    print(f"{'matforge (n_jobs=1)':24}{serial_s:10.4f}{serial_s / n * 1e6:12.2f}")
    print(f"n={n}  speedup={result['speedup']:.0f}x (serial {result['speedup_serial']:.0f}x)  "
          f"max_rel_diff={result['max_rel_diff']:.2e}")  # fmt: skip
    return save_result(result, args.out)


if __name__ == "__main__":
    main()
