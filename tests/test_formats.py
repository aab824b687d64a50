"""Formatted numbers and offset timestamps in text columns: detection, parsing, exact round trips."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthkit.tabular.formats import (
    NumberFormat,
    OffsetDatetimeFormat,
    detect_number_format,
    detect_offset_datetime_format,
    looks_formatted,
)

# --------------------------------------------------------------------------------------------
# Number formats under test, with values written as a person would write them.
# --------------------------------------------------------------------------------------------

USD = NumberFormat(prefix="$", thousands=",", decimals=2)
USD_SIGN_AFTER = NumberFormat(prefix="$", thousands=",", decimals=2, sign_before_prefix=False)
EUR_DE = NumberFormat(prefix="€ ", thousands=".", decimal=",", decimals=2, sign_before_prefix=False)
EUR_FR = NumberFormat(suffix=" €", thousands=" ", decimal=",", decimals=2)
EUR_NBSP = NumberFormat(suffix="\u00a0€", thousands="\u00a0", decimal=",", decimals=2)
GBP = NumberFormat(prefix="£", thousands=",", decimals=None, max_decimals=2)
PCT = NumberFormat(suffix="%", decimals=None, max_decimals=2)
PCT_1 = NumberFormat(suffix="%", decimals=1)
PCT_SPACE = NumberFormat(suffix=" %", decimals=None, max_decimals=3, decimal=",")
THOUSANDS_INT = NumberFormat(thousands=",", max_decimals=0)
ACCOUNTING = NumberFormat(thousands=",", decimals=2, negative="()")
ACCOUNTING_USD_OUT = NumberFormat(prefix="$", thousands=",", decimals=2, negative="()")
ACCOUNTING_USD_IN = NumberFormat(prefix="$", thousands=",", decimals=2, negative="()", sign_before_prefix=False)
CHF = NumberFormat(prefix="CHF ", thousands="'", decimals=2)
USD_CODE = NumberFormat(prefix="USD ", thousands=",", decimals=2, sign_before_prefix=False)
MONTHS = NumberFormat(suffix=" months", max_decimals=0)

ALL = {
    "usd": USD,
    "usd_sign_after": USD_SIGN_AFTER,
    "eur_de": EUR_DE,
    "eur_fr": EUR_FR,
    "eur_nbsp": EUR_NBSP,
    "gbp": GBP,
    "pct": PCT,
    "pct_1": PCT_1,
    "pct_space_comma": PCT_SPACE,
    "thousands_int": THOUSANDS_INT,
    "accounting": ACCOUNTING,
    "accounting_usd_out": ACCOUNTING_USD_OUT,
    "accounting_usd_in": ACCOUNTING_USD_IN,
    "chf": CHF,
    "usd_code": USD_CODE,
    "months": MONTHS,
}

WRITTEN = [
    (USD, [1200, -5, 0.5, 1234567.891, 0], ["$1,200.00", "-$5.00", "$0.50", "$1,234,567.89", "$0.00"]),
    (USD_SIGN_AFTER, [-5, -1234.5], ["$-5.00", "$-1,234.50"]),
    (EUR_DE, [1234.56, -12, 0.5], ["€ 1.234,56", "€ -12,00", "€ 0,50"]),
    (EUR_FR, [1234.56, 1e6, -3], ["1 234,56 €", "1 000 000,00 €", "-3,00 €"]),
    (GBP, [1234.5, 3, 0.25, -7.1], ["£1,234.5", "£3", "£0.25", "-£7.1"]),
    (PCT, [12.5, 7, 3.25, 100, -0.5], ["12.5%", "7%", "3.25%", "100%", "-0.5%"]),
    (PCT_1, [12.5, 7], ["12.5%", "7.0%"]),
    (PCT_SPACE, [4.125, 12.5], ["4,125 %", "12,5 %"]),
    (THOUSANDS_INT, [1234, 999, 12345678, -1000], ["1,234", "999", "12,345,678", "-1,000"]),
    (ACCOUNTING, [-500, 1234, 0], ["(500.00)", "1,234.00", "0.00"]),
    (ACCOUNTING_USD_OUT, [-500, 12], ["($500.00)", "$12.00"]),
    (ACCOUNTING_USD_IN, [-500, 12], ["$(500.00)", "$12.00"]),
    (CHF, [1234.5, -2], ["CHF 1'234.50", "-CHF 2.00"]),
    (USD_CODE, [-5], ["USD -5.00"]),
    (MONTHS, [36, 60], ["36 months", "60 months"]),
]


@pytest.mark.parametrize("fmt,values,text", WRITTEN)
def test_render_and_parse_written_examples(fmt, values, text):
    assert list(fmt.render(np.array(values, dtype=float))) == text
    np.testing.assert_allclose(fmt.parse(pd.Series(text)), np.round(values, fmt.decimals or fmt.max_decimals))


# --------------------------------------------------------------------------------------------
# Strings built independently of the module: grouping, sign placement and fractions by hand.
# --------------------------------------------------------------------------------------------


def _group(digits: str, sep: str) -> str:
    if not sep:
        return digits
    parts = []
    while len(digits) > 3:
        parts.insert(0, digits[-3:])
        digits = digits[:-3]
    return sep.join([digits] + parts)


def written(fmt: NumberFormat, integer: int, frac: str, negative: bool) -> str:
    body = _group(str(integer), fmt.thousands) + (fmt.decimal + frac if frac else "")
    p, s = fmt.prefix, fmt.suffix
    if not negative:
        return p + body + s
    if fmt.negative == "-":
        return ("-" + p + body + s) if fmt.sign_before_prefix else (p + "-" + body + s)
    return ("(" + p + body + s + ")") if fmt.sign_before_prefix else (p + "(" + body + ")" + s)


def generated(fmt: NumberFormat, n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """`n` strings in `fmt` (incl. 0, negatives, values ≥ 1e6 and < 1) and their numbers."""
    rng = np.random.default_rng(seed)
    texts, values = [], []
    magnitudes = np.floor(10 ** rng.uniform(0, 9, n)).astype(np.int64)
    magnitudes[: n // 10] = 0  # values below 1
    magnitudes[n // 10 : n // 5] = rng.integers(1_000_000, 9_000_000_000, n // 10)  # ≥ 1e6
    for i in range(n):
        integer = int(magnitudes[i])
        if fmt.decimals is not None:
            frac = "".join(rng.choice(list("0123456789"), fmt.decimals)) if fmt.decimals else ""
        else:
            k = int(rng.integers(0, fmt.max_decimals + 1))
            frac = "".join(rng.choice(list("0123456789"), k))
            frac = frac[:-1] + str(rng.integers(1, 10)) if k else ""
        if i == 0:
            integer, frac = 0, "0" * (fmt.decimals or 0)
        is_zero = integer == 0 and not frac.strip("0")
        negative = bool(rng.random() < 0.3) and not is_zero
        texts.append(written(fmt, integer, frac, negative))
        values.append((-1 if negative else 1) * float(f"{integer}.{frac or '0'}"))
    return texts, np.array(values)


@pytest.mark.parametrize("name", list(ALL))
def test_round_trip_generated_values(name):
    fmt = ALL[name]
    texts, values = generated(fmt, 2000, seed=len(name))
    parsed = fmt.parse(pd.Series(texts))
    np.testing.assert_array_equal(parsed, values)
    assert list(fmt.render(parsed)) == texts
    assert (values == 0).any() and (values < 0).any() and (np.abs(values) >= 1e6).any()
    assert ((np.abs(values) < 1) & (values != 0)).any() or fmt.max_decimals == 0 and fmt.decimals is None


@pytest.mark.parametrize("name", list(ALL))
def test_detect_generated_values(name):
    fmt = ALL[name]
    texts, _ = generated(fmt, 1000, seed=7 + len(name))
    found, share = detect_number_format(pd.Series(pd.unique(np.array(texts, dtype=object))))
    assert share == 1.0
    assert found is not None
    for field in ("prefix", "suffix", "thousands", "decimal", "decimals", "negative", "sign_before_prefix"):
        assert getattr(found, field) == getattr(fmt, field), field
    if fmt.decimals is None:
        assert found.max_decimals == fmt.max_decimals
    # The detected format parses and writes every value as given.
    assert list(found.render(found.parse(pd.Series(texts)))) == texts


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(ALL)),
    integer=st.integers(min_value=0, max_value=10**12),
    frac_digits=st.text(alphabet="0123456789", max_size=3),
    negative=st.booleans(),
)
def test_every_parsed_value_renders_back(name, integer, frac_digits, negative):
    """Whatever text parses, renders back to itself; text that does not parse gives NaN."""
    fmt = ALL[name]
    text = written(fmt, integer, frac_digits, negative)
    parsed = fmt.parse(pd.Series([text]))
    if np.isfinite(parsed[0]):
        assert fmt.render(parsed)[0] == text
    else:
        expected_digits = fmt.decimals if fmt.decimals is not None else None
        ok_frac = (
            len(frac_digits) == expected_digits
            if expected_digits is not None
            else (frac_digits == "" or (len(frac_digits) <= fmt.max_decimals and not frac_digits.endswith("0")))
        )
        is_zero = integer == 0 and not frac_digits.strip("0")
        assert not ok_frac or (negative and is_zero)


def mutations(texts: list[str], alphabet: str, n: int, seed: int) -> list[str]:
    """Near misses: one character replaced, inserted or deleted."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        t = texts[int(rng.integers(len(texts)))]
        i = int(rng.integers(len(t) + 1))
        c = alphabet[int(rng.integers(len(alphabet)))]
        op = rng.integers(3)
        out.append(t[:i] + c + t[i + 1 :] if op == 0 else t[:i] + c + t[i:] if op == 1 else t[:i] + t[i + 1 :])
    return out


