"""Column schema: what kind of variable each column is, inferred or declared.

The kind decides how a column is encoded (see :mod:`synthkit.tabular.transformer`):

========== ==================================================================================
kind        meaning
========== ==================================================================================
continuous  real-valued; mode-specific normalization
mixed       continuous with point masses (a value repeated in a large share of rows, such as
            0 in "Amount Past Due", paper 001 §6.5, or heaped round values); each point mass
            is a mode of its own
discrete    numeric with few distinct values (counts, or a float column with 10 values): a
            category in all but name, modelled by one-hot and restored as numbers
categorical text labels; one-hot, rare labels pooled
boolean     two values such as True/False or yes/no
datetime    dates or timestamps; modelled through numeric time at their resolution
identifier  unique per row (customer numbers, UUIDs): excluded from modelling, regenerated
            with the same shape on sampling
constant    a single value (or all missing): excluded from modelling, reproduced as is
========== ==================================================================================

Missing values are a property of every column (`missing_rate`), not a kind.

Users override any column with a metadata file (JSON or YAML) in synthkit's format, or
SDV's single-table metadata JSON; see :func:`load_metadata`.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import re
import warnings
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.tabular.support import Heaping, decimals, detect_sentinels


class ColumnKind(str, Enum):
    """The kinds of column synthkit models; see the module docstring."""

    CONTINUOUS = "continuous"
    MIXED = "mixed"
    DISCRETE = "discrete"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    IDENTIFIER = "identifier"
    CONSTANT = "constant"


#: Kinds whose values are numbers on a line (encoded by mode-specific normalization).
NUMERIC_KINDS = frozenset({ColumnKind.CONTINUOUS, ColumnKind.MIXED, ColumnKind.DATETIME})
#: Kinds encoded as one-hot categories.
CATEGORY_KINDS = frozenset({ColumnKind.DISCRETE, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN})

#: Text spellings read as booleans (lower-cased pairs).
_BOOLEAN_PAIRS = (
    {"true", "false"},
    {"yes", "no"},
    {"y", "n"},
    {"t", "f"},
)

#: Datetime formats tried, most specific first. Ambiguous day/month orders are resolved by
#: which format parses every value; a tie goes to the earlier (ISO, then US) format.
DATETIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%SZ",
    # ISO timestamps with fractional seconds (what most databases and isoformat() write).
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%d-%b-%Y",
    "%Y%m%d",
)

_ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key)$|^id[_\s-]|identifier|number$", re.IGNORECASE)


@dataclass(frozen=True)
class InferenceOptions:
    """Thresholds used to infer column kinds; every field has a default that suits most tables."""

    #: A numeric column with at most this many distinct values may be discrete ...
    max_discrete_levels: int = 20
    #: ... when each value repeats on average at least this often (else it is continuous).
    min_rows_per_level: float = 3.0
    #: A value is a point mass if it holds at least this share of the non-missing rows ...
    point_mass_min_share: float = 0.01
    #: ... and at least this many rows ...
    point_mass_min_count: int = 10
    #: ... and at least this many times the median count of its neighbouring values ...
    point_mass_min_ratio: float = 5.0
    #: ... compared with this many neighbouring distinct values on each side.
    point_mass_neighbours: int = 10
    #: At most this many point masses per column (the largest ones).
    max_point_masses: int = 10
    #: A text column is datetime if this share of its values parse with one format.
    datetime_min_share: float = 0.9
    #: A text column is numeric (stray text becomes missing) if this share parses as numbers.
    numeric_min_share: float = 0.95
    #: A column unique in at least this share of rows (and of at least `id_min_rows` rows)
    #: is an identifier (strings) ...
    id_min_unique_share: float = 0.95
    id_min_rows: int = 20
    #: A numeric column on a sparse finite support — at most this many distinct values ...
    max_support_levels: int = 100
    #: ... each seen this often on average ...
    min_rows_per_support_level: float = 20.0
    #: ... covering at most this share of the grid its decimals allow between min and max
    #: (interest rates set from a grade table: 56 values among 2,600 possible) — is
    #: discrete: generated on its support, never between its values.
    max_support_density: float = 0.2
    #: Detect sentinel codes and isolated extremes (they become point masses).
    sentinels: bool = True


@dataclass
class ColumnSpec:
    """One column's kind and the facts about it that encoding needs."""

    name: str
    kind: ColumnKind
    missing_rate: float = 0.0
    n_unique: int = 0
    #: Values with a point mass (mixed columns).
    point_masses: list[float] = field(default_factory=list)
    #: strftime format of a datetime column read from text (None: native datetimes).
    datetime_format: str | None = None
    #: Value of a constant column (None when the column is all missing).
    constant_value: Any = None
    #: Where the kind came from: "inferred" or "metadata".
    source: str = "inferred"
    #: Things the user should know about this column (stray text, unparseable dates ...).
    notes: list[str] = field(default_factory=list)
    #: Sentinel codes and isolated extremes (also point masses; see synthkit.tabular.support).
    sentinels: list[float] = field(default_factory=list)
    #: How the values heap, in words ("on multiples of 25; heaps at multiples of 1,000 (78 %)");
    #: the transformer learns the heaping itself, this is what the schema reports.
    heaping: str | None = None
    #: Display format of numbers written as text ("$1,200.00", "12.5%", "(500)"): a
    #: :class:`synthkit.tabular.formats.NumberFormat` dict. Read, modelled and written back
    #: in it.
    number_format: dict[str, Any] | None = None
    #: Format of timestamps with UTC offsets ("2021-01-01 10:00:00+01:00"): an
    #: :class:`synthkit.tabular.formats.OffsetDatetimeFormat` dict.
    offset_format: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["kind"] = self.kind.value
        d["constant_value"] = _jsonable(self.constant_value)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnSpec:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["kind"] = ColumnKind(d["kind"])
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class Schema:
    """The columns of a table, in order."""

    columns: list[ColumnSpec]
    n_rows: int = 0
    #: Relations between columns (:class:`synthkit.tabular.relations.Relation`), found by
    #: :func:`synthkit.tabular.relations.detect_relations` or declared; enforced on output.
    relations: list[Any] = field(default_factory=list)

    def __getitem__(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        """Column names in table order."""
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the format :func:`load_metadata` reads back)."""
        return {
            "synthkit_schema": 1,
            "n_rows": self.n_rows,
            "columns": [c.to_dict() for c in self.columns],
            "relations": [r.to_dict() for r in self.relations],
        }

    def to_json(self) -> str:
        """The schema as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        """Inverse of :meth:`to_dict`."""
        from synthkit.tabular.relations import Relation

        return cls(
            columns=[ColumnSpec.from_dict(c) for c in d["columns"]],
            n_rows=d.get("n_rows", 0),
            relations=[Relation.from_dict(r, source=r.get("source", "inferred")) for r in d.get("relations") or []],
        )


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, (pd.Timestamp, _dt.date, _dt.time)):
        return v.isoformat()
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    # Anything else a constant column can hold (Decimal, Timedelta, ...) would make
    # Schema.to_json raise TypeError: keep its text.
    if isinstance(v, decimal.Decimal):
        return float(v)
    return str(v)


