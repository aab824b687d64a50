"""Tests for the simulated MS-VAE credit data (synthkit.datasets.credit).

Every property the paper describes (§6.5, Table 3) is checked numerically on several
seeds at the paper's size of 20,000 rows.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from scipy.stats import skew

from synthkit.datasets import CREDIT_FACTORS, CREDIT_FEATURES, simulate_credit
from synthkit.errors import SynthkitError

N_ROWS = 20_000
PERIODS = ("", "_3m", "_6m", "_12m")
FACTOR_PERIODS = ("", "_1", "_2", "_3")
MONEY = ["Mortgage", "Amount Past Due", *(f"Balance{p}" for p in PERIODS)]
COUNTS = [
    f"{group}{p}" for group in ("Credit Inquiry", "Open Trade", "Delinquency Status") for p in PERIODS
]


@pytest.fixture(scope="module", params=[0, 1, 2024])
def data(request: pytest.FixtureRequest) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features, factors) at the paper's size for one of several seeds."""
    return simulate_credit(N_ROWS, seed=request.param)


def corr(a: pd.Series, b: pd.Series) -> float:
    """Pearson correlation of two columns."""
    return float(np.corrcoef(a.to_numpy(float), b.to_numpy(float))[0, 1])


# --- shape, dtypes, determinism, validation ------------------------------------------


def test_columns_and_shapes() -> None:
    features, factors = simulate_credit(500, seed=3)
    assert list(features.columns) == [
        "Mortgage", "Utilization", "Amount Past Due",
        "Balance", "Balance_3m", "Balance_6m", "Balance_12m",
        "Credit Inquiry", "Credit Inquiry_3m", "Credit Inquiry_6m", "Credit Inquiry_12m",
        "Open Trade", "Open Trade_3m", "Open Trade_6m", "Open Trade_12m",
        "Delinquency Status", "Delinquency Status_3m", "Delinquency Status_6m",
        "Delinquency Status_12m",
    ]
    assert list(features.columns) == list(CREDIT_FEATURES)
    assert list(factors.columns) == ["L", "M", "Ub", "Ub_1", "Ub_2", "Ub_3", "S", "S_1", "S_2", "S_3", "T"]
    assert list(factors.columns) == list(CREDIT_FACTORS)
    assert features.shape == (500, 19)
    assert factors.shape == (500, 11)
    assert features.index.equals(factors.index)
    assert features.index.equals(pd.RangeIndex(500))


def test_single_row() -> None:
    features, factors = simulate_credit(1, seed=0)
    assert features.shape == (1, 19)
    assert factors.shape == (1, 11)


