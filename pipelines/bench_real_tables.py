"""Benchmark: synthkit on real, messy bank tables, beside a bootstrap floor and SDV.

Run:  python pipelines/bench_real_tables.py                              (every table, ~40 min)
      python pipelines/bench_real_tables.py --tables lending,mortgage --seeds 0,1,2
      python pipelines/bench_real_tables.py --tables messy --baselines sdv-gaussiancopula,sdv-tvae
      python pipelines/bench_real_tables.py --tables lending --baselines "" --json out.json

For each table (synthkit.datasets.real.REAL_TABLES, plus "messy": the simulated credit data
with realistic defects, `synthkit datasets credit --messy`) and split seed: D_train (80 %) and
D_test (20 %); a default `Synthesizer("msvae")` is fitted on D_train (the CLI's `synthkit
fit` defaults: schema inferred, relations detected) and draws as many rows as D_test has.
Reported against D_test:

* the XGBoost C2ST AUC of the synthetic rows, and of the *bootstrap floor*: rows drawn with
  replacement from D_train — the best a generator that copies its training rows can do;
* the most detectable single column (a univariate C2ST per column) and its AUC;
* every detected relation's hold rate in the data and in the output (the lowest shown);
* the DCR share (share of synthetic rows closer to D_train than to D_test; 0.5 is ideal);
* the fit time.

Beside synthkit: SDV's GaussianCopula and TVAE (`--baselines`), and MOSTLY AI's TabularARGN
(`mostlyai-engine`, "mostlyai" in --baselines) when it is installed — skipped otherwise.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthkit.datasets.real import REAL_TABLES, load_real_table
from synthkit.evaluate.detection import c2st, column_detectability
from synthkit.evaluate.privacy import privacy
from synthkit.tabular.relations import hold_rates
from synthkit.tabular.schema import infer_schema
from synthkit.tabular.synthesizer import Synthesizer


def load(name: str) -> pd.DataFrame:
    if name == "messy":
        from synthkit.datasets.messy import simulate_messy_credit

        return simulate_messy_credit(10_000, seed=0)[0]
    return load_real_table(name)


def split(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(df))
    n_test = len(df) // 5
    return df.iloc[order[n_test:]].reset_index(drop=True), df.iloc[order[:n_test]].reset_index(drop=True)


def as_read(df: pd.DataFrame) -> pd.DataFrame:
    """The table as `synthkit fit table.csv` sees it: written to CSV and read back."""
    from synthkit.tabular.io import read_table

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        df.to_csv(path, index=False)
        return read_table(path)


def score(train: pd.DataFrame, test: pd.DataFrame, synth: pd.DataFrame, seed: int) -> dict[str, Any]:
    schema = infer_schema(train)
    auc = c2st(test, synth, schema, classifiers=("xgboost",), seed=seed)["auc"]["xgboost"]
    cols = column_detectability(test, synth, schema, seed=seed)
    dcr = privacy(train, synth, test, schema, seed=seed, anonymeter=False)["dcr_share"]
    return {"auc": auc, "worst_column": cols[0]["column"] if cols else None,
            "worst_column_auc": cols[0]["auc"] if cols else None,
            "columns_above_0.60": sum(c["auc"] > 0.60 for c in cols), "dcr_share": dcr, "columns": cols}


def run_mostlyai(train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame | None:
    """TabularARGN through mostlyai-engine's documented calls, or None when not installed."""
    try:
        from mostlyai import engine
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        engine.init_logging()
        engine.split(workspace_dir=ws, tgt_data=train)
        engine.analyze(workspace_dir=ws)
        engine.encode(workspace_dir=ws)
        engine.train(workspace_dir=ws)
        engine.generate(workspace_dir=ws, sample_size=n)
        return pd.read_parquet(ws / "SyntheticData")[list(train.columns)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join([*REAL_TABLES, "messy"]))
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--baselines", default="sdv-gaussiancopula,sdv-tvae,mostlyai",
                        help="comma-separated: sdv-gaussiancopula, sdv-tvae, sdv-ctgan, mostlyai ('' for none)")
    parser.add_argument("--sdv-epochs", type=int, default=None, help="epochs of SDV's TVAE/CTGAN (default: SDV's 300)")
    parser.add_argument("--epochs", type=int, default=None, help="synthkit epochs per stage (default: synthkit's)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    for table in [t for t in args.tables.split(",") if t]:
        df = as_read(load(table))
        for seed in [int(s) for s in args.seeds.split(",")]:
            train, test = split(df, seed)
            boot = train.iloc[np.random.default_rng(seed + 7).integers(0, len(train), len(test))].reset_index(drop=True)
            floor = score(train, test, boot, seed)
            options: dict[str, Any] = {"progress": False}
            if args.epochs:
                options["epochs"] = args.epochs
            t0 = time.perf_counter()
            synth = Synthesizer("msvae", seed=seed, **options).fit(train, track=False)
            fit_s = time.perf_counter() - t0
            fake = synth.sample(len(test), seed=seed + 1)
            row = {"table": table, "shape": list(df.shape), "seed": seed, "model": "synthkit msvae",
                   "fit_s": fit_s, "floor_auc": floor["auc"], "floor_worst_column_auc": floor["worst_column_auc"],
                   **score(train, test, fake, seed)}
            holds = hold_rates(fake, synth.schema, synth.schema.relations)
            row["relations"] = len(holds)
            row["relation_shortfall"] = max([h["data"] - h["output"] for h in holds], default=0.0)
            row["relation_holds"] = holds
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k not in ("columns", "relation_holds")}, default=str), flush=True)
            for name in [b for b in args.baselines.split(",") if b]:
                t0 = time.perf_counter()
                if name == "mostlyai":
                    other = run_mostlyai(train, len(test), seed)
                    if other is None:
                        print("mostlyai-engine is not installed: TabularARGN skipped", flush=True)
                        continue
                else:
                    from synthkit.evaluate.baselines import run_baseline

                    other, _ = run_baseline(name, train, n_rows=len(test), epochs=args.sdv_epochs, seed=seed,
                                            schema=infer_schema(train))
                b = {"table": table, "shape": list(df.shape), "seed": seed, "model": name,
                     "fit_s": time.perf_counter() - t0, "floor_auc": floor["auc"],
                     "floor_worst_column_auc": floor["worst_column_auc"], **score(train, test, other, seed)}
                b["relation_holds"] = hold_rates(other, synth.schema, synth.schema.relations)
                b["relations"] = len(b["relation_holds"])
                b["relation_shortfall"] = max([h["data"] - h["output"] for h in b["relation_holds"]], default=0.0)
                rows.append(b)
                print(json.dumps({k: v for k, v in b.items() if k not in ("columns", "relation_holds")}, default=str), flush=True)

    print("\n| table | seed | model | C2ST AUC | floor | gap | worst column (AUC) | columns > 0.60 | relations (worst shortfall) | DCR share | fit (s) |")
    print("|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['table']} {r['shape'][0]}×{r['shape'][1]} | {r['seed']} | {r['model']} | {r['auc']:.3f} | "
              f"{r['floor_auc']:.3f} | {r['auc'] - r['floor_auc']:+.3f} | {r['worst_column']} ({r['worst_column_auc']:.3f}) | "
              f"{r['columns_above_0.60']} | {r['relations']} ({r['relation_shortfall']:.3f}) | {r['dcr_share']:.3f} | {r['fit_s']:.0f} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
