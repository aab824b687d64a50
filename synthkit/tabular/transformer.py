"""Reversible transformers: a DataFrame to a float matrix a model can learn, and back.

Two transformers share one interface (`fit`, `transform`, `inverse_transform`, `spans`):

* :class:`ModeSpecificTransformer` (default) — mode-specific normalization as in TVAE/CTGAN
  (Xu et al. 2019; paper 001 §6.1). Each numeric column is modelled by a Dirichlet-process
  Gaussian mixture (:mod:`synthkit.tabular.gmm`); a value becomes its normalised offset
  within one mode, ``(x − μ_k) / (4 σ_k)``, plus a one-hot of the mode (a skewed positive
  column's mixture is over log x: :func:`log_scale_wanted`). Point masses of mixed
  columns and missing values are modes of their own (offset 0), so a model reproduces them
  at their rates through the same softmax. Categories are one-hot, with rare ones pooled.
* :class:`MinMaxLogTransformer` — the paper's own pre-processing (paper 001 §6.2): log
  transform of continuous columns, min–max scaling of every column to [0, 1]; on the way
  back clip to [0, 1], round categoricals to the nearest code and undo the log. The paper's
  Tables 1–2 were produced with it.

Both learn and restore each numeric column's decimal precision, integer-ness and observed
[min, max]; datetimes go through numeric time at their own resolution (days, seconds …)
and come back in their original text format; identifiers are regenerated with the shape of
the originals, constants reproduced. A ``Span`` lists what each block of output columns is,
so models can attach the right output head and loss to it.
"""

from __future__ import annotations

import string
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.tabular.gmm import GaussianModes, fit_modes_batch
from synthkit.tabular.schema import (
    CATEGORY_KINDS,
    NUMERIC_KINDS,
    ColumnKind,
    ColumnSpec,
    Schema,
    column_numbers,
    datetime_ns,
    infer_schema,
    stripped_text,
)
from synthkit.tabular.support import Heaping, close_gaps, decimals, find_gaps

#: Offsets are (x − μ) / (STD_MULTIPLIER · σ), as in CTGAN/TVAE, so ±4σ maps to ±1.
STD_MULTIPLIER = 4.0

#: A positive column whose values span at least this ratio (largest / smallest, point masses
#: apart) and that is more symmetric on a log scale has its modes fitted to the logs of its
#: values: see :func:`log_scale_wanted`.
LOG_SCALE_MIN_RATIO = 10.0

#: Rows transformed per chunk: bounds the (rows × modes) temporaries on large tables.
CHUNK_ROWS = 1 << 18

SpanKind = Literal["offset", "modes", "categories", "value"]


@dataclass(frozen=True)
class Span:
    """A block of output columns belonging to one input column.

    kinds: ``offset`` (one real value, the normalised offset within the chosen mode),
    ``modes`` (one-hot of the mode: Gaussian modes, then point masses, then missing),
    ``categories`` (one-hot of the category, then the rare pool, then missing),
    ``value`` (one real value in [0, 1], the min-max transformer's output).
    A ``modes`` span follows its column's ``offset`` span; its first `gaussian` entries
    are Gaussian modes (the offset means something only for those).
    """

    column: str
    kind: SpanKind
    start: int
    width: int
    gaussian: int = 0


# ---------------------------------------------------------------------------------------
# Numbers: conversion to and from a float line, shared by both transformers
# ---------------------------------------------------------------------------------------

