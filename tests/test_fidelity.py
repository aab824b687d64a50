"""Fidelity metrics (paper 001 §6.3.1): JSD, association matrix, CD, SDMetrics report."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from synthkit.datasets import simulate_credit
from synthkit.errors import SynthkitError
from synthkit.evaluate.encoding import EvalColumns
from synthkit.evaluate.fidelity import (
    association_matrix,
    column_jsd,
    correlation_difference,
    fidelity,
    sdmetrics_quality,
)

N = 3000


def _jsd(p: list[float], q: list[float]) -> float:
    """Jensen–Shannon divergence, base 2, written out from its definition."""
    p_, q_ = np.asarray(p, float) / sum(p), np.asarray(q, float) / sum(q)
    m = (p_ + q_) / 2

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        return float(sum(x * math.log2(x / y) for x, y in zip(a, b) if x > 0))

    return (kl(p_, m) + kl(q_, m)) / 2


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return simulate_credit(N, seed=0)[0]


@pytest.fixture(scope="module")
def independent() -> pd.DataFrame:
    return simulate_credit(N, seed=1)[0]


@pytest.fixture(scope="module")
def shuffled(real: pd.DataFrame) -> pd.DataFrame:
    """Each column permuted on its own: the marginals exactly, no association."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({c: rng.permutation(real[c].to_numpy()) for c in real.columns})


# --- column_jsd -----------------------------------------------------------------------


def test_jsd_categorical_known_answer() -> None:
    real = pd.Series(["a"] * 50 + ["b"] * 50)
    synth = pd.Series(["a"] * 80 + ["c"] * 20)
    # The union of categories: a, b, c.
    assert column_jsd(real, synth, numeric=False) == pytest.approx(_jsd([50, 50, 0], [80, 0, 20]), abs=1e-12)


def test_jsd_bounds() -> None:
    s = pd.Series(["x", "y", "y"])
    assert column_jsd(s, s.copy(), numeric=False) == 0.0
    assert column_jsd(pd.Series(["a", "b"]), pd.Series(["c", "d"]), numeric=False) == pytest.approx(1.0)


def test_jsd_numeric_bins_span_the_real_range_and_clip() -> None:
    real = pd.Series(np.arange(100, dtype=float))  # 0..99: 10 bins of 10 values
    # Values beyond the real range fall into the edge bins.
    synth = pd.Series([-1e9] * 30 + [5.0] * 30 + [1e9] * 40)
    expected = _jsd([10] * 10 + [0], [60] + [0] * 8 + [40] + [0])
    assert column_jsd(real, synth, numeric=True, bins=10) == pytest.approx(expected, abs=1e-12)


def test_jsd_numeric_missing_values_are_a_bin_of_their_own() -> None:
    real = pd.Series([0.0, 1.0, np.nan, np.nan])
    synth = pd.Series([0.0, 1.0, 0.0, 1.0])
    # bins=1: [0, 1] is one bin; missing is the second.
    assert column_jsd(real, synth, numeric=True, bins=1) == pytest.approx(_jsd([2, 2], [4, 0]), abs=1e-12)


def test_jsd_errors_name_the_column_or_option() -> None:
    with pytest.raises(SynthkitError, match="'x'"):
        column_jsd(pd.Series([], dtype=float, name="x"), pd.Series([1.0]), numeric=True)
    with pytest.raises(SynthkitError, match="bins"):
        column_jsd(pd.Series([1.0]), pd.Series([1.0]), numeric=True, bins=0)


# --- association matrix -----------------------------------------------------------------


