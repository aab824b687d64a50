"""How faithfully a transformer's inverse restores a table (row by row)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthkit.tabular.schema import NUMERIC_KINDS, ColumnKind, Schema, datetime_ns


def numeric_error(original: pd.Series, restored: pd.Series, kind: ColumnKind, datetime_format: str | None) -> dict[str, float]:
    """Row-wise error of a numeric or datetime column: max and mean |Δ| relative to the range,
    the share of rows restored exactly, and the share whose missingness changed."""
    def as_num(s: pd.Series) -> np.ndarray:
        if kind is ColumnKind.DATETIME:
            return datetime_ns(s, datetime_format)
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    a, b = as_num(original), as_num(restored)
    both = np.isfinite(a) & np.isfinite(b)
    span = float(np.nanmax(a) - np.nanmin(a)) if np.isfinite(a).any() else 0.0
    diff = np.abs(a[both] - b[both])
    scale = span if span > 0 else 1.0
    return {
        "max_rel_error": float(diff.max() / scale) if len(diff) else 0.0,
        "mean_rel_error": float(diff.mean() / scale) if len(diff) else 0.0,
        "exact_share": float((diff == 0).mean()) if len(diff) else 1.0,
        "missing_mismatch": float((np.isfinite(a) != np.isfinite(b)).mean()),
    }


def roundtrip_report(original: pd.DataFrame, restored: pd.DataFrame, schema: Schema) -> list[dict[str, Any]]:
    """Per column: how `restored` (inverse of transform of `original`) compares to it."""
    rows = []
    for spec in schema.columns:
        a, b = original[spec.name], restored[spec.name]
        if spec.kind is ColumnKind.IDENTIFIER:
            result = f"regenerated: {b.nunique():,} unique values, {int(b.isin(a).sum())} copied from the data"
            metrics: dict[str, float] = {}
        elif spec.kind is ColumnKind.CONSTANT:
            same = a.isna().sum() == b.isna().sum() or spec.missing_rate not in (0.0, 1.0)
            result = "reproduced" if same else "differs"
            metrics = {}
        elif spec.kind in NUMERIC_KINDS:
            metrics = numeric_error(a, b, spec.kind, spec.datetime_format)
            result = (
                f"{metrics['exact_share']:.1%} exact, max error {metrics['max_rel_error']:.2g} of range"
                + (f", missingness differs in {metrics['missing_mismatch']:.1%}" if metrics["missing_mismatch"] else "")
            )
        else:
            same = (a.astype(str).where(a.notna(), "<NA>") == b.astype(str).where(b.notna(), "<NA>")).to_numpy()
            metrics = {"exact_share": float(same.mean())}
            result = f"{metrics['exact_share']:.1%} exact"
            if metrics["exact_share"] < 1:
                freq_a = a.astype(str).value_counts(normalize=True)
                freq_b = b.astype(str).value_counts(normalize=True)
                tv = 0.5 * float(freq_a.subtract(freq_b, fill_value=0).abs().sum())
                result += f" (rare categories redrawn; frequency distance {tv:.3f})"
        rows.append({"column": spec.name, "kind": spec.kind.value, "result": result, **metrics})
    return rows
