"""Benchmark: synthkit on real, messy bank tables, beside a bootstrap floor and SDV.

Run:  python pipelines/bench_real_tables.py                              (every table, ~40 min)
      python pipelines/bench_real_tables.py --tables lending,mortgage --seeds 0,1,2
      python pipelines/bench_real_tables.py --tables messy --baselines sdv-gaussiancopula,sdv-tvae
      python pipelines/bench_real_tables.py --tables lending --baselines "" --json out.json
      python pipelines/bench_real_tables.py --tables german --baselines mostlyai,sdv-tvae --no-synthkit

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
* the fit time (the model's fit alone, without sampling).

And, for synthkit, a stronger detector (`auc_train` in the JSON, "C2ST vs D_train" in the table):
the same XGBoost C2ST of as many synthetic rows as D_train has against D_train itself — four
times the rows, so it sees what 20 % of a table hides (on the lending table, pairs of columns
detectable at 0.10–0.14 above either column alone with 8,000 rows a side were invisible to the
2,000-row test). It has no bootstrap floor (a copy of D_train is D_train); read it beside the
DCR share, which says whether the rows are near their training rows.

Beside synthkit: SDV's GaussianCopula and TVAE (`--baselines`; TVAE at SDV's default 300
epochs unless --sdv-epochs), and MOSTLY AI's TabularARGN ("mostlyai" in --baselines) when
mostlyai-engine is installed — skipped otherwise. TabularARGN runs in its own venv
(`bash pipelines/setup_mostlyai_venv.sh` makes .venvs/mostlyai; SYNTHKIT_MOSTLYAI_PYTHON
names another python) through pipelines/baselines/mostlyai_runner.py, with the engine's
defaults and a training-time cap (--mostlyai-minutes); if there is no such python but
`mostlyai.engine` imports here, it runs in this process. `--no-synthkit` runs the baselines
alone (the floor is still computed, and the relations synthkit would detect are still found
for the hold rates).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
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


ROOT = Path(__file__).resolve().parent.parent
#: The runner, executed by the baseline venv's python (pipelines/setup_mostlyai_venv.sh).
MOSTLYAI_RUNNER = ROOT / "pipelines" / "baselines" / "mostlyai_runner.py"


def mostlyai_python() -> Path:
    """The python that runs TabularARGN: $SYNTHKIT_MOSTLYAI_PYTHON, else .venvs/mostlyai's."""
    env = os.environ.get("SYNTHKIT_MOSTLYAI_PYTHON")
    return Path(env) if env else ROOT / ".venvs" / "mostlyai" / "bin" / "python"