@pytest.mark.parametrize("name", list(ALL))
def test_near_misses_parse_only_when_they_round_trip(name):
    fmt = ALL[name]
    texts, _ = generated(fmt, 300, seed=11)
    near = mutations(texts, "0123456789,.-()$€% '\u00a0", 3000, seed=len(name))
    parsed = fmt.parse(pd.Series(near))
    ok = np.isfinite(parsed)
    assert ok.any() and (~ok).any()
    assert list(fmt.render(parsed[ok])) == [t for t, k in zip(near, ok) if k]


# --------------------------------------------------------------------------------------------
# Detection: conventions, ambiguity, stray text, negatives.
# --------------------------------------------------------------------------------------------


def detect(values, **kw):
    return detect_number_format(pd.Series(values, dtype=object), **kw)


@pytest.mark.parametrize(
    "values,expected",
    [
        (["1,234", "12,345", "999,999"], dict(thousands=",", decimal=".", max_decimals=0)),
        (["1,234", "12", "999", "100,000"], dict(thousands=",", max_decimals=0)),
        (["1,234.56", "1,234", "7.5"], dict(thousands=",", decimal=".", decimals=None, max_decimals=2)),
        (["12,345,678", "1,234"], dict(thousands=",", max_decimals=0)),
        (["1.234,56", "12,5", "1.000.000,25"], dict(thousands=".", decimal=",", max_decimals=2)),
        (["12,5", "3,75", "100"], dict(thousands="", decimal=",", max_decimals=2)),
        (["4,125 %", "3,875 %"], dict(thousands="", decimal=",", decimals=3, suffix=" %")),
        (["4.125%", "3.875%"], dict(thousands="", decimal=".", decimals=3)),
        (["€1.234", "€12.345", "€7"], dict(thousands=".", prefix="€", max_decimals=0)),
        (["12.5%", "7%", "3.25%"], dict(suffix="%", decimals=None, max_decimals=2)),
        (["12.5 %", "7.0 %", "3.2 %"], dict(suffix=" %", decimals=1)),
        (["€ 1.234,56", "€ -12,00"], dict(prefix="€ ", thousands=".", decimal=",", sign_before_prefix=False)),
        (["1 234,56 €", "12,00 €"], dict(suffix=" €", thousands=" ", decimal=",", decimals=2)),
        (["-$5.00", "$1,200.00"], dict(prefix="$", negative="-", sign_before_prefix=True)),
        (["$-5.00", "$1,200.00"], dict(prefix="$", negative="-", sign_before_prefix=False)),
        (["(500.00)", "1,234.00"], dict(negative="()", decimals=2)),
        (["$(500.00)", "$1,234.00"], dict(prefix="$", negative="()", sign_before_prefix=False)),
        (["($500.00)", "$1,234.00"], dict(prefix="$", negative="()", sign_before_prefix=True)),
        (["USD 1,200.00", "USD 5.00"], dict(prefix="USD ", decimals=2)),
        (["1,200.00 EUR", "5.00 EUR"], dict(suffix=" EUR", decimals=2)),
        ([" 36 months", " 60 months"], dict(prefix=" ", suffix=" months")),
        (["$0.00", "-$0.00", "$5.00"], dict(signed_zero=True)),
    ],
)
def test_detect_conventions(values, expected):
    fmt, share = detect(values)
    assert fmt is not None and share == 1.0
    for k, v in expected.items():
        assert getattr(fmt, k) == v, (k, fmt)
    assert list(fmt.render(fmt.parse(pd.Series(values)))) == values


