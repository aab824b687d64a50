"""Tests for the messy bank loan export (synthkit.datasets.messy).

Every claim of the ground-truth dict is checked against the generated frame: relations
hold except in exactly the stated rows, missingness patterns are exact, heaping shares
and support sizes match, sentinels and literal "NA"/"None" levels are there, formatted
strings parse back to their numeric twins, and the frame survives a CSV round trip.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.datasets import simulate_credit, simulate_messy_credit
from synthkit.errors import SynthkitError

N_ROWS = 5_000
SEED = 11
BUREAU = ["Mortgage", "Utilization", "Amount Past Due", "Balance", "Credit Inquiry", "Open Trade", "Delinquency Status"]
FORMAT_PATTERNS = {
    "currency": r"\$\d{1,3}(,\d{3})*\.\d{2}",
    "percent": r"\d{1,3}\.\d%",
    "thousands": r"\d{1,3}(,\d{3})*",
    "accounting": r"\(\d{1,3}(,\d{3})*\.\d{2}\)|\d{1,3}(,\d{3})*\.\d{2}",
    "tz_datetime": r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}",
}


@pytest.fixture(scope="module")
def messy() -> tuple[pd.DataFrame, dict]:
    """(frame, truth) at 5,000 rows."""
    return simulate_messy_credit(N_ROWS, seed=SEED)


def parse(values: pd.Series, kind: str | None) -> pd.Series:
    """Numbers behind a formatted string column (``kind`` None: already numeric)."""
    if kind is None:
        return values.astype(float)
    text = values.astype(str)
    if kind == "accounting":
        negative = text.str.startswith("(")
        number = text.str.strip("()").str.replace(",", "", regex=False).astype(float)
        return number.where(~negative, -number)
    return text.str.replace(r"[$,%]", "", regex=True).astype(float)


def broken_rows(frame: pd.DataFrame, relation: dict, formats: dict) -> list[int]:
    """Row positions where ``relation`` fails in ``frame``."""
    kind = relation["type"]
    if kind == "fd":
        (determinant,) = relation["determinant"]
        expected = frame[determinant].map(relation["mapping"])
        bad = frame[relation["dependent"]] != expected
    elif kind == "lookup":
        table = {tuple(row[:-1]): row[-1] for row in relation["table"]}
        keys = zip(*(frame[k] for k in relation["keys"]))
        expected = np.array([table[key] for key in keys])
        bad = frame[relation["target"]].to_numpy() != expected
    elif kind == "linear":
        fitted = sum(c * frame[t] for c, t in zip(relation["coefficients"], relation["terms"]))
        bad = (frame[relation["target"]] - fitted - relation["intercept"]).abs() > relation["tolerance"] + 1e-9
    elif kind == "annuity":
        principal = frame[relation["principal"]].to_numpy(float)
        rate = relation["rate_scale"] * frame[relation["rate"]].to_numpy(float)
        periods = frame[relation["periods"]].to_numpy(float)
        payment = principal * rate / (1.0 - (1.0 + rate) ** -periods)
        half_unit = 0.5 * 10.0 ** -relation["decimals"]
        bad = np.abs(frame[relation["target"]].to_numpy() - payment) > half_unit + 1e-9
    elif kind == "order":
        both = frame[[relation["lesser"], relation["greater"]]].notna().all(axis=1)
        bad = both & (frame[relation["lesser"]] > frame[relation["greater"]])
    elif kind in ("copy", "rescale"):
        target_format = relation["target_format"]
        if target_format is not None:
            assert formats[relation["target"]]["kind"] == target_format
        target = parse(frame[relation["target"]], target_format)
        expected = np.round(relation["factor"] * frame[relation["source"]], relation["decimals"])
        bad = (target - expected).abs() > 0.5 * 10.0 ** -relation["decimals"] + 1e-9
    elif kind == "missing_together":
        missing = frame[relation["columns"]].isna()
        bad = missing.any(axis=1) & ~missing.all(axis=1)
    elif kind == "missing_iff":
        condition = frame[relation["condition"]["column"]] == relation["condition"]["equals"]
        bad = (frame[relation["columns"]].isna().to_numpy() != condition.to_numpy()[:, None]).any(axis=1)
    else:
        raise AssertionError(f"unknown relation type {kind}")
    return np.flatnonzero(np.asarray(bad)).tolist()


# --- shape, dtypes, determinism, validation ------------------------------------------


def test_shape_dtypes_and_bureau_columns(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = messy
    assert frame.shape == (N_ROWS, 51)
    assert frame.index.equals(pd.RangeIndex(N_ROWS))
    assert truth["n_rows"] == N_ROWS and truth["seed"] == SEED
    for column in frame.columns:
        series = frame[column]
        if series.dtype == object:
            assert all(isinstance(v, str) for v in series.dropna()), column
            assert all(isinstance(v, float) and np.isnan(v) for v in series[series.isna()]), column
        else:
            assert series.dtype in (np.int64, np.float64), column
    for column in ("loan_amount", "interest_rate", "installment", "total_paid", "annual_income"):
        assert frame[column].dtype == np.float64
    for column in ("term_months", "credit_score", "total_acc", "num_open_lines", "delinq_2y", "approved"):
        assert frame[column].dtype == np.int64
    bureau, _ = simulate_credit(N_ROWS, seed=SEED)
    pd.testing.assert_frame_equal(frame[BUREAU], bureau[BUREAU])


def test_deterministic_under_seed() -> None:
    frame_a, truth_a = simulate_messy_credit(2_000, seed=5)
    frame_b, truth_b = simulate_messy_credit(2_000, seed=5)
    pd.testing.assert_frame_equal(frame_a, frame_b)
    assert truth_a == truth_b
    frame_c, truth_c = simulate_messy_credit(2_000, seed=6)
    assert not frame_a.equals(frame_c)
    assert truth_a != truth_c
    assert not frame_a["loan_amount"].equals(frame_c["loan_amount"])
    assert not frame_a["emp_title"].equals(frame_c["emp_title"])


def test_truth_is_json_serialisable(messy: tuple[pd.DataFrame, dict]) -> None:
    _, truth = messy
    assert json.loads(json.dumps(truth)) == truth
    assert set(truth) >= {
        "heaped", "sentinels", "outliers", "relations", "missingness", "formats",
        "na_categories", "free_text", "identifiers",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_rows": 0}, "n_rows"),
        ({"n_rows": -5}, "n_rows"),
        ({"n_rows": 10.0}, "n_rows"),
        ({"n_rows": "100"}, "n_rows"),
        ({"n_rows": True}, "n_rows"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": None}, "seed"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, name: str) -> None:
    with pytest.raises(SynthkitError, match=name) as info:
        simulate_messy_credit(**kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("n_rows", [1, 2, 7])
def test_tiny_tables(n_rows: int) -> None:
    frame, truth = simulate_messy_credit(n_rows, seed=0)
    assert len(frame) == n_rows
    assert (frame["liquid_assets"] == 1_000_000.0).sum() == 1
    for relation in truth["relations"]:
        assert broken_rows(frame, relation, truth["formats"]) == relation["exception_rows"]
    json.dumps(truth)


def test_fast_at_ten_thousand_rows() -> None:
    start = time.perf_counter()
    frame, _ = simulate_messy_credit(10_000, seed=1)
    assert time.perf_counter() - start < 2.0
    assert len(frame) == 10_000


# --- relations --------------------------------------------------------------------------


def test_every_relation_holds_except_its_stated_rows(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = messy
    kinds = {r["type"] for r in truth["relations"]}
    assert kinds >= {"fd", "lookup", "linear", "annuity", "order", "rescale", "copy", "missing_together", "missing_iff"}
    for relation in truth["relations"]:
        rows = broken_rows(frame, relation, truth["formats"])
        assert rows == relation["exception_rows"], relation["type"]
        assert relation["exceptions"] == len(rows)


def test_relation_details(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = messy
    by_target = {r.get("dependent", r.get("target", r.get("lesser"))): r for r in truth["relations"]}
    # sub_grade -> grade exact; state -> region with 3 exceptions, counted without the mapping too.
    assert by_target["grade"]["exceptions"] == 0
    assert (frame["grade"] == frame["sub_grade"].str[0]).all()
    region = by_target["region"]
    assert region["exceptions"] == 3
    modal = frame.groupby("state")["region"].agg(lambda s: s.value_counts().iloc[0])
    assert int(len(frame) - modal.sum()) == 3
    assert 1 - 3 / len(frame) >= 0.999
    # The rate is a function of (sub_grade, issue_month); issue months are text like Mar-2018.
    assert frame.groupby(["sub_grade", "issue_month"])["interest_rate"].nunique().max() == 1
    assert frame["issue_month"].nunique() == 6
    assert frame["issue_month"].str.fullmatch(r"[A-Z][a-z]{2}-\d{4}").all()
    # Instalment is broken exactly where the term holds the 9999 code.
    assert by_target["installment"]["exception_rows"] == np.flatnonzero(frame["term_months"] == 9999).tolist()
    assert set(frame["term_months"]) == {36, 60, 9999}
    # Money identity to the cent.
    cents = (frame[["paid_principal", "paid_interest", "paid_late_fees"]] * 100).round().sum(axis=1)
    assert (cents == (frame["total_paid"] * 100).round()).all()
    # funded <= loan, equal in ~90 % of rows.
    funded = by_target["funded_amount"]
    assert funded["exceptions"] == 0
    assert (frame["funded_amount"] <= frame["loan_amount"]).all()
    assert funded["equal_share"] == pytest.approx((frame["funded_amount"] == frame["loan_amount"]).mean())
    assert 0.87 < funded["equal_share"] < 0.93
    assert by_target["num_open_lines"]["exception_rows"] == np.flatnonzero(frame["num_open_lines"] == 999).tolist()
    assert np.allclose(frame["interest_rate_frac"], frame["interest_rate"] / 100, rtol=0, atol=1e-12)
    assert set(frame["approved"]) == {0, 1}
    assert (frame["approved"] + frame["rejected"] == 1).all()


def test_columns_are_correlated_realistically(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, _ = messy
    assert frame["annual_income"].corr(frame["loan_amount"]) > 0.5
    assert frame["credit_score"].corr(frame["interest_rate"]) < -0.6
    assert frame["Utilization"].corr(frame["credit_score"]) < -0.3
    mean_rate = frame.groupby("grade")["interest_rate"].mean()
    assert mean_rate.is_monotonic_increasing
    assert frame["approved"].groupby(frame["credit_score"] > 700).mean()[True] > 0.8


# --- heaping, sentinels, outliers ----------------------------------------------------------


def test_heaped_columns(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = messy
    heaped = truth["heaped"]
    for column, entry in heaped.items():
        values = frame[column].dropna().to_numpy(float)
        for step, share in zip(entry["steps"], entry["shares"]):
            ratio = values / step
            assert np.isclose(ratio, np.round(ratio), rtol=0, atol=1e-6).mean() == pytest.approx(share), column
        assert entry["shares"][0] == 1.0, column
        if entry["support_size"] is not None:
            assert entry["support_size"] == np.unique(values).size
    assert heaped["loan_amount"]["steps"] == [25, 1000, 5000]
    share_1000, share_5000 = heaped["loan_amount"]["shares"][1:]
    assert 0.55 < share_1000 < 0.65
    assert 0.20 < share_5000 / share_1000 < 0.32
    assert frame["loan_amount"].between(1_000, 40_000).all()
    assert 0.80 < heaped["annual_income"]["shares"][1] < 0.90
    assert 35 <= heaped["interest_rate"]["support_size"] <= 60
    assert frame["interest_rate"].nunique() == heaped["interest_rate"]["support_size"]
    assert frame["total_acc"].between(0, 40).all()
    assert heaped["total_acc"]["support_size"] <= 41


def test_sentinels_and_outliers(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = messy
    for column, codes in truth["sentinels"].items():
        for code in codes:
            count = int((frame[column] == code).sum())
            assert count > 0, column
            assert truth["sentinel_counts"][column][str(code)] == count
    assert 0.003 < (frame["num_open_lines"] == 999).mean() < 0.007
    assert frame.loc[frame["num_open_lines"] != 999, "num_open_lines"].max() <= 40
    since = frame["months_since_last_delinq"].dropna()
    assert (since[since != -1] >= 0).all() and (since == -1).any()
    assert 1 <= (frame["term_months"] == 9999).sum() <= 10
    assert truth["outliers"] == {"liquid_assets": [1_000_000.0]}
    liquid = frame["liquid_assets"]
    assert (liquid == 1_000_000.0).sum() == 1
    assert (liquid[liquid != 1_000_000.0] < 100_000).all()


# --- missingness ---------------------------------------------------------------------------


def test_missingness_shares(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = messy
    for column, share in truth["missingness"].items():
        assert frame[column].isna().mean() == pytest.approx(share, abs=0.03), column
    assert truth["missingness"]["months_since_last_delinq"] == pytest.approx((frame["delinq_2y"] == 0).mean())
    assert frame["application_type"].isin(["individual", "joint"]).all()
    assert 0.12 < (frame["application_type"] == "joint").mean() < 0.18
    # MAR: housing payment is missing far more often for low incomes.
    quartile = pd.qcut(frame["annual_income"].rank(method="first"), 4, labels=False)
    by_quartile = frame["monthly_housing_payment"].isna().groupby(quartile).mean()
    assert by_quartile[0] > 0.4 and by_quartile[3] < 0.15
    # The other columns are complete.
    declared = set(truth["missingness"])
    for column in frame.columns:
        if column not in declared:
            assert frame[column].notna().all(), column
    assert truth["missing_mechanism"]["monthly_housing_payment"] == {"kind": "MAR", "driver": "annual_income"}


# --- formats, literal NA levels, CSV round trip ---------------------------------------------


def test_formatted_columns_parse_back(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = messy
    for column, entry in truth["formats"].items():
        text = frame[column]
        assert text.map(type).eq(str).all(), column
        assert text.str.fullmatch(FORMAT_PATTERNS[entry["kind"]]).all(), column
        assert entry["example"] == text.iloc[0]
        if entry["source"] is not None:
            parsed = parse(text, entry["kind"])
            expected = np.round(entry["scale"] * frame[entry["source"]], entry["decimals"])
            assert np.allclose(parsed, expected, rtol=0, atol=1e-9), column
    assert frame["loan_amount_display"].str.contains(",").any()
    assert frame["balance_fmt"].str.contains(",").any()
    adjustment = parse(frame["adjustment_amount"], "accounting")
    assert (adjustment < 0).any() and (adjustment > 0).any() and (adjustment == 0).any()
    assert (frame["adjustment_amount"].str.startswith("(") == (adjustment < 0)).all()
    assert frame["adjustment_amount"].str.contains(",").any()
    # Timestamps: mixed UTC offsets, all parseable, local year-month equal to the issue month.
    ts = frame["application_ts"]
    offsets = ts.str[-6:]
    assert set(offsets) <= set(truth["formats"]["application_ts"]["offsets"])
    assert offsets.nunique() >= 3
    utc = pd.to_datetime(ts, utc=True)
    assert utc.notna().all()
    local_month = pd.to_datetime(ts.str[:7], format="%Y-%m").dt.strftime("%b-%Y")
    assert (local_month == frame["issue_month"]).all()


def test_literal_na_levels_are_categories(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = messy
    assert truth["na_categories"] == {
        "home_ownership_code": ["NA"],
        "verification": ["None"],
        "hardship_status": ["N/A"],
        "promo_code": ["null"],
    }
    for column, levels in truth["na_categories"].items():
        assert frame[column].notna().all(), column
        for level in levels:
            assert (frame[column] == level).any(), column
    assert set(frame["home_ownership_code"]) == {"OWN", "RENT", "MORTGAGE", "NA"}
    assert "None" in set(frame["verification"])


def test_csv_round_trip_keeps_levels_and_strings(messy: tuple[pd.DataFrame, dict], tmp_path: Path) -> None:
    frame, truth = messy
    path = tmp_path / "loans.csv"
    frame.to_csv(path, index=False)
    back = pd.read_csv(path, keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(back, frame)
    # With pandas' default NA list the literal levels would be lost: that is the trap.
    naive = pd.read_csv(path)
    for column in truth["na_categories"]:
        assert naive[column].isna().sum() > 0, column
    for column in truth["formats"]:
        assert back[column].map(type).eq(str).all(), column


# --- free text and identifiers --------------------------------------------------------------


def test_emp_title_is_high_cardinality_zipf(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = messy
    assert truth["free_text"] == ["emp_title"]
    counts = frame["emp_title"].value_counts()
    assert counts.size > 1_000
    assert (counts == 1).sum() > counts.size / 2
    assert counts.iloc[0] / counts.sum() < 0.05
    assert counts.head(20).sum() / counts.sum() > 0.10  # a heavy head of common titles
    titles = set(counts.index)
    assert {"Teacher", "RN", "Driver"} <= titles
    assert any(t.lower() in titles and t.lower() != t for t in titles)  # case variants
    assert 0.04 < frame["emp_title"].isna().mean() < 0.08


def test_identifiers_are_unique(messy: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = messy
    assert truth["identifiers"] == ["loan_id", "member_ref"]
    assert frame["loan_id"].is_unique and frame["member_ref"].is_unique
    assert frame["loan_id"].str.fullmatch(r"LN-\d{7}").all()
    assert frame["member_ref"].str.fullmatch(r"M\d{4}-[A-Z]{2}").all()
    # Loan numbers increase with the application time.
    utc = pd.to_datetime(frame["application_ts"], utc=True)
    number = frame["loan_id"].str[3:].astype(int)
    assert number.iloc[np.argsort(utc.astype("int64").to_numpy(), kind="stable")].is_monotonic_increasing
