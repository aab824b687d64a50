"""Reversible transformers: round trips, spans, determinism, regeneration, errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import SynthkitError
from synthkit.tabular.gmm import fit_modes
from synthkit.tabular.schema import ColumnKind, infer_schema
from synthkit.tabular.transformer import MinMaxLogTransformer, ModeSpecificTransformer, build_transformer


@pytest.fixture(scope="module")
def messy() -> pd.DataFrame:
    """A table with every column kind, missing values and awkward types."""
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame(
        {
            "account_id": np.arange(1000, 1000 + n),
            "customer": [f"CUST-{i:06d}" for i in rng.permutation(n)],
            "income": np.round(np.exp(rng.normal(10, 0.5, n)), 2),
            "past_due": np.where(rng.random(n) < 0.7, 0.0, np.round(rng.gamma(2, 300, n), 2)),
            "ratio": np.where(rng.random(n) < 0.06, 0.8, np.round(rng.beta(2, 5, n), 4)),
            "age": rng.integers(18, 90, n).astype(float),
            "inquiries": rng.poisson(1.2, n),
            "grade": rng.choice(list("ABCDEF"), n).astype(object),
            "answer": rng.choice(["yes", "no"], n),
            "flag": rng.random(n) < 0.3,
            "opened": pd.Series(pd.date_range("2015-01-01", periods=n, freq="D"))
            .sample(frac=1, random_state=0)
            .dt.strftime("%d/%m/%Y")
            .to_numpy(),
            "stamp": pd.date_range("2020-01-01", periods=n, freq="37min"),
            "const": 5,
            "empty": np.nan,
            "limit": rng.integers(1, 60, n) * 500,
        }
    )
    df.loc[rng.random(n) < 0.1, "income"] = np.nan
    df.loc[rng.random(n) < 0.05, "grade"] = np.nan
    df.loc[rng.random(n) < 0.05, "age"] = np.nan
    df.loc[:3, "grade"] = ["Q1", "Q2", "Q3", "Q4"]  # rare categories, pooled
    return df


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Row-wise equality, missing equal to missing; numbers compared as numbers."""
    if pd.api.types.is_numeric_dtype(a.dtype) and pd.api.types.is_numeric_dtype(b.dtype):
        x, y = a.to_numpy(float, na_value=np.nan), b.to_numpy(float, na_value=np.nan)
        return (x == y) | (np.isnan(x) & np.isnan(y))
    return (a.astype(str).where(a.notna(), "<NA>") == b.astype(str).where(b.notna(), "<NA>")).to_numpy()


def test_schema_of_messy_table(messy: pd.DataFrame) -> None:
    kinds = {c.name: c.kind for c in infer_schema(messy).columns}
    assert kinds == {
        "account_id": ColumnKind.IDENTIFIER,
        "customer": ColumnKind.IDENTIFIER,
        "income": ColumnKind.CONTINUOUS,
        "past_due": ColumnKind.MIXED,
        "ratio": ColumnKind.MIXED,
        "age": ColumnKind.CONTINUOUS,
        "inquiries": ColumnKind.DISCRETE,
        "grade": ColumnKind.CATEGORICAL,
        "answer": ColumnKind.BOOLEAN,
        "flag": ColumnKind.BOOLEAN,
        "opened": ColumnKind.DATETIME,
        "stamp": ColumnKind.DATETIME,
        "const": ColumnKind.CONSTANT,
        "empty": ColumnKind.CONSTANT,
        "limit": ColumnKind.CONTINUOUS,
    }


def test_mode_specific_round_trip_is_exact_in_float64(messy: pd.DataFrame) -> None:
    tr = ModeSpecificTransformer().fit(messy)
    back = tr.inverse_transform(tr.transform(messy, dtype=np.float64))
    assert list(back.columns) == list(messy.columns)
    for col in ["income", "past_due", "ratio", "age", "inquiries", "answer", "flag", "opened", "stamp", "limit"]:
        assert _same(messy[col], back[col]).all(), col
        assert back[col].isna().sum() == messy[col].isna().sum(), col
    # Rare categories Q1..Q4 are pooled and redrawn; every other row is exact.
    frequent = ~messy["grade"].isin(["Q1", "Q2", "Q3", "Q4"])
    assert _same(messy["grade"][frequent], back["grade"][frequent]).all()
    assert set(back["grade"][~frequent]) <= {"Q1", "Q2", "Q3", "Q4"}