def _runner_module() -> Any:
    spec = importlib.util.spec_from_file_location("mostlyai_runner", MOSTLYAI_RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_mostlyai(train: pd.DataFrame, n: int, seed: int, max_minutes: float | None = None
                 ) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """TabularARGN (mostlyai-engine) on `train` through pipelines/baselines/mostlyai_runner.py:
    `n` synthetic rows with the training columns, and the runner's report (fit_s, epochs, ...).

    Runs the runner with the baseline venv's python (:func:`mostlyai_python`) when that exists;
    otherwise in this interpreter if `mostlyai.engine` imports here; otherwise None (skipped).
    The rows come back through :func:`as_read`, the reader the training table went through, so
    `score` compares like with like."""
    from synthkit.core.trainer import default_cpu_threads

    python = mostlyai_python()
    minutes = ["--max-minutes", str(max_minutes)] if max_minutes else []
    # synthkit's own thread policy (1 thread while other processes hold a core), for both.
    threads = default_cpu_threads()
    if python.exists():
        with tempfile.TemporaryDirectory(prefix="bench-mostlyai-") as tmp:
            tmp_path = Path(tmp)
            try:
                src = tmp_path / "train.parquet"
                train.to_parquet(src, index=False)
            except ImportError:  # no pyarrow here: CSV, read back by the runner with pandas
                src = tmp_path / "train.csv"
                train.to_csv(src, index=False)
            out, log = tmp_path / "synthetic.csv", tmp_path / "engine.log"
            cmd = [str(python), str(MOSTLYAI_RUNNER), "--train", str(src), "--out", str(out),
                   "--rows", str(n), "--seed", str(seed), "--threads", str(threads), *minutes]
            with log.open("w") as err:
                done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, check=False)
            if done.returncode != 0:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                raise RuntimeError(f"mostlyai runner failed (exit {done.returncode}):\n{tail}")
            report = json.loads(done.stdout.strip().splitlines()[-1])
            from synthkit.tabular.io import read_table

            synth = read_table(out)
        return synth[list(train.columns)], report
    try:
        import mostlyai.engine  # noqa: F401
    except ImportError:
        return None
    runner = _runner_module()
    synth, report = runner.fit_and_sample(train, n, seed, max_minutes or runner.DEFAULT_MAX_MINUTES, threads=threads)
    return as_read(synth)[list(train.columns)], report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join([*REAL_TABLES, "messy"]))
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--baselines", default="sdv-gaussiancopula,sdv-tvae,mostlyai",
                        help="comma-separated: sdv-gaussiancopula, sdv-tvae, sdv-ctgan, mostlyai ('' for none)")
    parser.add_argument("--no-synthkit", action="store_true",
                        help="run the baselines alone (the bootstrap floor is still computed)")
    parser.add_argument("--sdv-epochs", type=int, default=None, help="epochs of SDV's TVAE/CTGAN (default: SDV's 300)")
    parser.add_argument("--mostlyai-minutes", type=float, default=None,
                        help="cap on TabularARGN's training time in minutes (default: the runner's, "
                             "pipelines/baselines/mostlyai_runner.py)")
    parser.add_argument("--epochs", type=int, default=None, help="synthkit epochs per stage (default: synthkit's)")
    parser.add_argument("--threads", type=int, default=2,
                        help="synthkit's training threads (default 2, this 2-core machine's idle count): the "
                             "weights depend on the thread count, and synthkit's own default follows the idle "
                             "cores, so a figure would change with whatever else runs; 0 for synthkit's default")
    parser.add_argument("--no-log-scale", action="store_true",
                        help="ablation: fit every numeric column's modes on its raw values (synthkit fits a skewed "
                             "positive column's on its logs, transformer.log_scale_wanted)")
    parser.add_argument("--no-differences", action="store_true",
                        help="ablation: detect no difference relations (synthkit generates a column tied to another "
                             "as that column plus a modelled difference, relations._differences)")
    parser.add_argument("--prior", choices=["mixture", "standard"], default=None,
                        help="ablation: MS-VAE's sampling prior (default: synthkit's; standard: the paper's N(0, I))")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    if args.no_log_scale:
        import synthkit.tabular.transformer as transformer_module

        transformer_module.log_scale_wanted = lambda values: False

    if args.no_differences:
        import synthkit.tabular.relations as relations_module

        relations_module._differences = lambda *a, **k: []

    baselines = [b for b in args.baselines.split(",") if b]
    if "mostlyai" in baselines and not mostlyai_python().exists():
        try:
            import mostlyai.engine  # noqa: F401
        except ImportError:
            print(f"mostlyai-engine is not installed ({mostlyai_python()} does not exist and mostlyai does not "
                  "import here; bash pipelines/setup_mostlyai_venv.sh installs it): TabularARGN skipped", flush=True)
            baselines.remove("mostlyai")

    rows: list[dict[str, Any]] = []

    def record(row: dict[str, Any], fake: pd.DataFrame, schema: Any) -> None:
        holds = hold_rates(fake, schema, schema.relations)
        row["relations"] = len(holds)
        row["relation_shortfall"] = max([h["data"] - h["output"] for h in holds], default=0.0)
        row["relation_holds"] = holds
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k not in ("columns", "relation_holds")}, default=str),
              flush=True)

    for table in [t for t in args.tables.split(",") if t]:
        df = as_read(load(table))
        for seed in [int(s) for s in args.seeds.split(",")]:
            train, test = split(df, seed)
            boot = train.iloc[np.random.default_rng(seed + 7).integers(0, len(train), len(test))].reset_index(drop=True)
            floor = score(train, test, boot, seed)
            common = {"table": table, "shape": list(df.shape), "seed": seed, "floor_auc": floor["auc"],
                      "floor_worst_column_auc": floor["worst_column_auc"]}
            if args.no_synthkit:
                # The schema and relations synthkit's fit would find, for the baselines' hold rates.
                from synthkit.tabular.synthesizer import resolve_relations

                schema = infer_schema(train)
                schema.relations = resolve_relations(train, schema, "auto")
            else:
                options: dict[str, Any] = {"progress": False, **({"cpu_threads": args.threads} if args.threads else {})}
                if args.epochs:
                    options["epochs"] = args.epochs
                if args.prior:
                    options["prior"] = args.prior
                t0 = time.perf_counter()
                synth = Synthesizer("msvae", seed=seed, **options).fit(train, track=False)
                fit_s = time.perf_counter() - t0
                schema = synth.schema
                fake = synth.sample(len(test), seed=seed + 1)
                # A detector with four times the rows: synthetic rows as many as the training rows against them.
                many = synth.sample(len(train), seed=seed + 2)
                auc_train = c2st(train, many, infer_schema(train), classifiers=("xgboost",), seed=seed)["auc"]["xgboost"]
                record({**common, "model": "synthkit msvae", "fit_s": fit_s, "threads": synth.summary["cpu_threads"],
                        **score(train, test, fake, seed), "auc_train": auc_train}, fake, schema)
            for name in baselines:
                if name == "mostlyai":
                    t0 = time.perf_counter()
                    result = run_mostlyai(train, len(test), seed, args.mostlyai_minutes)
                    if result is None:
                        print("mostlyai-engine is not installed: TabularARGN skipped", flush=True)
                        continue
                    other, info = result
                    extra = {"fit_s": info["fit_s"], "sample_s": info.get("generate_s"), "wall_s": time.perf_counter() - t0,
                             "epochs": info.get("epochs"), "stopped": info.get("stopped"),
                             "max_minutes": info.get("max_minutes"), "engine": info.get("engine"),
                             "threads": info.get("threads")}
                    label = "mostlyai tabularargn"
                else:
                    from synthkit.evaluate.baselines import run_baseline

                    other, info = run_baseline(name, train, n_rows=len(test), epochs=args.sdv_epochs, seed=seed,
                                               schema=infer_schema(train))
                    extra = {"fit_s": info["fit_s"], "sample_s": info["sample_s"], "epochs": info["epochs"],
                             "threads": info.get("threads")}
                    label = name
                record({**common, "model": label, **extra, "auc_train": float("nan"), **score(train, test, other, seed)}, other, schema)

    print("\n| table | seed | model | C2ST AUC | floor | gap | C2ST vs D_train | worst column (AUC) | columns > 0.60 | relations (worst shortfall) | DCR share | fit (s) |")
    print("|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['table']} {r['shape'][0]}×{r['shape'][1]} | {r['seed']} | {r['model']} | {r['auc']:.3f} | "
              f"{r['floor_auc']:.3f} | {r['auc'] - r['floor_auc']:+.3f} | {'—' if np.isnan(r['auc_train']) else format(r['auc_train'], '.3f')} | {r['worst_column']} ({r['worst_column_auc']:.3f}) | "
              f"{r['columns_above_0.60']} | {r['relations']} ({r['relation_shortfall']:.3f}) | {r['dcr_share']:.3f} | {r['fit_s']:.0f} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