@pytest.mark.parametrize(
    "values",
    [
        ["2021-01-01", "2021-02-03", "2020-12-31"],
        ["01/02/2021", "03/04/2020"],
        ["Mar-2018", "Apr-2019", "Dec-2020"],
        ["10:30", "11:45:00"],
        ["555-1234", "555-9876"],
        ["(555) 123-4567", "(555) 987-6543"],
        ["+1 555 123 4567", "+44 20 7946 0958"],
        ["020 7946 0958", "01 23 45 67 89"],
        ["02134", "90210-1234", "10001"],
        ["90210", "10001", "02134"],
        ["LN-0001234", "LN-0001235", "LN-0009999"],
        ["ABC-123", "ABC-456"],
        ["12-345", "13-456"],
        ["1.2.3", "1.10.0", "2.0.1"],
        ["10-20", "30-40", "5-10"],
        ["1,2,3", "4,5,6"],
        ["hello", "world", "lorem ipsum"],
        ["$5.00", "€5.00", "£5.00"],
        ["1.5", "2", "-3.25", "1e5"],
        ["1200.00", "5.00", "0.50"],
        ["1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th"],
        ["10am", "11am", "9am"],
        ["12 Mar", "5 Mar"],
        ["1234.50", "1,234.50", "5,000.00", "12345.00"],  # inconsistent grouping
        ["+2.5%", "+1.0%"],
    ],
)
def test_not_formatted_numbers(values):
    fmt, _ = detect(values)
    assert fmt is None