def test_round_trip_restores_dtypes(messy: pd.DataFrame) -> None:
    tr = ModeSpecificTransformer().fit(messy)
    back = tr.inverse_transform(tr.transform(messy))
    assert back["inquiries"].dtype == np.int64
    assert back["limit"].dtype == np.int64
    assert back["flag"].dtype == bool
    assert str(back["age"].dtype) == "Int64"  # integers with gaps come back as integers
    assert back["stamp"].dtype == "datetime64[ns]"
    assert back["opened"].str.fullmatch(r"\d\d/\d\d/\d{4}").all()
    assert back["income"].dtype == np.float64


def test_float32_round_trip_within_tolerance(messy: pd.DataFrame) -> None:
    tr = ModeSpecificTransformer().fit(messy)
    encoded = tr.transform(messy)
    assert encoded.dtype == np.float32
    back = tr.inverse_transform(encoded)
    for col in ["income", "past_due", "ratio"]:
        a, b = messy[col].to_numpy(float), back[col].to_numpy(float)
        ok = ~np.isnan(a)
        span = np.nanmax(a) - np.nanmin(a)
        assert np.max(np.abs(a[ok] - b[ok])) <= 1e-6 * span, col


def test_identifiers_regenerated_with_shape_and_unique(messy: pd.DataFrame) -> None:
    tr = ModeSpecificTransformer().fit(messy)
    back = tr.inverse_transform(tr.transform(messy), seed=3)
    assert back["customer"].is_unique and back["account_id"].is_unique
    assert back["customer"].str.fullmatch(r"[A-Z]{4}-\d{6}").all()
    # Fresh values: the regenerated identifiers are not the originals in the original order.
    assert (back["customer"] != messy["customer"]).mean() > 0.99
    assert (back["const"] == 5).all()
    assert back["empty"].isna().all()


def test_spans_cover_output_and_one_hot_blocks_are_one_hot(messy: pd.DataFrame) -> None:
    tr = ModeSpecificTransformer().fit(messy)
    encoded = tr.transform(messy)
    assert sum(s.width for s in tr.spans) == encoded.shape[1] == tr.output_dim
    starts = [s.start for s in tr.spans]
    assert starts == sorted(starts) and starts[0] == 0
    for span in tr.spans:
        block = encoded[:, span.start : span.start + span.width]
        if span.kind in ("modes", "categories"):
            assert np.array_equal(block.sum(axis=1), np.ones(len(messy), dtype=np.float32)), span
    modelled = {s.column for s in tr.spans}
    assert modelled.isdisjoint({"account_id", "customer", "const", "empty"})


def test_point_masses_and_missing_are_modes(messy: pd.DataFrame) -> None:
    tr = ModeSpecificTransformer().fit(messy)
    encoded = tr.transform(messy)
    span = next(s for s in tr.spans if s.column == "past_due" and s.kind == "modes")
    block = encoded[:, span.start : span.start + span.width]
    zero = messy["past_due"].to_numpy() == 0
    # Point-mass mode is the last for a column without missing values; its offset is 0.
    assert (block[zero, -1] == 1).all() and (block[~zero, -1] == 0).all()
    assert (encoded[zero, span.start - 1] == 0).all()
    span = next(s for s in tr.spans if s.column == "income" and s.kind == "modes")
    missing = messy["income"].isna().to_numpy()
    assert (encoded[missing, span.start + span.width - 1] == 1).all()


def test_transform_is_deterministic_under_seed(messy: pd.DataFrame) -> None:
    a = ModeSpecificTransformer(seed=7).fit(messy)
    b = ModeSpecificTransformer(seed=7).fit(messy)
    assert np.array_equal(a.transform(messy), b.transform(messy))
    assert np.array_equal(a.transform(messy), a.transform(messy))
    # Mode sampling depends on the seed for values between overlapping modes.
    assert not np.array_equal(a.transform(messy, seed=1), a.transform(messy, seed=2))
    x = a.transform(messy)
    pd.testing.assert_frame_equal(a.inverse_transform(x, seed=5), a.inverse_transform(x, seed=5))


def test_argmax_assignment_is_seed_free(messy: pd.DataFrame) -> None:
    tr = ModeSpecificTransformer(mode_assignment="argmax").fit(messy)
    assert np.array_equal(tr.transform(messy, seed=1), tr.transform(messy, seed=2))


def test_inverse_takes_logits_and_clips_to_observed_range(messy: pd.DataFrame) -> None:
    tr = ModeSpecificTransformer().fit(messy)
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 5, size=(500, tr.output_dim))
    for span in tr.spans:
        if span.kind == "offset":
            logits[:, span.start] = rng.normal(0, 50, 500)  # far outside ±1
    fake = tr.inverse_transform(logits)
    for col in ["income", "past_due", "ratio", "limit"]:
        v = fake[col].dropna().astype(float)
        assert v.min() >= messy[col].min() and v.max() <= messy[col].max(), col
    assert set(fake["grade"].dropna()) <= set(messy["grade"].dropna())
    assert fake["inquiries"].isin(messy["inquiries"].unique()).all()


