"""Benchmark: synthkit's mode-specific transformer against CTGAN's DataTransformer.

Run:  python pipelines/bench_transformer.py            (both parts, ~2 minutes on 2 cores)
      python pipelines/bench_transformer.py --skip-large
      python pipelines/bench_transformer.py --json results.json

Part 1 (side by side, same data, same process): 20,000 rows of 10 multimodal continuous
columns (each a mixture of 2–4 Gaussians, the generating component of every value known)
and 1 categorical column. For each transformer: fit time, transform time, the round-trip
error of inverse(transform(x)) relative to each column's range, and the mode assignment
quality — the normalised mutual information between the mode a value is assigned and the
Gaussian that generated it (1 = the modes recover the generating components exactly).
synthkit's fit time includes inferring the schema; CTGAN is told which column is discrete.

Part 2: 1,000,000 rows × 20 columns (16 multimodal continuous, 2 mixed with a point mass at
zero and 2 categorical), fit (schema inference included) + transform, in a fresh
subprocess whose peak resident memory (ru_maxrss: interpreter, libraries and the data
included) is reported beside its resident memory once the data were built. tracemalloc is
not used: it slows numpy allocations tenfold and would distort the timing.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import normalized_mutual_info_score


def multimodal_table(n_rows: int, n_continuous: int, n_mixed: int, n_categorical: int, seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """A table of Gaussian-mixture columns; returns it and each column's true components."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    labels: dict[str, np.ndarray] = {}
    for j in range(n_continuous + n_mixed):
        k = int(rng.integers(2, 5))
        weights = rng.dirichlet(np.full(k, 3.0))
        means = np.sort(rng.uniform(-50, 50, size=k)) * (j + 1)
        stds = rng.uniform(1.0, 6.0, size=k) * (j + 1)
        comp = rng.choice(k, size=n_rows, p=weights)
        x = np.round(means[comp] + stds[comp] * rng.standard_normal(n_rows), 3)
        name = f"x{j}"
        if j >= n_continuous:
            name = f"m{j - n_continuous}"
            x = np.abs(x)
            x[rng.random(n_rows) < 0.4] = 0.0
        else:
            labels[name] = comp
        data[name] = x
    for j in range(n_categorical):
        cats = np.array([f"c{i}" for i in range(8)])
        data[f"cat{j}"] = cats[rng.choice(8, size=n_rows, p=rng.dirichlet(np.ones(8)))]
    return pd.DataFrame(data), labels


def relative_errors(df: pd.DataFrame, back: pd.DataFrame, columns: list[str]) -> tuple[float, float]:
    """Max and mean |inverse(transform(x)) − x| relative to each column's range, over columns."""
    maxes, means = [], []
    for c in columns:
        a = df[c].to_numpy(float)
        b = back[c].to_numpy(float)
        d = np.abs(a - b) / (a.max() - a.min())
        maxes.append(float(d.max()))
        means.append(float(d.mean()))
    return max(maxes), float(np.mean(means))


def run_ctgan(df: pd.DataFrame, labels: dict[str, np.ndarray]) -> dict[str, Any]:
    from ctgan.data_transformer import DataTransformer

    tr = DataTransformer()
    t0 = time.perf_counter()
    tr.fit(df, discrete_columns=["cat0"])
    t1 = time.perf_counter()
    encoded = tr.transform(df)
    t2 = time.perf_counter()
    back = tr.inverse_transform(encoded)
    nmi, n_modes = [], []
    start = 0
    for info in tr._column_transform_info_list:
        width = info.output_dimensions
        if info.column_name in labels:
            assigned = encoded[:, start + 1 : start + width].argmax(axis=1)
            nmi.append(normalized_mutual_info_score(labels[info.column_name], assigned))
            n_modes.append(width - 1)
        start += width
    max_err, mean_err = relative_errors(df, back, list(labels))
    return {"fit_s": t1 - t0, "transform_s": t2 - t1, "width": encoded.shape[1], "max_rel_error": max_err,
            "mean_rel_error": mean_err, "mode_nmi": float(np.mean(nmi)), "modes_per_column": float(np.mean(n_modes))}


