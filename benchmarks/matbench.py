"""MatBench v0.1 tasks (composition; --tasks jdft2d,phonons: structure) with matforge's default pipeline (see docs/benchmark.md).

    python benchmarks/matbench.py [--data-dir ../shared/data] [--tasks expt_gap,steels,expt_is_metal,glass]
                                  [--budget 120] [--workers 2] [--preset magpie_ranked] [--out runs/matbench]

Runs `matforge benchmark matbench` (finished folds in --out are reused) and copies its results.json and
results.md to benchmarks/results/matbench.{json,md}.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--tasks", default="expt_gap,steels,expt_is_metal,glass")
    parser.add_argument("--folds", default="0,1,2,3,4")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds of model search per fold")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default=None, help="composition feature preset for every task (default: matforge benchmark's)")
    parser.add_argument("--out", default=str(ROOT / "runs" / "matbench"))
    parser.add_argument("--workers", type=int, default=None, help="run the folds side by side on a local Dask cluster of this many workers ([dist] extra)")
    parser.add_argument("--name", default="matbench", help="results file stem under benchmarks/results/")
    args = parser.parse_args()

    from matforge.cli.app import main as cli

    code = cli([
        "benchmark", "matbench", "--data-dir", args.data_dir, "--tasks", args.tasks, "--folds", args.folds,
        "--budget", str(args.budget), "--trials", str(args.trials), "--seed", str(args.seed), "--out", args.out,
    ] + (["--scheduler", "local", "--workers", str(args.workers)] if args.workers else [])
      + (["--preset", args.preset] if args.preset else []))  # fmt: skip
    if code == 0:
        results = ROOT / "benchmarks" / "results"
        results.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(args.out) / "results.json", results / f"{args.name}.json")
        shutil.copyfile(Path(args.out) / "results.md", results / f"{args.name}.md")
    return code


if __name__ == "__main__":
    sys.exit(main())
