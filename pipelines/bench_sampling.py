"""Benchmark: time to sample 1,000,000 rows (DataFrame included) from a fitted model.

Run:  python pipelines/bench_sampling.py model/ [--rows 1000000]

`model/` is any folder written by `synthkit fit` (e.g. `synthkit fit -o model/`). The
time covers latent draws, decoding, output-head sampling and the inverse transform into a
pandas DataFrame — everything but writing a file. Best of three runs; the first is the
one a fresh `synthkit sample` process pays for.

It also prints the machine's float32 matrix-product rate, measured the way the sampler runs
(one thread per core): this project's VM drifts by ±30 % within an hour, and figures taken
at different rates are not comparable.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import torch

from synthkit.core.trainer import intra_op_threads
from synthkit.tabular.synthesizer import Synthesizer


def matmul_rate(seconds: float = 1.0) -> float:
    """GFLOP/s of (229 × 129) @ (129 × 4096) float32 products — a shape the sampler uses — on
    one Python thread per core with one intra-op thread each, as the sampler runs: the
    median of five rounds (the phase the machine is in, not its best moment)."""
    workers = os.cpu_count() or 1
    flop = 2 * 229 * 129 * 4096
    reps = max(1, int(seconds / 5 / workers / 2e-3))

    def work() -> None:
        a, b = torch.randn(229, 129), torch.randn(129, 4096)
        out = torch.empty(229, 4096)
        for _ in range(reps):
            torch.mm(a, b, out=out)

    rates = []
    with intra_op_threads(1), ThreadPoolExecutor(workers) as pool:
        for _ in range(5):
            t0 = time.perf_counter()
            list(pool.map(lambda _: work(), range(workers)))
            rates.append(workers * reps * flop / (time.perf_counter() - t0) / 1e9)
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    synth = Synthesizer.load(args.model)
    times = []
    for seed in range(3):
        t0 = time.perf_counter()
        df = synth.sample(args.rows, seed=seed)
        times.append(time.perf_counter() - t0)
    print(f"{synth.method_name}: {len(df):,} rows x {df.shape[1]} columns in {min(times):.2f} s (best of 3; all: "
          + ", ".join(f"{t:.2f}" for t in times) + f"); machine: {matmul_rate():.0f} GFLOP/s of matmul on {os.cpu_count()} threads")


if __name__ == "__main__":
    main()