def _rate(count: int, n: int) -> float:
    """count / n, exactly as written (1 - (n - count) / n is off in the last digits)."""
    return count / n if n else 0.0


# ---------------------------------------------------------------------------------------
# Inference
# ---------------------------------------------------------------------------------------


def infer_schema(
    df: pd.DataFrame,
    metadata: dict[str, dict[str, Any]] | None = None,
    options: InferenceOptions | None = None,
) -> Schema:
    """Infer each column's kind; `metadata` (column name → declared fields) overrides it.

    `metadata` is what :func:`load_metadata` returns. Declared kinds are checked against the
    data: a column declared continuous that holds text is an error naming the column.
    """
    opts = options or InferenceOptions()
    metadata = metadata or {}
    if df.shape[1] == 0:
        raise SynthkitError("the table has no columns")
    # Column names are compared as text: a schema saved as JSON names column 0 "0".
    names = [str(c) for c in df.columns]
    duplicated = [c for i, c in enumerate(names) if c in names[:i]]
    if duplicated:
        # df[name] would be a DataFrame, and inference fail with an AttributeError.
        raise SynthkitError(f"column {duplicated[0]!r} appears more than once")
    unknown = [name for name in metadata if str(name) not in names]
    if unknown:
        raise SynthkitError(f"metadata names column {unknown[0]!r}, which is not in the data")
    # Contract flags (nullable, unique) are for synthkit.contracts; a column declaring only
    # them is left to inference.
    metadata = {str(k): v for k, v in metadata.items()}
    for name, fields in list(metadata.items()):
        if isinstance(fields, dict) and any(f in fields for f in _CONTRACT_FLAGS):
            rest = {f: x for f, x in fields.items() if f not in _CONTRACT_FLAGS}
            if rest:
                metadata[name] = rest
            else:
                del metadata[name]
    columns = []
    for name in df.columns:
        declared = metadata.get(str(name))
        if declared is not None:
            columns.append(_declared_column(df[name], str(name), declared, opts))
        else:
            columns.append(infer_column(df[name], opts))
    return Schema(columns=columns, n_rows=len(df))


