"""Screening throughput on a LocalCluster: ≥ 10 million generated steel compositions, 1 worker vs 2 workers.

Protocol: train a steels yield-strength model (shared matbench_steels, ridge on the 145 Magpie features,
seeded), then screen an Fe-based alloy grid (Ni, Co, Cr, Mo, Ti, Al, C on a 0.5 at.% step) for the highest
predicted yield strength with `matforge.scale.screen_distributed`, keeping the top 100: once on a 1-worker and
once on a 2-worker LocalCluster (one thread per worker, loopback). The whole predict path runs per candidate:
grid index → formula → parse → Magpie features → model → uncertainty → domain check → score → top-N merge.
Peak memory is the largest resident set of any worker process, sampled every 0.2 s. Both runs must return the
same top table. The machine is shared; its load average is recorded beside the numbers.

    python benchmarks/screen_scale.py [--data-dir ../shared/data] [--n 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Fe balance; 41 × 41 × 8 × 11 × 5 × 5 × 3 = 11,094,600 grid points, all feasible (the maxima sum below 1)
SPACE = {
    "name": "steel_grid",
    "variables": [{
        "type": "alloy", "column": "composition", "base": "Fe", "step": 0.005,
        "elements": {"Ni": [0, 0.2], "Co": [0, 0.2], "Cr": [0, 0.035], "Mo": [0, 0.05], "Ti": [0, 0.02],
                     "Al": [0, 0.02], "C": [0, 0.01]},
    }],
}  # fmt: skip


def _space_for(n: int) -> dict:
    """The grid above, or a smaller one of at least `n` points (fewer Ni levels) for quick runs."""
    from matforge.design import DesignSpace

    spec = json.loads(json.dumps(SPACE))
    for ni in (0.2, 0.1, 0.05, 0.02, 0.01, 0.005):
        spec["variables"][0]["elements"]["Ni"] = [0, ni]
        if DesignSpace(spec).size < n:
            break
        chosen = json.loads(json.dumps(spec))
    return chosen


class PeakMemory:
    """Largest resident set (GB) of the given worker processes, sampled in a thread."""

    def __init__(self, pids: list[int], every: float = 0.2):
        import psutil

        self.procs = [psutil.Process(p) for p in pids]
        self.every, self.peak, self._stop = every, 0.0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for proc in self.procs:
                try:
                    self.peak = max(self.peak, proc.memory_info().rss / 1e9)
                except Exception:  # a worker that just exited
                    pass
            self._stop.wait(self.every)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


def _run(run_dir: Path, space: dict, workers: int, out: Path, chunk: int, per_part: int) -> dict:
    import logging

    from distributed import Client, LocalCluster

    from matforge.scale import screen_distributed

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        load_before = os.getloadavg()
        cpu_before = _cpu_seconds(pids)
        with PeakMemory(pids) as memory:
            start = time.perf_counter()
            result = screen_distributed(run_dir, space, out, top=100, chunk_size=chunk, rows_per_partition=per_part, scheduler=cluster.scheduler_address, resume=False)
            seconds = time.perf_counter() - start
        cpu = _cpu_seconds(pids) - cpu_before
    n = result.summary["grid_points"]
    return {"workers": workers, "n": n, "seconds": seconds, "rate": n / seconds, "peak_rss_gb": memory.peak,
            "worker_cpu_seconds": cpu, "rate_per_worker_cpu_second": n / cpu,
            "load_before": load_before, "load_after": os.getloadavg(), "top": result.top}  # fmt: skip


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by the worker processes (what they got of the shared cores)."""
    import psutil

    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def _profile(run_dir: Path, space: dict, chunk: int) -> dict:
    """Where one chunk's time goes, in this process (seconds per million candidates), stage by stage as
    `matforge.design.screen_space_range` runs them."""
    from matforge.design import load_space
    from matforge.design._screen import one_blas_thread
    from matforge.learn import load_run

    predictor = load_run(run_dir).predictor
    space = load_space(space)
    start = space.size // 2
    with one_blas_thread():
        return _stages(predictor, space, start, chunk)


