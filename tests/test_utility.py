"""Train-on-synthetic / test-on-real utility: known answers, awkward classes, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthkit.datasets import simulate_credit
from synthkit.errors import SynthkitError
from synthkit.evaluate.utility import tstr

N = 3000


def _credit(n: int, seed: int) -> pd.DataFrame:
    """The credit table with a boolean target "Delinquent" (current delinquency status > 0).

    The current status and "Amount Past Due" (non-zero exactly when delinquent) are
    dropped, so the target must be learnt from the past statuses and the other columns.
    """
    df = simulate_credit(n, seed=seed)[0]
    df["Delinquent"] = df["Delinquency Status"] > 0
    return df.drop(columns=["Delinquency Status", "Amount Past Due"])


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    both = _credit(2 * N, seed=0)
    train = both.iloc[:N].reset_index(drop=True)
    rng = np.random.default_rng(0)
    return {
        "train": train,
        "holdout": both.iloc[N:].reset_index(drop=True),
        "independent": _credit(N, seed=1),
        "shuffled": pd.DataFrame({c: rng.permutation(train[c].to_numpy()) for c in train.columns}),
    }


def test_binary_target(tables: dict[str, pd.DataFrame]) -> None:
    good = tstr(tables["train"], tables["independent"], tables["holdout"], "Delinquent")
    assert set(good) == {
        "task", "target", "metric", "real", "synthetic", "ratio", "secondary_metric", "secondary", "n_rows"
    }  # fmt: skip
    assert (good["task"], good["target"], good["metric"]) == ("classification", "Delinquent", "roc_auc")
    assert good["real"] > 0.8
    assert good["ratio"] > 0.9
    assert good["secondary_metric"] == "accuracy" and set(good["secondary"]) == {"real", "synthetic"}
    assert good["n_rows"] == {"train_real": N, "synthetic": N, "holdout": N}
    json.dumps(good)
    bad = tstr(tables["train"], tables["shuffled"], tables["holdout"], "Delinquent")
    assert bad["real"] == good["real"]  # the same real model
    assert bad["ratio"] < 0.7


def test_regression_target(tables: dict[str, pd.DataFrame]) -> None:
    good = tstr(tables["train"], tables["independent"], tables["holdout"], "Balance")
    assert (good["task"], good["metric"], good["secondary_metric"]) == ("regression", "r2", "rmse")
    assert good["real"] > 0.5
    assert good["ratio"] > 0.9
    bad = tstr(tables["train"], tables["shuffled"], tables["holdout"], "Balance")
    assert bad["ratio"] < 0.5
    assert bad["secondary"]["synthetic"] > good["secondary"]["synthetic"]  # RMSE grows


def test_multiclass_with_classes_on_one_side_only(tables: dict[str, pd.DataFrame]) -> None:
    """Labels only the synthetic table has, and holdout classes it lacks, do not crash."""
    train, holdout = tables["train"].iloc[:1500], tables["holdout"].iloc[:1500]
    synth = tables["independent"].iloc[:1500].copy()
    inquiries = synth["Credit Inquiry"].to_numpy()
    synth["Credit Inquiry"] = np.where(inquiries >= 4, 9, inquiries)  # 4, 5, 6 never; 9 is new
    out = tstr(train, synth, holdout, "Credit Inquiry")
    assert (out["task"], out["metric"]) == ("classification", "roc_auc_ovr_macro")
    assert 0.5 < out["synthetic"] < out["real"] <= 1.0
    assert 0.0 <= out["secondary"]["synthetic"] <= 1.0


def test_single_class_synthetic_target(tables: dict[str, pd.DataFrame]) -> None:
    synth = tables["independent"].assign(Delinquent=False)
    out = tstr(tables["train"], synth, tables["holdout"], "Delinquent")
    assert out["synthetic"] == pytest.approx(0.5)  # one class predicted with certainty


def test_same_seed_same_result(tables: dict[str, pd.DataFrame]) -> None:
    args = (tables["train"].iloc[:800], tables["independent"].iloc[:800], tables["holdout"].iloc[:800], "Balance")
    assert tstr(*args, seed=5) == tstr(*args, seed=5)


def test_errors_name_the_target(tables: dict[str, pd.DataFrame]) -> None:
    train, synth, holdout = tables["train"], tables["independent"], tables["holdout"]
    with pytest.raises(SynthkitError, match="'Income'"):
        tstr(train, synth, holdout, "Income")
    ids = [t.assign(account_id=[f"A{i:06d}" for i in range(len(t))]) for t in (train, synth, holdout)]
    with pytest.raises(SynthkitError, match="'account_id' is identifier"):
        tstr(*ids, target="account_id")
    const = [t.assign(branch="north") for t in (train, synth, holdout)]
    with pytest.raises(SynthkitError, match="'branch' is constant"):
        tstr(*const, target="branch")
    with pytest.raises(SynthkitError, match="single class in the holdout"):
        tstr(train, synth, holdout.assign(Delinquent=True).iloc[:100], "Delinquent")