def infer_column(s: pd.Series, options: InferenceOptions | None = None) -> ColumnSpec:
    """Infer the kind of one column (see the module docstring for the rules)."""
    opts = options or InferenceOptions()
    name = str(s.name)
    n = len(s)
    nonnull = s.dropna()
    missing_rate = _rate(n - len(nonnull), n)
    spec = ColumnSpec(name=name, kind=ColumnKind.CONSTANT, missing_rate=missing_rate)
    if len(nonnull) == 0:
        spec.notes.append("all values are missing; reproduced as missing")
        return spec
    n_unique = int(nonnull.nunique())
    spec.n_unique = n_unique
    if n_unique == 1:
        spec.constant_value = _jsonable(nonnull.iloc[0])
        return spec

    if pd.api.types.is_bool_dtype(s.dtype):
        spec.kind = ColumnKind.BOOLEAN
        return spec
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        spec.kind = ColumnKind.DATETIME
        return spec
    if pd.api.types.is_numeric_dtype(s.dtype):
        _infer_numeric(spec, nonnull.astype(float), opts, integer_dtype=pd.api.types.is_integer_dtype(s.dtype))
        return spec

    # Text checks run on the distinct values, weighted by their counts: a categorical column
    # of a million rows has a handful of distinct strings.
    raw_counts = nonnull.value_counts(sort=False)
    counts = raw_counts.groupby(raw_counts.index.astype(str).str.strip(), sort=False).sum()
    text = pd.Series(counts.index, dtype=object)
    weights = counts.to_numpy(dtype=float)
    if set(text.str.lower()) in _BOOLEAN_PAIRS:  # Yes/yes/No spellings mixed: still boolean
        spec.kind = ColumnKind.BOOLEAN
        return spec

    from synthkit.tabular import formats

    if formats.looks_formatted(text):
        fmt, share = formats.detect_number_format(text, weights, min_share=opts.numeric_min_share)
        if fmt is not None:
            numbers = pd.Series(fmt.parse(nonnull.astype(str).str.strip()), index=nonnull.index)
            spec.number_format = fmt.to_dict()
            spec.notes.append(f"formatted numbers ({fmt.describe()}): modelled as numbers, written back as text")
            bad = int(numbers.isna().sum())
            if bad:
                spec.notes.append(f"{bad} value(s) not in that format are treated as missing")
                spec.missing_rate = _rate(n - int(numbers.notna().sum()), n)
            spec.n_unique = int(numbers.nunique())
            if spec.n_unique == 1:
                spec.kind = ColumnKind.CONSTANT
                spec.constant_value = _jsonable(nonnull.iloc[0])
                spec.number_format = None
                return spec
            _infer_numeric(spec, numbers.dropna(), opts, integer_dtype=False)
            if spec.kind is ColumnKind.IDENTIFIER:  # unique formatted numbers are amounts, not ids
                spec.kind = ColumnKind.CONTINUOUS
            return spec

    parsed = pd.to_numeric(text, errors="coerce").notna().to_numpy()
    if weights[parsed].sum() >= opts.numeric_min_share * weights.sum():
        numbers = pd.to_numeric(nonnull.astype(str).str.strip(), errors="coerce")
        if not parsed.all():
            stray = counts[~parsed].sort_values(ascending=False)
            spec.notes.append(
                f"{int(stray.sum())} non-numeric value(s) such as {stray.index[0]!r} in a numeric column are "
                "treated as missing"
            )
            spec.missing_rate = _rate(n - int(numbers.notna().sum()), n)
        # Distinct numbers, not spellings ("1" and "1.0", " 5" and "5").
        spec.n_unique = int(numbers.nunique())
        if spec.n_unique == 1:
            # One number once stray text is set aside ("5" and a few "x"): constant, not discrete.
            spec.kind = ColumnKind.CONSTANT
            spec.constant_value = _jsonable(numbers.dropna().iloc[0])
            return spec
        _infer_numeric(spec, numbers.dropna(), opts, integer_dtype=False)
        return spec

    fmt, share = detect_datetime_format(text, weights)
    if fmt is not None and share >= opts.datetime_min_share:
        spec.kind = ColumnKind.DATETIME
        spec.datetime_format = fmt
        bad = int(round((1.0 - share) * len(nonnull)))
        if bad:
            spec.notes.append(f"{bad} value(s) do not parse as dates ({fmt}) and are treated as missing")
            spec.missing_rate = _rate(n - len(nonnull) + bad, n)
        return spec
    # Timestamps with UTC offsets ("2021-01-01 10:00:00+01:00"), which no format above reads.
    if formats.looks_formatted(text):
        odt, odt_share = formats.detect_offset_datetime_format(text, weights, min_share=opts.datetime_min_share)
        if odt is not None:
            spec.kind = ColumnKind.DATETIME
            spec.offset_format = odt.to_dict()
            spec.notes.append(f"timestamps with UTC offsets ({odt.describe()}): modelled in UTC, offsets kept")
            bad = int(round((1.0 - odt_share) * len(nonnull)))
            if bad:
                spec.notes.append(f"{bad} value(s) not in that format are treated as missing")
                spec.missing_rate = _rate(n - len(nonnull) + bad, n)
            return spec

    if fmt is not None and share >= 0.5:
        spec.notes.append(
            f"looks like dates ({fmt}) but {1 - share:.0%} of values do not parse; modelled as categorical"
        )

    if len(nonnull) >= opts.id_min_rows and n_unique >= opts.id_min_unique_share * len(nonnull):
        spec.kind = ColumnKind.IDENTIFIER
        if n_unique < len(nonnull):
            spec.notes.append("nearly unique per row: treated as an identifier and regenerated")
        return spec
    spec.kind = ColumnKind.CATEGORICAL
    return spec