_TIME_UNITS: tuple[tuple[str, int], ...] = (
    ("D", 86_400 * 10**9),
    ("h", 3_600 * 10**9),
    ("min", 60 * 10**9),
    ("s", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
    ("ns", 1),
)


@dataclass
class NumberLine:
    """How a numeric or datetime column maps to floats and back.

    Learns the decimal precision (possibly negative: values that are all multiples of 100
    have precision −2), whether values are integers, the observed [min, max], and for
    datetimes the time unit and text format.
    """

    spec: ColumnSpec
    decimals: int | None = None
    minimum: float = 0.0
    maximum: float = 0.0
    dtype: str = "float64"
    time_unit: str | None = None
    #: Range of the values outside the column's point masses (sentinel codes excluded): a
    #: value decoded from a Gaussian mode is clipped to it, not to [minimum, maximum].
    bulk_minimum: float = 0.0
    bulk_maximum: float = 0.0
    #: Lattice and heaps of the bulk (None: none), and its empty stretches (lo, hi rows).
    heaping: Heaping | None = None
    gaps: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    #: Values stored as float32 (a Stata or SAS export: 0.8 read back as 0.800000011920929):
    #: decoded values are rounded to float32 too, as the originals are.
    float32: bool = False
    #: UTC offsets (minutes) of a timestamp column written with offsets, and their shares:
    #: each generated timestamp is written with an offset drawn from them.
    utc_offsets: tuple[list[float], list[float]] | None = None

    def to_float(self, s: pd.Series) -> np.ndarray:
        """Column values as floats (NaN for missing and, in numeric columns, stray text)."""
        if getattr(self.spec, "number_format", None) or getattr(self.spec, "offset_format", None):
            x = column_numbers(s, self.spec)
            if self.spec.kind is ColumnKind.DATETIME and self.time_unit is not None:
                return x / dict(_TIME_UNITS)[self.time_unit]
            return x
        if self.spec.kind is ColumnKind.DATETIME:
            ns = datetime_ns(s, self.spec.datetime_format)
            if self.time_unit is None:
                return ns
            return ns / dict(_TIME_UNITS)[self.time_unit]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            return s.to_numpy(dtype=float, na_value=np.nan)
        return pd.to_numeric(s.astype("string").str.strip(), errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    def fit(self, s: pd.Series) -> np.ndarray:
        """Learn the line from a column; returns the column as floats."""
        if getattr(self.spec, "offset_format", None):
            from synthkit.tabular.formats import OffsetDatetimeFormat

            offsets = OffsetDatetimeFormat.from_dict(self.spec.offset_format).parse(stripped_text(s))[1]
            values, counts = np.unique(offsets[np.isfinite(offsets)], return_counts=True)
            self.utc_offsets = (values.tolist(), (counts / counts.sum()).tolist()) if len(values) else ([0.0], [1.0])
        if self.spec.kind is ColumnKind.DATETIME:
            ns = self.to_float(s)
            finite = ns[np.isfinite(ns)].astype(np.int64)
            self.time_unit = next(u for u, size in _TIME_UNITS if np.all(finite % size == 0))
            self.dtype = "datetime64[ns]"
            x = self.to_float(s)
        else:
            x = self.to_float(s)
            if pd.api.types.is_integer_dtype(s.dtype):
                self.dtype = "int64"
        finite = x[np.isfinite(x)]
        if len(finite) == 0:
            raise SynthkitError(f"column {self.spec.name!r} has no numeric values to model")
        self.minimum, self.maximum = float(finite.min()), float(finite.max())
        self.decimals = _decimals(finite)
        masses = np.asarray(self.spec.point_masses, dtype=float)
        bulk = finite[~np.isin(finite, masses)] if len(masses) else finite
        if len(bulk) == 0:
            bulk = finite
        self.bulk_minimum, self.bulk_maximum = float(bulk.min()), float(bulk.max())
        if self.spec.kind is not ColumnKind.DATETIME:
            self.heaping = Heaping.fit(bulk, _decimals(bulk), context=finite)
            self.gaps = find_gaps(bulk)
            self.float32 = self.decimals is None and bool(np.array_equal(finite.astype(np.float32).astype(float), finite))
        if self.dtype == "float64" and self.decimals is not None and self.decimals <= 0 and self.spec.missing_rate > 0:
            # Integers with gaps: pandas read them as floats; restore them as nullable ints.
            self.dtype = "Int64"
        return x

    def from_float(
        self, x: np.ndarray, rng: np.random.Generator | None = None, *, snap: bool = True, direction: int = 0
    ) -> pd.Series:
        """Floats back to the column's values: clipped to [min, max], rounded, typed. `x` is
        a fresh float64 array the caller hands over: it is worked on in place (a float
        column of the result is `x` itself — no further pages to fault in).

        Values that are not point masses are kept to the bulk's range, moved out of its
        empty stretches and onto its lattice and heaps (:mod:`synthkit.tabular.support`;
        `rng` draws each value's heap level). ``snap=False`` (values computed by a relation,
        such as a total) only rounds and types: no clipping, no heaps."""
        missing = ~np.isfinite(x)
        any_missing = bool(missing.any())
        if not snap:
            heaping = getattr(self, "heaping", None)
            if direction and heaping is not None:
                # Moved to satisfy an order relation: stay on the column's lattice, on the
                # side that keeps the order (an amount on multiples of 25 raised to 10,012.5
                # becomes 10,025).
                lattice = heaping.steps[0] * heaping.resolution
                units = x[~missing] / lattice
                x[~missing] = (np.ceil(units - 1e-9) if direction > 0 else np.floor(units + 1e-9)) * lattice
            return self._typed(x, missing, any_missing, direction, rng)
        heaping, gaps = getattr(self, "heaping", None), getattr(self, "gaps", None)
        bulk_range = getattr(self, "bulk_minimum", self.minimum), getattr(self, "bulk_maximum", self.maximum)
        if heaping is not None or (gaps is not None and len(gaps)) or bulk_range != (self.minimum, self.maximum):
            masses = np.asarray(self.spec.point_masses, dtype=float)
            free = np.flatnonzero(~missing & ~np.isin(x, masses)) if len(masses) else np.flatnonzero(~missing)
            v = np.clip(x[free], *bulk_range)
            if gaps is not None and len(gaps):
                close_gaps(v, gaps)
            if heaping is not None:
                heaping.apply(v, rng if rng is not None else np.random.default_rng(0), *bulk_range)
            x[free] = v
        np.clip(x, self.minimum, self.maximum, out=x)  # NaN stays NaN; ±inf become the bounds
        return self._typed(x, missing, any_missing, 0, rng)

    def _typed(
        self, x: np.ndarray, missing: np.ndarray, any_missing: bool, direction: int = 0,
        rng: np.random.Generator | None = None,
    ) -> pd.Series:
        """Round `x` (in place) to the column's decimals — to the nearest, or up (`direction`
        1) or down (−1) — and give it the column's type."""
        if any_missing:
            x[missing] = self.minimum  # placeholders, masked below
        if getattr(self, "float32", False):
            x = x.astype(np.float32).astype(np.float64)
        if self.decimals is not None:
            if direction:
                scale = 10.0**self.decimals
                rounded = np.round(x, self.decimals)
                off = (rounded - x) * direction < -1e-9 * np.maximum(np.abs(x), 1)
                x = np.where(off, rounded + direction / scale, rounded)
            else:
                x = np.round(x, self.decimals, out=x)
        if self.spec.kind is ColumnKind.DATETIME and getattr(self.spec, "offset_format", None):
            from synthkit.tabular.formats import OffsetDatetimeFormat

            size = dict(_TIME_UNITS)[self.time_unit or "ns"]
            ns = np.round(x) * size
            ns[missing] = np.nan
            values, probs = self.utc_offsets or ([0.0], [1.0])
            rng = np.random.default_rng(len(x)) if rng is None else rng
            offsets = np.asarray(values, dtype=float)[rng.choice(len(values), size=len(x), p=probs)]
            text = OffsetDatetimeFormat.from_dict(self.spec.offset_format).render(ns, offsets)
            return text.rename(self.spec.name)
        if getattr(self.spec, "number_format", None):
            from synthkit.tabular.formats import NumberFormat

            if any_missing:
                x[missing] = np.nan
            return NumberFormat.from_dict(self.spec.number_format).render(x).rename(self.spec.name)
        if self.spec.kind is ColumnKind.DATETIME:
            size = dict(_TIME_UNITS)[self.time_unit or "ns"]
            ns = np.round(x).astype(np.int64) * size
            t = pd.Series(ns.view("datetime64[ns]"), name=self.spec.name)
            t[missing] = pd.NaT
            if self.spec.datetime_format:
                text = t.dt.strftime(self.spec.datetime_format).astype(object)
                text[missing] = np.nan
                return text.rename(self.spec.name)
            return t
        if self.dtype == "int64" and not any_missing:
            return pd.Series(x.astype(np.int64), name=self.spec.name)
        if self.dtype in ("int64", "Int64"):
            return pd.Series(pd.array(np.where(missing, 0, x).astype(np.int64), dtype="Int64"), name=self.spec.name).mask(
                missing
            )
        if any_missing:
            x[missing] = np.nan
        return pd.Series(x, name=self.spec.name, copy=False)


_decimals = decimals  # the name this module used before support.py held it


# ---------------------------------------------------------------------------------------
# Categories, identifiers and constants, shared by both transformers
# ---------------------------------------------------------------------------------------


@dataclass
class CategoryMap:
    """Category values ↔ integer codes; rare categories pooled and redrawn by frequency.

    A category seen fewer than `min_count` times and in under `min_share` of the rows, or
    beyond the `max_categories` most frequent, joins a pool when the pool would hold at
    least two (the share condition keeps tiny tables from pooling everything): on the way back a pooled
    code draws one of the pool's categories in proportion to their training frequencies.
    Pooling keeps one-hot blocks small and keeps one-off labels — a re-identification risk —
    from being learned row by row. Missing values get a code of their own.
    """

    spec: ColumnSpec
    min_count: int = 5
    min_share: float = 0.01
    max_categories: int = 200
    categories: list[Any] = field(default_factory=list)
    pool: list[Any] = field(default_factory=list)
    pool_probs: list[float] = field(default_factory=list)
    has_missing: bool = False
    dtype: str = "object"
    #: What a pooled code decodes to, and with which probabilities, when that is not the pool
    #: itself: free text (a pool of at least `min_similar_pool` rare labels, such as job
    #: titles seen once) decodes to the frequent label most similar to each rare one, so a
    #: title seen fewer than `min_count` times is never emitted verbatim.
    emit: list[Any] = field(default_factory=list)
    emit_probs: list[float] = field(default_factory=list)
    min_similar_pool: int = 20
    #: Free text: a word chain generating new values for the pooled code (synthkit.tabular.text).
    text_model: Any = None

    def fit(self, s: pd.Series) -> None:
        """Learn the categories of a column."""
        self.has_missing = bool(s.isna().any())
        self.dtype = str(s.dtype)
        counts = s.value_counts(dropna=True, sort=False)
        # Most frequent first; ties in a stable, type-independent order.
        order = sorted(range(len(counts)), key=lambda i: (-int(counts.iloc[i]), str(counts.index[i])))
        values = [counts.index[i] for i in order]
        freq = np.array([int(counts.iloc[i]) for i in order])
        rare = ((freq < self.min_count) & (freq < self.min_share * freq.sum())) | (
            np.arange(len(freq)) >= self.max_categories
        )
        if rare.sum() >= 2:
            self.categories = [v for v, r in zip(values, rare) if not r]
            self.pool = [v for v, r in zip(values, rare) if r]
            self.pool_probs = (freq[rare] / freq[rare].sum()).tolist()
            self.emit, self.emit_probs, self.text_model = [], [], None
            if self.dtype == "object" and len(self.pool) >= self.min_similar_pool and self.categories:
                from synthkit.tabular.text import WordChain

                chain = WordChain(salt=f"synthkit:{self.spec.name}")
                # Every training title is forbidden: the pooled share stands for titles
                # nobody else has, so it is spent on new ones (a walk that spells "manager"
                # would inflate the frequent titles, which have codes of their own).
                # Frequent labels most like the rare ones: what a pooled draw becomes when no
                # word chain can be built, or it cannot spell enough new titles.
                self.emit, self.emit_probs = _similar_frequent(self.pool, freq[rare], self.categories, freq[~rare])
                if chain.fit(values, freq, values):
                    # New titles in the column's common words stand for the rare ones, which
                    # are not kept (only salted hashes, to never emit one).
                    self.text_model = chain
                    self.pool, self.pool_probs = [_RARE_TEXT], [1.0]
        else:
            self.categories = values

    @property
    def n_codes(self) -> int:
        """Number of codes: categories, the pool if any, missing if any."""
        return len(self.categories) + bool(self.pool) + self.has_missing

    def encode(self, s: pd.Series) -> np.ndarray:
        """Codes for a column. Values unseen in training join the pool if there is one,
        else the most frequent category; missing values take the missing code."""
        index = pd.Index(self.categories)
        codes = index.get_indexer(s)
        unseen = codes < 0
        if self.pool:
            pooled = pd.Index(self.pool).get_indexer(s) >= 0
            codes[pooled] = len(self.categories)
            unseen &= ~pooled
            codes[unseen] = len(self.categories)
        else:
            codes[unseen] = 0
        if self.has_missing:
            codes[s.isna().to_numpy()] = self.n_codes - 1
        return codes

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Codes back to values, pooled codes drawn from the pool."""
        if not self.has_missing and self.dtype != "object":
            # Typed categories (counts, flags): one typed lookup, no object array.
            try:
                table = np.asarray([*self.categories, *self.pool[:1]], dtype=self.dtype)
                pool = np.asarray(self.pool, dtype=self.dtype)
            except (TypeError, ValueError):
                table = pool = None
            if table is not None and pool is not None and table.dtype != object:
                values = table[codes]
                if self.pool:
                    pooled = np.flatnonzero(codes == len(self.categories))
                    values[pooled] = pool[rng.choice(len(pool), size=len(pooled), p=self.pool_probs)]
                return pd.Series(values, name=self.spec.name, copy=False)
        # One lookup through a table with a slot per code (the pool's slot is filled below,
        # the missing slot holds NaN): no boolean-mask passes over the rows.
        table = np.empty(self.n_codes, dtype=object)
        table[: len(self.categories)] = self.categories
        if self.has_missing:
            table[self.n_codes - 1] = np.nan
        values = table[codes]
        missing = np.zeros(len(codes), dtype=bool)
        if self.pool and getattr(self, "text_model", None) is not None:
            pooled = np.flatnonzero(codes == len(self.categories))
            new = self.text_model.sample(len(pooled), rng)
            if len(new) < len(pooled):  # a chain that mostly spells training titles
                draws = rng.choice(len(self.emit), size=len(pooled) - len(new), p=self.emit_probs)
                new += [self.emit[i] for i in draws]
            values[pooled] = np.array(new, dtype=object)
        elif self.pool:
            pooled = np.flatnonzero(codes == len(self.categories))
            emit = getattr(self, "emit", None)
            out_values, out_probs = (emit, self.emit_probs) if emit else (self.pool, self.pool_probs)
            draws = rng.choice(len(out_values), size=len(pooled), p=out_probs)
            values[pooled] = np.array(out_values, dtype=object)[draws]
        if self.has_missing:
            missing = codes == self.n_codes - 1
        out = pd.Series(values, name=self.spec.name, copy=False)
        if missing.any():
            if self.dtype.startswith(("int", "Int")):
                return out.astype("Int64")
            if self.dtype == "bool":
                return out.astype("boolean")
            if self.dtype.startswith("float"):
                return out.astype(float)
            return out
        if self.dtype == "object":
            return out
        try:
            return out.astype(self.dtype)
        except (TypeError, ValueError):
            return out


#: Stand-in pool entry of a free-text column whose rare values are not kept.
_RARE_TEXT = "\x00rare text"


def _similar_frequent(rare: list[Any], rare_counts: np.ndarray, frequent: list[Any], frequent_counts: np.ndarray) -> tuple[list[Any], list[float]]:
    """Each rare label's mass moved to its most similar frequent label (cosine of character
    3-gram TF-IDF vectors, case-folded: "Sr. Software Engineer" → "software engineer"); a
    rare label like no frequent one spreads its mass over the frequent labels by frequency.
    Returns the frequent labels a pooled code decodes to and their probabilities."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    text_f = [str(v).lower() for v in frequent]
    text_r = [str(v).lower() for v in rare]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), min_df=1).fit(text_f + text_r)
    sim = (vec.transform(text_r) @ vec.transform(text_f).T).tocsr()
    best = np.asarray(sim.argmax(axis=1)).ravel()
    matched = np.asarray(sim.max(axis=1).todense()).ravel() > 0
    mass = np.bincount(best[matched], weights=rare_counts[matched], minlength=len(frequent)).astype(float)
    spread = float(rare_counts[~matched].sum())
    mass += spread * frequent_counts / frequent_counts.sum()
    keep = np.flatnonzero(mass > 0)
    return [frequent[j] for j in keep], (mass[keep] / mass[keep].sum()).tolist()