def test_stray_text_counts_as_non_matching():
    texts, values = generated(USD, 970, seed=3)
    column = texts + ["n/a"] * 20 + ["unknown"] * 10
    counts = pd.Series(column).value_counts()
    fmt, share = detect_number_format(pd.Series(counts.index), weights=counts.to_numpy())
    assert fmt is not None and fmt.prefix == "$" and fmt.decimals == 2
    assert share == pytest.approx(0.97)
    parsed = fmt.parse(pd.Series(column))
    assert np.isnan(parsed[-30:]).all() and np.isfinite(parsed[:970]).all()
    # Unweighted, the two stray values are a tiny share of distinct values.
    assert detect_number_format(pd.Series(counts.index))[0] == fmt
    # Weighted by counts, too much stray text: not a format.
    w = counts.to_numpy().astype(float)
    w[list(counts.index).index("n/a")] = 1000
    fmt2, share2 = detect_number_format(pd.Series(counts.index), weights=w)
    assert fmt2 is None and share2 < 0.95


def test_detection_share_and_min_share():
    values = ["$1.00", "$2.50", "$3.00", "$4.00", "oops"]
    fmt, share = detect(values)
    assert fmt is None and share == pytest.approx(0.8)
    fmt, share = detect(values, min_share=0.75)
    assert fmt is not None and share == pytest.approx(0.8)
    assert detect([]) == (None, 0.0)
    assert detect([np.nan, np.nan]) == (None, 0.0)


