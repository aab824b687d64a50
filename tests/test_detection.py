"""Detection test C2ST (paper 001 §6.3.2): known answers, explanations, determinism, errors;
the per-column and per-pair detectors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthkit.datasets import simulate_credit
from synthkit.errors import SynthkitError
from synthkit.evaluate.encoding import eval_columns
from synthkit.tabular.schema import infer_schema
from synthkit.evaluate.detection import (
    ALL_PAIRS_UP_TO,
    CLASSIFIERS,
    c2st,
    column_detectability,
    pair_candidates,
    pair_detectability,
)

N = 2500


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return simulate_credit(N, seed=0)[0]


@pytest.fixture(scope="module")
def independent() -> pd.DataFrame:
    return simulate_credit(N, seed=1)[0]


def test_identical_copy_cannot_be_told_apart(real: pd.DataFrame) -> None:
    out = c2st(real, real.copy())
    assert set(out) == {"auc", "n_real", "n_synthetic", "subsampled", "n_test", "top_features"}
    assert list(out["auc"]) == list(CLASSIFIERS)
    for name, auc in out["auc"].items():
        assert abs(auc - 0.5) < 0.05, name
    assert out["n_real"] == out["n_synthetic"] == N and out["subsampled"] is None
    assert out["n_test"] == pytest.approx(0.3 * 2 * N, abs=2)
    json.dumps(out)


def test_independent_draw_is_hard_to_detect(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    out = c2st(real, independent, classifiers=("xgboost",))
    assert out["auc"]["xgboost"] < 0.6


def test_shuffled_columns_are_detected(real: pd.DataFrame) -> None:
    """Marginals kept exactly, associations destroyed: only a multivariate detector sees it."""
    rng = np.random.default_rng(0)
    shuffled = pd.DataFrame({c: rng.permutation(real[c].to_numpy()) for c in real.columns})
    out = c2st(real, shuffled, classifiers=("xgboost",))
    assert out["auc"]["xgboost"] > 0.7


def test_broken_column_is_the_top_feature(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    broken = independent.copy()
    broken["Mortgage"] *= 3
    out = c2st(real, broken, classifiers=("xgboost",), n_top_features=5)
    top = out["top_features"]
    assert top[0]["column"] == "Mortgage"
    assert out["auc"]["xgboost"] > 0.8
    shares = [t["importance"] for t in top]
    assert len(top) == 5 and shares == sorted(shares, reverse=True)
    assert sum(shares) <= 1.0 + 1e-9


def test_features_are_aggregated_to_original_columns(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    """One-hot categories and missing indicators count towards their column."""
    # A discrete column, one-hot encoded, with a wrong distribution.
    broken = independent.copy()
    broken["Credit Inquiry"] = np.where(broken["Credit Inquiry"] == 0, 2, broken["Credit Inquiry"])
    out = c2st(real, broken, classifiers=("xgboost",), n_top_features=len(real.columns))
    columns = [t["column"] for t in out["top_features"]]
    assert set(columns) <= set(real.columns) and len(columns) == len(set(columns))
    assert columns[0] == "Credit Inquiry"
    assert sum(t["importance"] for t in out["top_features"]) == pytest.approx(1.0)
    # A numeric column with missing values the real data do not have: the detector
    # splits on its missing indicator.
    broken = independent.copy()
    broken.loc[broken.index % 4 == 0, "Utilization"] = np.nan
    out = c2st(real, broken, classifiers=("xgboost",))
    assert out["top_features"][0]["column"] == "Utilization"


def test_same_seed_same_result_and_seed_matters(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    small_real, small_syn = real.iloc[:800], independent.iloc[:800]
    first = c2st(small_real, small_syn, seed=3)
    assert c2st(small_real, small_syn, seed=3) == first
    assert c2st(small_real, small_syn, seed=4)["auc"] != first["auc"]


def test_size_mismatch_subsamples_the_larger_table(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    out = c2st(real, independent.iloc[:1000], classifiers=("logistic_regression",))
    assert (out["n_real"], out["n_synthetic"], out["subsampled"]) == (1000, 1000, "real")
    out = c2st(real.iloc[:700], independent, classifiers=("logistic_regression",))
    assert (out["n_real"], out["n_synthetic"], out["subsampled"]) == (700, 700, "synthetic")
    assert out["top_features"] is None  # no XGBoost detector was trained


def test_errors_name_the_option(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    with pytest.raises(SynthkitError, match="'svm'"):
        c2st(real, independent, classifiers=("xgboost", "svm"))
    with pytest.raises(SynthkitError, match="test_size"):
        c2st(real, independent, test_size=1.5)
    with pytest.raises(SynthkitError, match="at least 10 rows"):
        c2st(real, independent.iloc[:5])
    with pytest.raises(SynthkitError, match="'Mortgage'"):
        c2st(real, independent.drop(columns="Mortgage"))


# ---------------------------------------------------------------------------------------
# Per-column and per-pair detectors
# ---------------------------------------------------------------------------------------

M = 1500  # rows per table for the diagnosis tests: seconds, not minutes


def test_shifted_column_is_found_first(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    broken = independent.iloc[:M].copy()
    broken["Mortgage"] *= 2
    rows = column_detectability(real.iloc[:M], broken)
    assert [set(r) for r in rows] == [{"column", "auc", "kind"}] * len(rows)
    assert {r["column"] for r in rows} == set(real.columns)  # every column compared
    assert rows[0]["column"] == "Mortgage" and rows[0]["auc"] > 0.7 and rows[0]["kind"] == "continuous"
    aucs = [r["auc"] for r in rows]
    assert aucs == sorted(aucs, reverse=True)
    assert all(abs(r["auc"] - 0.5) < 0.08 for r in rows[1:])  # untouched columns: near 0.5
    json.dumps(rows)


def _principal_interest(n: int, seed: int, broken: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    principal, interest = rng.gamma(2.0, 100.0, n), rng.gamma(2.0, 50.0, n)
    # Broken: a total with the same distribution (a sum of independent draws), unrelated
    # to this row's principal and interest.
    total = rng.gamma(2.0, 100.0, n) + rng.gamma(2.0, 50.0, n) if broken else principal + interest
    return pd.DataFrame({"principal": principal, "interest": interest, "total": total, "noise": rng.normal(size=n)})


def test_broken_relation_is_found_by_the_pair_detector() -> None:
    real, synth = _principal_interest(M, 0, broken=False), _principal_interest(M, 1, broken=True)
    alone = {r["column"]: r["auc"] for r in column_detectability(real, synth)}
    assert all(abs(a - 0.5) < 0.06 for a in alone.values())  # every marginal is right
    pairs = pair_detectability(real, synth)
    assert len(pairs) == 6  # 4 columns <= ALL_PAIRS_UP_TO: every pair
    top = pairs[0]
    assert set(top) == {"columns", "auc", "lift"}
    assert "total" in top["columns"] and "noise" not in top["columns"]
    assert top["auc"] > 0.7 and top["auc"] > max(alone[c] for c in top["columns"]) + 0.15
    assert top["lift"] == pytest.approx(top["auc"] - max(alone[c] for c in top["columns"]))
    assert [p["lift"] for p in pairs] == sorted((p["lift"] for p in pairs), reverse=True)
    # Reusing the univariate rows gives the same answer without refitting them.
    rows = column_detectability(real, synth)
    assert pair_detectability(real, synth, univariate=rows) == pairs
    json.dumps(pairs)


def test_diagnosis_is_deterministic_under_a_seed(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    small_real, small_syn = real.iloc[:600], independent.iloc[:600]
    first = column_detectability(small_real, small_syn, seed=3)
    assert column_detectability(small_real, small_syn, seed=3) == first
    assert column_detectability(small_real, small_syn, seed=4) != first
    cand = ["Mortgage", "Balance", "Utilization"]
    pairs = pair_detectability(small_real, small_syn, seed=3, candidates=cand)
    assert pair_detectability(small_real, small_syn, seed=3, candidates=cand) == pairs


def test_categorical_and_missing_valued_columns(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    broken = independent.iloc[:M].copy()
    # Missing values the real data lack, in half the rows: a perfect detector scores
    # 0.5 + 0.5 / 2 = 0.75.
    broken.loc[broken.index % 2 == 0, "Utilization"] = np.nan
    broken["Credit Inquiry"] = np.where(broken["Credit Inquiry"] == 0, 2, broken["Credit Inquiry"])  # one-hot column
    rows = column_detectability(real.iloc[:M], broken)
    assert {r["column"] for r in rows[:2]} == {"Utilization", "Credit Inquiry"}
    assert {r["column"]: r["kind"] for r in rows}["Credit Inquiry"] == "discrete"
    assert all(r["auc"] > 0.65 for r in rows[:2])
    # Text categories with missing values on both sides.
    rng = np.random.default_rng(0)
    text = pd.DataFrame({"grade": rng.choice(["A", "B", "C", None], size=800),
                         "rate": np.where(rng.random(800) < 0.1, np.nan, rng.normal(size=800))})
    other = pd.DataFrame({"grade": rng.choice(["A", "B", "C", None], size=800, p=[0.7, 0.1, 0.1, 0.1]),
                          "rate": np.where(rng.random(800) < 0.1, np.nan, rng.normal(size=800))})
    rows = column_detectability(text, other)
    assert rows[0]["column"] == "grade" and rows[0]["auc"] > 0.6 and abs(rows[1]["auc"] - 0.5) < 0.08
    assert len(pair_detectability(text, other, univariate=rows)) == 1


def test_wide_tables_pair_the_suspects(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    """Beyond ALL_PAIRS_UP_TO columns: pairs among the multivariate detector's top columns and
    the top univariate ones, at most max_pairs."""
    assert len(real.columns) > ALL_PAIRS_UP_TO
    broken = independent.iloc[:1000].copy()
    broken["Mortgage"] *= 1.5
    pairs = pair_detectability(real.iloc[:1000], broken, max_pairs=6)
    assert len(pairs) == 6 and any("Mortgage" in p["columns"] for p in pairs)
    uni = [{"column": c, "auc": 0.5} for c in "abcdef"]
    top = [{"column": c, "importance": 0.1} for c in "xyza"]
    assert pair_candidates(uni, top, max_pairs=10) == ["x", "a", "y", "b", "z"]  # 5 columns: 10 pairs
    assert pair_candidates(uni, None, max_pairs=1) == ["a", "b"]
    assert pair_detectability(real.iloc[:200], independent.iloc[:200], max_pairs=0) == []


def test_diagnosis_errors_and_tiny_tables(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    with pytest.raises(SynthkitError, match="at least 10 rows"):
        column_detectability(real, independent.iloc[:5])
    with pytest.raises(SynthkitError, match="at least 10 rows"):
        pair_detectability(real.iloc[:9], independent)
    with pytest.raises(SynthkitError, match="max_rows"):
        column_detectability(real, independent, max_rows=3)
    with pytest.raises(SynthkitError, match="test_size"):
        column_detectability(real, independent, test_size=0)
    with pytest.raises(SynthkitError, match="'nope'"):
        pair_detectability(real.iloc[:100], independent.iloc[:100], candidates=["Mortgage", "nope"])
    with pytest.raises(SynthkitError, match="max_pairs"):
        pair_detectability(real.iloc[:100], independent.iloc[:100], max_pairs=-1)
    # Tiny but valid: an answer, not a crash; one column has no pair.
    rows = column_detectability(real.iloc[:12], independent.iloc[:12])
    compared = eval_columns(infer_schema(real.iloc[:12])).all  # 12 rows: some columns are constant
    assert sorted(r["column"] for r in rows) == sorted(compared) and all(0 <= r["auc"] <= 1 for r in rows)
    one = pd.DataFrame({"x": np.random.default_rng(0).normal(size=30)})
    assert pair_detectability(one, one.copy() + 0.5) == []
    # max_rows subsamples both tables to at most that many rows, seeded.
    capped = column_detectability(real, independent, max_rows=300)
    assert capped == column_detectability(real, independent, max_rows=300)