def test_pooled_categories_redrawn_by_frequency() -> None:
    rng = np.random.default_rng(1)
    common = rng.choice(["a", "b", "c"], 20_000)
    rare = np.array(["r1"] * 3 + ["r2"] * 1)
    df = pd.DataFrame({"c": np.concatenate([common, np.tile(rare, 500)])})  # r1 1500x, r2 500x... not rare
    df2 = pd.DataFrame({"c": np.concatenate([common, rare])})
    tr = ModeSpecificTransformer(min_category_count=5).fit(df2)
    span = tr.spans[0]
    assert span.width == 4  # a, b, c + pool of {r1, r2}
    pool_code = np.zeros((40_000, 4))
    pool_code[:, 3] = 1
    draws = tr.inverse_transform(pool_code)["c"]
    assert set(draws) == {"r1", "r2"}
    assert abs((draws == "r1").mean() - 0.75) < 0.02
    # Frequent categories are never pooled.
    assert ModeSpecificTransformer().fit(df).spans[0].width == 5


def test_unseen_category_maps_to_a_known_code() -> None:
    df = pd.DataFrame({"c": ["a", "b"] * 50})
    tr = ModeSpecificTransformer().fit(df)
    enc = tr.transform(pd.DataFrame({"c": ["a", "zzz"]}))
    assert enc.sum(axis=1).tolist() == [1.0, 1.0]


def test_minmax_log_round_trip_and_range(messy: pd.DataFrame) -> None:
    tr = MinMaxLogTransformer().fit(messy)
    encoded = tr.transform(messy, dtype=np.float64)
    assert encoded.min() >= 0.0 and encoded.max() <= 1.0
    assert all(s.kind == "value" and s.width == 1 for s in tr.spans)
    back = tr.inverse_transform(encoded)
    for col in ["income", "past_due", "ratio", "age", "inquiries", "grade", "answer", "flag", "opened", "stamp"]:
        assert _same(messy[col], back[col]).all(), col


def test_minmax_log_codes_follow_value_order() -> None:
    df = pd.DataFrame({"k": [0, 1, 1, 2, 2, 2, 6, 6, 3, 3] * 10})
    tr = MinMaxLogTransformer().fit(df)
    enc = tr.transform(pd.DataFrame({"k": [0, 1, 2, 3, 6]}))[:, 0]
    assert np.all(np.diff(enc) > 0)
    # Clip and round on the way back: 1.7 is clipped to 1 → the largest value.
    assert tr.inverse_transform(np.array([[1.7], [-0.3]]))["k"].tolist() == [6, 0]


def test_build_transformer_by_name() -> None:
    assert isinstance(build_transformer("mode_specific"), ModeSpecificTransformer)
    assert isinstance(build_transformer("minmax_log"), MinMaxLogTransformer)
    with pytest.raises(SynthkitError, match="unknown transformer 'nope'"):
        build_transformer("nope")


def test_user_errors_are_one_line(messy: pd.DataFrame) -> None:
    with pytest.raises(SynthkitError, match="no rows"):
        ModeSpecificTransformer().fit(messy.iloc[:0])
    tr = ModeSpecificTransformer().fit(messy)
    with pytest.raises(SynthkitError, match="columns"):
        tr.inverse_transform(np.zeros((3, tr.output_dim + 1)))
    with pytest.raises(SynthkitError, match="'income' is missing"):
        tr.transform(messy.drop(columns=["income"]))
    with pytest.raises(SynthkitError, match="not fitted"):
        ModeSpecificTransformer().transform(messy)
    with pytest.raises(SynthkitError, match="mode_assignment"):
        ModeSpecificTransformer(mode_assignment="best")  # type: ignore[arg-type]


def test_single_row_and_tiny_tables() -> None:
    one = pd.DataFrame({"x": [1.5], "c": ["a"]})
    tr = ModeSpecificTransformer().fit(one)
    assert tr.inverse_transform(tr.transform(one)).equals(one)
    tiny = pd.DataFrame({"x": [1.0, 2.5, 4.0, 8.0], "c": ["a", "b", "a", "b"]})
    tr = ModeSpecificTransformer().fit(tiny)
    back = tr.inverse_transform(tr.transform(tiny, dtype=np.float64))
    pd.testing.assert_frame_equal(back, tiny)


