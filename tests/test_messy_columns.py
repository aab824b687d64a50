"""Messy bank-export columns end to end: formats, literal "NA" categories, UTC offsets,
identifier shapes, free text (read → fit → sample → write → read)."""

import re

import numpy as np
import pandas as pd
import pytest

from synthkit.tabular.io import read_table, write_table
from synthkit.tabular.schema import ColumnKind, infer_schema
from synthkit.tabular.synthesizer import Synthesizer


def export(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(8, 1, n), 2)
    util = np.round(rng.uniform(0, 100, n), 1)
    bal = rng.integers(0, 900_000, n)
    pnl = np.round(rng.normal(0, 2000, n), 2)
    ts = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24 * 3600, n), unit="s")
    offsets = rng.choice(["+00:00", "+01:00", "-05:00"], n)
    rare_titles = [f"title-{i} of dept {i % 7}" for i in range(600)]
    common = ["teacher", "nurse", "driver", "manager", "engineer", "sales associate"]
    titles = np.where(rng.random(n) < 0.6, rng.choice(common, n), rng.choice(rare_titles, n))
    return pd.DataFrame({
        "amount": [f"${v:,.2f}" for v in amount],
        "revol_util": [f"{v:g}%" for v in util],
        "balance": [f"{v:,}" for v in bal],
        "pnl": [f"({abs(v):,.2f})" if v < 0 else f"{v:,.2f}" for v in pnl],
        "applied_at": [t.strftime("%Y-%m-%d %H:%M:%S") + o for t, o in zip(ts, offsets)],
        "home": rng.choice(["OWN", "RENT", "MORTGAGE", "NA"], n),
        "verification": rng.choice(["None", "Verified", "N/A", "null"], n),
        "loan_id": [f"LN-{i:07d}" for i in rng.permutation(10**6)[:n]],
        "emp_title": titles,
        "score": rng.normal(650, 50, n).round(),
    })


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("messy")
    path = tmp / "export.csv"
    export().to_csv(path, index=False)
    df = read_table(path)
    synth = Synthesizer("betatcvae", seed=0, epochs=3, progress=False).fit(df, track=False)
    out = synth.sample(1000, seed=2)
    write_table(out, tmp / "synthetic.csv")
    return df, synth, out, read_table(tmp / "synthetic.csv")


def test_literal_na_categories_are_values_not_missing(roundtrip):
    df, synth, out, back = roundtrip
    assert "NA" in set(df["home"]) and df["home"].notna().all()
    assert {"None", "N/A", "null"} <= set(df["verification"])
    assert back["home"].notna().all() and "NA" in set(back["home"])
    assert back["verification"].notna().all() and {"None", "N/A", "null"} <= set(back["verification"])


def test_declared_markers_are_missing(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": ["x", "n/a", "y", ""], "b": [1, 2, 3, 4]}).to_csv(path, index=False)
    assert read_table(path)["a"].isna().sum() == 1
    assert read_table(path, na_values=["n/a"])["a"].isna().sum() == 2


def test_formatted_numbers_are_numbers_and_come_back_formatted(roundtrip):
    df, synth, out, back = roundtrip
    for col in ("amount", "revol_util", "balance", "pnl"):
        assert synth.schema[col].kind in (ColumnKind.CONTINUOUS, ColumnKind.MIXED), col
        assert synth.schema[col].number_format is not None, col
    assert back["amount"].str.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d").all()
    assert back["revol_util"].str.fullmatch(r"\d+(\.\d)?%").all()
    assert back["balance"].str.fullmatch(r"\d{1,3}(,\d{3})*").all()
    assert back["pnl"].str.fullmatch(r"\(?\d{1,3}(,\d{3})*\.\d\d\)?").all()
    assert back["pnl"].str.startswith("(").mean() > 0.2  # negatives in accounting style
    # The numbers they hold lie in the training range.
    amounts = back["amount"].str.replace(r"[$,]", "", regex=True).astype(float)
    real = df["amount"].str.replace(r"[$,]", "", regex=True).astype(float)
    assert real.min() <= amounts.min() and amounts.max() <= real.max()


def test_timestamps_with_offsets_are_datetimes(roundtrip):
    df, synth, out, back = roundtrip
    spec = synth.schema["applied_at"]
    assert spec.kind is ColumnKind.DATETIME and spec.offset_format is not None
    pattern = re.compile(r"2021-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d|2022-01-0\d \d\d:\d\d:\d\d[+-]\d\d:\d\d")
    assert back["applied_at"].map(lambda v: bool(pattern.fullmatch(v))).all()
    parsed = pd.to_datetime(back["applied_at"], format="%Y-%m-%d %H:%M:%S%z", utc=True)
    assert parsed.notna().all()
    assert set(back["applied_at"].str[-6:]) <= {"+00:00", "+01:00", "-05:00"}
    assert len(set(back["applied_at"].str[-6:])) == 3


def test_identifiers_keep_their_constant_prefix_and_are_new(roundtrip):
    df, synth, out, back = roundtrip
    assert back["loan_id"].str.fullmatch(r"LN-\d{7}").all()
    assert back["loan_id"].is_unique
    # Drawn afresh: a match with a real id only by chance (1,000 × 1,500 / 10^7 here).
    assert back["loan_id"].isin(df["loan_id"]).sum() <= 3


def test_rare_free_text_is_never_emitted_verbatim(roundtrip):
    df, synth, out, back = roundtrip
    counts = df["emp_title"].value_counts()
    rare = set(counts[counts < 5].index)
    assert len(rare) > 300
    assert not back["emp_title"].isin(rare).any()
    assert back["emp_title"].isin(set(counts[counts >= 5].index)).all()


def test_text_columns_draw_from_their_own_streams(roundtrip):
    df, synth, out, back = roundtrip
    digits = [back[c].str.replace(r"\D", "", regex=True) for c in ("loan_id", "balance")]
    assert (digits[0] == digits[1]).mean() < 0.01


def test_schema_reports_formats_in_one_line_per_column():
    from synthkit.tabular.schema import describe_schema

    rows = {r["column"]: r["details"] for r in describe_schema(infer_schema(export(400)))}
    assert "formatted numbers" in rows["amount"] and "currency" in rows["amount"]
    assert "percent" in rows["revol_util"]
    assert "UTC offsets" in rows["applied_at"]