@dataclass
class Regenerated:
    """Identifier and constant columns: not modelled, produced fresh on sampling.

    Identifiers keep the shape of the originals (``CUST-004217`` → ``CUST-918305``: digits
    for digits, letters for letters, punctuation kept; UUIDs as new random UUIDs; integers
    as distinct integers over the observed range) and are unique within a sample; characters
    every original shares ("LN-" of "LN-0001234") are kept. No original identifier is
    copied: values are drawn afresh, so one matches a real id only by chance.
    """

    spec: ColumnSpec
    template: str = ""
    is_uuid: bool = False
    integer_range: tuple[int, int] | None = None
    dtype: str = "object"
    #: Positions of the template that are literal characters, not placeholders.
    literal: list[int] = field(default_factory=list)

    def fit(self, s: pd.Series) -> None:
        """Learn the shape of the column's values."""
        self.dtype = str(s.dtype)
        if self.spec.kind is not ColumnKind.IDENTIFIER:
            return
        nonnull = s.dropna()
        if pd.api.types.is_numeric_dtype(s.dtype):
            self.integer_range = (int(nonnull.min()), int(nonnull.max()))
            return
        text = nonnull.astype(str)
        if text.str.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").all():
            self.is_uuid = True
            return
        shapes = text.map(_shape)
        self.template = str(shapes.mode().iloc[0])
        # Characters every value of that shape shares ("LN-" of "LN-0001234") are kept as
        # they are; before, the letters were drawn afresh ("RW-4587355").
        same = text[shapes == self.template]
        chars = np.array([list(v) for v in same.iloc[:10_000]]) if len(same) else np.zeros((0, 0))
        if chars.size and len(same) >= 2:
            self.literal = [int(i) for i in range(chars.shape[1]) if (chars[:, i] == chars[0, i]).all()]
            self.template = "".join(chars[0, i] if i in self.literal else c for i, c in enumerate(self.template))

    def generate(self, n: int, rng: np.random.Generator) -> pd.Series:
        """`n` fresh values, missing at the column's training rate."""
        name = self.spec.name
        if self.spec.kind is ColumnKind.CONSTANT:
            out = pd.Series([self.spec.constant_value] * n, name=name, dtype=object)
        elif self.integer_range is not None:
            lo, hi = self.integer_range
            span = max(hi - lo + 1, 2 * n)
            out = pd.Series(lo + rng.choice(span, size=n, replace=False), name=name)
        elif self.is_uuid:
            raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
            out = pd.Series([str(uuid.UUID(bytes=r.tobytes(), version=4)) for r in raw], name=name)
        else:
            out = pd.Series(_fill_template(self.template, n, rng, getattr(self, "literal", [])), name=name)
        if self.spec.missing_rate > 0:
            missing = rng.random(n) < self.spec.missing_rate
            if self.spec.constant_value is None and self.spec.kind is ColumnKind.CONSTANT:
                missing[:] = True
            out = out.astype(object).mask(missing)
        if self.spec.kind is ColumnKind.CONSTANT and (out.notna().all() or out.isna().all()):
            try:
                out = out.astype(self.dtype)
            except (TypeError, ValueError):
                pass
        return out


