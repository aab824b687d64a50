"""Numbers and timestamps written with a display format in text columns.

Bank exports hold numbers as text: ``"$1,200.00"``, ``"1.234,56 €"``, ``"12.5%"``,
``"(500.00)"``, ``"CHF 1'234.50"``, and timestamps with UTC offsets such as
``"2021-01-01T10:00:00.123+05:30"``. Read from a CSV by pandas with
``keep_default_na=False, na_values=[""]`` such a column is ``object`` dtype with ``str``
cells or NaN. This module recognises the format of such a column, parses it to numbers and
writes numbers back in the same format, so that a synthetic column looks like the real one.

Two formats, each a frozen dataclass with ``parse``, ``render``, ``to_dict``/``from_dict`` and
``describe``, and a detector for each:

* :class:`NumberFormat` / :func:`detect_number_format` — prefix, suffix, thousands
  separator, decimal mark, decimals and the way negatives are written.
* :class:`OffsetDatetimeFormat` / :func:`detect_offset_datetime_format` — ISO-like
  timestamps with a UTC offset (``+01:00``, ``+0100``, ``+01``, ``Z``).

:func:`looks_formatted` is a cheap pre-check (a regex over at most 200 values) that says
whether calling the detectors is worth it.

Conventions
-----------

**The number shown is the number.** ``"12.5%"`` is 12.5 (not 0.125), ``"$1.2k"`` is 1.2 with
suffix ``"k"``: prefixes and suffixes are display only; nothing is scaled.

**Exact round trips.** Parsing is strict: a value parses only when rendering the parsed
number gives back exactly the same text. So for every value ``v`` that parses,
``fmt.render(fmt.parse(v)) == v``. Values that are written differently from the format
(another currency, a missing thousands separator in ``"1234.50"`` where the column writes
``"1,234.50"``, a trailing zero ``"4.10%"`` in a column that writes as few decimals as
needed, stray text such as ``"n/a"``) do not parse: they come back as NaN, and the
detector's share counts them as non-matching. Canonical numbers have no leading zeros
(``"007"`` does not parse) and at least one digit before the decimal mark (``".5"`` does
not). Numbers are exact up to 15 significant digits (float64).

**Decimals.** ``decimals=k`` writes exactly *k* decimals (``"$1,200.00"``). ``decimals=None``
writes as few as each value needs (``"12.5%"``, ``"7%"``), at most ``max_decimals``. A
model's generated value is rounded to ``decimals`` (fixed) or ``max_decimals`` (the most
decimals seen in the column) and then, for ``decimals=None``, trailing zeros are dropped:
12.3456 in a column of ``"12.5%"``/``"7%"``/``"3.25%"`` becomes ``"12.35%"``. Rounding is
half away from zero, computed as ``floor(|x|·10^d + 0.5)`` in float64 (so 0.125 → 0.13 at 2
decimals; a decimal tie that is not exact in binary, such as 2.675, rounds by its binary
value).

**Negatives.** ``negative="-"`` writes ``"-$5.00"`` (``sign_before_prefix=True``) or
``"$-5.00"`` (``False``). ``negative="()"`` writes accounting parentheses, around the prefix
and suffix (``"($5.00)"``, ``sign_before_prefix=True``) or inside them (``"$(5.00)"``).
Minus zero (``"-0.00"``) parses only where the column has it (``signed_zero=True``);
otherwise a value rounding to zero is written without a sign.

**Detection rules** (:func:`detect_number_format`), for the ambiguous cases:

* Plain numbers are not formatted: a format is returned only when it adds something
  (a prefix or suffix other than white space, a thousands separator, a decimal comma or
  accounting parentheses) *and* at least one value it parses is not a plain number for
  :func:`pandas.to_numeric`. ``"1200.00"`` columns return None (the caller handles them).
* Grouping is strict: groups of exactly three digits, the first of one to three; values
  below 1,000 carry no separator. ``"1234.50"`` does not match a ``","`` thousands format,
  ``"1,2,3"`` matches none. Indian grouping (``"1,00,000"``) is not supported.
* A lone separator followed by exactly three digits is ambiguous (``"1,234"``). Values such
  as ``"1,234.56"``, ``"12,345,678"`` or ``"12,5"`` settle it (the interpretation that
  parses the larger share wins). On a tie: ``","`` is taken as thousands, ``"."`` as the
  decimal mark; except that with a percent suffix both are decimal marks (``"4,125 %"`` is
  a rate of 4.125) and with a currency both are thousands separators (money rarely shows
  three decimals: ``"€1.234"`` is one thousand two hundred thirty-four euros).
* The prefix must be a currency (a symbol such as ``$ € £ ¥ ₹``, ``US$``-like symbols, an
  ISO 4217 code such as ``USD``, or ``kr``, ``Kč``, ``Ft``, ``zł``, ``Rs``, ``Fr.``),
  optionally followed by a space, or a single space. So ``"LN-0001234"`` and ``"Mar-2018"``
  are not numbers. The suffix may be ``%``, ``‰``, a currency or a unit word of up to 12
  letters (``"36 months"``, ``"5k"``), optionally after a space; ordinals (``"2nd"``),
  ``am``/``pm`` and month names are refused.
* One prefix/suffix for the whole column: the most frequent one. A mixture of currencies
  leaves each below ``min_share`` and gives None.
* Negatives: the style written by the most negative-looking values wins. A column where
  every value is "negative" with the sign between prefix and number (``"ABC-123"``) is an
  identifier, not a number: None.
* Decimals: fixed when the most common number of decimals (≥ 1) covers at least as many
  values as the "as few as needed" reading does; otherwise ``decimals=None``.
* Not supported (they do not match, so such columns give None): an explicit plus sign
  (``"+2.5%"``), a trailing minus (``"5.00-"``), scientific notation, a Unicode minus sign,
  scaling suffixes that vary within a column (``"1.2M"``/``"300k"``), whole amounts
  without decimals beside others with a fixed two (``"$5"`` and ``"$5.50"``: either reading
  leaves one kind out).

**Timestamps with offsets** (:class:`OffsetDatetimeFormat`): local date and time in ISO
order (``%Y-%m-%d`` or ``%Y/%m/%d``, ``T`` or a space, ``%H:%M`` with optional ``:%S`` and
fraction), then an optional space and the offset. Parsed to UTC nanoseconds since the epoch
(float64) and the offset in minutes, kept as written (no time-zone rules, no DST: an offset
is a number like any other). Fractions of a second: 1 to 6 digits, always the same number
in a column. float64 nanoseconds are exact to about 0.25 µs near 1970 and 1 µs near the
ends of pandas' range (1678–2261), so 7–9 digits do not match, and 6-digit values whose
microseconds float64 cannot hold (some before 1824 or after 2115) do not match either. Offset styles: ``"+HH:MM"``, ``"+HHMM"``, ``"+HH"`` (hours only,
with ``:MM`` when the minutes are not zero, as PostgreSQL writes them) and ``"Z"`` (only
UTC seen; other offsets written ``+HH:MM``); ``zulu=True`` writes offset zero as ``Z``
(columns mixing ``Z`` and ``+01:00``). Values without an offset do not match; a column of
naive timestamps gives None. Year-first dates only (day-first and month-first orders are
ambiguous and left to the caller's date path). A column that writes the fraction only
when it is not zero (Python's ``isoformat``) matches on its majority layout only.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "NumberFormat",
    "OffsetDatetimeFormat",
    "detect_number_format",
    "detect_offset_datetime_format",
    "looks_formatted",
]

# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

_SPACES = " \u00a0\u202f"
#: Characters accepted as thousands separators: comma, dot, space, apostrophe, right single
#: quotation mark (Swiss), no-break space and narrow no-break space (French).
THOUSANDS_SEPARATORS = (",", ".", " ", "'", "\u2019", "\u00a0", "\u202f")
_SYMBOLS = "$€£¥₹₩₽₺₪฿₫₱₦₴₸₲₡₵₭₮₼₾¢₨"
_ISO_CODES = (
    "USD EUR GBP JPY CHF CAD AUD NZD CNY RMB HKD SGD SEK NOK DKK PLN CZK HUF RON BGN ISK RUB UAH "
    "TRY INR IDR MYR THB PHP KRW TWD VND PKR BDT LKR ZAR BRL MXN ARS CLP COP PEN UYU ILS AED SAR "
    "QAR KWD BHD OMR JOD EGP NGN KES GHS MAD TND KZT"
).split()
_CURRENCY = rf"(?:[A-Z]{{1,3}}\$|[{_SYMBOLS}]|{'|'.join(_ISO_CODES)}|kr\.?|Kč|Ft|zł|Rs\.?|lei|SFr\.|Fr\.)"
_CURRENCY_RE = re.compile(rf"\A[{_SPACES}]?{_CURRENCY}[{_SPACES}]?\Z")
_PERCENT = ("%", "‰", "‱")
_REFUSED_WORDS = frozenset(
    "st nd rd th am pm h jan feb mar apr may jun jul aug sep sept oct nov dec january february "
    "march april june july august september october november december mon tue wed thu fri sat "
    "sun e".split()
)


def _as_text(text: Any) -> pd.Series:
    """The cells as an object Series with a fresh positional index."""
    if isinstance(text, pd.Series):
        s = text.reset_index(drop=True)
    else:
        s = pd.Series(np.asarray(text, dtype=object).ravel())
    return s.astype(object)


def _factorize(text: Any) -> tuple[np.ndarray, pd.Series]:
    """Codes (−1 for missing) and the distinct cells, so that each is parsed once."""
    codes, uniques = pd.factorize(_as_text(text).to_numpy(dtype=object))
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def _take(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    out = np.full(len(codes), np.nan)
    if len(values):
        has = codes >= 0
        out[has] = values[codes[has]]
    return out


def _strings(s: pd.Series) -> np.ndarray:
    """Mask of the cells that are ``str`` (everything else counts as missing)."""
    return np.fromiter((isinstance(v, str) for v in s.to_numpy()), dtype=bool, count=len(s))


def _distinct(text: Any, weights: np.ndarray | None) -> tuple[pd.Series, np.ndarray]:
    """Non-missing string values and their weights (1 each when `weights` is None)."""
    s = _as_text(text)
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=float).ravel()
    if len(w) != len(s):
        raise ValueError(f"weights has {len(w)} entries for {len(s)} values")
    keep = _strings(s) & np.isfinite(w) & (w > 0)
    return s[keep].reset_index(drop=True), w[keep]


def _dataclass_from_dict(cls, d: dict):
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return cls(**d)


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------

_SEP_NAMES = {
    ",": ",",
    ".": ".",
    " ": "space",
    "'": "'",
    "\u2019": "’",
    "\u00a0": "no-break space",
    "\u202f": "narrow no-break space",
}


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written in a text column; see the module docstring for conventions.

    Attributes:
        prefix: literal text before the number (``"$"``, ``"€ "``, ``"USD "``).
        suffix: literal text after it (``"%"``, ``" %"``, ``" EUR"``, ``" months"``).
        thousands: thousands separator (one of :data:`THOUSANDS_SEPARATORS`) or ``""``.
        decimal: decimal mark, ``"."`` or ``","``.
        decimals: fixed number of decimals written, or None for as few as each value needs.
        max_decimals: with ``decimals=None``, the most decimals written (values are rounded
            to it); ignored when ``decimals`` is set.
        negative: ``"-"`` or ``"()"`` (accounting parentheses).
        sign_before_prefix: ``True``: ``"-$5"`` / ``"($5)"``; ``False``: ``"$-5"`` / ``"$(5)"``.
        signed_zero: minus zero (``"-0.00"``) is written and parsed (else written ``"0.00"``,
            and ``"-0.00"`` does not parse).
    """

    prefix: str = ""
    suffix: str = ""
    thousands: str = ""
    decimal: str = "."
    decimals: int | None = None
    max_decimals: int = 10
    negative: str = "-"
    sign_before_prefix: bool = True
    signed_zero: bool = False

    def __post_init__(self) -> None:
        if self.decimal not in (".", ","):
            raise ValueError(f"decimal must be '.' or ',', not {self.decimal!r}")
        if self.thousands and self.thousands not in THOUSANDS_SEPARATORS:
            raise ValueError(f"thousands must be one of {THOUSANDS_SEPARATORS} or '', not {self.thousands!r}")
        if self.thousands == self.decimal:
            raise ValueError("thousands and decimal must differ")
        if self.negative not in ("-", "()"):
            raise ValueError(f"negative must be '-' or '()', not {self.negative!r}")
        if self.decimals is not None and not (0 <= int(self.decimals) <= 15):
            raise ValueError("decimals must be None or 0..15")
        if not 0 <= int(self.max_decimals) <= 15:
            raise ValueError("max_decimals must be 0..15")
        if any(c.isdigit() for c in self.prefix + self.suffix):
            raise ValueError("prefix and suffix must not contain digits")
        # Where the sign goes makes no difference without text on that side: normalise.
        if self.negative == "-" and not self.prefix:
            object.__setattr__(self, "sign_before_prefix", True)
        if self.negative == "()" and not self.prefix and not self.suffix:
            object.__setattr__(self, "sign_before_prefix", True)
        object.__setattr__(self, "sign_before_prefix", bool(self.sign_before_prefix))
        object.__setattr__(self, "signed_zero", bool(self.signed_zero))
        if self.decimals is not None:
            object.__setattr__(self, "decimals", int(self.decimals))
        object.__setattr__(self, "max_decimals", int(self.max_decimals))

    # -- regex -------------------------------------------------------------------------------

    @property
    def _digits_written(self) -> int:
        return self.decimals if self.decimals is not None else self.max_decimals

    def _number_pattern(self, any_fraction: bool = False) -> str:
        """Regex of the unsigned number: groups ``int`` and ``frac``."""
        if self.thousands:
            integer = rf"(?P<int>0|[1-9]\d{{0,2}}(?:{re.escape(self.thousands)}\d{{3}})*)"
        else:
            integer = r"(?P<int>0|[1-9]\d*)"
        dec = re.escape(self.decimal)
        if any_fraction:
            frac = rf"(?:{dec}(?P<frac>\d+))?"
        elif self.decimals is not None:
            frac = rf"{dec}(?P<frac>\d{{{self.decimals}}})" if self.decimals else ""
        elif self.max_decimals:
            frac = rf"(?:{dec}(?P<frac>\d{{0,{self.max_decimals - 1}}}[1-9]))?"
        else:
            frac = ""
        return integer + frac

    def _pattern(self, any_fraction: bool = False) -> str:
        pre, suf = re.escape(self.prefix), re.escape(self.suffix)
        num = self._number_pattern(any_fraction)
        if self.negative == "-":
            if self.sign_before_prefix:
                return rf"\A(?P<neg>-)?{pre}{num}{suf}\Z"
            return rf"\A{pre}(?P<neg>-)?{num}{suf}\Z"
        if self.sign_before_prefix:
            return rf"\A(?P<neg>\()?{pre}{num}{suf}(?(neg)\))\Z"
        return rf"\A{pre}(?P<neg>\()?{num}(?(neg)\)){suf}\Z"

    def _loose_sign_pattern(self) -> str:
        """Any sign style (for choosing separators before the sign style is known)."""
        pre, suf = re.escape(self.prefix), re.escape(self.suffix)
        return rf"\A\(?-?{pre}\(?-?{self._number_pattern(any_fraction=True)}\)?{suf}\)?\Z"

    # -- parse / render ----------------------------------------------------------------------

    def parse(self, text: pd.Series) -> np.ndarray:
        """The numbers shown, as float64; NaN for missing cells and for values that are not
        written in this format (they would not render back to the same text)."""
        codes, uniques = _factorize(text)
        return _take(self._parse_distinct(uniques), codes)

    def _parse_distinct(self, s: pd.Series) -> np.ndarray:
        out = np.full(len(s), np.nan)
        is_str = _strings(s)
        if not is_str.any():
            return out
        ex = s[is_str].str.extract(self._pattern(), expand=True)
        vals, ok = _extracted_numbers(ex, self.thousands)
        if "neg" in ex:
            neg = ex["neg"].notna().to_numpy()
            vals = np.where(neg, -vals, vals)
            if not self.signed_zero:
                vals[neg & (vals == 0)] = np.nan
        idx = np.flatnonzero(is_str)
        out[idx[ok]] = vals[ok]
        return out

    def render(self, x: np.ndarray) -> pd.Series:
        """Numbers written in this format (object Series; NaN and ±inf stay NaN).

        Values are rounded half away from zero to ``decimals`` (or ``max_decimals``, trailing
        zeros then dropped when ``decimals`` is None)."""
        x = np.asarray(x, dtype=float).ravel()
        out = np.full(len(x), np.nan, dtype=object)
        d = self._digits_written
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = np.floor(np.abs(x) * 10.0**d + 0.5)
        ok = np.isfinite(x) & np.isfinite(scaled)
        if not ok.any():
            return pd.Series(out, dtype=object)
        v, m = x[ok], scaled[ok]
        neg = np.signbit(v) & ((m > 0) | ((v == 0) & self.signed_zero))
        table = str.maketrans({",": self.thousands})
        strip = self.decimals is None
        unit = 10**d
        body = np.empty(len(m), dtype=object)
        for i, mi in enumerate(m.tolist()):
            ip, fp = divmod(int(mi), unit)
            s = f"{ip:,}".translate(table)
            if d:
                f = str(fp).zfill(d)
                if strip:
                    f = f.rstrip("0")
                if f:
                    s = s + self.decimal + f
            body[i] = s
        pre, suf = self.prefix, self.suffix
        if self.negative == "-":
            if self.sign_before_prefix:
                pos, negs = pre + body + suf, "-" + pre + body + suf
            else:
                pos, negs = pre + body + suf, pre + "-" + body + suf
        elif self.sign_before_prefix:
            pos, negs = pre + body + suf, "(" + pre + body + suf + ")"
        else:
            pos, negs = pre + body + suf, pre + "(" + body + ")" + suf
        out[ok] = np.where(neg, negs, pos)
        return pd.Series(out, dtype=object)

    # -- (de)serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Plain JSON-able dict; ``NumberFormat.from_dict(f.to_dict()) == f``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "NumberFormat":
        return _dataclass_from_dict(cls, dict(d))

    def describe(self) -> str:
        """A short phrase, e.g. ``"currency $ with , thousands, 2 decimals"``."""
        pre, suf = self.prefix.strip(_SPACES), self.suffix.strip(_SPACES)
        if suf in _PERCENT:
            what = "percent" if suf == "%" else ("per mille" if suf == "‰" else "basis points")
            if pre:
                what += f" with prefix {pre}"
        elif pre or (suf and _CURRENCY_RE.match(suf)):
            cur = " ".join(p for p in (pre, suf) if p)
            what = f"currency {cur}"
        elif suf:
            what = f"number in {suf}"
        else:
            what = "number"
        parts = []
        if self.thousands:
            what += f" with {_SEP_NAMES[self.thousands]} thousands"
        if self.decimal == "," and self._digits_written:
            parts.append("decimal comma")
        if self.decimals is not None:
            parts.append(f"{self.decimals} decimal{'s' if self.decimals != 1 else ''}")
        elif self.max_decimals == 0:
            parts.append("whole numbers")
        else:
            parts.append(f"up to {self.max_decimals} decimal{'s' if self.max_decimals != 1 else ''}")
        if self.negative == "()":
            example = self.render(np.array([-500.0]))[0]
            parts.append(f"accounting negatives {example}")
        elif self.prefix and not self.sign_before_prefix:
            parts.append(f"negatives {self.render(np.array([-5.0]))[0]}")
        return ", ".join([what] + parts)