def test_plain_numbers_only_fire_when_the_format_adds_something():
    assert detect(["5", "12", "999", "120"])[0] is None
    fmt, share = detect(["5", "12", "999", "1,200"] + [str(i) for i in range(100)])
    assert fmt is not None and fmt.thousands == "," and share == 1.0


def test_non_matching_values_parse_to_nan():
    text = pd.Series(["1234.50", "$1234.50", "$01.00", "$.50", "$1,234.5", "$-5.00", "-$0.00", "$1,2345.00", 7.0, None])
    parsed = USD.parse(text)
    assert np.isnan(parsed).all()
    assert np.isnan(PCT.parse(pd.Series(["4.10%", "4.123%", "4.1 %"]))).all()
    assert np.isnan(PCT_1.parse(pd.Series(["4%", "4.10%"]))).all()
    assert np.isnan(ACCOUNTING.parse(pd.Series(["(500.00", "500.00)", "-500.00"]))).all()


def test_signed_zero():
    fmt = NumberFormat(prefix="$", decimals=2, signed_zero=True)
    assert list(fmt.render(fmt.parse(pd.Series(["-$0.00", "$0.00"])))) == ["-$0.00", "$0.00"]
    assert np.isnan(USD.parse(pd.Series(["-$0.00"])))[0]
    # A value rounding to zero is written without a sign where minus zero is not used.
    assert list(USD.render(np.array([-0.001, -0.0]))) == ["$0.00", "$0.00"]


def test_rendering_generated_values_rounds():
    assert list(PCT.render(np.array([12.3456, 0.125, -0.005, 7.0001]))) == ["12.35%", "0.13%", "-0.01%", "7%"]
    assert list(USD.render(np.array([1.005e6, 2.5, 0.125]))) == ["$1,005,000.00", "$2.50", "$0.13"]
    assert list(THOUSANDS_INT.render(np.array([1234.5, -0.4, 999.49]))) == ["1,235", "0", "999"]


def test_render_nan_and_inf():
    out = USD.render(np.array([np.nan, 1.0, np.inf, -np.inf]))
    assert out.dtype == object
    assert pd.isna(out[0]) and out[1] == "$1.00" and pd.isna(out[2]) and pd.isna(out[3])
    assert USD.render(np.array([])).tolist() == []
    parsed = USD.parse(pd.Series([np.nan, "$1.00", None], dtype=object))
    assert np.isnan(parsed[0]) and parsed[1] == 1.0 and np.isnan(parsed[2])


def test_parse_repeated_values_and_string_dtype():
    s = pd.Series(["$1.00", "$2.00", pd.NA, "$1.00"] * 50, dtype="string", index=np.arange(200) * 3)
    parsed = USD.parse(s)
    assert parsed.shape == (200,) and np.isnan(parsed[2::4]).all() and (parsed[::4] == 1).all()


def test_number_format_dict_round_trip():
    for fmt in ALL.values():
        d = fmt.to_dict()
        assert NumberFormat.from_dict(json.loads(json.dumps(d))) == fmt
    with pytest.raises(ValueError):
        NumberFormat.from_dict({"prefix": "$", "bogus": 1})
    with pytest.raises(ValueError):
        NumberFormat(thousands=",", decimal=",")
    with pytest.raises(ValueError):
        NumberFormat(negative="minus")