def _shape(value: str) -> str:
    return "".join("9" if c.isdigit() else "A" if c.isupper() else "a" if c.islower() else c for c in value)


def _fill_template(template: str, n: int, rng: np.random.Generator, literal: list[int] | None = None) -> list[str]:
    """Unique strings of a shape: 9 → digit, A → upper-case letter, a → lower-case letter;
    positions in `literal` are kept as written."""
    alphabets = {"9": string.digits, "A": string.ascii_uppercase, "a": string.ascii_lowercase}
    fixed = set(literal or ())
    variable = [i for i, c in enumerate(template) if c in alphabets and i not in fixed]
    capacity = float(np.prod([len(alphabets[template[i]]) for i in variable])) if variable else 1.0
    if capacity < n:
        # Not enough room for n distinct values: widen with a numeric suffix.
        template += "-" + "9" * (len(str(n)) + 1)
        variable = [i for i, c in enumerate(template) if c in alphabets and i not in fixed]
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        need = n - len(out)
        chars = np.array([list(template)] * need, dtype="<U1")
        for i in variable:
            alphabet = np.array(list(alphabets[template[i]]))
            chars[:, i] = alphabet[rng.integers(0, len(alphabet), size=need)]
        for row in chars:
            v = "".join(row)
            if v not in seen:
                seen.add(v)
                out.append(v)
    return out


# ---------------------------------------------------------------------------------------
# The transformers
# ---------------------------------------------------------------------------------------