def _stages(predictor, space, start: int, chunk: int) -> dict:
    from matforge.design import Objective, merge_top
    from matforge.design._screen import screen_space_range
    from matforge.learn._predictor import _columns

    t0 = time.perf_counter()
    frame, parsed = space.candidates_parsed(start, start + chunk, text=False)
    t1 = time.perf_counter()
    F = predictor.featurizer.transform(frame, on_error="nan", parsed=parsed)
    t2 = time.perf_counter()
    predictor.predict_features(F)
    t3 = time.perf_counter()
    predictor.domain.predict(_columns(F, predictor.domain_columns))
    t4 = time.perf_counter()
    whole = screen_space_range(predictor, space, start, start + chunk, Objective.parse("max"), top=100)[0]
    t5 = time.perf_counter()
    space.with_text(merge_top(None, whole, 100))
    t6 = time.perf_counter()
    scale = 1e6 / len(frame)
    return {"enumerate_s_per_M": (t1 - t0) * scale, "featurize_s_per_M": (t2 - t1) * scale, "model_s_per_M": (t3 - t2) * scale,
            "domain_guard_s_per_M": (t4 - t3) * scale, "whole_chunk_s_per_M": (t5 - t4) * scale, "formula_text_for_top_s_per_M": (t6 - t5) * scale}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=10_000_000, help="Screen a grid of at least this many candidates.")
    parser.add_argument("--model", default="ridge")
    parser.add_argument("--preset", default="magpie", help="Feature preset of the steels model (magpie: the 145 Ward et al. features).")
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--rows-per-partition", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "screen_scale.json")
    args = parser.parse_args()
    os.environ.setdefault("MATFORGE_QUIET", "1")

    from matforge.design import DesignSpace
    from matforge.learn import train

    data = args.data_dir / "matbench_steels" / "matbench_steels.csv"
    space = _space_for(args.n) if args.n < DesignSpace(SPACE).size else SPACE
    size = DesignSpace(space).size
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="matforge-screen-scale-") as tmp:
        tmp = Path(tmp)
        run_dir = train(data, "yield strength", tmp / "steels", models=args.model, preset=args.preset, budget=15, cv=3, ensemble=1, seed=args.seed)
        profile = _profile(run_dir, space, args.chunk_size)
        one = _run(run_dir, space, 1, tmp / "top_1.csv", args.chunk_size, args.rows_per_partition)
        two = _run(run_dir, space, 2, tmp / "top_2.csv", args.chunk_size, args.rows_per_partition)
        identical = (tmp / "top_1.csv").read_bytes() == (tmp / "top_2.csv").read_bytes()
        best = two["top"].iloc[0]
    result = {
        "n": size, "rate_1": one["rate"], "rate_2": two["rate"], "speedup": two["rate"] / one["rate"],
        "peak_rss_gb": max(one["peak_rss_gb"], two["peak_rss_gb"]),
        "peak_rss_gb_by_workers": {"1": one["peak_rss_gb"], "2": two["peak_rss_gb"]},
        "seconds": {"1": one["seconds"], "2": two["seconds"], "benchmark_wall": time.perf_counter() - wall},
        "identical_top_1_vs_2": identical,
        # wall-clock rates depend on the share of the 2 cores the other jobs leave; candidates per CPU-second
        # of the workers do not, and show whether a second worker adds overhead (equal values: none)
        "rate_per_worker_cpu_second": {"1": one["rate_per_worker_cpu_second"], "2": two["rate_per_worker_cpu_second"]},
        "best": {"composition": best["composition"], "prediction": float(best["prediction"])},
        "profile_one_process": profile,
        "targets": {"speedup": 1.7, "peak_rss_gb": 1.5, "rate_1": 200_000},
        "protocol": {
            "space": space, "model": args.model, "features": args.preset, "top": 100, "chunk_size": args.chunk_size,
            "rows_per_partition": args.rows_per_partition, "seed": args.seed, "data": str(data),
            "cluster": "LocalCluster, processes, 1 thread per worker, 127.0.0.1",
        },
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_before_after": {"1": [one["load_before"], one["load_after"]], "2": [two["load_before"], two["load_after"]]},
                    "uptime": os.popen("uptime").read().strip()},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{'workers':>8} {'candidates':>12} {'seconds':>9} {'cand/s':>10} {'cand/CPU-s':>11} {'peak RSS GB':>12}")
    for r in (one, two):
        print(f"{r['workers']:>8} {r['n']:>12,} {r['seconds']:>9.1f} {r['rate']:>10,.0f} {r['rate_per_worker_cpu_second']:>11,.0f} {r['peak_rss_gb']:>12.2f}")
    print(f"speedup {result['speedup']:.2f}x; identical top-100: {identical}; load {os.getloadavg()}; wrote {args.out}")


if __name__ == "__main__":
    main()
