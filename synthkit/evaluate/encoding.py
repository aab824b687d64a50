"""Shared preparation of real and synthetic tables for every metric.

Every metric compares tables column by column under one schema, inferred from the real
(training) table unless given. Columns are split into

* numeric — continuous, mixed and datetime columns (datetimes as days since 1970-01-01);
* categorical — categorical, boolean and discrete columns (discrete counts such as
  "Credit Inquiry_3m" are compared as categories, as the paper treats them, §6.5);

identifier and constant columns carry no statistical content and are left out.

Two encodings are offered: :func:`model_matrix` for classifiers (numeric as floats with
missing values imputed by the real median plus a missing indicator, categoricals one-hot
over the categories seen in either table) and :func:`distance_matrix` for nearest-neighbour
privacy metrics (numeric scaled to the real data's [0, 1] range, one-hot categoricals
scaled by 1/√2 so that differing in a category costs 1, as a range-wide numeric difference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.tabular.schema import (
    CATEGORY_KINDS,
    NUMERIC_KINDS,
    ColumnKind,
    ColumnSpec,
    Schema,
    column_numbers,
    infer_schema,
)

#: Text used for a missing category, so that missingness is compared like a category.
MISSING = "<missing>"


@dataclass(frozen=True)
class EvalColumns:
    """The columns a metric compares, split by how they are compared."""

    numeric: list[str]
    categorical: list[str]

    @property
    def all(self) -> list[str]:
        """Numeric then categorical column names."""
        return self.numeric + self.categorical


def eval_columns(schema: Schema) -> EvalColumns:
    """Numeric and categorical columns of a schema (identifiers and constants left out)."""
    return EvalColumns(
        numeric=[c.name for c in schema.columns if c.kind in NUMERIC_KINDS],
        categorical=[c.name for c in schema.columns if c.kind in CATEGORY_KINDS],
    )


def prepare(
    real: pd.DataFrame, *others: pd.DataFrame, schema: Schema | None = None
) -> tuple[Schema, EvalColumns, list[pd.DataFrame]]:
    """Check the tables share the real table's columns and return them in a common form:
    numeric columns as float64 (NaN for missing), categorical columns as str with
    :data:`MISSING` for missing. The schema is inferred from `real` if not given."""
    schema = schema or infer_schema(real)
    cols = eval_columns(schema)
    if not cols.all:
        raise SynthkitError("no column to compare: every column is an identifier or constant")
    out = []
    for i, df in enumerate((real, *others)):
        missing = [c for c in cols.all if c not in df.columns]
        if missing:
            which = "real" if i == 0 else f"table {i + 1}"
            raise SynthkitError(f"column {missing[0]!r} is missing from the {which} data")
        frame = {}
        for name in cols.numeric:
            frame[name] = _as_float(df[name], schema[name])
        for name in cols.categorical:
            s = df[name]
            frame[name] = _category_text(s)
        out.append(pd.DataFrame(frame, index=pd.RangeIndex(len(df))))
    return schema, cols, out


def _category_text(s: pd.Series) -> pd.Series:
    """Categories as text, numbers spelled the same whichever dtype they arrive in."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        text = pd.Series([f"{x:g}" for x in v], index=s.index, dtype=object)
    else:
        text = s.astype(str)
    return text.where(s.notna(), MISSING).reset_index(drop=True)


def _as_float(s: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Numbers (datetimes in days) whatever their text form: "$1,200.00" is 1200."""
    x = column_numbers(s, spec)
    return pd.Series(x / 86_400e9 if spec.kind is ColumnKind.DATETIME else x)


def model_matrix(
    frames: list[pd.DataFrame], cols: EvalColumns, max_categories: int = 50
) -> tuple[list[np.ndarray], list[str]]:
    """Float matrices for classifiers, one per prepared frame, with their feature names.

    Numeric: the value (missing → the first frame's median) plus, where any frame has
    missing values, a 0/1 missing indicator. Categorical: one-hot over the `max_categories`
    most frequent categories of all frames together; the rest share an "other" column.
    """
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    names: list[str] = []
    for name in cols.numeric:
        ref = frames[0][name]
        fill = float(ref.median()) if ref.notna().any() else 0.0
        any_missing = any(f[name].isna().any() for f in frames)
        for b, f in zip(blocks, frames):
            v = f[name].to_numpy()
            b.append(np.where(np.isnan(v), fill, v)[:, None])
            if any_missing:
                b.append(np.isnan(v).astype(float)[:, None])
        names.append(name)
        if any_missing:
            names.append(f"{name} is missing")
    for name in cols.categorical:
        counts = pd.concat([f[name] for f in frames]).value_counts()
        keep = list(counts.index[:max_categories])
        other = len(counts) > max_categories
        index = pd.Index(keep)
        width = len(keep) + other
        for b, f in zip(blocks, frames):
            codes = index.get_indexer(f[name])
            codes[codes < 0] = len(keep)
            onehot = np.zeros((len(f), width))
            onehot[np.arange(len(f)), codes] = 1.0
            b.append(onehot)
        names.extend(f"{name}={k}" for k in keep)
        if other:
            names.append(f"{name}=other")
    return [np.hstack(b) if b else np.zeros((len(f), 0)) for b, f in zip(blocks, frames)], names


def distance_matrix(frames: list[pd.DataFrame], cols: EvalColumns) -> list[np.ndarray]:
    """Float32 matrices for nearest-neighbour distances, one per prepared frame.

    Numeric columns are scaled by the first frame's (the training data's) range, so one
    range-wide difference costs 1, and a missing value sits at −0.5, away from every real
    value; a categorical mismatch also costs 1 (one-hot scaled by 1/√2).
    """
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    for name in cols.numeric:
        ref = frames[0][name]
        lo, hi = float(ref.min()), float(ref.max())
        scale = hi - lo if hi > lo else 1.0
        for b, f in zip(blocks, frames):
            v = (f[name].to_numpy() - lo) / scale
            b.append(np.where(np.isnan(v), -0.5, v)[:, None])
    for name in cols.categorical:
        index = pd.Index(pd.concat([f[name] for f in frames]).unique())
        for b, f in zip(blocks, frames):
            onehot = np.zeros((len(f), len(index)))
            onehot[np.arange(len(f)), index.get_indexer(f[name])] = 1.0 / np.sqrt(2.0)
            b.append(onehot)
    return [np.hstack(b).astype(np.float32) for b in blocks]