class TabularTransformer(ABC):
    """Common interface and bookkeeping of the reversible transformers."""

    name: str = ""

    def __init__(self, schema: Schema | None = None, *, seed: int = 0) -> None:
        self.schema = schema
        self.seed = seed
        self.spans: list[Span] = []
        self.columns: list[str] = []
        self.n_rows_fitted = 0
        self._regenerated: dict[str, Regenerated] = {}
        #: Columns drawn by a conditional relation in every row (see :meth:`fit`): not
        #: modelled, only their codec is kept, to type the drawn values.
        self._derived: dict[str, NumberLine | CategoryMap] = {}
        #: Columns the relations need that the table lacks (a loan schedule's payment
        #: count): modelled beside the table's columns, never written out.
        self._hidden: list[ColumnSpec] = []

    @property
    def output_dim(self) -> int:
        """Width of the transformed matrix."""
        return sum(s.width for s in self.spans)

    def fit(self, df: pd.DataFrame) -> TabularTransformer:
        """Learn the encoding of every column of `df` (schema inferred if not given)."""
        if len(df) == 0:
            raise SynthkitError("cannot fit a transformer on a table with no rows")
        if self.schema is None:
            self.schema = infer_schema(df)
        missing = [c for c in self.schema.names if c not in df.columns]
        if missing:
            raise SynthkitError(f"column {missing[0]!r} of the schema is not in the data")
        self.columns = list(self.schema.names)
        self.n_rows_fitted = len(df)
        self._regenerated = {}
        for spec in self.schema.columns:
            if spec.kind in (ColumnKind.IDENTIFIER, ColumnKind.CONSTANT):
                reg = Regenerated(spec)
                reg.fit(df[spec.name])
                self._regenerated[spec.name] = reg
        self._derived = {}
        relations = getattr(self.schema, "relations", None)
        if relations:
            from synthkit.tabular.relations import drawn_columns

            # A column a conditional relation draws given its key in every row is not
            # modelled: its generated value would be replaced by an independent draw, which
            # breaks whatever the model tied to it (on the lending table, the rate drawn given
            # sub-grade and month: C2ST AUC 0.905 modelled, 0.860 left out). Columns a formula
            # computes stay modelled: their computed value agrees with their sources, and the
            # encoder seeing them helps it learn those sources' joint (the mortgage table:
            # 0.783 with its loan-to-price ratio modelled, 0.831 without).
            specs = {c.name: c for c in self.schema.columns}
            for name in drawn_columns(df, relations):
                spec = specs[name]
                codec: NumberLine | CategoryMap
                if spec.kind in NUMERIC_KINDS:
                    codec = NumberLine(spec)
                else:
                    codec = CategoryMap(spec, min_count=1, max_categories=len(df))
                codec.fit(df[name])
                self._derived[name] = codec
        self._hidden = []
        hidden = self._hidden_columns(df)
        if hidden:
            self._hidden = list(infer_schema(pd.DataFrame(hidden)).columns)
            df = df.assign(**hidden)
        self._fit(df)
        return self

    def _hidden_columns(self, df: pd.DataFrame) -> dict[str, pd.Series]:
        """The hidden columns' values in the rows of `df` (see :attr:`_hidden`)."""
        relations = getattr(self.schema, "relations", None)
        if not relations:
            return {}
        from synthkit.tabular.relations import hidden_columns

        assert self.schema is not None
        return hidden_columns(df, {c.name: c for c in self.schema.columns}, relations)

    def transform(self, df: pd.DataFrame, seed: int | None = None, dtype: type = np.float32) -> np.ndarray:
        """Encode `df` as a matrix of width :attr:`output_dim`.

        float32 (the default, what models consume) restores continuous values to within
        about 1e-7 of a mode's ±4σ span; float64 restores them exactly to their decimals.
        """
        self._check_fitted()
        missing = [c for c in self.columns if c not in df.columns and c not in self._regenerated]
        if missing:
            raise SynthkitError(f"column {missing[0]!r} is missing from the data to transform")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        out = np.zeros((len(df), self.output_dim), dtype=dtype)
        if getattr(self, "_hidden", None):
            df = df.assign(**self._hidden_columns(df))
        self._transform(df, out, rng)
        return out

    def inverse_transform(self, data: np.ndarray, seed: int | None = None) -> pd.DataFrame:
        """Decode a matrix of width :attr:`output_dim` back to a DataFrame in the original
        column order and types. One-hot blocks may hold probabilities or logits: the largest
        entry wins."""
        self._check_fitted()
        data = np.asarray(data)
        if data.ndim != 2 or data.shape[1] != self.output_dim:
            raise SynthkitError(f"expected a matrix with {self.output_dim} columns, got shape {data.shape}")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        return self._assemble(self._inverse(data, rng), len(data), rng)

    def inverse_codes(
        self, codes: np.ndarray, offsets: np.ndarray, values: np.ndarray, seed: int | None = None
    ) -> pd.DataFrame:
        """Decode rows given compactly, as :meth:`OutputHeads.sample_codes` draws them: the
        chosen entry of every ``modes``/``categories`` span (rows × blocks, span order), the
        offset of every numeric column (rows × ``modes`` spans; ignored for non-Gaussian
        modes) and every ``value`` span (rows × value spans). Same result as
        :meth:`inverse_transform` of the matrix these describe, without building it."""
        self._check_fitted()
        codes, offsets, values = np.asarray(codes), np.asarray(offsets), np.asarray(values)
        blocks = [sp for sp in self.spans if sp.kind in ("modes", "categories")]
        n_modes = sum(sp.kind == "modes" for sp in self.spans)
        n_values = sum(sp.kind == "value" for sp in self.spans)
        n = len(codes)
        if codes.shape != (n, len(blocks)) or offsets.shape != (n, n_modes) or values.shape != (n, n_values):
            raise SynthkitError(
                f"expected codes, offsets and values of widths {len(blocks)}, {n_modes} and {n_values}, "
                f"got shapes {codes.shape}, {offsets.shape} and {values.shape}"
            )
        rng = np.random.default_rng(self.seed if seed is None else seed)
        return self._assemble(self._inverse_codes(codes, offsets, values, rng), n, rng)

    def _inverse_codes(
        self, codes: np.ndarray, offsets: np.ndarray, values: np.ndarray, rng: np.random.Generator
    ) -> dict[str, pd.Series]:
        """Generic: rebuild the matrix and invert it (subclasses may decode directly)."""
        data = np.zeros((len(codes), self.output_dim))
        rows = np.arange(len(codes))
        b = m = v = 0
        for span in self.spans:
            if span.kind in ("modes", "categories"):
                data[rows, span.start + codes[:, b]] = 1.0
                b += 1
                if span.kind == "modes":
                    data[:, span.start - 1] = offsets[:, m]
                    m += 1
            elif span.kind == "value":
                data[:, span.start] = values[:, v]
                v += 1
        return self._inverse(data, rng)

    def _assemble(self, decoded: dict[str, pd.Series], n: int, rng: np.random.Generator) -> pd.DataFrame:
        for name, reg in self._regenerated.items():
            decoded[name] = reg.generate(n, rng)
        derived = getattr(self, "_derived", {})
        for name, codec in derived.items():
            # Empty until the relation draws it (typed, so the drawn values keep the type).
            if isinstance(codec, NumberLine):
                decoded[name] = codec.from_float(np.full(n, np.nan), snap=False)
            else:
                decoded[name] = pd.Series(np.full(n, None, dtype=object), name=name)
        relations = getattr(self.schema, "relations", None)
        if relations and n:
            from synthkit.tabular.relations import enforce

            masses = {c.name: c.point_masses for c in self.schema.columns if c.point_masses}
            enforce(decoded, relations, self._codec, rng, derived=frozenset(derived), point_masses=masses)
        for name, codec in derived.items():
            if isinstance(codec, CategoryMap) and codec.dtype != "object" and decoded[name].notna().all():
                try:
                    decoded[name] = decoded[name].astype(codec.dtype)
                except (TypeError, ValueError):
                    pass  # keeps the values as objects
        # copy=False also skips pandas' consolidation, which would stack the object columns
        # into one 2-D block (a third of the decoding time at 1M rows, for nothing).
        return pd.DataFrame({c: _positional(decoded[c], n) for c in self.columns}, copy=False)

    def _number_lines(self) -> dict[str, NumberLine]:
        """The number line of every numeric column (relations compute through them)."""
        return {}

    def _category_maps(self) -> dict[str, CategoryMap]:
        return {}

    def _codec(self, column: str) -> tuple[Any, Any]:
        """(values → floats, floats → values) for a numeric or number-valued column; KeyError
        for text categories. Used by :func:`synthkit.tabular.relations.enforce`."""
        derived = getattr(self, "_derived", {}).get(column)
        line = derived if isinstance(derived, NumberLine) else self._number_lines().get(column)
        if line is not None:
            return line.to_float, lambda x, direction=0, line=line: line.from_float(
                np.array(x, dtype=float), snap=False, direction=direction
            )
        cmap = derived if isinstance(derived, CategoryMap) else self._category_maps().get(column)
        if cmap is None or cmap.dtype in ("object", "bool", "boolean", "category", "string", "str"):
            raise KeyError(column)

        def to_num(s: pd.Series) -> np.ndarray:
            return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

        def from_num(x: np.ndarray, direction: int = 0, cmap: CategoryMap = cmap) -> pd.Series:
            x = np.asarray(x, dtype=float)
            missing = ~np.isfinite(x)
            if cmap.dtype.startswith(("int", "Int", "uint")):
                rounder = {0: np.round, 1: np.ceil, -1: np.floor}[direction]
                ints = rounder(np.where(missing, 0, x)).astype(np.int64)
                if missing.any():
                    return pd.Series(pd.array(ints, dtype="Int64"), name=column).mask(missing)
                return pd.Series(ints, name=column).astype(cmap.dtype)
            return pd.Series(x, name=column)

        return to_num, from_num

    def _check_fitted(self) -> None:
        if not self.columns:
            raise SynthkitError("the transformer is not fitted: call fit() first")

    def _modelled(self) -> list[ColumnSpec]:
        assert self.schema is not None
        derived = getattr(self, "_derived", {})
        own = [c for c in self.schema.columns if c.name not in self._regenerated and c.name not in derived]
        return own + list(getattr(self, "_hidden", []))

    @abstractmethod
    def describe(self) -> list[dict[str, Any]]:
        """Per column: kind, how it is encoded, and how many model columns it takes."""

    @abstractmethod
    def _fit(self, df: pd.DataFrame) -> None: ...

    @abstractmethod
    def _transform(self, df: pd.DataFrame, out: np.ndarray, rng: np.random.Generator) -> None: ...

    @abstractmethod
    def _inverse(self, data: np.ndarray, rng: np.random.Generator) -> dict[str, pd.Series]: ...