def _infer_numeric(spec: ColumnSpec, x: pd.Series, opts: InferenceOptions, *, integer_dtype: bool) -> None:
    """Set the kind of a numeric column: identifier, discrete, mixed or continuous."""
    n = len(x)
    values = x.to_numpy(dtype=float)
    n_unique = spec.n_unique
    with np.errstate(invalid="ignore"):  # inf (e.g. the text "inf") has no remainder
        integer_valued = integer_dtype or bool(np.all(np.mod(values, 1) == 0))
    if (
        integer_valued
        and n_unique == n
        and n >= opts.id_min_rows
        and (_ID_NAME.search(spec.name) or values.max() - values.min() + 1 <= 2 * n)
    ):
        # Unique integers over a dense range (1..n, account numbers): an index, not a quantity.
        spec.kind = ColumnKind.IDENTIFIER
        return
    if n_unique <= opts.max_discrete_levels and n >= opts.min_rows_per_level * n_unique:
        spec.kind = ColumnKind.DISCRETE
        return
    sentinels = detect_sentinels(values) if opts.sentinels else []
    bulk = values[~np.isin(values, sentinels)] if sentinels else values
    d = decimals(bulk)
    if d is not None and n_unique <= opts.max_support_levels and n >= opts.min_rows_per_support_level * n_unique:
        grid = (bulk.max() - bulk.min()) * 10.0**d + 1
        if n_unique <= opts.max_support_density * grid:
            spec.kind = ColumnKind.DISCRETE
            spec.notes.append(f"finite support: {n_unique} distinct values (generated only on them)")
            return
    masses = detect_point_masses(bulk, opts)
    if sentinels:
        count = int(np.isin(values, sentinels).sum())
        spec.sentinels = sentinels
        spec.notes.append(
            "sentinel code(s) or isolated extreme(s) "
            + ", ".join(f"{v:g}" for v in sentinels)
            + f" in {count} row(s): reproduced exactly, kept out of the bulk's density"
        )
        masses = sorted(set(masses) | set(sentinels))
    cont = bulk[~np.isin(bulk, masses)] if masses else bulk
    heaping = Heaping.fit(cont, decimals(cont), context=bulk) if len(cont) else None
    if heaping is not None:
        spec.heaping = heaping.describe() or None
    if masses:
        spec.kind = ColumnKind.MIXED
        spec.point_masses = masses
        return
    spec.kind = ColumnKind.CONTINUOUS