def _extracted_numbers(ex: pd.DataFrame, thousands: str) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned values from extracted ``int``/``frac`` groups, and the matched mask."""
    ints = ex["int"]
    ok = ints.notna().to_numpy()
    vals = np.full(len(ex), np.nan)
    if ok.any():
        i = ints[ok]
        if thousands:
            i = i.str.replace(thousands, "", regex=False)
        if "frac" in ex:
            i = i + ("." + ex["frac"][ok]).fillna("")
        vals[ok] = i.astype(float).to_numpy()
    return vals, ok


_LOOSE_NUMBER = re.compile(
    rf"\A(?P<o1>\()?(?P<s1>-)?(?P<pre>{_CURRENCY}?[{_SPACES}]?)(?P<o2>\()?(?P<s2>-)?"
    rf"(?P<num>\d(?:[\d.,'\u2019{_SPACES}]*\d)?)(?P<c2>\))?"
    rf"(?P<suf>[{_SPACES}]?(?:[%‰‱{_SYMBOLS}]|[A-Z]{{1,3}}\$|[^\W\d_]{{1,12}}\.?)?)(?P<c1>\))?\Z"
)


def _tie_preference(thousands: str, decimal: str, prefix: str, suffix: str) -> int:
    """Rank of a separator reading among readings that parse the same share."""
    percent = suffix.strip(_SPACES) in _PERCENT
    currency = bool(
        (prefix.strip(_SPACES) and _CURRENCY_RE.match(prefix)) or (suffix.strip(_SPACES) and _CURRENCY_RE.match(suffix))
    )
    if thousands == ",":
        return -1 if percent else 1
    if thousands == ".":
        return 1 if currency and not percent else -1
    return 0


def detect_number_format(
    text: pd.Series, weights: np.ndarray | None = None, min_share: float = 0.95
) -> tuple[NumberFormat | None, float]:
    """The :class:`NumberFormat` of a text column of formatted numbers, and its share.

    Args:
        text: the distinct values of the column (str; NaN and other non-strings are ignored).
        weights: how often each value occurs (counts); None for 1 each.
        min_share: the (weighted) share of non-missing values the format must parse.

    Returns:
        ``(format, share)`` where share is the weighted share of non-missing values the format
        parses (the rest is stray text the caller treats as missing); ``(None, share)`` when
        the column is not formatted numbers, share then being that of the best reading found
        (0.0 when there was none). Plain numbers (``"1200.50"``) give None. See the module
        docstring for the rules on ambiguous cases.
    """
    s, w = _distinct(text, weights)
    total = float(w.sum())
    if len(s) == 0 or total <= 0:
        return None, 0.0
    plain = pd.to_numeric(s, errors="coerce").notna().to_numpy()
    if plain.all():
        return None, 0.0

    loose = s.str.extract(_LOOSE_NUMBER, expand=True)
    matched = loose["num"].notna().to_numpy()
    if w[matched].sum() < min_share * total:
        return None, float(w[matched].sum() / total)

    # One prefix/suffix for the column: the most frequent pair.
    key = (loose["pre"] + "\x1f" + loose["suf"])[matched]
    by_key = pd.Series(w[matched]).groupby(key.to_numpy()).sum()
    best_key = by_key.idxmax()
    if by_key[best_key] < min_share * total:
        return None, float(by_key[best_key] / total)
    prefix, suffix = best_key.split("\x1f")
    if suffix.strip(_SPACES).rstrip(".").lower() in _REFUSED_WORDS:
        return None, 0.0
    rows = np.flatnonzero(matched)[(key == best_key).to_numpy()]
    sub, wsub, lsub = s.iloc[rows].reset_index(drop=True), w[rows], loose.iloc[rows].reset_index(drop=True)

    # Separator readings consistent with the characters seen in the numbers. A reading can
    # parse at most the values whose separators it allows: skip those that cannot win.
    sep_sets = lsub["num"].str.replace(r"\d+", "", regex=True)
    by_sep = pd.Series(wsub).groupby(sep_sets.to_numpy()).sum()
    seps = set("".join(by_sep.index))
    thousands_opts = [""] + [c for c in THOUSANDS_SEPARATORS if c in seps]
    decimal_opts = [".", ","]
    readings = []
    for t in thousands_opts:
        for d in decimal_opts:
            if t != d:
                bound = sum(v for k, v in by_sep.items() if set(k) <= {t, d})
                readings.append((bound, _tie_preference(t, d, prefix, suffix), t, d))
    readings.sort(reverse=True)
    best: tuple | None = None
    for bound, _, t, d in readings:
        if bound < min_share * total or (best is not None and bound < best[0][0]):
            continue
        cand = NumberFormat(prefix=prefix, suffix=suffix, thousands=t, decimal=d)
        ex = sub.str.extract(cand._loose_sign_pattern(), expand=True)
        ok = ex["int"].notna().to_numpy()
        if not ok.any():
            continue
        frac = ex["frac"].fillna("")
        lens = frac.str.len().to_numpy()
        trailing0 = frac.str.endswith("0").to_numpy()
        # "As few decimals as needed": no trailing zeros.
        min_ok = ok & ~trailing0
        share_min = wsub[min_ok].sum()
        max_dec = int(lens[min_ok].max()) if min_ok.any() else 0
        # Fixed decimals: the most common number of decimals, if ≥ 1.
        by_len = pd.Series(wsub[ok]).groupby(lens[ok]).sum()
        k = int(by_len.idxmax())
        share_fixed = by_len[k] if k >= 1 else -1.0
        if k >= 1 and share_fixed >= share_min:
            decimals, share, max_dec = k, share_fixed, k
        else:
            decimals, share = None, share_min
        if max_dec > 10:
            continue
        score = (share, _tie_preference(t, d, prefix, suffix))
        if best is None or score > best[0]:
            best = (score, t, d, decimals, max_dec)
    if best is None:
        return None, 0.0
    _, t, d, decimals, max_dec = best

    # Sign style: the one most negative-looking values are written in.
    has = {g: lsub[g].notna().to_numpy() for g in ("o1", "s1", "o2", "s2", "c2", "c1")}
    no_pre, no_suf = prefix == "", suffix == ""
    opens_out, opens_in = has["o1"] | (has["o2"] & no_pre), has["o2"] | (has["o1"] & no_pre)
    closes_out, closes_in = has["c1"] | (has["c2"] & no_suf), has["c2"] | (has["c1"] & no_suf)
    styles = {
        ("-", True): has["s1"] | (has["s2"] & no_pre),
        ("-", False): has["s2"] & ~has["s1"],
        ("()", True): opens_out & closes_out,
        ("()", False): opens_in & closes_in,
    }
    scores = {style: wsub[mask].sum() for style, mask in styles.items()}
    negative, before = max(scores, key=lambda st: scores[st])  # ties: the first, "-$5"

    fmt = NumberFormat(prefix, suffix, t, d, decimals, max_dec, negative, before, signed_zero=True)
    vals = fmt.parse(s)
    ok = np.isfinite(vals)
    signed_zero = bool(np.any((vals[ok] == 0) & np.signbit(vals[ok])))
    if not signed_zero:
        fmt = NumberFormat(prefix, suffix, t, d, decimals, max_dec, negative, before, signed_zero=False)
    share = float(w[ok].sum() / total)
    if share < min_share:
        return None, share
    adds_something = (
        bool(prefix.strip(_SPACES) or suffix.strip(_SPACES)) or bool(t) or d == "," or negative == "()"
    )
    if not adds_something or not (ok & ~plain).any():
        return None, share
    if negative == "-" and not before and prefix and np.all(np.signbit(vals[ok])):
        return None, share  # "ABC-123": an identifier, not negative amounts
    return fmt, share


# --------------------------------------------------------------------------------------------
# Timestamps with UTC offsets
# --------------------------------------------------------------------------------------------

_OFFSET_STYLES = ("+HH:MM", "+HHMM", "+HH", "Z")
#: Width and position in ``numpy.datetime_as_string(..., unit="ns")`` of each token.
_DT_FIELDS = {"%Y": (4, 0), "%m": (2, 5), "%d": (2, 8), "%H": (2, 11), "%M": (2, 14), "%S": (2, 17), "%f": (None, 20)}
_NS_PER_MINUTE = 60_000_000_000
_NS_PER_SECOND = 1_000_000_000
_OFFSET_RE = {
    "+HH:MM": re.compile(r"\A([+-])(\d{2}):(\d{2})\Z"),
    "+HHMM": re.compile(r"\A([+-])(\d{2})(\d{2})\Z"),
    "+HH": re.compile(r"\A([+-])(\d{2})(?::((?!00)\d{2}))?\Z"),
}


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 1, 12) - 1]
    return days + ((m == 2) & leap)


@dataclass(frozen=True)
class OffsetDatetimeFormat:
    """How timestamps with a UTC offset are written; see the module docstring.

    Attributes:
        base: strftime of the local part, with the tokens ``%Y %m %d %H %M %S %f %%`` only
            (each at most once; ``%Y %m %d`` required), including any separator before the
            offset (``"%Y-%m-%d %H:%M:%S "`` for ``"2021-01-01 10:00:00 +0100"``). ``%f`` stands
            for ``fraction_digits`` digits (not strftime's fixed 6).
        offset_style: ``"+HH:MM"``, ``"+HHMM"``, ``"+HH"`` (minutes written ``:MM`` only when
            not zero) or ``"Z"`` (the column was all UTC; other offsets write ``+HH:MM``).
        zulu: offset zero is written ``Z`` (always so for style ``"Z"``); then ``"+00:00"``
            does not parse, and otherwise ``"Z"`` does not. ``"-00:00"`` never parses.
        fraction_digits: digits of the fraction of a second (0 without ``%f``, else 1–6).

    Parsing and rendering are vectorised on code points (the local part has a fixed width);
    only the distinct offset texts go through a regex.
    """

    base: str = "%Y-%m-%dT%H:%M:%S"
    offset_style: str = "+HH:MM"
    zulu: bool = False
    fraction_digits: int = 0

    def __post_init__(self) -> None:
        if self.offset_style not in _OFFSET_STYLES:
            raise ValueError(f"offset_style must be one of {_OFFSET_STYLES}, not {self.offset_style!r}")
        tokens = re.findall(r"%.", self.base)
        for tok in tokens:
            if tok not in _DT_FIELDS and tok != "%%":
                raise ValueError(f"unsupported token {tok} in base {self.base!r}")
        for tok in ("%Y", "%m", "%d"):
            if tokens.count(tok) != 1:
                raise ValueError(f"base must hold {tok} once: {self.base!r}")
        for tok in ("%H", "%M", "%S", "%f"):
            if tokens.count(tok) > 1:
                raise ValueError(f"base holds {tok} more than once: {self.base!r}")
        digits = int(self.fraction_digits)
        if ("%f" in tokens) != (digits > 0) or not 0 <= digits <= 6:
            raise ValueError("fraction_digits must be 1..6 with %f in base, 0 without")
        object.__setattr__(self, "fraction_digits", digits)
        object.__setattr__(self, "zulu", bool(self.zulu) or self.offset_style == "Z")

    # -- layout of the local part ------------------------------------------------------------

    def _layout(self) -> tuple[int, dict[str, tuple[int, int]], list[tuple[int, int]]]:
        """Width of the local part, ``token -> (start, width)``, ``[(position, code point)]``."""
        pos, fields_, literals = 0, {}, []
        for piece in re.split(r"(%.)", self.base):
            if piece in _DT_FIELDS:
                width = self.fraction_digits if piece == "%f" else _DT_FIELDS[piece][0]
                fields_[piece] = (pos, width)
                pos += width
            else:
                for ch in "%" if piece == "%%" else piece:
                    literals.append((pos, ord(ch)))
                    pos += 1
        return pos, fields_, literals

    @property
    def _unit_ns(self) -> int:
        """Resolution written: the finest token in base."""
        if self.fraction_digits:
            return 10 ** (9 - self.fraction_digits)
        for tok, unit in (("%S", _NS_PER_SECOND), ("%M", _NS_PER_MINUTE), ("%H", 60 * _NS_PER_MINUTE)):
            if tok in self.base:
                return unit
        return 24 * 60 * _NS_PER_MINUTE

    def _offset_minutes(self, text: str) -> float:
        """Minutes of one offset text, NaN where it would not render back the same."""
        if text == "Z":
            return 0.0 if self.zulu else np.nan
        m = _OFFSET_RE["+HH:MM" if self.offset_style == "Z" else self.offset_style].match(text)
        if not m:
            return np.nan
        h, mins = int(m.group(2)), int(m.group(3) or 0)
        if h > 23 or mins > 59 or (h == 0 and mins == 0 and (m.group(1) == "-" or self.zulu)):
            return np.nan  # "-00:00" renders "+00:00"; "+00:00" renders "Z" where zulu
        return float((-1 if m.group(1) == "-" else 1) * (h * 60 + mins))

    # -- parse / render ----------------------------------------------------------------------

    def parse(self, text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """``(utc_ns, offset_minutes)``: UTC nanoseconds since the epoch and the offset in
        minutes (local = UTC + offset), float64, NaN for missing or non-matching cells."""
        codes, uniques = _factorize(text)
        utc, offset = self._parse_distinct(uniques)
        return _take(utc, codes), _take(offset, codes)

    def _parse_distinct(self, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        utc = np.full(len(s), np.nan)
        offset = np.full(len(s), np.nan)
        is_str = _strings(s)
        if not is_str.any():
            return utc, offset
        width, fields_, literals = self._layout()
        vals = s[is_str].to_numpy()
        cp = np.array(vals, dtype=f"U{width}").view(np.uint32).reshape(len(vals), width).astype(np.int64)
        ok = np.ones(len(vals), dtype=bool)
        for p, c in literals:
            ok &= cp[:, p] == c
        digits = cp - 48
        number = {}
        for tok, (start, w) in fields_.items():
            block = digits[:, start : start + w]
            ok &= ((block >= 0) & (block <= 9)).all(axis=1)
            number[tok] = block @ (10 ** np.arange(w - 1, -1, -1, dtype=np.int64))
        # Offsets: few distinct texts, each checked once.
        rest = pd.Series(vals, dtype=object).str.slice(width)
        rcodes, runiq = pd.factorize(rest.to_numpy(dtype=object))
        rmin = np.array([self._offset_minutes(r) for r in runiq], dtype=float)
        off = np.where(rcodes >= 0, rmin[np.maximum(rcodes, 0)] if len(rmin) else np.nan, np.nan)
        ok &= np.isfinite(off)
        zero = np.zeros(len(vals), dtype=np.int64)
        y, mo, d = number["%Y"], number["%m"], number["%d"]
        h, mi, sec = number.get("%H", zero), number.get("%M", zero), number.get("%S", zero)
        ok &= (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= _days_in_month(y, mo))
        ok &= (h <= 23) & (mi <= 59) & (sec <= 59) & (y >= 1678) & (y <= 2261)
        seconds = ((_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec
        local_ns = seconds * _NS_PER_SECOND
        if "%f" in fields_:
            local_ns = local_ns + number["%f"] * 10 ** (9 - self.fraction_digits)
        utc_ns = local_ns - np.where(ok, off, 0).astype(np.int64) * _NS_PER_MINUTE
        # float64 holds nanoseconds to 2^-52 of their size: a microsecond far from 1970 is lost.
        unit = self._unit_ns
        if unit < _NS_PER_MINUTE:
            ok &= np.rint(utc_ns.astype(float) / unit).astype(np.int64) * unit == utc_ns
        idx = np.flatnonzero(is_str)[ok]
        utc[idx] = utc_ns[ok].astype(float)
        offset[idx] = off[ok]
        return utc, offset

    def render(self, utc_ns: np.ndarray, offset_minutes: np.ndarray) -> pd.Series:
        """Timestamps written in this format: local time = UTC + offset (offsets rounded to
        whole minutes), rounded to the resolution written (the fraction digits, else whole
        seconds, minutes...). NaN where either input is NaN or the local time is outside
        pandas' nanosecond range (about 1678–2261)."""
        utc = np.asarray(utc_ns, dtype=float).ravel()
        offm = np.asarray(offset_minutes, dtype=float).ravel()
        if len(utc) != len(offm):
            raise ValueError("utc_ns and offset_minutes must have the same length")
        out = np.full(len(utc), np.nan, dtype=object)
        unit = self._unit_ns
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(utc) & np.isfinite(offm) & (np.abs(utc) < 9.223e18) & (np.abs(offm) < 10_000)
        o = np.rint(np.where(ok, offm, 0)).astype(np.int64)
        local_f = np.where(ok, utc, 0) + o * float(_NS_PER_MINUTE)
        ok &= np.abs(local_f) < 9.223e18
        if unit <= _NS_PER_MINUTE:  # integer arithmetic: the UTC instant is rounded, then shifted
            local = np.rint(np.where(ok, utc, 0) / unit).astype(np.int64) * unit + o * _NS_PER_MINUTE
        else:
            local = np.rint(np.where(ok, local_f, 0) / unit).astype(np.int64) * unit
        lo, hi = pd.Timestamp("1678-01-01").value, pd.Timestamp("2261-12-31").value
        ok &= (local >= lo) & (local <= hi)
        if not ok.any():
            return pd.Series(out, dtype=object)
        local, o = local[ok], o[ok]
        iso = np.datetime_as_string(local.astype("datetime64[ns]"), unit="ns")  # YYYY-MM-DDTHH:MM:SS.fffffffff
        src = iso.astype("U29").view(np.uint32).reshape(len(local), 29)
        width, fields_, literals = self._layout()
        cp = np.empty((len(local), width), dtype=np.uint32)
        for p, c in literals:
            cp[:, p] = c
        for tok, (start, w) in fields_.items():
            at = _DT_FIELDS[tok][1]
            cp[:, start : start + w] = src[:, at : at + w]
        text = np.ascontiguousarray(cp).view(f"U{width}").ravel().astype(object)
        uniq, inv = np.unique(o, return_inverse=True)
        offs = np.array([self._offset_text(int(m)) for m in uniq], dtype=object)
        out[np.flatnonzero(ok)] = text + offs[inv.ravel()]
        return pd.Series(out, dtype=object)

    def _offset_text(self, minutes: int) -> str:
        if minutes == 0 and self.zulu:
            return "Z"
        sign = "-" if minutes < 0 else "+"
        h, m = divmod(abs(minutes), 60)
        if self.offset_style == "+HHMM":
            return f"{sign}{h:02d}{m:02d}"
        if self.offset_style == "+HH":
            return f"{sign}{h:02d}" + (f":{m:02d}" if m else "")
        return f"{sign}{h:02d}:{m:02d}"

    def to_dict(self) -> dict:
        """Plain JSON-able dict; ``OffsetDatetimeFormat.from_dict(f.to_dict()) == f``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "OffsetDatetimeFormat":
        return _dataclass_from_dict(cls, dict(d))

    def describe(self) -> str:
        """A short phrase, e.g. ``"timestamp %Y-%m-%dT%H:%M:%S.%f (3 fraction digits) with offset +HH:MM or Z"``."""
        base = self.base
        frac = f" ({self.fraction_digits} fraction digits)" if self.fraction_digits else ""
        if self.offset_style == "Z":
            off = "Z (UTC)"
        else:
            off = self.offset_style + (" or Z" if self.zulu else "")
        return f"timestamp {base.strip()}{frac} with offset {off}"


_LOOSE_DATETIME = re.compile(
    r"\A\d{4}(?P<ds>[-/])\d{2}(?P=ds)\d{2}(?P<sep>[T ])\d{2}:\d{2}(?P<S>:\d{2}(?:(?P<fs>[.,])(?P<f>\d{1,6}))?)?"
    r"(?P<sp> ?)(?P<off>Z|[+-]\d{2}(?::?\d{2})?)\Z"
)


def detect_offset_datetime_format(
    text: pd.Series, weights: np.ndarray | None = None, min_share: float = 0.9
) -> tuple[OffsetDatetimeFormat | None, float]:
    """The :class:`OffsetDatetimeFormat` of a text column of timestamps with UTC offsets.

    Args and return as for :func:`detect_number_format`: ``(format, share)`` or
    ``(None, share)``. Naive timestamps (no offset) give None; so do day-first or
    month-first dates and fractions of more than 6 digits.
    """
    s, w = _distinct(text, weights)
    total = float(w.sum())
    if len(s) == 0 or total <= 0:
        return None, 0.0
    ex = s.str.extract(_LOOSE_DATETIME, expand=True)
    m = ex["off"].notna().to_numpy()
    if w[m].sum() < min_share * total:
        return None, float(w[m].sum() / total)
    ex, wm = ex[m], w[m]
    has_s = ex["S"].notna()
    flen = ex["f"].fillna("").str.len().astype(int)
    key = ex["ds"] + "|" + ex["sep"] + "|" + has_s.map({True: "S", False: ""}) + "|" + ex["fs"].fillna("") + "|"
    key = key + flen.astype(str) + "|" + ex["sp"]
    by_key = pd.Series(wm).groupby(key.to_numpy()).sum()
    ds, sep, sec, fs, digits, sp = by_key.idxmax().split("|")
    base = f"%Y{ds}%m{ds}%d{sep}%H:%M" + (":%S" if sec else "") + (f"{fs}%f" if int(digits) else "") + sp

    off = ex["off"]
    is_z = (off == "Z").to_numpy()
    numeric = ~is_z
    zero_numeric = numeric & off.str.fullmatch(r"[+-]00(?::?00)?").to_numpy()
    zulu = bool(wm[is_z].sum() > 0 and wm[is_z].sum() >= wm[zero_numeric].sum())
    if not numeric.any():
        styles = ["Z"]
    else:
        lens = off[numeric].str.len()
        styles = []
        if (lens == 6).any():
            styles.append("+HH:MM")
        if (lens == 5).any():
            styles.append("+HHMM")
        if (lens == 3).any():
            styles.append("+HH")
    best: tuple[float, OffsetDatetimeFormat] | None = None
    for style in styles:
        fmt = OffsetDatetimeFormat(base=base, offset_style=style, zulu=zulu, fraction_digits=int(digits))
        share = float(w[np.isfinite(fmt.parse(s)[0])].sum() / total)
        if best is None or share > best[0]:
            best = (share, fmt)
    share, fmt = best
    if share < min_share:
        return None, share
    return fmt, share


# --------------------------------------------------------------------------------------------
# Pre-check
# --------------------------------------------------------------------------------------------

_MARKS = re.compile(
    rf"[{_SYMBOLS}%‰]"  # currency symbol, percent
    rf"|\d[,'\u2019{_SPACES}]\d{{3}}(?!\d)"  # grouping
    r"|\d\.\d{3}[.,]\d"  # 1.234.567 / 1.234,56
    r"|\d,\d"  # decimal comma
    r"|\(\d|\d\)"  # accounting parentheses
    rf"|\b(?:{'|'.join(_ISO_CODES)})\b"  # currency code
    r"|\d ?[^\W\d_]{1,12}\Z"  # unit suffix
    r"|\d:\d\d(?::\d\d(?:[.,]\d+)?)? ?(?:Z|[+-]\d\d(?::?\d\d)?)\Z"  # timestamp with offset
)
_PLAIN = re.compile(r"\A[-+]?\d+(?:\.\d+)?\Z")


def looks_formatted(text: pd.Series) -> bool:
    """Cheap pre-check: is it worth calling the detectors on this text column?

    Looks at up to 200 non-missing values (evenly spaced). True when at least half contain a
    digit and either one shows a formatting mark (currency, percent, grouping, decimal comma,
    parentheses, a unit word after a number, a time with a UTC offset) or at least half are
    plain numbers (a text column of mostly plain numbers has something else somewhere, such
    as grouped values outside the sample). Errs on the side of True; the detectors decide.
    """
    s = _as_text(text)
    s = s[s.notna().to_numpy()]
    if len(s) > 200:
        s = s.iloc[np.linspace(0, len(s) - 1, 200).astype(int)]
    vals = s[_strings(s)].to_numpy()
    if len(vals) == 0:
        return False
    digit = [any(c.isdigit() for c in v) for v in vals]
    if sum(digit) * 2 < len(vals):
        return False
    if any(_MARKS.search(v) for v in vals):
        return True
    return sum(bool(_PLAIN.match(v)) for v in vals) * 2 >= len(vals)