def log_scale_wanted(values: np.ndarray) -> bool:
    """Whether a numeric column's modes are fitted to the logs of its values (the values
    outside its point masses): all positive, spanning at least :data:`LOG_SCALE_MIN_RATIO`
    (largest / smallest), and more symmetric as logs (smaller absolute skewness).

    Why: a mixture of Gaussians on the raw values of a column spanning orders of magnitude
    gives its small values a mode wide against them, whose lower tail crosses the minimum and
    is clipped there. The credit_card table's `share` (0.0001 to 0.9; a quarter of its rows
    below 0.0025, the months without spending) had one mode of mean 0.0043 and σ 0.0087
    (12 % of the mixture below the minimum): a sixth of the synthetic rows came back on the
    minimum, which no real row holds twice, and the column alone was detected at AUC 0.69.
    Incomes, balances and amounts are the common case (mortgage `loanamt`: skewness 3.3 raw,
    −0.3 as logs). A column no more symmetric as logs (an age, a percentage of 0–100) keeps
    its raw scale. Measured against the narrower rule "only where the raw mixture puts ≥ 2 %
    below the minimum" (docs/real_tables.md, 2026-12-07): this one is better on four of the
    six real tables, worse on the messy simulated data."""
    values = values[np.isfinite(values)]
    if len(values) < 20 or values.min() <= 0 or values.max() < LOG_SCALE_MIN_RATIO * values.min():
        return False
    from scipy.stats import skew

    return bool(abs(skew(np.log(values))) < abs(skew(values)))


def _positional(s: pd.Series, n: int) -> pd.Series:
    """`s` indexed 0..n−1. Decoded columns mostly are already; reset_index would copy them
    regardless (0.09 s of fresh memory for a million rows of 19 columns)."""
    if isinstance(s.index, pd.RangeIndex) and s.index.equals(pd.RangeIndex(n)):
        return s
    return s.reset_index(drop=True)


@dataclass
class _NumericModes:
    """Mode-specific normalization state of one numeric column."""

    line: NumberLine
    modes: GaussianModes | None = None
    point_masses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    has_missing: bool = False
    #: The Gaussian modes are over log(value) (see :func:`log_scale_wanted`), not the value.
    log_scale: bool = False

    @property
    def n_gaussian(self) -> int:
        return 0 if self.modes is None else self.modes.n_modes

    @property
    def width(self) -> int:
        return 1 + self.n_gaussian + len(self.point_masses) + self.has_missing