def detect_point_masses(values: np.ndarray, options: InferenceOptions | None = None) -> list[float]:
    """Values repeated far more often than the values around them.

    A value is a point mass if it covers at least `point_mass_min_share` of the rows and at
    least `point_mass_min_count` rows, and its count is at least `point_mass_min_ratio` times
    the median count of its `point_mass_neighbours` nearest distinct values on each side.
    Comparing with the neighbours keeps integer columns such as ages (every value repeats a
    little) continuous, while a 0 in a past-due amount, or a 0.80 heaped in a ratio stored
    to two decimals (where every value repeats), stands out.
    """
    opts = options or InferenceOptions()
    uniq, counts = np.unique(values, return_counts=True)
    if len(uniq) < 2:
        return []
    threshold = max(opts.point_mass_min_share * len(values), float(opts.point_mass_min_count))
    k = opts.point_mass_neighbours
    masses = []
    for i in np.flatnonzero(counts >= threshold):
        neighbours = np.concatenate((counts[max(i - k, 0) : i], counts[i + 1 : i + 1 + k]))
        if counts[i] >= opts.point_mass_min_ratio * float(np.median(neighbours)):
            masses.append(i)
    masses = sorted(masses, key=lambda i: -counts[i])[: opts.max_point_masses]
    # If the point masses cover (nearly) everything, there is no continuous part to model.
    if counts[masses].sum() > len(values) - 2:
        return []
    return sorted(float(uniq[i]) for i in masses)


def detect_datetime_format(
    text: pd.Series, weights: np.ndarray | None = None, sample_size: int = 2000
) -> tuple[str | None, float]:
    """Return the datetime format that parses most values of a text column, and that share.

    `weights` (optional) counts how often each value occurs, when `text` holds distinct values.
    The format is chosen on the first `sample_size` values; the share is over all of them.
    """
    text = text.reset_index(drop=True)
    w = np.ones(len(text)) if weights is None else np.asarray(weights, dtype=float)
    sample = text.iloc[:sample_size]
    # Cheap pre-check: dates contain digits.
    if not sample.str.contains(r"\d", regex=True).mean() > 0.5:
        return None, 0.0
    best, best_share = None, 0.0
    for fmt in DATETIME_FORMATS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok = pd.to_datetime(sample, format=fmt, errors="coerce").notna().to_numpy()
        share = float(w[: len(sample)][ok].sum() / w[: len(sample)].sum())
        if share > best_share:
            best, best_share = fmt, share
        if share == 1.0:
            break
    if best is None:
        return None, 0.0
    if len(text) > sample_size:
        ok = pd.to_datetime(text, format=best, errors="coerce").notna().to_numpy()
        best_share = float(w[ok].sum() / w.sum())
    return best, best_share