def test_theils_u_direction_and_extremes() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 6, 20_000)
    frame = pd.DataFrame(
        {
            "a": a.astype(str),
            "half": (a // 2).astype(str),  # a function of a, not the other way round
            "copy": np.array(list("uvwxyz"))[a],  # a one-to-one relabelling of a
            "noise": rng.integers(0, 4, 20_000).astype(str),
        }
    )
    m = association_matrix(frame, EvalColumns(numeric=[], categorical=list(frame.columns)))
    # Row given column: knowing a removes all uncertainty about half ...
    assert m.loc["half", "a"] == pytest.approx(1.0, abs=1e-12)
    # ... but knowing half leaves a's parity unknown: U(a | half) = 1 - H(a | half) / H(a).
    assert m.loc["a", "half"] == pytest.approx(1 - math.log(2) / math.log(6), abs=0.01)
    assert m.loc["a", "copy"] == pytest.approx(1.0, abs=1e-12)
    assert m.loc["copy", "a"] == pytest.approx(1.0, abs=1e-12)
    assert abs(m.loc["a", "noise"]) < 0.01
    assert abs(m.loc["noise", "a"]) < 0.01
    assert np.all(np.diag(m) == 1.0)


def test_correlation_ratio_and_pearson() -> None:
    rng = np.random.default_rng(2)
    n = 5000
    grade = rng.choice(list("ABCD"), n)
    x = rng.normal(size=n)
    y = 0.6 * x + rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan  # Pearson on pairwise complete rows
    frame = pd.DataFrame(
        {
            "x": x,
            "y": y,
            "by_grade": pd.Series(grade).map({"A": 1.0, "B": 5.0, "C": 2.0, "D": -3.0}).to_numpy(),
            "grade": grade,
        }
    )
    m = association_matrix(frame, EvalColumns(numeric=["x", "y", "by_grade"], categorical=["grade"]))
    both = ~np.isnan(x)
    assert m.loc["x", "y"] == pytest.approx(np.corrcoef(x[both], y[both])[0, 1], abs=1e-12)
    assert m.loc["y", "x"] == m.loc["x", "y"]
    # A numeric column determined by a category: η = 1, in both cells.
    assert m.loc["grade", "by_grade"] == pytest.approx(1.0, abs=1e-12)
    assert m.loc["by_grade", "grade"] == m.loc["grade", "by_grade"]
    assert abs(m.loc["grade", "x"]) < 0.05


def test_constant_synthetic_column_gives_zero_association_not_nan(real: pd.DataFrame) -> None:
    synth = real.copy()
    synth["Mortgage"] = 250_000.0
    synth["Open Trade"] = 0
    out = fidelity(real, synth)
    assoc = out["assoc_synth"]
    assert not assoc.isna().any().any()
    others = [c for c in assoc.columns if c not in ("Mortgage", "Open Trade")]
    assert (assoc.loc["Mortgage", others] == 0).all() and (assoc.loc[others, "Open Trade"] == 0).all()
    assert math.isfinite(out["cd"])


def test_correlation_difference_is_the_frobenius_norm() -> None:
    a = pd.DataFrame([[1.0, 0.5], [0.5, 1.0]], index=["p", "q"], columns=["p", "q"])
    b = pd.DataFrame([[1.0, 0.1], [0.1, 1.0]], index=["q", "p"], columns=["q", "p"])
    assert correlation_difference(a, b) == pytest.approx(math.sqrt(2 * 0.4**2))
    with pytest.raises(SynthkitError, match="'q'"):
        correlation_difference(a, b.rename(columns={"q": "r"}, index={"q": "r"}))


# --- fidelity on the credit data --------------------------------------------------------


def test_identical_tables_score_exactly_zero(real: pd.DataFrame) -> None:
    out = fidelity(real, real.copy())
    assert set(out) == {"jsd", "jsd_mean", "cd", "assoc_real", "assoc_synth", "sdmetrics"}
    assert list(out["jsd"]) == list(real.columns)
    assert all(v == 0.0 for v in out["jsd"].values())
    assert out["jsd_mean"] == 0.0
    assert out["cd"] == 0.0
    assert out["sdmetrics"]["score"] == pytest.approx(1.0, abs=1e-6)
    # Everything but the matrices is JSON-ready.
    json.dumps({k: v for k, v in out.items() if not k.startswith("assoc")})


def test_independent_draw_is_close(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    out = fidelity(real, independent)
    assert out["jsd_mean"] < 0.05
    assert out["cd"] < 0.5
    sd = out["sdmetrics"]
    assert 0.9 < sd["score"] <= 1.0
    assert 0.0 <= sd["column_shapes"] <= 1.0 and 0.0 <= sd["column_pair_trends"] <= 1.0


def test_shuffled_columns_keep_marginals_but_lose_associations(real: pd.DataFrame, shuffled: pd.DataFrame) -> None:
    out = fidelity(real, shuffled)
    assert out["jsd_mean"] < 1e-12
    assert out["cd"] > 1.0


def test_broken_column_has_the_largest_jsd(real: pd.DataFrame, independent: pd.DataFrame) -> None:
    broken = independent.copy()
    broken["Mortgage"] *= 3
    jsd = fidelity(real, broken)["jsd"]
    assert max(jsd, key=jsd.get) == "Mortgage"


def test_sdmetrics_metadata_from_schema() -> None:
    """Datetime (as text), boolean, text and identifier columns all go through."""
    rng = np.random.default_rng(3)
    n = 300
    opened = pd.Series(pd.date_range("2020-01-01", periods=n, freq="D"))
    flag = rng.random(n) < 0.3
    table = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "opened": opened.dt.strftime("%Y-%m-%d"),
            # Associated pairs, so that SDMetrics scores Column Pair Trends.
            "tenure": (opened.max() - opened).dt.days + rng.normal(0, 5, n),
            "flag": flag,
            "grade": np.where(flag, "A", rng.choice(list("BC"), n)),
        }
    )
    synth = table.copy()
    synth["tenure"] = rng.permutation(synth["tenure"].to_numpy())  # same shape, no trend
    out = sdmetrics_quality(table, synth)
    assert set(out) == {"score", "column_shapes", "column_pair_trends"}
    assert out["column_shapes"] == pytest.approx(1.0)
    assert 0.0 <= out["column_pair_trends"] < 0.9
    assert out["column_pair_trends"] < out["score"] < 1.0
