"""Data contracts with great-expectations: check what goes into a model, describe what comes out.

Two contracts, both run by great-expectations 1.x on pandas (its real API: expectation
suites validated on pandas batches in an ephemeral context):

**The input contract** (:func:`check_input`, run by ``Synthesizer.fit`` after the schema is
inferred and before anything is trained). The table must agree with its schema:

* a column the schema calls numeric (continuous, mixed, discrete) holds numbers; up to
  5% stray text is tolerated and read as missing, exactly as schema inference tolerates it
  (``InferenceOptions.numeric_min_share``);
* a datetime column stored as text matches its date format in at least 90% of its values
  (``InferenceOptions.datetime_min_share``, the share inference asks for), through a regular
  expression built from the strftime format (GE's own strftime expectation parses each
  value in Python: 12 s per million rows against 1.5 s);
* an identifier *declared* in the metadata (``kind: identifier``, an SDV ``id`` sdtype or
  primary key) is unique and never missing — it names a row. An *inferred* identifier
  (a column that merely looks nearly unique) is not held to this: inference already
  accepts near-unique columns and the transformer reproduces their gaps;
* a column declared ``"nullable": false`` in the metadata is never missing
  (``"nullable": true`` / ``"unique": false`` relax a declared identifier). The flags come
  from metadata files (``{"columns": {"income": {"nullable": false}}}``, with or without a
  kind) as from dicts passed to ``Synthesizer(metadata=...)``. In SDV metadata only the
  primary key is held to uniqueness and completeness: SDV's ``id`` and PII sdtypes (email,
  phone_number ...), which synthkit reads as identifiers, say what a column holds, not that
  it is unique (``schema.parse_metadata`` marks them ``nullable: true, unique: false``).

Missing values in ordinary columns are never a violation: they are modelled. The first
violation stops with a one-line :class:`~synthkit.errors.SynthkitError` naming the column,
e.g. ``input check: column 'loan_id' is declared an identifier but 1 value(s) occur more
than once, such as 'L-00003'``. Type checks that pandas answers trivially (a numeric column
stored as numbers) are not sent to great-expectations, so a clean table does not pay for
importing it.

**The output contract** (:func:`derive_suite`, saved by ``Synthesizer.save`` as
``expectations.json`` beside the model) describes the real training table, so that any
other table — a synthetic sample, a served batch, next month's extract — can be checked
against it with :func:`validate`. Per column, by kind:

=========================== ==============================================================
expectation                 columns and tolerance
=========================== ==============================================================
columns, in order           the table (``expect_table_columns_to_match_ordered_list``)
numeric type                continuous, mixed, discrete, numeric identifiers
values in the real set      categorical, boolean, discrete (≤ 1,000 distinct values),
                            constants: exact — the model only emits training values
values in [min, max]        continuous, mixed: exact — the transformers clip to the
                            observed range
quantiles 5/25/50/75/95%    continuous, mixed: the synthetic p-quantile must lie between
                            the real (p − δ)- and (p + δ)-quantiles, δ = 0.05
share of non-missing        every column with gaps: real share ± δ; no gaps: none allowed
values unique               identifiers that are unique in the real table
date format                 datetime columns stored as text (at least 90% match)
=========================== ==============================================================

Why these tolerances. Set membership and ranges are exact because synthkit guarantees
them by construction (categories are drawn from the training categories, numbers are
clipped to the training range), so any failure there is a real defect. Distributional
expectations cannot be exact: a good sample differs from the real table by sampling noise.
δ = 0.05 is a tolerance on *probability*, not on values, so one number fits every scale,
skewed and heavy-tailed columns and point masses alike: the quantile band
[Q(p − δ), Q(p + δ)] holds when the synthetic CDF is within δ of the real one around
the p-quantile (a local Kolmogorov–Smirnov bound), and the missing share may move by δ.
The standard error of an empirical CDF is at most 0.5/√n, 0.016 at n = 1,000, so δ is
three standard errors there: a faithful sample of 1,000 rows or more passes almost every
distributional expectation, while a model that misplaces 5% of the mass fails. Samples of
a hundred rows are too small for δ = 0.05 and fail some quantiles by chance. Quantiles use
pandas' "nearest" interpolation, as great-expectations does, so the real table passes its
own suite exactly (pass rate 1.0).

Before validation a table is read as synthkit reads it: a numeric column stored as text
(a CSV export with a few "n/a") is converted to numbers when at least 95% of its values
parse, the rest counting as missing — the same rule as schema inference. Dates are not
range-checked (left for later); identifiers are not range-checked (regenerated
identifiers may leave the real range by design).

API for other code (e.g. serving)::

    from synthkit.contracts import load_suite, validate
    suite = load_suite("model/")          # a model folder or an expectations.json path
    report = validate(df, suite)          # -> ContractReport
    report.success, report.pass_rate      # all passed?, share passed
    report.to_dict()                      # JSON-ready: per-expectation results
    print(report.summary())               # one line for people

:func:`validate` also accepts the suite as a dict (as saved) or a path, and is safe to
call from several threads (validations run one at a time). great-expectations is imported
on first use only (it takes seconds), runs in an in-memory ("ephemeral") context with
usage statistics and progress bars off and its loggers quieted, so nothing of it reaches
the terminal.

Cost, and why ``Synthesizer.sample`` does not validate. On the simulated credit data
(19 columns, 65 expectations), ``Synthesizer.validate`` took 0.9–1.3 s for 10,000 rows
and 7.3–7.8 s for 1,000,000 rows (best and median of 3, on a shared 2-core machine under
load ≈ 5), plus 3–8 s once per process to import great-expectations. At 10,000 rows the
time is GE's fixed per-expectation overhead; at a million rows half of it is GE hashing
each batch twice. Sampling a million rows has a 3 s target, so ``sample()`` stays a pure
generator and validation is a separate call (``synth.validate(synth.sample(n))``); the
``synthkit sample`` command, which spends longer writing the CSV (15 s for a million rows),
validates by default (``--no-validate`` skips it). Each column is validated in a batch of
its own: GE's pandas engine copies the whole frame for every column expectation, which
made the million rows take twice as long in one batch.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.tabular.schema import ColumnKind, InferenceOptions, Schema

if TYPE_CHECKING:  # pragma: no cover
    from great_expectations import ExpectationSuite

#: File name of the suite in a model folder.
SUITE_FILE = "expectations.json"
#: Tolerance on probabilities (CDF, missing share); see the module docstring.
DELTA = 0.05
#: Quantiles checked for continuous and mixed columns.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Category sets larger than this are not written into the suite.
MAX_VALUE_SET = 1000
#: Examples of offending values kept per expectation.
EXAMPLES = 5

_NUMERIC_KINDS = frozenset({ColumnKind.CONTINUOUS, ColumnKind.MIXED, ColumnKind.DISCRETE})
_SET_KINDS = frozenset({ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.DISCRETE})

#: dtype names great-expectations accepts as "numeric" (GE names pandas' nullable dtypes by
#: their class names, e.g. Int64Dtype; "Int64" alone is not understood).
NUMERIC_TYPES = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64",
    "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype",
    "UInt8Dtype", "UInt16Dtype", "UInt32Dtype", "UInt64Dtype", "Float32Dtype", "Float64Dtype",
)  # fmt: skip
DATETIME_TYPES = ("datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]", "DatetimeTZDtype")

_CONTRACT_KEYS = ("nullable", "unique")
_TYPE_LIST = "expect_column_values_to_be_in_type_list"


# ---------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------


@dataclass
class ContractResult:
    """The outcome of one expectation.

    `expectation` is great-expectations' name (``expect_column_values_to_be_in_set``),
    `expected` its arguments (without the column), `observed` what was measured: GE's
    ``observed_value`` for aggregate expectations, ``{"unexpected_count", "element_count",
    "unexpected_percent", "examples"}`` for per-row ones, ``{"error": ...}`` when it could
    not be evaluated (e.g. the column is missing).
    """

    expectation: str
    column: str | None
    success: bool
    observed: Any
    expected: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return _jsonable(asdict(self))

    @property
    def title(self) -> str:
        """A short name: "values in set", "quantiles" ..."""
        return _TITLES.get(self.expectation, self.expectation.removeprefix("expect_").replace("_", " "))

    def expected_text(self) -> str:
        """What was expected, in a few words."""
        return _expected_text(self.expectation, self.expected)

    def observed_text(self) -> str:
        """What was seen, in a few words."""
        return _observed_text(self)


@dataclass
class ContractReport:
    """Per-expectation results of validating one table against a suite."""

    results: list[ContractResult]
    rows: int = 0
    seconds: float = 0.0
    suite: str = ""

    @property
    def passed(self) -> int:
        """Number of expectations met."""
        return sum(r.success for r in self.results)

    @property
    def failed(self) -> list[ContractResult]:
        """The expectations not met, in suite order."""
        return [r for r in self.results if not r.success]

    @property
    def pass_rate(self) -> float:
        """Share of expectations met (1.0 for an empty suite)."""
        return self.passed / len(self.results) if self.results else 1.0

    @property
    def success(self) -> bool:
        """True when every expectation is met."""
        return all(r.success for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: totals, then every result."""
        return {
            "success": self.success,
            "pass_rate": self.pass_rate,
            "evaluated": len(self.results),
            "passed": self.passed,
            "failed": len(self.results) - self.passed,
            "rows": self.rows,
            "seconds": self.seconds,
            "suite": self.suite,
            "results": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        """The report as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def summary(self, max_failures: int = 5) -> str:
        """One line: how many expectations pass, and which fail."""
        text = (
            f"{self.passed} of {len(self.results)} expectations pass ({self.pass_rate:.1%}) "
            f"on {self.rows:,} rows"
        )
        failed = self.failed
        if failed:
            names = [f"{r.title} ({r.column})" if r.column else r.title for r in failed[:max_failures]]
            more = f" and {len(failed) - max_failures} more" if len(failed) > max_failures else ""
            text += "; failing: " + ", ".join(names) + more
        return text

    def __str__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------------------------
# great-expectations, quietly
# ---------------------------------------------------------------------------------------

_LOCK = threading.RLock()
_GX: dict[str, Any] = {}


def _gx() -> dict[str, Any]:
    """The great-expectations module and a pandas batch definition in an ephemeral context,
    created once per process with analytics, progress bars and chatty logging off."""
    if _GX:
        return _GX
    with _LOCK:
        if _GX:
            return _GX
        # Usage statistics: off unless the user asked for them explicitly.
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        # GE logs (at ERROR, with tracebacks) what synthkit turns into results or one-line errors.
        logging.getLogger("great_expectations").setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
                store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            )
            context = gx.get_context(mode="ephemeral", project_config=config)
            source = context.data_sources.add_pandas("synthkit")
            batch_definition = source.add_dataframe_asset("table").add_batch_definition_whole_dataframe("whole")
        _GX.update(gx=gx, context=context, batch_definition=batch_definition)
        return _GX


def _run(df: pd.DataFrame, expectations: list[dict[str, Any]], name: str) -> list[Any]:
    """Validate `df` against expectation dicts; GE's results, in the order given.

    Expectations on one column run on a one-column frame, one batch per column: GE's pandas
    engine copies the whole frame it is given for every column expectation (to drop the
    column's missing rows), which made a million rows × 19 columns take 16 s instead of 6 s.
    Table-level expectations, and those on a column the table lacks (GE reports it), run on
    the whole frame.
    """
    if not expectations:
        return []
    groups: dict[str | None, list[int]] = {}
    for i, e in enumerate(expectations):
        column = (e.get("kwargs") or {}).get("column")
        key = column if isinstance(column, str) and column in df.columns else None
        groups.setdefault(key, []).append(i)
    ordered: list[Any] = [None] * len(expectations)
    with _LOCK:
        g = _gx()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for column, indices in groups.items():
                configs = []
                for i in indices:
                    e = expectations[i]
                    configs.append({**e, "meta": {**(e.get("meta") or {}), "synthkit_index": i}})
                suite = _build_suite(g["gx"], name, configs)
                frame = df if column is None else df[[column]]
                batch = g["batch_definition"].get_batch(batch_parameters={"dataframe": frame})
                result = batch.validate(
                    suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
                )
                for r in result.results:
                    ordered[int(r.expectation_config.meta["synthkit_index"])] = r
    return ordered


def _build_suite(gx: Any, name: str, expectations: list[dict[str, Any]], source: str = "") -> Any:
    """A GE ExpectationSuite from expectation dicts, each checked: GE's own constructor logs
    and drops an expectation it cannot build, which would silently shrink the suite."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    built = []
    for i, e in enumerate(expectations):
        try:
            config = ExpectationConfiguration(type=e["type"], kwargs=dict(e.get("kwargs") or {}), meta=e.get("meta"))
            built.append(config.to_domain_obj())
        except Exception as exc:  # noqa: BLE001 - unknown types, pydantic errors in a user's file
            where = f"{source}: " if source else ""
            raise SynthkitError(
                f"{where}not a valid expectation suite: expectation {i + 1} ({e.get('type')!r}): {_first_line(exc)}"
            ) from None
    return gx.ExpectationSuite(name=name or "synthkit", expectations=built)


# ---------------------------------------------------------------------------------------
# Reading a table as synthkit reads it
# ---------------------------------------------------------------------------------------


def _as_numbers(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype("string").str.strip(), errors="coerce")


def _formats(schema: Schema) -> dict[str, Any]:
    """Display formats of the schema's formatted numeric columns."""
    return {c.name: c.number_format for c in schema.columns if getattr(c, "number_format", None)}


def _is_number_dtype(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _synthkit_view(
    df: pd.DataFrame, kinds: dict[str, str], numeric_min_share: float, formats: dict[str, Any] | None = None
) -> pd.DataFrame:
    """`df` with text names, and numeric columns stored as text converted to numbers when at
    least `numeric_min_share` of their values parse (the rest become missing), as synthkit's
    schema and transformers read them. Other columns are not copied."""
    names = [str(c) for c in df.columns]
    duplicated = [c for i, c in enumerate(names) if c in names[:i]]
    if duplicated:
        raise SynthkitError(f"column {duplicated[0]!r} appears more than once")
    view = df.copy(deep=False)
    view.columns = names
    for name, kind in (kinds.items() if isinstance(kinds, dict) else ()):
        if name not in view.columns or kind not in {k.value for k in _NUMERIC_KINDS}:
            continue
        s = view[name]
        if _is_number_dtype(s) or pd.api.types.is_bool_dtype(s.dtype):
            continue
        if formats and formats.get(name):
            # Formatted numbers ("$1,200.00") through their display format.
            from synthkit.tabular.formats import NumberFormat

            from synthkit.tabular.schema import stripped_text

            view[name] = pd.Series(NumberFormat.from_dict(formats[name]).parse(stripped_text(s)), index=s.index)
            continue
        numbers = _as_numbers(s)
        present = int(s.notna().sum())
        if present and numbers.notna().sum() >= numeric_min_share * present:
            view[name] = numbers
    return view


# ---------------------------------------------------------------------------------------
# The input contract
# ---------------------------------------------------------------------------------------


def split_metadata(
    metadata: dict[str, dict[str, Any]] | None,
) -> tuple[dict[str, dict[str, Any]] | None, dict[str, dict[str, bool]]]:
    """Separate contract flags (``nullable``, ``unique``) from the fields schema inference
    reads. Returns (metadata for :func:`~synthkit.tabular.schema.infer_schema`, flags per
    column); a column that only carries flags is left to inference."""
    if not metadata:
        return metadata, {}
    declared: dict[str, dict[str, Any]] = {}
    flags: dict[str, dict[str, bool]] = {}
    for name, fields_ in metadata.items():
        if isinstance(fields_, dict):
            f = {k: fields_[k] for k in _CONTRACT_KEYS if k in fields_}
            for k, v in f.items():
                if not isinstance(v, bool):
                    raise SynthkitError(f"column {name!r}: {k} must be true or false, not {v!r}")
            if f:
                flags[str(name)] = f
            rest = {k: v for k, v in fields_.items() if k not in _CONTRACT_KEYS}
            if not rest and f:
                continue
            declared[name] = rest
        else:
            declared[name] = fields_
    return declared, flags


def input_expectations(
    schema: Schema, flags: dict[str, dict[str, bool]] | None = None, options: InferenceOptions | None = None
) -> list[dict[str, Any]]:
    """The input contract of a schema, as great-expectations expectation dicts (see the
    module docstring). `flags` maps column names to ``{"nullable": bool, "unique": bool}``."""
    opts = options or InferenceOptions()
    flags = flags or {}
    out: list[dict[str, Any]] = []
    for c in schema.columns:
        f = flags.get(c.name, {})
        declared_id = c.kind is ColumnKind.IDENTIFIER and c.source == "metadata"
        meta = {"synthkit_kind": c.kind.value}
        if c.kind in _NUMERIC_KINDS:
            out.append(_exp("expect_column_values_to_be_in_type_list", c.name, meta, type_list=list(NUMERIC_TYPES)))
        elif c.kind is ColumnKind.DATETIME and c.datetime_format:
            out.append(_datetime_format(c.name, c.datetime_format, opts.datetime_min_share, meta))
        if not f.get("nullable", not declared_id):
            out.append(_exp("expect_column_values_to_not_be_null", c.name, meta))
        if f.get("unique", declared_id):
            out.append(_exp("expect_column_values_to_be_unique", c.name, meta))
    return out


def check_input(
    df: pd.DataFrame,
    schema: Schema,
    flags: dict[str, dict[str, bool]] | None = None,
    options: InferenceOptions | None = None,
) -> None:
    """Raise a one-line :class:`SynthkitError` at the first column of `df` that breaks the
    input contract of `schema` (wrong type, a gap where none is allowed, a repeated
    identifier); return None when the table is fine. great-expectations is imported only
    when the schema asks for a check."""
    opts = options or InferenceOptions()
    present = {str(c) for c in df.columns}
    missing = [n for n in schema.names if n not in present]
    if missing:
        raise SynthkitError(f"input check: column {missing[0]!r} of the schema is not in the table")
    unknown = [n for n in (flags or {}) if n not in present]
    if unknown:
        raise SynthkitError(f"metadata names column {unknown[0]!r}, which is not in the data")
    kinds = {c.name: c.kind.value for c in schema.columns}
    view = _synthkit_view(df, kinds, opts.numeric_min_share, _formats(schema))
    # Numeric columns stored as numbers pass their type check trivially: leave those out, so
    # that a clean table does not pay for importing great-expectations (seconds).
    expectations = [
        e
        for e in input_expectations(schema, flags, opts)
        if not (
            e["type"] == "expect_column_values_to_be_in_type_list" and _is_number_dtype(view[e["kwargs"]["column"]])
        )
    ]
    if not expectations:
        return
    for e, r in zip(expectations, _run(view, expectations, "synthkit input contract")):
        if not r.success:
            raise SynthkitError("input check: " + _violation(e, r, view, schema))


def _violation(e: dict[str, Any], r: Any, view: pd.DataFrame, schema: Schema) -> str:
    """The one-line message for a failed input expectation."""
    name = e["kwargs"]["column"]
    spec = schema[name]
    s = view[name]
    n = len(s)
    kind = f"declared {spec.kind.value}" if spec.source == "metadata" else spec.kind.value
    t = e["type"]
    if t == "expect_column_values_to_be_in_type_list":
        nonnull = s.dropna()
        bad = nonnull[_as_numbers(nonnull).isna()]
        holds = f"text such as {bad.iloc[0]!r}" if len(bad) else f"values of type {s.dtype}"
        return f"column {name!r} is {kind} but holds {holds}"
    if t == "expect_column_values_to_match_strftime_format":
        examples = (r.result or {}).get("partial_unexpected_list") or []
        example = f" such as {examples[0]!r}" if examples else ""
        return (
            f"column {name!r} is {kind} ({e['kwargs']['strftime_format']}) but too many values do not parse{example}"
        )
    if t == "expect_column_values_to_not_be_null":
        why = "is declared an identifier" if spec.kind is ColumnKind.IDENTIFIER else "is declared non-nullable"
        return f"column {name!r} {why} but {int(s.isna().sum()):,} of {n:,} values are missing"
    if t == "expect_column_values_to_be_unique":
        dup = s[s.duplicated(keep=False) & s.notna()]
        why = "is declared an identifier" if spec.kind is ColumnKind.IDENTIFIER else "is declared unique"
        return (
            f"column {name!r} {why} but {dup.nunique():,} value(s) occur more than once, such as {dup.iloc[0]!r}"
            if len(dup)
            else f"column {name!r} {why} but has repeated values"
        )
    return f"column {name!r}: {t} failed"


# ---------------------------------------------------------------------------------------
# The output contract: deriving a suite
# ---------------------------------------------------------------------------------------


def derive_suite(
    df: pd.DataFrame, schema: Schema, name: str = "synthkit", options: InferenceOptions | None = None
) -> dict[str, Any]:
    """An expectation suite (great-expectations' JSON format, as a dict) describing the real
    table `df` with its `schema`; see the module docstring for what it holds and why.

    Pure pandas: great-expectations is not imported.
    """
    opts = options or InferenceOptions()
    kinds = {c.name: c.kind.value for c in schema.columns}
    view = _synthkit_view(df, kinds, opts.numeric_min_share, _formats(schema))
    expectations: list[dict[str, Any]] = [
        {
            "type": "expect_table_columns_to_match_ordered_list",
            "kwargs": {"column_list": list(schema.names)},
            "meta": {},
        }
    ]
    for c in schema.columns:
        s = view[c.name]
        meta = {"synthkit_kind": c.kind.value}
        numeric = _is_number_dtype(s)
        nonnull = s.dropna()
        if c.kind in _NUMERIC_KINDS or (c.kind is ColumnKind.IDENTIFIER and numeric):
            if numeric:
                expectations.append(_exp(_TYPE_LIST, c.name, meta, type_list=list(NUMERIC_TYPES)))
        elif c.kind is ColumnKind.DATETIME:
            if pd.api.types.is_datetime64_any_dtype(s.dtype):
                expectations.append(_exp(_TYPE_LIST, c.name, meta, type_list=list(DATETIME_TYPES)))
            elif c.datetime_format:
                expectations.append(_datetime_format(c.name, c.datetime_format, opts.datetime_min_share, meta))

        if c.kind in _SET_KINDS or (c.kind is ColumnKind.CONSTANT and nonnull.nunique() == 1):
            values = _value_set(nonnull)
            if values is not None:
                expectations.append(_exp("expect_column_values_to_be_in_set", c.name, meta, value_set=values))
        if c.kind in (ColumnKind.CONTINUOUS, ColumnKind.MIXED) and numeric and len(nonnull):
            lo, hi = _number(nonnull.min()), _number(nonnull.max())
            expectations.append(_exp("expect_column_values_to_be_between", c.name, meta, min_value=lo, max_value=hi))
            expectations.append(
                _exp(
                    "expect_column_quantile_values_to_be_between",
                    c.name,
                    meta,
                    quantile_ranges=_quantile_ranges(nonnull),
                )
            )

        # Missing values: the real share, and the share synthkit models (which also counts
        # stray text and unparseable dates), widened by δ.
        share = float(s.isna().mean()) if len(s) else 0.0
        low, high = min(share, c.missing_rate), max(share, c.missing_rate)
        if len(nonnull) == 0:
            expectations.append(_exp("expect_column_values_to_be_null", c.name, meta))
        elif high == 0:
            expectations.append(_exp("expect_column_values_to_not_be_null", c.name, meta))
        else:
            expectations.append(
                _exp(
                    "expect_column_proportion_of_non_null_values_to_be_between",
                    c.name,
                    meta,
                    min_value=round(max(0.0, 1.0 - high - DELTA), 6),
                    max_value=round(min(1.0, 1.0 - low + DELTA), 6),
                )
            )
        if c.kind is ColumnKind.IDENTIFIER and len(nonnull) and not nonnull.duplicated().any():
            expectations.append(_exp("expect_column_values_to_be_unique", c.name, meta))
    return {
        "name": name,
        "expectations": expectations,
        "meta": {
            "great_expectations_version": _gx_version(),
            "synthkit": {
                "format": 1,
                "rows": len(df),
                "delta": DELTA,
                "quantiles": list(QUANTILES),
                "columns": kinds,
                "formats": _formats(schema),
            },
        },
        "notes": "Derived by synthkit from the training table; see synthkit.contracts for the tolerances.",
    }


def _exp(type_: str, column: str, meta: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return {"type": type_, "kwargs": {"column": column, **kwargs}, "meta": dict(meta)}


def _datetime_format(column: str, fmt: str, mostly: float, meta: dict[str, Any]) -> dict[str, Any]:
    """Dates stored as text: a regular expression built from the strftime format (GE's own
    strftime expectation parses each value in Python: 12 s per million rows, against 1.5 s)."""
    return _exp(
        "expect_column_values_to_match_regex",
        column,
        {**meta, "strftime_format": fmt},
        regex=_format_regex(fmt),
        mostly=mostly,
    )


_DIRECTIVES = {
    "Y": r"\d{4}", "m": r"\d{1,2}", "d": r"\d{1,2}", "H": r"\d{1,2}", "M": r"\d{1,2}", "S": r"\d{1,2}",
    "f": r"\d{1,9}", "y": r"\d{2}", "b": r"[A-Za-z]{3,}", "B": r"[A-Za-z]{3,}", "I": r"\d{1,2}", "p": r"[AaPp][Mm]",
    "j": r"\d{1,3}", "z": r"[+-]\d{2}:?\d{2}|Z", "Z": r"[A-Za-z]{1,5}", "a": r"[A-Za-z]{2,}", "A": r"[A-Za-z]{2,}",
    "e": r"\s?\d{1,2}", "%": "%",
}  # fmt: skip


def _format_regex(fmt: str) -> str:
    """A regular expression matching what a strftime format writes (unknown directives match
    anything)."""
    import re

    parts, i = [r"^\s*"], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            parts.append(_DIRECTIVES.get(fmt[i + 1], r".+?"))
            i += 2
        else:
            parts.append(re.escape(ch))
            i += 1
    parts.append(r"\s*$")
    return "".join(parts)


def _value_set(nonnull: pd.Series) -> list[Any] | None:
    """The distinct values as JSON numbers, text or booleans; None when there are too many
    or they are of another type (Timestamps ...), which a JSON suite cannot compare."""
    uniq = pd.unique(nonnull.to_numpy(dtype=object))
    if len(uniq) > MAX_VALUE_SET:
        return None
    out = []
    for v in uniq:
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if not isinstance(v, (str, bool, int, float)):
            return None
        out.append(v)
    return sorted(out, key=lambda v: (type(v).__name__, v))


def _quantile_ranges(x: pd.Series) -> dict[str, list[Any]]:
    """For each p in QUANTILES, [Q(p − δ), Q(p + δ)] of the real values ("nearest", as GE)."""
    probs = sorted({min(1.0, max(0.0, round(p + d, 6))) for p in QUANTILES for d in (-DELTA, DELTA)})
    q = x.astype(float).quantile(probs, interpolation="nearest")
    at = dict(zip(probs, q.to_numpy()))
    ranges = [
        [_number(at[min(1.0, max(0.0, round(p - DELTA, 6)))]), _number(at[min(1.0, max(0.0, round(p + DELTA, 6)))])]
        for p in QUANTILES
    ]
    return {"quantiles": list(QUANTILES), "value_ranges": ranges}


def _number(v: Any) -> int | float:
    v = v.item() if isinstance(v, np.generic) else v
    integral = isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer() and abs(v) < 2**53)
    return int(v) if integral else float(v)


def _gx_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("great_expectations")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


# ---------------------------------------------------------------------------------------
# Saving, loading, validating
# ---------------------------------------------------------------------------------------


def suite_json(suite: dict[str, Any]) -> str:
    """A suite dict as indented JSON (the expectations.json format)."""
    return json.dumps(_jsonable(suite), indent=2, allow_nan=False) + "\n"


def save_suite(suite: dict[str, Any], path: str | Path) -> Path:
    """Write a suite dict as JSON, atomically."""
    from synthkit.tabular.io import write_text

    write_text(suite_json(suite), path)
    return Path(path)


def read_suite(path: str | Path) -> dict[str, Any]:
    """The suite dict in an expectations.json file or in a model folder (no GE import)."""
    p = Path(path)
    if p.is_dir():
        if not (p / SUITE_FILE).is_file():
            raise SynthkitError(
                f"{p}: has no {SUITE_FILE} (a model saved before data contracts, or not a model folder)"
            )
        p = p / SUITE_FILE
    elif not p.is_file():
        raise SynthkitError(f"{p}: no such suite file or model folder")
    try:
        raw = json.loads(p.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SynthkitError(f"{p}: cannot be read ({_first_line(exc)})") from None
    except json.JSONDecodeError as exc:
        raise SynthkitError(f"{p}: not valid JSON ({exc.msg})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("expectations"), list):
        raise SynthkitError(f"{p}: not an expectation suite (no 'expectations' list)")
    for i, e in enumerate(raw["expectations"]):
        if not isinstance(e, dict) or not isinstance(e.get("type"), str) or not isinstance(e.get("kwargs", {}), dict):
            raise SynthkitError(f"{p}: expectation {i + 1} needs a 'type' and 'kwargs'")
    return raw


def load_suite(path: str | Path) -> ExpectationSuite:
    """A great-expectations ``ExpectationSuite`` from an expectations.json file or a model
    folder; a one-line :class:`SynthkitError` when it is missing or not a valid suite."""
    raw = read_suite(path)
    g = _gx()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        suite = _build_suite(g["gx"], str(raw.get("name") or "synthkit"), raw["expectations"], source=str(path))
        suite.meta = dict(raw.get("meta") or suite.meta)
        suite.notes = raw.get("notes")
        return suite


def _suite_dict(suite: Any) -> dict[str, Any]:
    if isinstance(suite, (str, os.PathLike)):
        return read_suite(suite)
    if isinstance(suite, dict):
        return suite
    if hasattr(suite, "to_json_dict"):  # a great_expectations.ExpectationSuite
        return suite.to_json_dict()
    raise TypeError(f"expected a suite (ExpectationSuite, dict or path), not {type(suite).__name__}")


def validate(df: pd.DataFrame, suite: Any) -> ContractReport:
    """Validate `df` against `suite` (an ``ExpectationSuite``, a suite dict as saved, or the
    path of an expectations.json / model folder) and report every expectation.

    Numeric columns stored as text are read as numbers first when the suite says they are
    numeric (see the module docstring). Never raises for a table that fails expectations:
    that is what the report is for; raises :class:`SynthkitError` for an empty table or a
    bad suite.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, not {type(df).__name__}")
    d = _suite_dict(suite)
    if len(df) == 0:
        raise SynthkitError("the table has no rows to validate")
    _gx()  # the one-off import and set-up is not part of a validation's time
    start = time.perf_counter()
    meta = (d.get("meta") or {}).get("synthkit") or {}
    kinds = meta.get("columns") or {}
    view = _synthkit_view(df, kinds, InferenceOptions().numeric_min_share, meta.get("formats"))
    expectations = list(d.get("expectations") or [])
    raw = _run(view, expectations, str(d.get("name") or "synthkit"))
    results = [_result(e, r, view) for e, r in zip(expectations, raw)]
    return ContractReport(
        results=results, rows=len(df), seconds=time.perf_counter() - start, suite=str(d.get("name") or ""),
    )


def _result(e: dict[str, Any], r: Any, view: pd.DataFrame) -> ContractResult:
    kwargs = dict(e.get("kwargs") or {})
    column = kwargs.pop("column", None)
    result = dict(r.result or {}) if r is not None else {}
    error = _exception_message(r.exception_info) if r is not None else "not evaluated"
    if column is not None and column not in view.columns:
        observed: Any = {"error": f"column {column!r} is missing"}
    elif error:
        observed = {"error": error}
    elif "observed_value" in result:
        observed = result["observed_value"]
    elif "unexpected_count" in result:
        observed = {
            "unexpected_count": int(result["unexpected_count"]),
            "element_count": int(result.get("element_count", len(view))),
            "unexpected_percent": result.get("unexpected_percent"),
            "examples": list(result.get("partial_unexpected_list") or [])[:EXAMPLES],
        }
    else:
        observed = None
    return ContractResult(
        expectation=e["type"],
        column=column,
        success=bool(r is not None and r.success),
        observed=_jsonable(observed),
        expected=_jsonable(kwargs),
    )


def _exception_message(info: Any) -> str | None:
    """The first exception message in GE's (possibly nested) exception_info."""
    if isinstance(info, dict):
        if info.get("raised_exception") and info.get("exception_message"):
            return _first_line(info["exception_message"])
        for v in info.values():
            m = _exception_message(v)
            if m:
                return m
    return None


def _first_line(exc: Any) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _jsonable(v: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, non-finite floats as None, dates as text."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


# ---------------------------------------------------------------------------------------
# Words for people
# ---------------------------------------------------------------------------------------

_TITLES = {
    "expect_table_columns_to_match_ordered_list": "columns in order",
    "expect_column_values_to_be_in_type_list": "type",
    "expect_column_values_to_be_in_set": "values in set",
    "expect_column_values_to_be_between": "range",
    "expect_column_quantile_values_to_be_between": "quantiles",
    "expect_column_proportion_of_non_null_values_to_be_between": "missing share",
    "expect_column_values_to_not_be_null": "no missing",
    "expect_column_values_to_be_null": "all missing",
    "expect_column_values_to_be_unique": "unique",
    "expect_column_values_to_match_regex": "format",
}


def _fmt(v: Any, digits: int = 6) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, float)):
        return f"{v:.{digits}g}" if isinstance(v, float) or abs(v) >= 10**digits else str(v)
    return repr(v) if isinstance(v, str) else str(v)


def _some(values: list[Any], k: int = 5) -> str:
    shown = ", ".join(_fmt(v) for v in values[:k])
    return shown + (f", … ({len(values)} in all)" if len(values) > k else "")


def _expected_text(t: str, kw: dict[str, Any]) -> str:
    if t == "expect_table_columns_to_match_ordered_list":
        return f"{len(kw.get('column_list') or [])} columns: {_some(kw.get('column_list') or [], 4)}"
    if t == "expect_column_values_to_be_in_type_list":
        types = kw.get("type_list") or []
        if set(types) == set(NUMERIC_TYPES):
            return "numbers"
        return "dates" if set(types) == set(DATETIME_TYPES) else _some(types)
    if t == "expect_column_values_to_be_in_set":
        return "one of " + _some(kw.get("value_set") or [])
    if t == "expect_column_values_to_be_between":
        return f"within [{_fmt(kw.get('min_value'))}, {_fmt(kw.get('max_value'))}]"
    if t == "expect_column_quantile_values_to_be_between":
        qr = kw.get("quantile_ranges") or {}
        return "; ".join(
            f"q{p * 100:g} in [{_fmt(lo, 4)}, {_fmt(hi, 4)}]"
            for p, (lo, hi) in zip(qr.get("quantiles", []), qr.get("value_ranges", []))
        )
    if t == "expect_column_proportion_of_non_null_values_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        lo_m = 1 - hi if hi is not None else 0.0
        hi_m = 1 - lo if lo is not None else 1.0
        return f"{lo_m:.1%} to {hi_m:.1%} missing"
    if t == "expect_column_values_to_not_be_null":
        return "no missing values"
    if t == "expect_column_values_to_be_null":
        return "all missing"
    if t == "expect_column_values_to_be_unique":
        return "no repeated values"
    if t == "expect_column_values_to_match_regex":
        mostly = kw.get("mostly")
        return f"match {kw.get('regex')}" + (f" (≥ {mostly:.0%})" if mostly is not None and mostly < 1 else "")
    return ", ".join(f"{k}={_fmt(v)}" for k, v in kw.items())


def _observed_text(r: ContractResult) -> str:
    o = r.observed
    if isinstance(o, dict) and "error" in o:
        return str(o["error"])
    if isinstance(o, dict) and "unexpected_count" in o:
        k, n = o["unexpected_count"], o["element_count"]
        what = {
            "expect_column_values_to_not_be_null": "missing",
            "expect_column_values_to_be_null": "present",
            "expect_column_values_to_be_unique": "repeated",
        }.get(r.expectation, "outside")
        text = f"{k:,} of {n:,} {what}"
        if k and o.get("examples") and r.expectation not in ("expect_column_values_to_not_be_null",):
            text += ", e.g. " + ", ".join(_fmt(v) for v in o["examples"][:3])
        return text
    if r.expectation == "expect_table_columns_to_match_ordered_list" and isinstance(o, list):
        expected = list(r.expected.get("column_list") or [])
        missing = [c for c in expected if c not in o]
        extra = [c for c in o if c not in expected]
        if not missing and not extra:
            return "as expected" if o == expected else "same columns, other order"
        parts = []
        if missing:
            parts.append("missing " + _some(missing, 3))
        if extra:
            parts.append("extra " + _some(extra, 3))
        return "; ".join(parts)
    if r.expectation == "expect_column_quantile_values_to_be_between" and isinstance(o, dict):
        qs, vs = o.get("quantiles") or [], o.get("values") or []
        ranges = (r.expected.get("quantile_ranges") or {}).get("value_ranges") or []
        parts = []
        for p, v, rg in zip(qs, vs, ranges):
            bad = v is None or not (rg[0] <= v <= rg[1])
            if bad or r.success:
                parts.append(f"q{p * 100:g} = {_fmt(v, 4)}" + (" ✗" if bad and not r.success else ""))
        return "; ".join(parts)
    if r.expectation == "expect_column_proportion_of_non_null_values_to_be_between" and isinstance(o, (int, float)):
        return f"{1 - o:.1%} missing"
    if isinstance(o, list):
        return _some(o)
    return o if isinstance(o, str) else _fmt(o)
