"""SDV baselines on the same split, so every benchmark can put SDV beside synthkit.

The SDV synthesizers get metadata built from synthkit's schema, so both libraries model the
same column kinds (SDV's own detection would, for instance, call a count column numerical
where synthkit calls it discrete). Seeds are applied to Python, NumPy and torch before
fitting and before sampling, which makes SDV's runs repeatable on the CPU.
"""

from __future__ import annotations

import random
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.tabular.schema import ColumnKind, Schema, infer_schema

#: Baseline name → SDV single-table synthesizer class name.
BASELINES: dict[str, str] = {
    "sdv-tvae": "TVAESynthesizer",
    "sdv-ctgan": "CTGANSynthesizer",
    "sdv-gaussiancopula": "GaussianCopulaSynthesizer",
}

_SDTYPE = {
    ColumnKind.CONTINUOUS: "numerical",
    ColumnKind.MIXED: "numerical",
    ColumnKind.DISCRETE: "categorical",
    ColumnKind.CATEGORICAL: "categorical",
    ColumnKind.BOOLEAN: "categorical",  # SDV's boolean sdtype rejects text such as yes/no
    ColumnKind.DATETIME: "datetime",
    ColumnKind.IDENTIFIER: "id",
    ColumnKind.CONSTANT: "categorical",
}


def sdv_metadata(schema: Schema) -> Any:
    """SDV single-table metadata equivalent to a synthkit schema."""
    from sdv.metadata import Metadata

    columns: dict[str, dict[str, Any]] = {}
    for c in schema.columns:
        entry: dict[str, Any] = {"sdtype": _SDTYPE[c.kind]}
        if getattr(c, "number_format", None) or getattr(c, "offset_format", None):
            # SDV reads neither "$1,200.00" as a number nor "…+01:00" as a datetime: such
            # columns go to it as categories, as its own metadata detection would have them.
            entry = {"sdtype": "categorical"}
        elif c.kind is ColumnKind.DATETIME and c.datetime_format:
            entry["datetime_format"] = c.datetime_format
        columns[c.name] = entry
    ids = [c.name for c in schema.columns if c.kind is ColumnKind.IDENTIFIER]
    table: dict[str, Any] = {"columns": columns}
    if ids:
        table["primary_key"] = ids[0]
    return Metadata.load_from_dict({"tables": {"table": table}, "METADATA_SPEC_VERSION": "V1"})


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_baseline(
    name: str,
    train: pd.DataFrame,
    n_rows: int | None = None,
    epochs: int | None = None,
    seed: int = 0,
    schema: Schema | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Fit the SDV baseline `name` on `train` and sample `n_rows` rows (default: as many as
    `train`). Returns the sample and {"fit_s", "sample_s", "epochs", "threads"}. `epochs` applies
    to TVAE and CTGAN (None: SDV's default, 300; "epochs" reports what the fit used). Torch runs
    on synthkit's default_cpu_threads() during the fit and the sampling."""
    if name not in BASELINES:
        raise SynthkitError(f"unknown baseline {name!r} (use one of: {', '.join(BASELINES)})")
    if epochs is not None and epochs < 1:
        raise SynthkitError(f"--epochs must be at least 1, not {epochs}")
    import sdv.single_table as st

    schema = schema or infer_schema(train)
    cls = getattr(st, BASELINES[name])
    kwargs: dict[str, Any] = {}
    if epochs is not None and name != "sdv-gaussiancopula":
        kwargs["epochs"] = epochs
    if name != "sdv-gaussiancopula":
        # synthkit's benchmarks run on the CPU unless told otherwise; keep SDV comparable.
        kwargs["enable_gpu"] = False
    import torch

    from synthkit.core.trainer import default_cpu_threads

    # synthkit's thread policy for CPU training (1 thread while another process holds a core:
    # OpenMP threads competing for cores slow steps by an order of magnitude), so SDV's fit
    # times are measured as synthkit's are.
    threads, threads_before = default_cpu_threads(), torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            synthesizer = cls(sdv_metadata(schema), **kwargs)
            _seed_everything(seed)
            t0 = time.perf_counter()
            synthesizer.fit({"table": train})
            t1 = time.perf_counter()
            _seed_everything(seed)
            sample = synthesizer.sample(num_rows=n_rows or len(train))
            t2 = time.perf_counter()
    finally:
        torch.set_num_threads(threads_before)
    if isinstance(sample, dict):  # SDV 2 returns {table name: DataFrame}
        sample = next(iter(sample.values()))
    # The epochs the synthesizer ran with (SDV's default, 300, when `epochs` is None).
    epochs_used = synthesizer.get_parameters().get("epochs") if name != "sdv-gaussiancopula" else None
    info = {"fit_s": t1 - t0, "sample_s": t2 - t1, "epochs": epochs_used, "threads": threads}
    return sample[list(train.columns)], info