def column_numbers(s: pd.Series, spec: ColumnSpec) -> np.ndarray:
    """A numeric or datetime column's values as floats (datetimes: nanoseconds since 1970 UTC),
    whatever their text form (formatted numbers, timestamps with offsets); NaN where missing
    or unreadable. The one reader of numbers every part of synthkit uses."""
    if spec.kind is ColumnKind.DATETIME:
        if spec.offset_format:
            from synthkit.tabular.formats import OffsetDatetimeFormat

            return OffsetDatetimeFormat.from_dict(spec.offset_format).parse(stripped_text(s))[0]
        return datetime_ns(s, spec.datetime_format)
    if spec.number_format:
        from synthkit.tabular.formats import NumberFormat

        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            return s.to_numpy(dtype=float, na_value=np.nan)  # already numbers (e.g. a decoded frame)
        return NumberFormat.from_dict(spec.number_format).parse(stripped_text(s))
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(s.astype("string").str.strip(), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def stripped_text(s: pd.Series) -> pd.Series:
    """Text cells stripped, missing kept missing (for the format parsers)."""
    return s.astype(object).where(s.isna(), s.astype(str).str.strip())


def datetime_ns(s: pd.Series, datetime_format: str | None = None) -> np.ndarray:
    """Datetimes — or text in `datetime_format` — as float nanoseconds since 1970-01-01 UTC;
    NaN where missing or unparseable. Time zones are converted to UTC and dropped."""
    if datetime_format and not pd.api.types.is_datetime64_any_dtype(s.dtype):
        t = pd.to_datetime(s.astype("string").str.strip(), format=datetime_format, errors="coerce")
    else:
        t = pd.to_datetime(s, errors="coerce")
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert(None)
    ns = t.to_numpy(dtype="datetime64[ns]").view("int64").astype(float)
    ns[t.isna().to_numpy()] = np.nan
    return ns


# ---------------------------------------------------------------------------------------
# Declared kinds (metadata)
# ---------------------------------------------------------------------------------------

#: SDV sdtypes → synthkit kinds. PII sdtypes (email, phone_number, ...) are identifiers:
#: regenerated, never modelled.
_SDV_SDTYPES: dict[str, ColumnKind] = {
    "numerical": ColumnKind.CONTINUOUS,
    "categorical": ColumnKind.CATEGORICAL,
    "boolean": ColumnKind.BOOLEAN,
    "datetime": ColumnKind.DATETIME,
    "id": ColumnKind.IDENTIFIER,
}

_DECLARABLE = ("kind", "point_masses", "datetime_format", "number_format", "offset_format")
#: Data-contract flags a metadata file may carry per column (checked by synthkit.contracts
#: before training; schema inference ignores them): ``nullable`` and ``unique``.
_CONTRACT_FLAGS = ("nullable", "unique")


def load_metadata(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a metadata file (JSON or YAML) into column name → declared fields.

    Accepted formats:

    * synthkit: ``{"columns": {"income": {"kind": "continuous"}, ...}}``, or a schema saved by
      ``synthkit schema -o`` (``{"columns": [{"name": ..., "kind": ...}, ...]}``);
    * SDV single-table metadata JSON (``{"columns": {"x": {"sdtype": "numerical"}}, ...}``),
      or SDV multi-table metadata holding exactly one table.
    """
    return parse_metadata(read_metadata_document(path), source=str(Path(path)))


def read_metadata_document(path: str | Path) -> Any:
    """The parsed content of a metadata file (JSON or YAML), as :func:`load_metadata` reads it."""
    p = Path(path)
    if not p.is_file():
        raise SynthkitError(f"{p}: no such metadata file")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        # A metadata file saved as latin-1 / cp1252 (e.g. a column named 'Café'): JSON and
        # YAML are UTF-8; before, this escaped as a raw UnicodeDecodeError.
        text = p.read_bytes().decode("cp1252", errors="replace")
    except OSError as exc:
        raise SynthkitError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse error is the user's file's fault
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SynthkitError(f"{p}: not valid {'YAML' if p.suffix.lower() in ('.yaml', '.yml') else 'JSON'} ({first})") from None


def parse_metadata(raw: Any, source: str = "metadata") -> dict[str, dict[str, Any]]:
    """Normalise a parsed metadata document (see :func:`load_metadata`)."""
    if not isinstance(raw, dict):
        raise SynthkitError(f"{source}: expected a mapping with a 'columns' entry")
    if "tables" in raw:  # SDV multi-table metadata
        tables = raw["tables"]
        if not isinstance(tables, dict):  # len() of e.g. None raised TypeError here
            raise SynthkitError(f"{source}: 'tables' must map table names to table metadata")
        if len(tables) != 1:
            raise SynthkitError(f"{source}: holds {len(tables)} tables; synthkit models one table")
        raw = next(iter(tables.values()))
        if not isinstance(raw, dict):
            raise SynthkitError(f"{source}: expected a mapping with a 'columns' entry")
    cols = raw.get("columns")
    if isinstance(cols, list):
        cols = {c.get("name"): c for c in cols if isinstance(c, dict)}
    if not isinstance(cols, dict):
        raise SynthkitError(f"{source}: expected a 'columns' entry")
    out: dict[str, dict[str, Any]] = {}
    for name, fields in cols.items():
        if not isinstance(fields, dict):
            raise SynthkitError(f"{source}: column {name!r} must map to fields such as {{'kind': ...}}")
        if "sdtype" in fields:
            out[str(name)] = _from_sdv(str(name), fields, source)
            continue
        kind = fields.get("kind")
        flags = {k: fields[k] for k in _CONTRACT_FLAGS if k in fields}
        if kind is None and flags:  # only contract flags: the kind is left to inference
            out[str(name)] = flags
            continue
        try:
            ColumnKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in ColumnKind)
            raise SynthkitError(f"{source}: column {name!r} has unknown kind {kind!r} (use one of: {allowed})") from None
        out[str(name)] = {k: fields[k] for k in (*_DECLARABLE, *_CONTRACT_FLAGS) if k in fields}
    primary_key = raw.get("primary_key")
    if isinstance(primary_key, str):
        # The primary key is an identifier even when "columns" does not list it (the issue's own
        # SDV example names "id" as primary key only); before, it was then silently ignored.
        # It names a row: unique and never missing.
        out.setdefault(primary_key, {}).update(kind=ColumnKind.IDENTIFIER.value, nullable=False, unique=True)
    return out


def _from_sdv(name: str, fields: dict[str, Any], source: str) -> dict[str, Any]:
    sdtype = str(fields["sdtype"])
    kind = _SDV_SDTYPES.get(sdtype, ColumnKind.IDENTIFIER)  # PII sdtypes are regenerated
    declared: dict[str, Any] = {"kind": kind.value}
    if kind is ColumnKind.IDENTIFIER:
        # SDV's id and PII sdtypes (email, phone_number, …) say what a column holds, not that
        # it is unique or complete (two customers may share a phone, an email may be missing):
        # only the primary key is held to that (parse_metadata).
        declared.update(nullable=True, unique=False)
    if sdtype == "datetime" and fields.get("datetime_format"):
        declared["datetime_format"] = fields["datetime_format"]
    return declared


def _declared_column(s: pd.Series, name: str, declared: dict[str, Any], opts: InferenceOptions) -> ColumnSpec:
    """Build a column from its declared kind, checking the data agree.

    Stray values are tolerated as inference tolerates them (and the transformer reads them):
    up to 1 - `numeric_min_share` of text in a numeric column, 1 - `datetime_min_share` of
    unparseable dates in a datetime column, counted as missing with a note. Before, any one
    stray value was an error, so a schema saved by `synthkit schema -o` for a column with a few
    "n/a" could not be loaded back. A column that is mostly text is still an error.
    """
    if not isinstance(declared, dict):
        raise SynthkitError(f"column {name!r}: metadata must map it to fields such as {{'kind': ...}}")
    try:
        kind = ColumnKind(declared.get("kind"))
    except ValueError:
        # `metadata` may come straight from a caller, not through parse_metadata.
        allowed = ", ".join(k.value for k in ColumnKind)
        raise SynthkitError(
            f"column {name!r} has unknown kind {declared.get('kind')!r} (use one of: {allowed})"
        ) from None
    inferred = infer_column(s, opts)
    n = len(s)
    nonnull = s.dropna()
    spec = ColumnSpec(
        name=name,
        kind=kind,
        # The raw missing rate: the inferred one may count stray text a declared kind keeps
        # (e.g. a categorical declared over a mostly numeric column).
        missing_rate=_rate(n - len(nonnull), n),
        n_unique=int(nonnull.nunique()),
        source="metadata",
        constant_value=inferred.constant_value,
    )
    fmt = declared.get("number_format") or inferred.number_format
    if kind in (ColumnKind.CONTINUOUS, ColumnKind.MIXED, ColumnKind.DISCRETE) and fmt:
        # Formatted numbers ("$1,200.00"): read through their format, written back in it.
        from synthkit.tabular.formats import NumberFormat

        try:
            number_format = NumberFormat.from_dict(fmt)
        except (TypeError, ValueError) as exc:
            raise SynthkitError(f"column {name!r}: invalid number_format ({exc})") from None
        spec.number_format = number_format.to_dict()
        nonnull = pd.Series(number_format.parse(stripped_text(nonnull)), index=nonnull.index)
    if kind is ColumnKind.DATETIME and (declared.get("offset_format") or inferred.offset_format):
        spec.offset_format = declared.get("offset_format") or inferred.offset_format
        spec.missing_rate = inferred.missing_rate
        return spec
    if kind in (ColumnKind.CONTINUOUS, ColumnKind.MIXED, ColumnKind.DISCRETE):
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            raise SynthkitError(f"column {name!r} is declared {kind.value} but holds dates: declare it datetime")
        if pd.api.types.is_numeric_dtype(nonnull.dtype) or pd.api.types.is_bool_dtype(nonnull.dtype):
            numbers = pd.to_numeric(nonnull, errors="coerce")
        else:
            numbers = pd.to_numeric(nonnull.astype(str).str.strip(), errors="coerce")
        stray = numbers.isna()
        if stray.any():
            bad = nonnull[stray].iloc[0]
            # The same test as inference's, so that what inference accepts loads back.
            if numbers.notna().sum() / len(nonnull) < opts.numeric_min_share:
                raise SynthkitError(f"column {name!r} is declared {kind.value} but holds text such as {bad!r}")
            spec.notes.append(
                f"{int(stray.sum())} non-numeric value(s) such as {bad!r} in a numeric column are treated as missing"
            )
            spec.missing_rate = _rate(n - int(numbers.notna().sum()), n)
        numbers = numbers.dropna()
        spec.n_unique = int(numbers.nunique())
        if kind is ColumnKind.MIXED:
            masses = declared.get("point_masses")
            if masses is not None and not isinstance(masses, (list, tuple)):
                masses = [masses]
            try:
                declared_masses = sorted(float(v) for v in masses) if masses else None
            except (TypeError, ValueError):
                raise SynthkitError(f"column {name!r}: point_masses must be numbers, got {masses!r}") from None
            spec.point_masses = (
                declared_masses if declared_masses is not None else detect_point_masses(numbers.to_numpy(float), opts)
            )
    elif kind is ColumnKind.DATETIME:
        fmt = declared.get("datetime_format")
        if fmt is not None and not isinstance(fmt, str):
            raise SynthkitError(f"column {name!r}: datetime_format must be a strftime text such as '%Y-%m-%d'")
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            fmt = None
        else:
            text = nonnull.astype(str).str.strip()
            if fmt is None:
                fmt, _ = detect_datetime_format(text)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    parsed = pd.to_datetime(text, format=fmt, errors="coerce") if fmt else text.map(lambda _: pd.NaT)
            except (TypeError, ValueError) as exc:  # a bad directive such as '%Q'
                raise SynthkitError(f"column {name!r}: invalid datetime_format {fmt!r} ({exc})") from None
            failed = parsed.isna()
            if failed.any():
                bad = text[failed].iloc[0]
                if fmt is None or (~failed).sum() / len(text) < opts.datetime_min_share:
                    raise SynthkitError(
                        f"column {name!r} is declared datetime but {bad!r} does not parse"
                        + (f" with format {fmt!r}" if fmt else "")
                    )
                spec.notes.append(
                    f"{int(failed.sum())} value(s) such as {bad!r} do not parse as dates ({fmt}) and are treated "
                    "as missing"
                )
                spec.missing_rate = _rate(n - len(nonnull) + int(failed.sum()), n)
        spec.datetime_format = fmt
    elif kind is ColumnKind.BOOLEAN and spec.n_unique > 2:
        raise SynthkitError(f"column {name!r} is declared boolean but has {spec.n_unique} distinct values")
    return spec


def describe_schema(schema: Schema) -> list[dict[str, str]]:
    """Rows for a human-readable table of the schema (name, kind, missing, details)."""
    rows = []
    for c in schema.columns:
        details = []
        masses = [v for v in c.point_masses if v not in c.sentinels]
        if masses:
            details.append("point masses at " + ", ".join(f"{v:g}" for v in masses))
        if c.heaping:
            details.append(c.heaping)
        if c.datetime_format:
            details.append(f"format {c.datetime_format}")
        if c.kind is ColumnKind.CONSTANT:
            details.append(f"value {c.constant_value!r}")
        details.extend(c.notes)
        for r in schema.relations:
            if r.target == c.name and r.type != "order":
                details.append(("computed: " if r.type in ("lookup", "conditional", "linear", "ratio", "annuity") else "") + r.describe())
        rows.append(
            {
                "column": c.name,
                "kind": c.kind.value + (" (declared)" if c.source == "metadata" else ""),
                "unique": str(c.n_unique),
                "missing": f"{c.missing_rate:.1%}" if c.missing_rate else "",
                "details": "; ".join(details),
            }
        )
    return rows