def run_synthkit(df: pd.DataFrame, labels: dict[str, np.ndarray]) -> dict[str, Any]:
    from synthkit.tabular.schema import infer_schema
    from synthkit.tabular.transformer import ModeSpecificTransformer

    t0 = time.perf_counter()
    tr = ModeSpecificTransformer(infer_schema(df)).fit(df)
    t1 = time.perf_counter()
    encoded = tr.transform(df)
    t2 = time.perf_counter()
    back = tr.inverse_transform(encoded)
    nmi, n_modes = [], []
    for span in tr.spans:
        if span.kind == "modes" and span.column in labels:
            assigned = encoded[:, span.start : span.start + span.width].argmax(axis=1)
            nmi.append(normalized_mutual_info_score(labels[span.column], assigned))
            n_modes.append(span.width)
    max_err, mean_err = relative_errors(df, back, list(labels))
    return {"fit_s": t1 - t0, "transform_s": t2 - t1, "width": encoded.shape[1], "max_rel_error": max_err,
            "mean_rel_error": mean_err, "mode_nmi": float(np.mean(nmi)), "modes_per_column": float(np.mean(n_modes))}


def large_child() -> None:
    """Part 2, run in a fresh process so that its peak memory is its own."""
    from synthkit.tabular.schema import infer_schema
    from synthkit.tabular.transformer import ModeSpecificTransformer

    df, _ = multimodal_table(1_000_000, n_continuous=16, n_mixed=2, n_categorical=2, seed=1)
    with open("/proc/self/statm") as fh:
        rss_data = int(fh.read().split()[1]) * resource.getpagesize()
    t0 = time.perf_counter()
    tr = ModeSpecificTransformer(infer_schema(df)).fit(df)
    t1 = time.perf_counter()
    encoded = tr.transform(df)
    t2 = time.perf_counter()
    result = {"rows": len(df), "columns": df.shape[1], "width": encoded.shape[1], "fit_s": t1 - t0,
              "transform_s": t2 - t1, "total_s": t2 - t0, "rss_with_data_gib": rss_data / 2**30,
              "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-large", action="store_true", help="skip part 2 (1M rows)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--large-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.large_child:
        large_child()
        return

    df, labels = multimodal_table(20_000, n_continuous=10, n_mixed=0, n_categorical=1, seed=0)
    results: dict[str, Any] = {"part1": {"ctgan": run_ctgan(df, labels), "synthkit": run_synthkit(df, labels)}}
    ct, sk = results["part1"]["ctgan"], results["part1"]["synthkit"]
    speedup = (ct["fit_s"] + ct["transform_s"]) / (sk["fit_s"] + sk["transform_s"])
    results["part1"]["speedup"] = speedup
    print("Part 1: 20,000 rows, 10 multimodal continuous + 1 categorical\n")
    print("| transformer | fit (s) | transform (s) | output width | modes/column | mode NMI | max rel. error | mean rel. error |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in (("CTGAN DataTransformer", ct), ("synthkit ModeSpecificTransformer", sk)):
        print(f"| {name} | {r['fit_s']:.2f} | {r['transform_s']:.2f} | {r['width']} | {r['modes_per_column']:.1f} | "
              f"{r['mode_nmi']:.3f} | {r['max_rel_error']:.1e} | {r['mean_rel_error']:.1e} |")
    print(f"\nspeed-up of fit + transform: {speedup:.0f}x")

    if not args.skip_large:
        proc = subprocess.run([sys.executable, __file__, "--large-child"], capture_output=True, text=True, check=True)
        large = json.loads(proc.stdout.strip().splitlines()[-1])
        results["part2"] = large
        print("\nPart 2: 1,000,000 rows x 20 columns (16 continuous, 2 mixed, 2 categorical)\n")
        print("| fit (s) | transform (s) | total (s) | output width | RSS once data built (GiB) | peak RSS (GiB) |")
        print("|---:|---:|---:|---:|---:|---:|")
        print(f"| {large['fit_s']:.1f} | {large['transform_s']:.1f} | {large['total_s']:.1f} | {large['width']} | "
              f"{large['rss_with_data_gib']:.2f} | {large['peak_rss_gib']:.2f} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