def test_dtypes_and_rounding(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, factors = data
    for col in COUNTS:
        assert features[col].dtype == np.int64, col
    for col in MONEY:
        assert features[col].dtype == np.float64, col
        values = features[col].to_numpy()
        assert np.array_equal(values, np.round(values, 2)), col
    util = features["Utilization"].to_numpy()
    assert features["Utilization"].dtype == np.float64
    assert np.array_equal(util, np.round(util, 4))
    assert util.min() >= 0.0 and util.max() <= 1.0
    assert factors["L"].dtype == np.int64 and factors["M"].dtype == np.int64


def test_no_missing_and_money_nonnegative(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, factors = data
    assert not features.isna().any().any()
    assert not factors.isna().any().any()
    assert (features[MONEY] >= 0).all().all()


def test_deterministic_per_seed() -> None:
    first = simulate_credit(2_000, seed=42)
    second = simulate_credit(2_000, seed=42)
    pd.testing.assert_frame_equal(first[0], second[0], check_exact=True)
    pd.testing.assert_frame_equal(first[1], second[1], check_exact=True)
    other = simulate_credit(2_000, seed=43)
    assert not first[0].equals(other[0])
    assert not first[1].equals(other[1])
    assert (first[0]["Mortgage"] != other[0]["Mortgage"]).mean() > 0.99


def test_numpy_integers_accepted() -> None:
    features, _ = simulate_credit(np.int64(10), seed=np.int32(1))
    pd.testing.assert_frame_equal(features, simulate_credit(10, seed=1)[0])


@pytest.mark.parametrize("n_rows", [0, -5, 1.5, 10.0, "100", None, True])
def test_bad_n_rows_raises(n_rows: object) -> None:
    with pytest.raises(SynthkitError, match="n_rows") as excinfo:
        simulate_credit(n_rows, seed=0)  # type: ignore[arg-type]
    assert "\n" not in str(excinfo.value)


@pytest.mark.parametrize("seed", [-1, 0.0, "0", None, False])
def test_bad_seed_raises(seed: object) -> None:
    with pytest.raises(SynthkitError, match="seed") as excinfo:
        simulate_credit(10, seed=seed)  # type: ignore[arg-type]
    assert "\n" not in str(excinfo.value)


# --- factors -------------------------------------------------------------------------


def test_factor_ranges(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, factors = data
    assert set(factors["L"].unique()) == {0, 1}
    assert 0.45 < factors["L"].mean() < 0.55
    assert set(factors["M"].unique()) == {0, 1, 2, 3}
    assert factors["M"].value_counts().idxmax() == 0
    for p in FACTOR_PERIODS:
        ub = factors[f"Ub{p}"]
        assert ub.between(0.0, 1.0).all()
        s = factors[f"S{p}"]
        assert abs(s.mean()) < 0.05 and 0.95 < s.std() < 1.05
    assert np.isfinite(factors["T"]).all()
    assert 1.1 < factors["T"].std() < 1.3


# --- marginal distributions (§6.5) ---------------------------------------------------


@pytest.mark.parametrize("period", PERIODS)
def test_credit_inquiries_bursty(data: tuple[pd.DataFrame, pd.DataFrame], period: str) -> None:
    features, _ = data
    counts = features[f"Credit Inquiry{period}"].value_counts()
    assert sorted(counts.index) == list(range(7))
    assert counts.idxmax() == 0
    assert counts[1] < counts[2]
    assert counts[6] >= 50  # the rare top value is present, not a fluke


def test_amount_past_due_mixed(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, _ = data
    apd = features["Amount Past Due"]
    zero_share = (apd == 0).mean()
    assert 0.60 <= zero_share <= 0.85
    assert ((apd > 0) == (features["Delinquency Status"] > 0)).all()
    positive = apd[apd > 0]
    assert positive.nunique() > 0.9 * len(positive)  # continuous, not a few values
    assert positive.min() > 0


def test_skewed_columns(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, _ = data
    assert skew(features["Balance_6m"]) > 1.0
    assert skew(features["Mortgage"]) > 1.0


def test_mortgage_has_mid_range_spike(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    mortgage = data[0]["Mortgage"].to_numpy()
    counts, edges = np.histogram(mortgage, bins=100, range=(0.0, 1_000_000.0))  # $10k bins
    lo, hi = np.quantile(mortgage, [0.25, 0.95])
    middle = np.flatnonzero((edges[:-1] > lo) & (edges[1:] < hi))
    # Lift of a bin over the higher of its two neighbours: a smooth skewed density
    # changes by a few percent per $10k bin, the spike more than doubles.
    lift = counts[middle] / np.maximum(counts[middle - 1], counts[middle + 1])
    peak = middle[np.argmax(lift)]
    assert lift.max() > 2.0
    assert counts[peak] > 0.02 * len(mortgage)  # a few % of rows, not a noise blip


def test_utilization_multimodal(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    util = data[0]["Utilization"].to_numpy()
    counts, _ = np.histogram(util, bins=20, range=(0.0, 1.0))  # bins of width 0.05
    transactors = counts[0:3].max()  # 0.00-0.15
    revolvers = counts[4:11].max()  # 0.20-0.55
    maxed_out = counts[15:20].max()  # 0.75-1.00
    dip_low = counts[1:6].min()  # 0.05-0.30
    dip_high = counts[10:17].min()  # 0.50-0.85
    assert dip_low < 0.6 * min(transactors, revolvers)
    assert dip_high < 0.6 * min(revolvers, maxed_out)


def test_delinquency_ordinal(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, _ = data
    for p in PERIODS:
        counts = features[f"Delinquency Status{p}"].value_counts()
        assert counts.index.min() == 0 and counts.index.max() == 6
        assert counts.idxmax() == 0
        assert counts[1] > counts[2] > counts[3] > counts[4]


def test_plausible_magnitudes(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, _ = data
    mortgage = features["Mortgage"]
    assert 150_000 < mortgage.median() < 300_000
    assert mortgage.quantile(0.01) > 30_000 and mortgage.quantile(0.99) < 1_500_000
    for p in PERIODS:
        balance = features[f"Balance{p}"]
        assert 1_000 < balance.median() < 6_000
        assert balance.quantile(0.99) < 30_000


# --- dependence structure (Table 3, Table 7) -----------------------------------------


def test_mortgage_driven_by_demographics_only(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, factors = data
    others = [c for c in CREDIT_FEATURES if c != "Mortgage"]
    assert max(abs(corr(features["Mortgage"], features[c])) for c in others) < 0.05
    log_mortgage = np.log(features["Mortgage"])
    by_gender = log_mortgage.groupby(factors["L"]).mean()
    assert 0.08 < by_gender[1] - by_gender[0] < 0.25
    by_race = log_mortgage.groupby(factors["M"]).mean()
    assert by_race.max() - by_race.min() > 0.2


def test_utilization_and_balance_share_ub(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, factors = data
    assert corr(features["Utilization"], features["Balance"]) > 0.75
    assert corr(factors["Ub"], features["Utilization"]) > 0.9
    for p, fp in zip(PERIODS, FACTOR_PERIODS):
        assert corr(factors[f"Ub{fp}"], features[f"Balance{p}"]) > 0.75


def test_balance_history_is_a_chain(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, _ = data
    past = ["Balance_3m", "Balance_6m", "Balance_12m"]
    past_pairs = [corr(features[a], features[b]) for i, a in enumerate(past) for b in past[i + 1 :]]
    current_past = [corr(features["Balance"], features[b]) for b in past]
    assert min(past_pairs) > 0.7
    assert all(0.3 < c < 0.7 for c in current_past)
    assert max(current_past) < min(past_pairs) - 0.1
    assert current_past[0] > current_past[1] > current_past[2]  # decays with the gap


def test_inquiries_and_trades_grouped_by_period(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, factors = data
    within = [corr(features[f"Credit Inquiry{p}"], features[f"Open Trade{p}"]) for p in PERIODS]
    cols = [f"{g}{p}" for g in ("Credit Inquiry", "Open Trade") for p in PERIODS]
    across = [
        abs(corr(features[a], features[b]))
        for a in cols
        for b in cols
        if _period(a) != _period(b)
    ]
    assert min(within) > 0.6
    assert max(across) < 0.2
    for p, fp in zip(PERIODS, FACTOR_PERIODS):
        own = corr(factors[f"S{fp}"], features[f"Credit Inquiry{p}"])
        others = [corr(factors[f"S{q}"], features[f"Credit Inquiry{p}"]) for q in FACTOR_PERIODS if q != fp]
        assert own > 0.3 and own > 2 * max(others)


def _period(column: str) -> str:
    """Period suffix of a feature name ('' for the current period)."""
    for p in ("_3m", "_6m", "_12m"):
        if column.endswith(p):
            return p
    return ""


def test_delinquency_driven_by_threshold_and_stress(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    features, factors = data
    cols = [f"Delinquency Status{p}" for p in PERIODS]
    pairs = [corr(features[a], features[b]) for i, a in enumerate(cols) for b in cols[i + 1 :]]
    assert min(pairs) > 0.6
    for col, fp in zip(cols, FACTOR_PERIODS):
        assert corr(factors["T"], features[col]) < -0.5
        own = corr(factors[f"S{fp}"], features[col])
        others = [corr(factors[f"S{q}"], features[col]) for q in FACTOR_PERIODS if q != fp]
        assert own > 0.2 and own > 2 * max(others)


def test_amount_past_due_driven_by_delinquency_and_balance(
    data: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    features, _ = data
    apd = features["Amount Past Due"]
    status = features["Delinquency Status"]
    assert corr(apd, status) > 0.5
    late = status > 0
    per_cycle = apd[late] / status[late]
    assert corr(per_cycle, features.loc[late, "Balance"]) > 0.5
