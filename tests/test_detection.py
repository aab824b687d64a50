"""Detection test C2ST (paper 001 §6.3.2): known answers, explanations, determinism, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthkit.datasets import simulate_credit
from synthkit.errors import SynthkitError
from synthkit.evaluate.detection import CLASSIFIERS, c2st

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