class ModeSpecificTransformer(TabularTransformer):
    """Mode-specific normalization (Xu et al. 2019; paper 001 §6.1); see the module docstring.

    Parameters: `max_modes` (10) and `weight_threshold` (0.005) of the Dirichlet-process
    mixture, as in CTGAN; `mode_assignment` "sample" draws each value's mode from its
    posterior as CTGAN/TVAE do (offsets then follow each mode's full bell shape, which is what
    the model's Gaussian offset head assumes), "argmax" takes the most probable mode;
    `max_fit_rows` caps the rows (a seeded random subset) used to fit each mixture;
    `min_category_count` and `max_categories` govern rare-category pooling (:class:`CategoryMap`);
    `log_scale` (True) fits the modes of a skewed positive column to the logs of its values
    (:func:`log_scale_wanted`; ``--check-encoding`` says "Gaussian mode(s) of log(value)").
    """

    name = "mode_specific"

    def __init__(
        self,
        schema: Schema | None = None,
        *,
        max_modes: int = 10,
        weight_threshold: float = 0.005,
        mode_assignment: Literal["sample", "argmax"] = "sample",
        max_fit_rows: int = 1_000_000,
        min_category_count: int = 5,
        max_categories: int = 200,
        log_scale: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(schema, seed=seed)
        if mode_assignment not in ("sample", "argmax"):
            raise SynthkitError(f"mode_assignment must be 'sample' or 'argmax', not {mode_assignment!r}")
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.mode_assignment = mode_assignment
        self.max_fit_rows = max_fit_rows
        self.min_category_count = min_category_count
        self.max_categories = max_categories
        #: Fit a skewed positive column's modes on its logs where :func:`log_scale_wanted` says so.
        self.log_scale = log_scale
        self._numeric: dict[str, _NumericModes] = {}
        self._categories: dict[str, CategoryMap] = {}

    def _fit(self, df: pd.DataFrame) -> None:
        rng = np.random.default_rng(self.seed)
        self._numeric, self._categories = {}, {}
        continuous_parts: list[np.ndarray] = []
        for spec in self._modelled():
            s = df[spec.name]
            if spec.kind in NUMERIC_KINDS:
                line = NumberLine(spec)
                x = line.fit(s)
                state = _NumericModes(line, has_missing=bool(np.isnan(x).any()))
                masses = np.array(spec.point_masses, dtype=float)
                # Only point masses actually present in the data are modes.
                state.point_masses = masses[np.isin(masses, x)] if len(masses) else masses
                part = x[np.isfinite(x) & ~np.isin(x, state.point_masses)]
                if len(part) > self.max_fit_rows:
                    part = rng.choice(part, size=self.max_fit_rows, replace=False)
                if self.log_scale and spec.kind is not ColumnKind.DATETIME and log_scale_wanted(part):
                    state.log_scale = True
                    part = np.log(part)
                continuous_parts.append(part)
                self._numeric[spec.name] = state
            elif spec.kind in CATEGORY_KINDS:
                cmap = CategoryMap(spec, min_count=self.min_category_count, max_categories=self.max_categories)
                cmap.fit(s)
                self._categories[spec.name] = cmap
        fitted = fit_modes_batch(
            [p for p in continuous_parts if len(p)], max_modes=self.max_modes, weight_threshold=self.weight_threshold
        )
        it = iter(fitted)
        for state, part in zip(self._numeric.values(), continuous_parts):
            state.modes = next(it) if len(part) else None

        self.spans = []
        start = 0
        for spec in self._modelled():
            if spec.name in self._numeric:
                state = self._numeric[spec.name]
                self.spans.append(Span(spec.name, "offset", start, 1))
                self.spans.append(Span(spec.name, "modes", start + 1, state.width - 1, gaussian=state.n_gaussian))
                start += state.width
            else:
                width = self._categories[spec.name].n_codes
                self.spans.append(Span(spec.name, "categories", start, width))
                start += width

    def _number_lines(self) -> dict[str, NumberLine]:
        return {c: st.line for c, st in self._numeric.items()}

    def _category_maps(self) -> dict[str, CategoryMap]:
        return self._categories

    def _transform(self, df: pd.DataFrame, out: np.ndarray, rng: np.random.Generator) -> None:
        for span in self.spans:
            if span.kind == "offset":
                state = self._numeric[span.column]
                x = state.line.to_float(df[span.column])
                for lo in range(0, len(x), CHUNK_ROWS):
                    self._encode_numeric(state, x[lo : lo + CHUNK_ROWS], out[lo : lo + CHUNK_ROWS, span.start :], rng)
            elif span.kind == "categories":
                codes = self._categories[span.column].encode(df[span.column])
                out[np.arange(len(codes)), span.start + codes] = 1.0

    def _encode_numeric(self, state: _NumericModes, x: np.ndarray, out: np.ndarray, rng: np.random.Generator) -> None:
        """Write offset and mode one-hot for a chunk of one numeric column into `out`."""
        n = len(x)
        mode = np.empty(n, dtype=np.int64)
        offset = np.zeros(n)
        missing = np.isnan(x)
        masses = np.isin(x, state.point_masses) & ~missing
        if len(state.point_masses):
            mode[masses] = state.n_gaussian + np.searchsorted(state.point_masses, x[masses])
        mode[missing] = state.width - 2  # last code (offset column excluded)
        cont = ~(missing | masses)
        if cont.any():
            if state.modes is None:
                raise SynthkitError(f"column {state.line.spec.name!r} has values outside its point masses")
            xc = x[cont]
            if getattr(state, "log_scale", False):
                xc = np.log(np.maximum(xc, state.line.bulk_minimum))  # a value below the bulk: its edge
            logp = state.modes.log_posterior(xc)
            if self.mode_assignment == "argmax" or state.n_gaussian == 1:
                k = logp.argmax(axis=1)
            else:
                p = np.exp(logp - logp.max(axis=1, keepdims=True))
                cdf = np.cumsum(p, axis=1)
                u = rng.random(len(xc)) * cdf[:, -1]
                k = np.minimum((cdf < u[:, None]).sum(axis=1), state.n_gaussian - 1)
            mode[cont] = k
            offset[cont] = (xc - state.modes.means[k]) / (STD_MULTIPLIER * state.modes.stds[k])
        out[:, 0] = offset
        out[np.arange(n), 1 + mode] = 1.0

    def _inverse(self, data: np.ndarray, rng: np.random.Generator) -> dict[str, pd.Series]:
        picks: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        for span in self.spans:
            if span.kind == "offset":
                width = self._numeric[span.column].width
                mode = data[:, span.start + 1 : span.start + width].argmax(axis=1)
                picks[span.column] = (mode, data[:, span.start])
            elif span.kind == "categories":
                picks[span.column] = (data[:, span.start : span.start + span.width].argmax(axis=1), None)
        return self._decode_picks(picks, rng)

    def _inverse_codes(
        self, codes: np.ndarray, offsets: np.ndarray, values: np.ndarray, rng: np.random.Generator
    ) -> dict[str, pd.Series]:
        picks: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        blocks = [sp for sp in self.spans if sp.kind in ("modes", "categories")]
        m = 0
        for b, span in enumerate(blocks):
            if span.kind == "modes":
                picks[span.column] = (codes[:, b], offsets[:, m])
                m += 1
            else:
                picks[span.column] = (codes[:, b], None)
        return self._decode_picks(picks, rng)

    def _decode_picks(
        self, picks: dict[str, tuple[np.ndarray, np.ndarray | None]], rng: np.random.Generator
    ) -> dict[str, pd.Series]:
        """Columns from each column's chosen mode or category and, for numeric columns, offset."""
        decoded: dict[str, pd.Series] = {}
        # Scratch columns reused by every numeric column: native indices (take() is ~3×
        # faster with them than with int16 codes), the Gaussian mode, a float64 column.
        n = len(next(iter(picks.values()))[0]) if picks else 0
        index, k, scratch = np.empty(n, np.intp), np.empty(n, np.intp), np.empty(n)
        for column, (code, offset) in picks.items():
            if offset is None:
                decoded[column] = self._categories[column].decode(code, rng)
                continue
            state = self._numeric[column]
            # Every row's value through one table per quantity (mode means, scales, point
            # masses; NaN for the missing mode) and in-place arithmetic: no boolean-mask
            # indexing and one fresh array per column, the result (first-touch page faults
            # are a large part of the cost).
            n_gauss, n_pm = state.n_gaussian, len(state.point_masses)
            fixed = np.full(state.width - 1, np.nan)
            fixed[n_gauss : n_gauss + n_pm] = state.point_masses
            np.copyto(index, code)
            if n_gauss:
                assert state.modes is not None
                np.minimum(index, n_gauss - 1, out=k)
                x = np.take(STD_MULTIPLIER * state.modes.stds, k)
                x *= offset
                # mode="clip": take() buffers `out` in its default "raise" mode (codes are in
                # range by construction).
                x += np.take(state.modes.means, k, out=scratch, mode="clip")
                if getattr(state, "log_scale", False):
                    # Kept to the bulk's range on the log scale first: exp cannot overflow.
                    np.clip(x, np.log(state.line.bulk_minimum), np.log(state.line.bulk_maximum), out=x)
                    np.exp(x, out=x)
                if n_pm or state.has_missing:
                    np.copyto(x, np.take(fixed, index, out=scratch, mode="clip"), where=code >= n_gauss)
            else:
                x = np.take(fixed, index)
            decoded[column] = state.line.from_float(x, rng)
        return decoded

    def describe(self) -> list[dict[str, Any]]:
        """Per column: its encoding and width (modes found, point masses, categories, pool)."""
        rows = []
        assert self.schema is not None
        for spec in self.schema.columns:
            if spec.name in self._numeric:
                st = self._numeric[spec.name]
                detail = f"{st.n_gaussian} Gaussian mode(s)" + (" of log(value)" if getattr(st, "log_scale", False) else "")
                if len(st.point_masses):
                    detail += f", {len(st.point_masses)} point mass(es)"
                width = st.width
            elif spec.name in self._categories:
                cm = self._categories[spec.name]
                detail = f"{len(cm.categories)} categories" + (f", {len(cm.pool)} pooled" if cm.pool else "")
                width = cm.n_codes
            elif spec.name in getattr(self, "_derived", {}):
                detail, width = "drawn given its key (a conditional relation)", 0
            else:
                detail, width = "regenerated", 0
            if (spec.name in self._numeric and self._numeric[spec.name].has_missing) or (
                spec.name in self._categories and self._categories[spec.name].has_missing
            ):
                detail += ", missing"
            rows.append({"column": spec.name, "kind": spec.kind.value, "encoding": detail, "width": width})
        return rows


class MinMaxLogTransformer(TabularTransformer):
    """The paper's pre-processing (paper 001 §6.2): log, then min-max to [0, 1].

    Numeric columns: ``y = log(x − min + 1)`` (the paper's log transform, shifted so that zero
    and negative values are defined), then min-max scaled. Categorical columns: codes
    0..K−1 min-max scaled to [0, 1]. Inverse: clip to [0, 1], de-normalise, round categorical
    codes to the nearest integer, undo the log. Missing values, which the paper's data did
    not have, get a 0/1 indicator column.
    """

    name = "minmax_log"

    def __init__(self, schema: Schema | None = None, *, seed: int = 0) -> None:
        super().__init__(schema, seed=seed)
        self._lines: dict[str, NumberLine] = {}
        self._log_range: dict[str, tuple[float, float]] = {}
        self._categories: dict[str, CategoryMap] = {}
        self._has_missing: dict[str, bool] = {}

    def _fit(self, df: pd.DataFrame) -> None:
        self._lines, self._log_range, self._categories, self._has_missing = {}, {}, {}, {}
        self.spans = []
        start = 0
        for spec in self._modelled():
            s = df[spec.name]
            if spec.kind in NUMERIC_KINDS:
                line = NumberLine(spec)
                x = line.fit(s)
                y = np.log(x[np.isfinite(x)] - line.minimum + 1.0)
                self._lines[spec.name] = line
                self._log_range[spec.name] = (float(y.min()), float(y.max()))
                self._has_missing[spec.name] = bool(np.isnan(x).any())
            else:
                # No pooling: the paper's codes are the categories themselves.
                cmap = CategoryMap(spec, min_count=0, max_categories=10**9)
                cmap.fit(s.dropna())
                # Codes follow the values' order, so that a count's neighbouring codes are
                # neighbouring counts, as in the paper's min-max scaling of categoricals.
                try:
                    cmap.categories = sorted(cmap.categories)
                except TypeError:
                    cmap.categories = sorted(cmap.categories, key=str)
                self._categories[spec.name] = cmap
                self._has_missing[spec.name] = bool(s.isna().any())
            self.spans.append(Span(spec.name, "value", start, 1))
            start += 1
            if self._has_missing[spec.name]:
                self.spans.append(Span(spec.name, "value", start, 1))
                start += 1

    def _number_lines(self) -> dict[str, NumberLine]:
        return self._lines

    def _category_maps(self) -> dict[str, CategoryMap]:
        return self._categories

    def describe(self) -> list[dict[str, Any]]:
        """Per column: kind, how it is encoded, and how many model columns it takes."""
        assert self.schema is not None
        rows = []
        for spec in self.schema.columns:
            if spec.name in self._regenerated:
                detail, width = "regenerated", 0
            elif spec.name in getattr(self, "_derived", {}):
                detail, width = "drawn given its key (a conditional relation)", 0
            else:
                detail = "log, min-max" if spec.name in self._lines else (
                    f"{len(self._categories[spec.name].categories)} codes, min-max"
                )
                width = 1 + self._has_missing[spec.name]
                if self._has_missing[spec.name]:
                    detail += ", missing indicator"
            rows.append({"column": spec.name, "kind": spec.kind.value, "encoding": detail, "width": width})
        return rows

    def _transform(self, df: pd.DataFrame, out: np.ndarray, rng: np.random.Generator) -> None:
        col = 0
        for spec in self._modelled():
            s = df[spec.name]
            if spec.name in self._lines:
                line = self._lines[spec.name]
                x = line.to_float(s)
                lo, hi = self._log_range[spec.name]
                y = np.log(np.clip(x, line.minimum, line.maximum) - line.minimum + 1.0)
                v = (y - lo) / (hi - lo) if hi > lo else np.zeros_like(y)
                missing = np.isnan(x)
            else:
                cmap = self._categories[spec.name]
                missing = s.isna().to_numpy()
                codes = cmap.encode(s.fillna(cmap.categories[0])).astype(float)
                v = codes / max(len(cmap.categories) - 1, 1)
            out[:, col] = np.where(missing, 0.0, v)
            col += 1
            if self._has_missing[spec.name]:
                out[:, col] = missing
                col += 1

    def _inverse(self, data: np.ndarray, rng: np.random.Generator) -> dict[str, pd.Series]:
        decoded: dict[str, pd.Series] = {}
        col = 0
        for spec in self._modelled():
            v = np.clip(data[:, col].astype(float), 0.0, 1.0)
            col += 1
            missing = np.zeros(len(v), dtype=bool)
            if self._has_missing[spec.name]:
                missing = data[:, col] > 0.5
                col += 1
            if spec.name in self._lines:
                line = self._lines[spec.name]
                lo, hi = self._log_range[spec.name]
                x = np.exp(lo + v * (hi - lo)) - 1.0 + line.minimum
                x[missing] = np.nan
                decoded[spec.name] = line.from_float(x, rng)
            else:
                cmap = self._categories[spec.name]
                codes = np.rint(v * max(len(cmap.categories) - 1, 1)).astype(np.int64)
                values = cmap.decode(codes, rng)
                decoded[spec.name] = values.astype(object).mask(missing) if missing.any() else values
        return decoded


TRANSFORMERS: dict[str, type[TabularTransformer]] = {
    ModeSpecificTransformer.name: ModeSpecificTransformer,
    MinMaxLogTransformer.name: MinMaxLogTransformer,
}


def build_transformer(name: str, schema: Schema | None = None, **options: Any) -> TabularTransformer:
    """The transformer registered under `name` ("mode_specific" or "minmax_log")."""
    if name not in TRANSFORMERS:
        raise SynthkitError(f"unknown transformer {name!r} (use one of: {', '.join(TRANSFORMERS)})")
    return TRANSFORMERS[name](schema, **options)
