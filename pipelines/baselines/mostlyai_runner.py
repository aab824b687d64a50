"""MOSTLY AI's TabularARGN (mostlyai-engine) on one training table: fit, sample, write, time.

Run by the python of the baseline venv (``bash pipelines/setup_mostlyai_venv.sh`` makes
``.venvs/mostlyai``), as pipelines/bench_real_tables.py does::

    .venvs/mostlyai/bin/python pipelines/baselines/mostlyai_runner.py \\
        --train train.parquet --out synthetic.parquet --rows 2000 --seed 0 --max-minutes 60

It makes the engine's documented calls in order — ``split`` → ``analyze`` → ``encode`` →
``train`` → ``generate`` — with the engine's defaults (the MOSTLY_AI/Medium model, its own
80/20 train/validation split for early stopping, at most 100 epochs, value protection on,
column encodings inferred from the dtypes: numbers numeric, text categorical), except for the
training time, capped at ``--max-minutes`` (the engine's default is 10 days). Seeding:
``engine.set_random_state(seed)`` before ``split`` (it seeds Python, NumPy and torch, and the
engine's worker processes through MOSTLYAI_ENGINE_SEED) and ``set_random_state(seed + 1)``
before ``generate``; a run that the time cap stops is only as repeatable as the number of
steps the machine gets through in that time.

The synthetic rows are written to ``--out`` (Parquet, or CSV when the name ends in .csv) with
the training table's columns in its order. The last line on stdout is one JSON object:
timings in seconds (split, analyze, encode, train, generate; ``fit_s`` is the four before
generate), the epochs trained, why training stopped, and the versions. The engine's log goes
to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

#: Training-time cap in minutes (the engine's own default is 14,400: 10 days). See main().
DEFAULT_MAX_MINUTES = 60.0


def read(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".csv":
        # Only empty cells are missing, as for synthkit's reader: text such as "NA" is a value.
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    return pd.read_parquet(path)


def write(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)


def training_progress(ws: Path) -> dict:
    """Epochs trained, validation loss and stop reason from the engine's progress messages."""
    paths = sorted((ws / "ModelStore").rglob("progress-messages.csv"))
    if not paths:
        return {}
    msgs = pd.read_csv(paths[0])
    if msgs.empty:
        return {}
    last = msgs.iloc[-1]
    val = msgs["val_loss"].dropna() if "val_loss" in msgs else pd.Series(dtype=float)
    best = msgs.loc[val.idxmin()] if len(val) else None
    return {
        "epochs": float(last["epoch"]),
        "steps": int(last["steps"]),
        "training_time_s": float(last["total_time"]),
        "best_val_loss": float(val.min()) if len(val) else None,
        "best_epoch": float(best["epoch"]) if best is not None else None,
    }


def fit_and_sample(train: pd.DataFrame, rows: int | None = None, seed: int = 0,
                   max_minutes: float = DEFAULT_MAX_MINUTES, max_epochs: float | None = None,
                   workspace: Path | None = None, threads: int | None = None) -> tuple[pd.DataFrame, dict]:
    """TabularARGN fitted on `train` with the engine's defaults (training capped at
    `max_minutes`), and `rows` synthetic rows (default: as many as `train`) with its columns.
    `threads`: torch's intra-op threads (default: torch's own choice, one per core).
    Returns them and the report (timings, epochs, why training stopped, versions)."""
    import torch
    from mostlyai import engine

    if threads:
        torch.set_num_threads(threads)

    n = rows or len(train)
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mostlyai-ws-") as tmp:
        ws = workspace or Path(tmp)
        engine.set_random_state(seed)
        steps = [
            ("split", lambda: engine.split(tgt_data=train, workspace_dir=ws)),
            ("analyze", lambda: engine.analyze(workspace_dir=ws)),
            ("encode", lambda: engine.encode(workspace_dir=ws)),
            ("train", lambda: engine.train(max_training_time=max_minutes, max_epochs=max_epochs, workspace_dir=ws)),
        ]
        for name, call in steps:
            t0 = time.perf_counter()
            call()
            timings[f"{name}_s"] = time.perf_counter() - t0
        progress = training_progress(ws)
        engine.set_random_state(seed + 1)
        t0 = time.perf_counter()
        engine.generate(sample_size=n, workspace_dir=ws)
        timings["generate_s"] = time.perf_counter() - t0
        synth = pd.read_parquet(ws / "SyntheticData")
    missing = [c for c in train.columns if c not in synth.columns]
    if missing:
        raise RuntimeError(f"mostlyai-engine's output lacks column(s) {missing}")
    synth = synth[list(train.columns)].reset_index(drop=True)

    epochs = progress.get("epochs")
    if epochs is None:
        stopped = None
    elif epochs >= (max_epochs or 100.0):
        stopped = "max_epochs"
    elif progress.get("training_time_s", 0.0) >= max_minutes * 60:
        stopped = "max_minutes"
    else:
        stopped = "early_stopping"
    report = {
        **timings,
        "fit_s": sum(timings[k] for k in ("split_s", "analyze_s", "encode_s", "train_s")),
        **progress,
        "stopped": stopped,
        "max_minutes": max_minutes,
        "seed": seed,
        "rows": len(synth),
        "columns": synth.shape[1],
        "engine": getattr(engine, "__version__", None),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    return synth, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, type=Path, help="training table (Parquet, or CSV if .csv)")
    parser.add_argument("--out", required=True, type=Path, help="where to write the synthetic rows (.parquet or .csv)")
    parser.add_argument("--rows", type=int, default=None, help="rows to generate (default: as many as --train)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-minutes", type=float, default=DEFAULT_MAX_MINUTES,
                        help=f"cap on training time in minutes (default {DEFAULT_MAX_MINUTES:g}; "
                             "the engine's own default is 10 days)")
    parser.add_argument("--max-epochs", type=float, default=None, help="cap on epochs (default: the engine's 100)")
    parser.add_argument("--workspace", type=Path, default=None,
                        help="engine workspace to keep (default: a temporary one, removed afterwards)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's, one per core; on cores other processes "
                             "also use, 1 avoids OpenMP threads waiting on each other)")
    args = parser.parse_args()

    log = logging.getLogger("mostlyai.engine")
    log.propagate = False
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)-7s: %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)

    synth, report = fit_and_sample(read(args.train), args.rows, args.seed, args.max_minutes, args.max_epochs,
                                   args.workspace, args.threads)
    write(synth, args.out)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
