"""Benchmark: time to sample 1,000,000 rows (DataFrame included) from a fitted model.

Run:  python pipelines/bench_sampling.py model/ [--rows 1000000]

`model/` is any folder written by `synthkit fit` (e.g. `synthkit fit -o model/`). The
time covers latent draws, decoding, output-head sampling and the inverse transform into a
pandas DataFrame — everything but writing a file. Best of three runs.
"""

from __future__ import annotations

import argparse
import time

from synthkit.tabular.synthesizer import Synthesizer


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
          + ", ".join(f"{t:.2f}" for t in times) + ")")


if __name__ == "__main__":
    main()
