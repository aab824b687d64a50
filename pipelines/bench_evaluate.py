"""Benchmark: how long `synthkit evaluate` takes on 20,000 rows × 19 columns, part by part.

Run:  python pipelines/bench_evaluate.py [--rows 20000] [--anonymeter]

Training, synthetic and holdout tables are independent draws of the simulated credit data
(seeds 0, 2 and 1), so every figure sits near its no-difference value; the timing does not
depend on that. The utility target is "Balance" (regression). Plots are included, as in
`synthkit evaluate -o report/`. anonymeter is left out unless --anonymeter is given (the
target of issue 3 excludes it).
"""

from __future__ import annotations

import argparse
import time

from synthkit.datasets import simulate_credit
from synthkit.evaluate import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--anonymeter", action="store_true")
    args = parser.parse_args()
    train = simulate_credit(args.rows, seed=0)[0]
    synth = simulate_credit(args.rows, seed=2)[0]
    holdout = simulate_credit(args.rows, seed=1)[0]
    t0 = time.perf_counter()
    ev = evaluate(train, synth, holdout, target="Balance", anonymeter=args.anonymeter)
    total = time.perf_counter() - t0
    print(f"{args.rows:,} rows x {train.shape[1]} columns (train, synthetic and holdout each)\n")
    print("| part | seconds |\n|---|---:|")
    for part, seconds in ev.timings.items():
        print(f"| {part} | {seconds:.1f} |")
    print(f"| **total** | **{total:.1f}** |")


if __name__ == "__main__":
    main()