def test_describe():
    assert USD.describe() == "currency $ with , thousands, 2 decimals"
    assert PCT_1.describe() == "percent, 1 decimal"
    assert ACCOUNTING.describe() == "number with , thousands, 2 decimals, accounting negatives (500.00)"
    assert USD_SIGN_AFTER.describe().endswith("negatives $-5.00")
    assert EUR_DE.describe().startswith("currency € with . thousands, decimal comma")
    for fmt in ALL.values():
        assert isinstance(fmt.describe(), str) and len(fmt.describe()) < 90


def test_detection_speed():
    rng = np.random.default_rng(0)
    values = pd.Series([f"${v:,.2f}" for v in rng.uniform(-1e6, 1e6, 10_000)]).drop_duplicates()
    assert len(values) > 9_900
    times = []
    for _ in range(2):
        t = time.perf_counter()
        fmt, share = detect_number_format(values)
        times.append(time.perf_counter() - t)
    assert fmt is not None and share == 1.0
    assert min(times) < 0.5


# --------------------------------------------------------------------------------------------
# Timestamps with UTC offsets
# --------------------------------------------------------------------------------------------

OFFSETS = np.array([-480, -300, -210, 0, 60, 120, 330, 345, 540, 840])
DT_FORMATS = {
    "colon_space": OffsetDatetimeFormat("%Y-%m-%d %H:%M:%S", "+HH:MM"),
    "colon_T_zulu": OffsetDatetimeFormat("%Y-%m-%dT%H:%M:%S", "+HH:MM", zulu=True),
    "millis": OffsetDatetimeFormat("%Y-%m-%dT%H:%M:%S.%f", "+HH:MM", fraction_digits=3),
    "micros_zulu": OffsetDatetimeFormat("%Y-%m-%dT%H:%M:%S.%f", "+HH:MM", zulu=True, fraction_digits=6),
    "nocolon": OffsetDatetimeFormat("%Y-%m-%d %H:%M:%S", "+HHMM"),
    "space_nocolon": OffsetDatetimeFormat("%Y-%m-%d %H:%M:%S ", "+HHMM"),
    "postgres": OffsetDatetimeFormat("%Y-%m-%d %H:%M:%S", "+HH"),
    "minutes_only": OffsetDatetimeFormat("%Y-%m-%dT%H:%M", "+HH:MM"),
}


def generated_timestamps(fmt: OffsetDatetimeFormat, n: int, seed: int):
    rng = np.random.default_rng(seed)
    unit = 10 ** (9 - fmt.fraction_digits) if "%S" in fmt.base else 60 * 10**9
    lo, hi = pd.Timestamp("1990-01-01").value // unit, pd.Timestamp("2040-01-01").value // unit
    utc = rng.integers(lo, hi, n) * unit
    offsets = rng.choice(OFFSETS, n)
    return utc.astype(float), offsets.astype(float)


@pytest.mark.parametrize("name", list(DT_FORMATS))
def test_offset_datetime_round_trip(name):
    fmt = DT_FORMATS[name]
    utc, off = generated_timestamps(fmt, 2000, seed=len(name))
    texts = list(fmt.render(utc, off))
    u2, o2 = fmt.parse(pd.Series(texts))
    np.testing.assert_array_equal(u2, utc)
    np.testing.assert_array_equal(o2, off)
    assert list(fmt.render(u2, o2)) == texts
    # The UTC instant is the one pandas reads from the same text.
    ref = pd.to_datetime(pd.Series(texts[:50]).str.replace(" +", "+", regex=False), utc=True, format="ISO8601")
    np.testing.assert_array_equal(ref.astype("int64").to_numpy().astype(float), utc[:50])
    found, share = detect_offset_datetime_format(pd.Series(texts))
    assert found == fmt and share == 1.0


