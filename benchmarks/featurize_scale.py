"""1,000,000 generated formulas → the 145 "magpie" preset features → Parquet, streaming in slices.

Reports the featurization time (parsing + features, summed over slices), the total wall time including the
Parquet writing (done in a second thread, overlapping the next slice's featurization) and the process's
peak resident memory. Formula generation is not timed. Writes ``benchmarks/results/featurize_scale.json``.

    python benchmarks/featurize_scale.py [--n 1000000] [--n-jobs 2] [--out-parquet /tmp/magpie.parquet]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from featurize_formulas import generate_formulas, save_result  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--chunk-rows", type=int, default=16384)
    parser.add_argument("--preset", default="magpie")
    parser.add_argument("--out-parquet", type=Path, default=None, help="default: a temporary file, removed")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "featurize_scale.json")
    args = parser.parse_args(argv)

    import pyarrow as pa
    import pyarrow.parquet as pq

    from matforge.features import featurize_chunks, make_featurizer

    formulas = generate_formulas(args.n, seed=2)
    featurizer = make_featurizer(args.preset, n_jobs=args.n_jobs)
    names = [str(c) for c in featurizer.get_feature_names_out()]
    featurizer.fit_transform(formulas[:10])  # load the element table outside the timing, as a warm process
    rss_before = peak_rss_mb()

    parquet = args.out_parquet or Path(tempfile.mkdtemp()) / "features.parquet"
    schema = pa.schema([(name, pa.float64()) for name in names])
    featurize_s = 0.0
    cpu_start = time.process_time()
    n_invalid = 0
    start_wall = time.perf_counter()
    with pq.ParquetWriter(parquet, schema, compression="snappy", use_dictionary=False) as writer, ThreadPoolExecutor(1) as io:
        pending = None
        chunks = featurize_chunks(featurizer, formulas, chunk_rows=args.chunk_rows)
        while True:
            tick = time.perf_counter()
            item = next(chunks, None)
            featurize_s += time.perf_counter() - tick
            if pending is not None:
                pending.result()
            if item is None:
                break
            _, values, batch = item
            n_invalid += int((~batch.valid).sum())
            # column-major copy: each Arrow column then wraps a contiguous slice without another copy
            columns = np.asfortranarray(values)
            table = pa.Table.from_arrays([pa.array(columns[:, j]) for j in range(columns.shape[1])], schema=schema)
            pending = io.submit(writer.write_table, table)
    wall_s = time.perf_counter() - start_wall
    cpu_s = time.process_time() - cpu_start
    size_mb = parquet.stat().st_size / 1e6
    rows_written = pq.ParquetFile(parquet).metadata.num_rows
    if args.out_parquet is None:
        parquet.unlink()
        parquet.parent.rmdir()

    result = {
        "n": args.n,
        "preset": args.preset,
        "n_features": len(names),
        "featurize_s": featurize_s,
        "wall_s_with_parquet": wall_s,
        "cpu_s_with_parquet": cpu_s,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_mb_before_featurizing": rss_before,
        "rows_written": rows_written,
        "invalid_rows": n_invalid,
        "parquet_mb": size_mb,
        "n_jobs": args.n_jobs,
        "chunk_rows": args.chunk_rows,
        "timing": "featurize_s: parsing + features summed over slices (formula generation excluded); "
        "wall_s_with_parquet: the whole streaming loop including Parquet writes (snappy, no dictionary pages: half the CPU of dictionary encoding for 5% more bytes); cpu_s: CPU seconds of "
        "all threads over that loop (other jobs on a shared machine inflate wall times, not CPU times); peak RSS "
        "from getrusage",
    }
    print(f"{args.n} formulas, {len(names)} features: featurize {featurize_s:.2f} s, with Parquet {wall_s:.2f} s "
          f"({cpu_s:.2f} CPU s), "
          f"peak RSS {result['peak_rss_mb']:.0f} MB, {size_mb:.0f} MB written")  # fmt: skip
    return save_result(result, args.out)


if __name__ == "__main__":
    main()
