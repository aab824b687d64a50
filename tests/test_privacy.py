"""Known answers for synthkit.evaluate.privacy on the simulated credit data.

A copy of the training data must look leaked, an independent draw from the same
distribution must look like unseen real data, and noisy copies must show why the DCR
share and the exact-copy rate are both needed.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from synthkit.datasets import simulate_credit
from synthkit.errors import SynthkitError
from synthkit.evaluate.privacy import DCR_SHARE_BAR, privacy

N_ROWS = 3000


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return simulate_credit(N_ROWS, seed=0)[0]


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return simulate_credit(N_ROWS, seed=1)[0]


@pytest.fixture(scope="module")
def independent() -> pd.DataFrame:
    return simulate_credit(N_ROWS, seed=2)[0]


def test_copy_of_training_data_is_flagged(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    r = privacy(train, train.copy(), holdout, anonymeter=False)
    assert r["dcr_share"] > 0.95
    assert r["dcr_share_ok"] is False
    assert r["exact_copy_rate_train"] == 1.0
    assert r["exact_copy_rate_holdout"] == r["exact_copy_rate_reference"] == 0.0
    assert r["dcr"]["synthetic_p5"] == r["dcr"]["synthetic_median"] == 0.0
    assert r["nndr"]["synthetic_p5"] == pytest.approx(0.0, abs=1e-9)
    # Real unseen rows are not that close: the reference is well away from 0.
    assert r["dcr"]["holdout_median"] > 0.1
    assert r["nndr"]["holdout_p5"] > 0.1


def test_independent_draw_looks_like_unseen_data(
    train: pd.DataFrame, holdout: pd.DataFrame, independent: pd.DataFrame
) -> None:
    r = privacy(train, independent, holdout, anonymeter=False)
    assert 0.45 <= r["dcr_share"] <= 0.55
    assert r["dcr_share_ok"] is (r["dcr_share"] <= DCR_SHARE_BAR)
    assert r["exact_copy_rate_train"] == r["exact_copy_rate_reference"] == 0.0
    assert r["exact_copy_rate_holdout"] == 0.0
    assert r["nndr"]["synthetic_mean"] == pytest.approx(r["nndr"]["holdout_mean"], abs=0.05)
    assert r["nndr"]["synthetic_p5"] == pytest.approx(r["nndr"]["holdout_p5"], abs=0.1)
    assert r["dcr"]["synthetic_median"] == pytest.approx(r["dcr"]["holdout_median"], rel=0.25)
    assert r["rows_used"] == {"train": N_ROWS, "synthetic": N_ROWS, "holdout": N_ROWS}
    assert r["notes"] == []


def test_noisy_copies_are_close_but_not_exact(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    """Small noise defeats the exact-copy rate but not the DCR share: report both."""
    rng = np.random.default_rng(0)
    noisy = train.copy()
    for name in noisy.select_dtypes("float").columns:
        noisy[name] += rng.normal(0.0, 0.01 * noisy[name].std(), len(noisy))
    r = privacy(train, noisy, holdout, anonymeter=False)
    assert r["dcr_share"] > 0.8
    assert r["dcr_share_ok"] is False
    assert r["exact_copy_rate_train"] == 0.0
    assert r["nndr"]["synthetic_mean"] < 0.5 * r["nndr"]["holdout_mean"]


def test_same_seed_same_result(train: pd.DataFrame, holdout: pd.DataFrame, independent: pd.DataFrame) -> None:
    # max_rows and the size mismatch both subsample, so the seed matters.
    args = (train, independent, holdout.iloc[:1000])
    a = privacy(*args, seed=3, max_rows=2000, anonymeter=False)
    b = privacy(*args, seed=3, max_rows=2000, anonymeter=False)
    assert a == b
    json.dumps(a)
    c = privacy(*args, seed=4, max_rows=2000, anonymeter=False)
    assert c["dcr_share"] != a["dcr_share"]


def test_max_rows_caps_every_table(train: pd.DataFrame, holdout: pd.DataFrame, independent: pd.DataFrame) -> None:
    r = privacy(train, independent, holdout, max_rows=1500, anonymeter=False)
    assert r["rows_used"] == {"train": 1500, "synthetic": 1500, "holdout": 1500}
    assert len(r["notes"]) == 3


@pytest.mark.parametrize("n_train, n_holdout", [(N_ROWS, 600), (600, N_ROWS)])
def test_size_mismatch_is_subsampled_away(
    train: pd.DataFrame, holdout: pd.DataFrame, independent: pd.DataFrame, n_train: int, n_holdout: int
) -> None:
    """With 5x more training than holdout rows an independent draw would sit nearer a
    training row most of the time; equal sizes bring the share back to 0.5."""
    r = privacy(train.iloc[:n_train], independent, holdout.iloc[:n_holdout], anonymeter=False)
    assert r["rows_used"] == {"train": n_train, "synthetic": N_ROWS, "holdout": n_holdout}
    assert r["dcr_share_rows"] == 600
    larger = "training" if n_train > n_holdout else "holdout"
    assert any(note.startswith(f"DCR share: {larger} rows subsampled") for note in r["notes"])
    assert 0.45 <= r["dcr_share"] <= 0.55


def test_ties_count_half() -> None:
    # Every row of every table equals rows of the other two: all distances tie at 0.
    table = pd.DataFrame({"grade": ["a", "b"] * 50, "region": ["x", "y", "y", "x"] * 25})
    r = privacy(table, table.sample(frac=1.0, random_state=0), table.copy(), anonymeter=False)
    assert r["dcr_share"] == 0.5
    assert r["exact_copy_rate_train"] == r["exact_copy_rate_reference"] == 1.0


def test_exact_copies_see_through_missing_values_and_signed_zeros(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    with_gaps = train.copy()
    with_gaps.loc[::7, "Utilization"] = np.nan
    synth = with_gaps.copy()
    synth["Amount Past Due"] = synth["Amount Past Due"].where(synth["Amount Past Due"] != 0.0, -0.0)
    r = privacy(with_gaps, synth, holdout, anonymeter=False)
    assert r["exact_copy_rate_train"] == 1.0


def test_missing_column_is_a_user_error(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    with pytest.raises(SynthkitError, match="'Balance' is missing"):
        privacy(train, train.drop(columns="Balance"), holdout, anonymeter=False)


def test_too_few_rows_is_a_user_error(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    with pytest.raises(SynthkitError, match="holdout data needs at least 2 rows"):
        privacy(train, train, holdout.iloc[:1], anonymeter=False)


def test_anonymeter_not_requested_says_so(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    r = privacy(train.iloc[:200], train.iloc[:200], holdout.iloc[:200], anonymeter=False)
    assert r["anonymeter"] == {"available": False, "reason": "not requested (anonymeter=False)"}


def test_anonymeter_missing_is_reported(
    train: pd.DataFrame, holdout: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes the import fail as if the package were absent.
    monkeypatch.setitem(sys.modules, "anonymeter", None)
    monkeypatch.setitem(sys.modules, "anonymeter.evaluators", None)
    r = privacy(train.iloc[:200], train.iloc[:200], holdout.iloc[:200])
    assert r["anonymeter"]["available"] is False
    assert "pip install --no-deps anonymeter==1.1.0" in r["anonymeter"]["reason"]
    assert r["dcr_share"] > 0.95


def _anonymeter_importable() -> bool:
    try:
        import anonymeter.evaluators  # noqa: F401
    except Exception:  # noqa: BLE001 - as privacy() does: any import failure means unavailable
        return False
    return True


def test_anonymeter_risks_separate_copy_from_independent_draw(
    train: pd.DataFrame, holdout: pd.DataFrame, independent: pd.DataFrame
) -> None:
    n = 1000
    tr, ho = train.iloc[:n], holdout.iloc[:n]
    copy = privacy(tr, tr.copy(), ho, anonymeter_attacks=100)["anonymeter"]
    if not _anonymeter_importable():
        assert copy["available"] is False
        assert "anonymeter" in copy["reason"] and "pip install" in copy["reason"]
        return
    fresh = privacy(tr, independent.iloc[:n], ho, anonymeter_attacks=100)["anonymeter"]
    assert copy["available"] and fresh["available"]
    assert copy["n_attacks"] == 100
    assert copy["singling_out"]["risk"] > fresh["singling_out"]["risk"] + 0.5
    assert copy["linkability"]["risk"] > fresh["linkability"]["risk"] + 0.2
    for part in (copy["singling_out"], copy["linkability"], *copy["inference"].values()):
        low, high = part["risk_ci"]
        assert 0.0 <= low <= part["risk"] <= high <= 1.0
    assert len(copy["inference"]) == 5
    assert min(v["risk"] for v in copy["inference"].values()) > max(v["risk"] for v in fresh["inference"].values())
    json.dumps(copy)