def test_offset_datetime_whole_pandas_range():
    """Microseconds from 1678 to 2261: float64 UTC nanoseconds still give the text back."""
    fmt = DT_FORMATS["micros_zulu"]
    rng = np.random.default_rng(4)
    lo, hi = pd.Timestamp("1678-01-02").value // 1000, pd.Timestamp("2261-12-30").value // 1000
    texts = list(fmt.render((rng.integers(lo, hi, 5000) * 1000).astype(float), rng.choice(OFFSETS, 5000) * 1.0))
    texts += ["1700-01-01T00:00:00.000001Z", "2250-06-30T23:59:59.999999-08:00", "1969-12-31T23:59:59.999999Z"]
    u, o = fmt.parse(pd.Series(texts))
    ok = np.isfinite(u)
    assert ok.mean() > 0.99
    assert list(fmt.render(u[ok], o[ok])) == [t for t, k in zip(texts, ok) if k]
    assert u[-1] == -1000.0


@pytest.mark.parametrize("name", list(DT_FORMATS))
def test_offset_datetime_near_misses(name):
    fmt = DT_FORMATS[name]
    texts = list(fmt.render(*generated_timestamps(fmt, 300, seed=5)))
    near = mutations(texts, "0123456789:+-TZ. ", 3000, seed=len(name))
    u, o = fmt.parse(pd.Series(near))
    ok = np.isfinite(u)
    assert ok.any() and (~ok).any() and (np.isfinite(o) == ok).all()
    assert list(fmt.render(u[ok], o[ok])) == [t for t, k in zip(near, ok) if k]


@pytest.mark.parametrize(
    "text,utc,offset",
    [
        ("2021-01-01 10:00:00+01:00", "2021-01-01 09:00:00", 60),
        ("2021-01-01T10:00:00Z", "2021-01-01 10:00:00", 0),
        ("2021-01-01T10:00:00.123+05:30", "2021-01-01 04:30:00.123", 330),
        ("2021-03-28 01:30:00-0500", "2021-03-28 06:30:00", -300),
        ("2021-03-28 02:30:00+01:00", "2021-03-28 01:30:00", 60),  # no such local time in Paris: kept
        ("2021-06-01 00:00:00+05:45", "2021-05-31 18:15:00", 345),
    ],
)
def test_offset_datetime_examples(text, utc, offset):
    fmt, share = detect_offset_datetime_format(pd.Series([text]))
    assert fmt is not None and share == 1.0
    u, o = fmt.parse(pd.Series([text]))
    assert u[0] == pd.Timestamp(utc).value and o[0] == offset
    assert fmt.render(u, o)[0] == text


def test_offset_datetime_mixed_z_and_offsets():
    values = ["2021-01-01T10:00:00Z", "2021-01-01T11:00:00+01:00", "2021-01-01T05:00:00-05:00"]
    fmt, share = detect_offset_datetime_format(pd.Series(values))
    assert fmt.zulu and fmt.offset_style == "+HH:MM" and share == 1.0
    assert list(fmt.render(*fmt.parse(pd.Series(values)))) == values
    assert np.isnan(fmt.parse(pd.Series(["2021-01-01T10:00:00+00:00"]))[0]).all()  # Z column: +00:00 is stray
    only_z, _ = detect_offset_datetime_format(pd.Series(["2021-01-01T10:00:00Z", "2021-01-02T10:00:00Z"]))
    assert only_z.offset_style == "Z" and only_z.zulu
    assert list(only_z.render(np.array([0.0, 0.0]), np.array([0.0, 90.0]))) == [
        "1970-01-01T00:00:00Z",
        "1970-01-01T01:30:00+01:30",
    ]


def test_offset_datetime_non_matching():
    fmt = DT_FORMATS["colon_space"]
    bad = pd.Series(
        [
            "2021-02-30 10:00:00+01:00",  # no such day
            "2021-01-01 24:00:00+01:00",
            "2021-01-01 10:60:00+01:00",
            "2021-01-01 10:00:00-00:00",  # would render +00:00
            "2021-01-01 10:00:00+0100",  # other style
            "2021-01-01 10:00:00Z",  # Z not used in this column
            "2021-01-01 10:00:00",  # naive
            "2021-01-01 10:00:00.5+01:00",
            np.nan,
        ],
        dtype=object,
    )
    u, o = fmt.parse(bad)
    assert np.isnan(u).all() and np.isnan(o).all()


