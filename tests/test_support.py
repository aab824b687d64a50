"""Lattices, heaps, sentinel codes and gaps (synthkit.tabular.support) and their use."""

import numpy as np
import pandas as pd

from synthkit.tabular.schema import ColumnKind, infer_column, infer_schema
from synthkit.tabular.support import Heaping, close_gaps, decimals, detect_sentinels, find_gaps
from synthkit.tabular.transformer import ModeSpecificTransformer


def _amounts(n, rng):
    """Loan amounts on multiples of 25, heaped at 1,000 and 5,000."""
    x = rng.lognormal(np.log(12_000), 0.6, n)
    level = rng.choice(3, size=n, p=[0.3, 0.4, 0.3])
    step = np.array([25, 1000, 5000])[level]
    return np.maximum(np.round(x / step) * step, 1000.0)


def test_heaping_finds_lattice_and_heaps():
    x = _amounts(20_000, np.random.default_rng(0))
    h = Heaping.fit(x, decimals(x))
    assert h is not None
    assert h.steps[0] * h.resolution == 25
    steps = [s * h.resolution for s in h.steps]
    assert 1000 in steps and 5000 in steps
    assert "multiples of 25" in h.describe()


def test_a_skewed_count_has_no_heaps_even_with_point_masses_taken_out():
    """Counts 0–15 peaked at 2–4 (the lending table's active debit accounts, whose schema made 2, 3, 4
    point masses): in the rest, multiples of 5 hold a third of the values — above 1.5× an even spread's
    fifth, the old rule's bar — but no more than the counts beside them. No heaps: decoding must not pile
    values on 0, 5, 10 (it put 9.6 % of rows on 0, where the data have 3.3 %)."""
    rng = np.random.default_rng(0)
    p = np.array([0.033, 0.137, 0.197, 0.201, 0.155, 0.104, 0.063, 0.04, 0.029, 0.016, 0.009, 0.006, 0.004, 0.003,
                  0.002, 0.001])
    x = rng.choice(len(p), size=8000, p=p / p.sum()).astype(float)
    bulk = x[~np.isin(x, [2.0, 3.0, 4.0])]
    assert np.mean(bulk % 5 == 0) >= 1.5 / 5  # what the even-spread rule alone accepted
    assert Heaping.fit(bulk, 0, context=x) is None


def test_heaping_apply_restores_shares_and_lattice():
    rng = np.random.default_rng(1)
    x = _amounts(20_000, rng)
    h = Heaping.fit(x, decimals(x))
    smooth = np.clip(x + rng.normal(0, 400, len(x)), x.min(), x.max())
    h.apply(smooth, np.random.default_rng(2), x.min(), x.max())
    assert np.all(smooth % 25 == 0)
    for step in (1000, 5000):
        real, fake = np.mean(x % step == 0), np.mean(smooth % step == 0)
        assert abs(real - fake) < 0.03, (step, real, fake)
    assert smooth.min() >= x.min() and smooth.max() <= x.max()


def test_no_heaping_on_smooth_or_plain_integer_columns():
    rng = np.random.default_rng(3)
    smooth = np.round(rng.normal(50, 10, 5000), 2)
    assert Heaping.fit(smooth, decimals(smooth)) is None
    counts = rng.poisson(30, 5000).astype(float)
    assert Heaping.fit(counts, decimals(counts)) is None


def test_sentinels_codes_and_isolated_extremes():
    rng = np.random.default_rng(4)
    lines = rng.integers(0, 50, 2000).astype(float)
    lines[:7] = 999999.375
    assert detect_sentinels(lines) == [999999.375]
    assets = rng.lognormal(9, 1, 2000).clip(max=90_000)
    assets[5] = 1_000_000
    assert detect_sentinels(assets) == [1_000_000]
    months = rng.integers(0, 120, 2000).astype(float)
    months[:20] = -1
    assert detect_sentinels(months) == [-1]


def test_no_sentinels_in_long_tails():
    rng = np.random.default_rng(5)
    income = rng.lognormal(11, 0.8, 10_000)
    assert detect_sentinels(income) == []
    fees = np.zeros(5000)
    fees[:40] = rng.uniform(15, 50, 40).round(2)
    assert detect_sentinels(fees) == []


def test_gaps_and_closing():
    rng = np.random.default_rng(6)
    x = np.r_[rng.uniform(0, 50, 1000), rng.uniform(200, 300, 1000)]
    gaps = find_gaps(x)
    assert len(gaps) == 1 and gaps[0, 0] < 50 and gaps[0, 1] > 200
    y = np.array([10.0, 60.0, 190.0, np.nan])
    close_gaps(y, gaps)
    assert y[0] == 10 and y[1] == gaps[0, 0] and y[2] == gaps[0, 1] and np.isnan(y[3])


def test_schema_sparse_support_is_discrete_and_sentinels_are_point_masses():
    rng = np.random.default_rng(7)
    table = np.round(rng.uniform(5, 30, 50), 2)
    rate = pd.Series(rng.choice(table, 8000), name="interest_rate")
    spec = infer_column(rate)
    assert spec.kind is ColumnKind.DISCRETE and "finite support" in " ".join(spec.notes)
    lines = pd.Series(np.r_[rng.normal(20, 5, 3000).round(1), [999999.0] * 6], name="lines")
    spec = infer_column(lines)
    assert spec.kind is ColumnKind.MIXED and 999999.0 in spec.point_masses and spec.sentinels == [999999.0]


def test_transformer_keeps_sentinels_out_of_the_bulk_and_values_on_the_lattice():
    rng = np.random.default_rng(8)
    n = 4000
    df = pd.DataFrame({"lines": np.r_[rng.normal(20, 6, n - 8).clip(0).round(1), [999999.0] * 8],
                       "amount": _amounts(n, rng)})
    schema = infer_schema(df)
    tr = ModeSpecificTransformer(schema, seed=0).fit(df)
    # Decoding random model outputs: offsets anywhere in [-1, 1], modes by their share.
    data = tr.transform(df)
    noise = data.copy()
    for span in tr.spans:
        if span.kind == "offset":
            noise[:, span.start] = rng.uniform(-1, 1, n)
    back = tr.inverse_transform(noise, seed=1)
    lines = back["lines"].to_numpy(float)
    bulk = lines[lines != 999999.0]
    assert bulk.max() <= df["lines"][df["lines"] < 1000].max()
    assert 0 < np.mean(lines == 999999.0) < 0.01
    assert np.all(back["amount"].to_numpy(float) % 25 == 0)
