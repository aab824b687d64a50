"""Benchmark: time to sample 1,000,000 rows (DataFrame included) from a fitted model.

Run:  python pipelines/bench_sampling.py model/ [--rows 1000000]

`model/` is any folder written by `synthkit fit` (e.g. `synthkit fit -o model/`). The
time covers latent draws, decoding, output-head sampling and the inverse transform into a
pandas DataFrame — everything but writing a file. Best of three runs; the first is the
one a fresh `synthkit sample` process pays for.

It also prints the machine's single-thread float32 matrix-product rate on a shape the sampler
uses: this project's VM drifts by ±30 % within an hour, and figures taken at different rates
are not comparable.
"""

from __future__ import annotations

import argparse
import time

import torch

from synthkit.tabular.synthesizer import Synthesizer


def matmul_rate(seconds: float = 0.5) -> float:
    """Single-thread GFLOP/s of a (229 × 129) @ (129 × 4096) float32 product, best of 5."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.randn(229, 129), torch.randn(129, 4096)
        out = torch.empty(229, 4096)
        reps = max(1, int(seconds / 5 / 2e-3))
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b, out=out)
            best = min(best, (time.perf_counter() - t0) / reps)
        return 2 * 229 * 129 * 4096 / best / 1e9
    finally:
        torch.set_num_threads(threads)


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
          + ", ".join(f"{t:.2f}" for t in times) + f"); machine: {matmul_rate():.0f} GFLOP/s single-thread matmul")


if __name__ == "__main__":
    main()