@pytest.mark.parametrize(
    "values",
    [
        ["2021-01-01 10:00:00", "2021-01-02 11:30:00"],  # naive
        ["2021-01-01", "2021-01-02"],
        ["2021-01-01T10:00:00.1234567+01:00", "2021-01-01T10:00:00.7654321+01:00"],  # 7 digits
        ["01/02/2021 10:00:00+01:00", "03/02/2021 10:00:00+01:00"],  # not year first
        ["$1,200.00", "hello"],
        ["2021-01-01 10:00:00+01:00"] + [f"2021-01-{d:02d} 10:00:00" for d in range(1, 20)],  # mostly naive
    ],
)
def test_offset_datetime_not_detected(values):
    assert detect_offset_datetime_format(pd.Series(values))[0] is None


def test_offset_datetime_stray_values_and_weights():
    fmt = DT_FORMATS["millis"]
    utc, off = generated_timestamps(fmt, 95, seed=1)
    texts = list(fmt.render(utc, off)) + ["not a date"] * 5
    found, share = detect_offset_datetime_format(pd.Series(texts))
    assert found == fmt and share == pytest.approx(0.95)
    w = np.ones(len(texts))
    w[-1] = 100
    found, share = detect_offset_datetime_format(pd.Series(texts), weights=w)
    assert found is None and share < 0.9


def test_offset_datetime_render_nan_and_rounding():
    fmt = DT_FORMATS["colon_space"]
    out = fmt.render(np.array([np.nan, 0.0, 0.0, 1.6e9 * 1e9 + 0.6e9]), np.array([60.0, np.nan, 59.6, -300]))
    assert pd.isna(out[0]) and pd.isna(out[1])
    assert out[2] == "1970-01-01 01:00:00+01:00"
    assert out[3] == "2020-09-13 07:26:41-05:00"  # seconds rounded, offset kept


def test_offset_datetime_dict_round_trip_and_describe():
    for fmt in DT_FORMATS.values():
        assert OffsetDatetimeFormat.from_dict(json.loads(json.dumps(fmt.to_dict()))) == fmt
        assert "offset" in fmt.describe()
    assert "3 fraction digits" in DT_FORMATS["millis"].describe()
    with pytest.raises(ValueError):
        OffsetDatetimeFormat("%Y-%m-%d %H:%M:%S.%f", "+HH:MM")  # %f without digits
    with pytest.raises(ValueError):
        OffsetDatetimeFormat("%d/%m/%y %H:%M", "+HH:MM")
    with pytest.raises(ValueError):
        OffsetDatetimeFormat("%Y-%m-%d %H:%M", "UTC")


def test_offset_detection_speed():
    fmt = DT_FORMATS["millis"]
    texts = pd.Series(fmt.render(*generated_timestamps(fmt, 10_000, seed=2)))
    t = time.perf_counter()
    found, _ = detect_offset_datetime_format(texts)
    assert found == fmt and time.perf_counter() - t < 1.0


# --------------------------------------------------------------------------------------------
# Pre-check
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values,expected",
    [
        (["$1,200.00", "$5.00"], True),
        (["12.5%", "7%"], True),
        (["1 234,56 €"], True),
        (["(500.00)", "12.00"], True),
        (["12", "1,234", "99"], True),
        (["36 months", "60 months"], True),
        (["2021-01-01T10:00:00+01:00"], True),
        (["2021-01-01T10:00:00Z"], True),
        (["5", "7", "12"], True),  # plain numbers in a text column: something else is somewhere
        (["hello", "world"], False),
        (["2021-01-01", "2021-02-01"], False),
        (["LN-0001234", "LN-0001235"], False),
        ([], False),
    ],
)
def test_looks_formatted(values, expected):
    assert looks_formatted(pd.Series(values, dtype=object)) is expected


def test_looks_formatted_samples_at_most_200_values():
    column = pd.Series(["$1.00"] * 100_000 + ["x"] * 10)
    t = time.perf_counter()
    assert looks_formatted(column)
    assert time.perf_counter() - t < 0.2