def test_gmm_recovers_separated_modes() -> None:
    rng = np.random.default_rng(0)
    comp = rng.choice(3, size=20_000, p=[0.5, 0.3, 0.2])
    x = np.array([-5.0, 0.0, 8.0])[comp] + rng.normal(size=20_000) * np.array([1.0, 0.3, 2.0])[comp]
    modes = fit_modes(x, max_iter=3000)
    assert modes.n_modes == 3
    np.testing.assert_allclose(modes.means, [-5.0, 0.0, 8.0], atol=0.1)
    np.testing.assert_allclose(modes.stds, [1.0, 0.3, 2.0], rtol=0.05)
    np.testing.assert_allclose(modes.weights, [0.5, 0.3, 0.2], atol=0.01)


def test_gmm_is_scale_free_and_handles_constants() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, 5000), rng.normal(10, 1, 5000)])
    a, b = fit_modes(x), fit_modes(x * 1e6 + 3e9)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-6)
    np.testing.assert_allclose(a.means * 1e6 + 3e9, b.means, rtol=1e-9)
    const = fit_modes(np.full(100, 42.0))
    assert const.n_modes == 1 and const.means[0] == 42.0 and const.stds[0] > 0


def test_datetime_resolution_is_restored() -> None:
    df = pd.DataFrame({"d": pd.to_datetime(["2021-01-01", "2021-03-05", "2022-12-31", "2020-02-29"] * 10)})
    tr = ModeSpecificTransformer().fit(df)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, tr.output_dim))
    fake = tr.inverse_transform(logits)["d"]
    assert (fake.dt.normalize() == fake).all()  # whole days, as in the data
    assert fake.min() >= df["d"].min() and fake.max() <= df["d"].max()


def test_uuid_identifiers_regenerated_as_uuids() -> None:
    import uuid

    df = pd.DataFrame({"u": [str(uuid.UUID(int=i * 7919 + 1, version=4)) for i in range(50)], "x": np.arange(50) % 3})
    tr = ModeSpecificTransformer().fit(df)
    fake = tr.inverse_transform(tr.transform(df))
    pattern = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert all(pattern.fullmatch(v) for v in fake["u"]) and fake["u"].is_unique


def test_log_scale_is_chosen_for_skewed_positive_columns_only() -> None:
    from synthkit.tabular.transformer import log_scale_wanted

    rng = np.random.default_rng(0)
    share = _spending_share()["share"].to_numpy()
    assert log_scale_wanted(share) and log_scale_wanted(rng.lognormal(8, 1.0, 2000))  # a share, an income
    assert not log_scale_wanted(rng.normal(50, 8, 2000))  # an age: no wider than 10× its minimum
    assert not log_scale_wanted(np.r_[0.0, share])  # a zero: no log
    assert not log_scale_wanted(rng.uniform(1, 100, 2000))  # a percentage: less symmetric as logs
    assert not log_scale_wanted(share[:10])  # too few values to judge


def _spending_share(n: int = 4000) -> pd.DataFrame:
    """A quarter of the rows tiny (0.0001-0.0025: months without spending), the rest a skewed
    share up to ~0.9 - the credit_card table's `share`."""
    rng = np.random.default_rng(1)
    tiny = rng.uniform(1e-4, 2.5e-3, n // 4)
    rest = np.clip(rng.lognormal(-3.2, 1.0, n - n // 4), 1e-3, 0.95)
    return pd.DataFrame({"share": np.round(rng.permutation(np.r_[tiny, rest]), 6)})


@pytest.mark.parametrize("log_scale", [True, False])
def test_log_scale_round_trips_and_decodes_without_a_pile_at_the_minimum(log_scale: bool) -> None:
    df = _spending_share()
    tr = ModeSpecificTransformer(seed=0, log_scale=log_scale).fit(df)
    assert tr._numeric["share"].log_scale is log_scale
    assert ("of log(value)" in tr.describe()[0]["encoding"]) is log_scale
    back = tr.inverse_transform(tr.transform(df, dtype=np.float64))
    np.testing.assert_allclose(back["share"].to_numpy(float), df["share"].to_numpy(float), rtol=1e-9, atol=1e-12)
    # Decode what a perfect model would draw: each mode at its weight, offsets from the
    # mode's own bell (σ/4σ = 1/4 in offset units).
    modes = tr._numeric["share"].modes
    rng = np.random.default_rng(2)
    codes = rng.choice(modes.n_modes, size=(20_000, 1), p=modes.weights / modes.weights.sum())
    drawn = tr.inverse_codes(codes, rng.normal(0, 0.25, (20_000, 1)), np.zeros((20_000, 0)))["share"]
    at_minimum = float((drawn == df["share"].min()).mean())
    tiny = float((drawn < 2.5e-3).mean())
    if log_scale:
        assert at_minimum < 0.01 and 0.2 <= tiny <= 0.32  # the data: 25 % below 0.0025, one row at the minimum
    else:
        assert at_minimum > 0.05  # the raw-scale mixture's lowest mode crosses the minimum (what log scale fixes)
