"""Column schema: inferred kinds, declared kinds (synthkit and SDV metadata), round trips."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import SynthkitError
from synthkit.tabular.schema import (
    ColumnKind,
    ColumnSpec,
    InferenceOptions,
    Schema,
    describe_schema,
    detect_datetime_format,
    detect_point_masses,
    infer_column,
    infer_schema,
    load_metadata,
    parse_metadata,
)

N = 1000


@pytest.fixture
def rng():
    return np.random.default_rng(20240607)


def _error(fn, *needles: str) -> str:
    with pytest.raises(SynthkitError) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, msg
    return msg


def _dates(n: int, fmt: str, start: str = "2015-01-01", freq: str = "D") -> pd.Series:
    return pd.Series(pd.date_range(start, periods=n, freq=freq).strftime(fmt), dtype=object)


# ---------------------------------------------------------------------------------------
# Point masses (mixed) versus continuous
# ---------------------------------------------------------------------------------------


def test_zero_in_70_percent_of_a_money_column_is_a_point_mass(rng):
    amount = np.where(rng.random(N) < 0.7, 0.0, rng.lognormal(7, 1, N).round(2))
    spec = infer_column(pd.Series(amount, name="Amount Past Due"))
    assert spec.kind is ColumnKind.MIXED
    assert spec.point_masses == [0.0]
    assert spec.missing_rate == 0.0


def test_integer_ages_are_continuous_not_mixed_or_discrete(rng):
    ages = pd.Series(rng.integers(18, 91, N), name="age")
    spec = infer_column(ages)
    assert spec.kind is ColumnKind.CONTINUOUS
    assert spec.point_masses == []
    assert detect_point_masses(ages.to_numpy(float)) == []


def test_heaped_ratio_value_is_a_point_mass(rng):
    ratio = rng.beta(2, 5, N)
    ratio[rng.choice(N, 50, replace=False)] = 0.80  # 5% of rows heaped at 0.80
    spec = infer_column(pd.Series(ratio, name="DebtRatio"))
    assert spec.kind is ColumnKind.MIXED
    assert spec.point_masses == [0.8]


def test_heaped_value_in_a_rounded_ratio_is_a_point_mass(rng):
    # Stored to two decimals, every value repeats (~1% each); 0.80 stands out from its neighbours.
    ratio = np.round(rng.beta(2, 5, 20_000), 2)
    ratio[rng.choice(20_000, 1000, replace=False)] = 0.80
    spec = infer_column(pd.Series(ratio, name="DebtRatio"))
    assert spec.kind is ColumnKind.MIXED
    assert spec.point_masses == [0.8]


def test_mixed_case_yes_no_is_boolean(rng):
    spec = infer_column(pd.Series(rng.choice(["Yes", "yes", "No", "no"], N), name="owns_home"))
    assert spec.kind is ColumnKind.BOOLEAN


def test_several_point_masses_are_sorted(rng):
    x = rng.normal(500, 100, N)
    x[:300] = 0.0
    x[300:400] = 1000.0
    assert detect_point_masses(x) == [0.0, 1000.0]


def test_no_point_mass_in_unique_values_or_when_masses_cover_everything(rng):
    assert detect_point_masses(rng.normal(size=N)) == []
    assert detect_point_masses(np.array([0.0] * 500 + [1.0] * 500)) == []
    assert detect_point_masses(np.array([3.0])) == []


def test_point_mass_thresholds_are_options(rng):
    x = rng.normal(size=N)
    x[:30] = 0.0  # 3% of rows: a mass by default, not with a 5% threshold
    assert detect_point_masses(x) == [0.0]
    assert detect_point_masses(x, InferenceOptions(point_mass_min_share=0.05)) == []


# ---------------------------------------------------------------------------------------
# Discrete
# ---------------------------------------------------------------------------------------


def test_poisson_counts_are_discrete(rng):
    spec = infer_column(pd.Series(rng.poisson(2.0, N), name="n_late_payments"))
    assert spec.kind is ColumnKind.DISCRETE
    assert spec.n_unique <= 20


def test_float_column_with_ten_values_over_1000_rows_is_discrete(rng):
    levels = np.round(np.linspace(0.05, 0.95, 10), 2)
    spec = infer_column(pd.Series(rng.choice(levels, N), name="grade_score"))
    assert spec.kind is ColumnKind.DISCRETE
    assert spec.n_unique == 10


def test_ten_distinct_floats_over_ten_rows_are_not_discrete(rng):
    spec = infer_column(pd.Series(rng.normal(size=10), name="x"))
    assert spec.kind is not ColumnKind.DISCRETE
    assert spec.kind is ColumnKind.CONTINUOUS


def test_discrete_counts_read_from_text_with_missing(rng):
    counts = pd.Series(rng.poisson(1.5, N).astype(str), dtype=object, name="dependents")
    counts[:100] = None
    spec = infer_column(counts)
    assert spec.kind is ColumnKind.DISCRETE
    assert spec.missing_rate == 0.1


# ---------------------------------------------------------------------------------------
# Boolean
# ---------------------------------------------------------------------------------------


def test_bool_dtype(rng):
    spec = infer_column(pd.Series(rng.random(N) < 0.3, name="default"))
    assert spec.kind is ColumnKind.BOOLEAN
    assert spec.n_unique == 2


def test_yes_no_text(rng):
    spec = infer_column(pd.Series(rng.choice(["yes", "no"], N), name="owns_home"))
    assert spec.kind is ColumnKind.BOOLEAN


def test_yes_no_text_with_case_spaces_and_missing(rng):
    s = pd.Series(rng.choice(["Yes", " No"], N), dtype=object, name="flag")
    s[:250] = None
    spec = infer_column(s)
    assert spec.kind is ColumnKind.BOOLEAN
    assert spec.missing_rate == 0.25


def test_object_bools_with_missing():
    s = pd.Series([True, False, None] * 10, name="b")
    spec = infer_column(s)
    assert spec.kind is ColumnKind.BOOLEAN
    assert spec.missing_rate == pytest.approx(1 / 3, abs=0)


def test_two_unrelated_words_are_categorical_not_boolean(rng):
    assert infer_column(pd.Series(rng.choice(["rent", "own"], N), name="h")).kind is ColumnKind.CATEGORICAL


# ---------------------------------------------------------------------------------------
# Datetime
# ---------------------------------------------------------------------------------------


def test_iso_dates():
    spec = infer_column(_dates(N, "%Y-%m-%d").rename("opened"))
    assert spec.kind is ColumnKind.DATETIME
    assert spec.datetime_format == "%Y-%m-%d"
    assert spec.notes == []


def test_day_first_dates_with_days_over_12():
    spec = infer_column(_dates(200, "%d/%m/%Y").rename("opened"))
    assert spec.kind is ColumnKind.DATETIME
    assert spec.datetime_format == "%d/%m/%Y"


def test_month_first_dates_with_days_over_12():
    spec = infer_column(_dates(200, "%m/%d/%Y").rename("opened"))
    assert spec.kind is ColumnKind.DATETIME
    assert spec.datetime_format == "%m/%d/%Y"


@pytest.mark.parametrize(
    "fmt", ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%f"]
)
def test_iso_timestamps(fmt):
    # Bug fixed: timestamps with fractional seconds matched no format and were identifiers.
    spec = infer_column(_dates(300, fmt, start="2021-03-04 10:20:30.25", freq="37min").rename("ts"))
    assert spec.kind is ColumnKind.DATETIME
    assert spec.datetime_format == fmt


def test_native_datetime_dtype():
    s = pd.Series(pd.date_range("2020-01-01", periods=50, freq="h"), name="t")
    s[:5] = pd.NaT
    spec = infer_column(s)
    assert spec.kind is ColumnKind.DATETIME
    assert spec.datetime_format is None
    assert spec.missing_rate == 0.1


def test_dates_with_3_percent_garbage_are_datetime_with_a_note(rng):
    s = _dates(N, "%Y-%m-%d").rename("opened")
    s[:20] = None  # 2% genuinely missing
    garbage = rng.choice(np.arange(20, N), 30, replace=False)
    s[garbage] = [f"garbage {i}" for i in range(30)]  # 3% that do not parse
    spec = infer_column(s)
    assert spec.kind is ColumnKind.DATETIME
    assert spec.datetime_format == "%Y-%m-%d"
    assert spec.missing_rate == 0.05  # exactly (20 + 30) / 1000
    assert len(spec.notes) == 1 and "30 value(s)" in spec.notes[0]


def test_mostly_garbage_is_not_datetime(rng):
    s = _dates(N, "%Y-%m-%d").rename("d")
    s[rng.choice(N, 800, replace=False)] = rng.choice(["unknown", "tbd", "later"], 800)
    spec = infer_column(s)
    assert spec.kind is not ColumnKind.DATETIME
    assert spec.datetime_format is None


def test_detect_datetime_format_direct():
    assert detect_datetime_format(pd.Series(["2021-01-31", "2021-02-28"])) == ("%Y-%m-%d", 1.0)
    # Ambiguous day/month: the US order wins the tie, as documented.
    assert detect_datetime_format(pd.Series(["01/02/2021", "03/04/2021"]))[0] == "%m/%d/%Y"
    assert detect_datetime_format(pd.Series(["apple", "pear"])) == (None, 0.0)
    fmt, share = detect_datetime_format(pd.Series(["2021-01-31", "x1"]), weights=np.array([9.0, 1.0]))
    assert (fmt, share) == ("%Y-%m-%d", 0.9)


# ---------------------------------------------------------------------------------------
# Identifiers
# ---------------------------------------------------------------------------------------


def test_unique_strings_are_identifiers():
    spec = infer_column(pd.Series([f"C{i:07d}" for i in range(N)], name="customer"))
    assert spec.kind is ColumnKind.IDENTIFIER


def test_unique_dense_integers_are_identifiers(rng):
    spec = infer_column(pd.Series(rng.permutation(N) + 100_001, name="row"))
    assert spec.kind is ColumnKind.IDENTIFIER


def test_unique_sparse_integers_named_like_an_id_are_identifiers(rng):
    ids = rng.choice(10**9, N, replace=False)
    assert infer_column(pd.Series(ids, name="account_id")).kind is ColumnKind.IDENTIFIER
    # The same values under a quantity's name are a quantity.
    assert infer_column(pd.Series(ids, name="balance")).kind is ColumnKind.CONTINUOUS


def test_unique_measured_floats_are_not_identifiers(rng):
    spec = infer_column(pd.Series(rng.lognormal(8, 1, N), name="income"))
    assert spec.kind is ColumnKind.CONTINUOUS


def test_few_unique_strings_are_categorical_not_identifiers():
    assert infer_column(pd.Series(list("abcdefghij"), name="x")).kind is ColumnKind.CATEGORICAL


# ---------------------------------------------------------------------------------------
# Missing values, constants, stray text
# ---------------------------------------------------------------------------------------


def test_missing_rate_is_exact(rng):
    # Bug fixed: 1 - 877/1000 is 0.12299999999999998; the rate is now 123/1000.
    x = rng.normal(size=N)
    x[rng.choice(N, 123, replace=False)] = np.nan
    spec = infer_column(pd.Series(x, name="x"))
    assert spec.kind is ColumnKind.CONTINUOUS
    assert spec.missing_rate == 0.123


def test_all_missing_and_constant_columns():
    empty = infer_column(pd.Series([np.nan] * 10, name="e"))
    assert empty.kind is ColumnKind.CONSTANT
    assert empty.missing_rate == 1.0
    assert empty.notes
    const = infer_column(pd.Series([np.int64(7)] * 9 + [None], name="c"))
    assert const.kind is ColumnKind.CONSTANT
    assert const.constant_value == 7
    assert const.missing_rate == 0.1
    json.dumps(const.to_dict())  # numpy scalars are made JSON-ready


def test_one_number_and_stray_text_is_constant_not_discrete():
    # Bug fixed: "5" in 99 rows and "x" in one became a discrete column of one level.
    spec = infer_column(pd.Series(["5"] * 99 + ["x"], name="c"))
    assert spec.kind is ColumnKind.CONSTANT
    assert spec.constant_value == 5.0
    assert spec.missing_rate == 0.01


def test_numbers_with_a_little_stray_text(rng):
    s = pd.Series([f"{v:.2f}" for v in rng.normal(100, 20, N)], dtype=object, name="amt")
    s[:25] = "see note"
    s[25:40] = None
    spec = infer_column(s)
    assert spec.kind is ColumnKind.CONTINUOUS
    assert spec.missing_rate == 0.04
    assert "'see note'" in spec.notes[0]


def test_numbers_and_text_half_and_half_is_categorical():
    spec = infer_column(pd.Series(["1", "2", "a", "b"] * 50, name="mix"))
    assert spec.kind is ColumnKind.CATEGORICAL


# ---------------------------------------------------------------------------------------
# infer_schema
# ---------------------------------------------------------------------------------------


def test_infer_schema_keeps_column_order_and_row_count(rng):
    df = pd.DataFrame({"b": rng.normal(size=50), "a": rng.choice(["x", "y", "z"], 50)})
    schema = infer_schema(df)
    assert schema.names == ["b", "a"]
    assert schema.n_rows == 50
    assert schema["a"].kind is ColumnKind.CATEGORICAL
    with pytest.raises(KeyError):
        schema["nope"]


def test_duplicate_column_names_in_a_dataframe():
    # Bug fixed: inference failed with AttributeError ('DataFrame' object has no attribute 'name').
    df = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    _error(lambda: infer_schema(df), "'a'")


def test_no_columns():
    _error(lambda: infer_schema(pd.DataFrame(index=range(3))), "no columns")


# ---------------------------------------------------------------------------------------
# Metadata: synthkit format
# ---------------------------------------------------------------------------------------


@pytest.fixture
def table(rng):
    return pd.DataFrame(
        {
            "id": np.arange(1, 101),
            "score": rng.normal(600, 50, 100),
            "term": rng.choice([12, 24, 36, 60], 100),
            "city": rng.choice(["Paris", "Lyon", "Nice"], 100),
            "opened": _dates(100, "%Y-%m-%d"),
        }
    )


def test_declare_numeric_column_categorical(table):
    schema = infer_schema(table, {"term": {"kind": "categorical"}})
    assert schema["term"].kind is ColumnKind.CATEGORICAL
    assert schema["term"].source == "metadata"
    assert schema["score"].source == "inferred"
    row = {r["column"]: r for r in describe_schema(schema)}["term"]
    assert row["kind"] == "categorical (declared)"


def test_declare_text_column_continuous_names_the_column(table):
    _error(lambda: infer_schema(table, {"city": {"kind": "continuous"}}), "'city'", "continuous")


def test_declare_dates_continuous_names_the_column():
    df = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=30)})
    _error(lambda: infer_schema(df, {"t": {"kind": "mixed"}}), "'t'")


def test_unknown_column_in_metadata(table):
    _error(lambda: infer_schema(table, {"salary": {"kind": "continuous"}}), "'salary'")


def test_unknown_kind_in_metadata(table):
    bad = {"columns": {"score": {"kind": "real"}}}
    _error(lambda: parse_metadata(bad, source="meta.json"), "meta.json", "'score'", "'real'")
    _error(lambda: parse_metadata({"columns": {"score": {}}}), "'score'")


def test_unknown_kind_passed_straight_to_infer_schema(table):
    # Bug fixed: a dict given to infer_schema without parse_metadata raised ValueError / KeyError.
    _error(lambda: infer_schema(table, {"score": {"kind": "real"}}), "'score'", "'real'")
    _error(lambda: infer_schema(table, {"score": {}}), "'score'")
    _error(lambda: infer_schema(table, {"score": "continuous"}), "'score'")  # type: ignore[dict-item]


def test_declared_mixed_with_point_masses(table):
    schema = infer_schema(table, {"score": {"kind": "mixed", "point_masses": [700, 500]}})
    assert schema["score"].kind is ColumnKind.MIXED
    assert schema["score"].point_masses == [500.0, 700.0]
    _error(lambda: infer_schema(table, {"score": {"kind": "mixed", "point_masses": ["high"]}}), "'score'")


def test_declared_datetime_checks(table):
    schema = infer_schema(table, {"opened": {"kind": "datetime"}})
    assert schema["opened"].datetime_format == "%Y-%m-%d"
    _error(lambda: infer_schema(table, {"opened": {"kind": "datetime", "datetime_format": "%d/%m/%Y"}}), "'opened'")
    _error(lambda: infer_schema(table, {"city": {"kind": "datetime"}}), "'city'")
    _error(lambda: infer_schema(table, {"opened": {"kind": "datetime", "datetime_format": "%Q"}}), "'opened'")


def test_declared_boolean_with_three_values(table):
    _error(lambda: infer_schema(table, {"city": {"kind": "boolean"}}), "'city'", "3")


def test_declared_kinds_tolerate_stray_values_like_inference(rng):
    # Bug fixed: one "n/a" in a column declared continuous (or one bad date in a column declared
    # datetime) was an error, so a schema saved by `synthkit schema -o` could not be loaded back.
    amount = pd.Series([f"{v:.1f}" for v in rng.normal(size=200)], dtype=object)
    amount[:4] = "n/a"
    opened = _dates(200, "%Y-%m-%d")
    opened[:6] = "31/02/2020"
    df = pd.DataFrame({"amount": amount, "opened": opened})
    schema = infer_schema(df, {"amount": {"kind": "continuous"}, "opened": {"kind": "datetime"}})
    assert schema["amount"].kind is ColumnKind.CONTINUOUS
    assert schema["amount"].missing_rate == 0.02
    assert schema["amount"].notes
    assert schema["opened"].kind is ColumnKind.DATETIME
    assert schema["opened"].missing_rate == 0.03


def test_round_trip_at_the_tolerance_boundary(rng):
    # Exactly 10% bad dates and 5% stray text: inference accepts both, so loading the saved
    # schema must too (a check written as "failures > (1 - 0.9) * n" rejected 10%: 1 - 0.9 < 0.1).
    opened = _dates(200, "%Y-%m-%d")
    opened[:20] = "unknown"
    amount = pd.Series([f"{v:.2f}" for v in rng.normal(size=200)], dtype=object)
    amount[:10] = "?"
    df = pd.DataFrame({"opened": opened, "amount": amount})
    schema = infer_schema(df)
    assert schema["opened"].kind is ColumnKind.DATETIME
    assert schema["amount"].kind is ColumnKind.CONTINUOUS
    again = infer_schema(df, parse_metadata(json.loads(schema.to_json())))
    assert _facts(again) == _facts(schema)
    assert again["opened"].missing_rate == 0.1
    assert again["amount"].missing_rate == 0.05


def test_numbers_spelled_differently_count_once():
    spec = infer_column(pd.Series(["1", "1.0", " 1", "2", "2.00"] * 10, name="n"))
    assert spec.n_unique == 2
    assert spec.kind is ColumnKind.DISCRETE


def test_declared_categorical_keeps_raw_missing_rate(rng):
    # Bug fixed: the declared column took the inferred rate, which counted text as missing.
    s = pd.Series([str(v) for v in rng.integers(0, 10**6, 100)], dtype=object)
    s[:3] = "unknown"
    s[3] = None
    schema = infer_schema(pd.DataFrame({"code": s}), {"code": {"kind": "categorical"}})
    assert schema["code"].missing_rate == 0.01


def test_load_metadata_json_and_yaml(tmp_path):
    j = tmp_path / "meta.json"
    j.write_bytes(b"\xef\xbb\xbf" + json.dumps({"columns": {"term": {"kind": "discrete"}}}).encode())
    assert load_metadata(j) == {"term": {"kind": "discrete"}}
    y = tmp_path / "meta.yaml"
    y.write_text("columns:\n  term:\n    kind: categorical\n  score:\n    kind: mixed\n    point_masses: [0]\n")
    assert load_metadata(y) == {"term": {"kind": "categorical"}, "score": {"kind": "mixed", "point_masses": [0]}}


def test_load_metadata_in_latin1(tmp_path):
    # Bug fixed: a non-UTF-8 metadata file raised UnicodeDecodeError.
    p = tmp_path / "meta.json"
    p.write_bytes('{"columns": {"Région": {"kind": "categorical"}}}'.encode("latin-1"))
    assert load_metadata(p) == {"Région": {"kind": "categorical"}}


@pytest.mark.parametrize(
    "name, text, needle",
    [
        ("bad.json", '{"columns": {"a": {"kind": "continuous"},}}', "JSON"),
        ("bad.json", "", "JSON"),
        ("bad.yaml", "columns:\n  a: [unclosed\n    b: 1\n", "YAML"),
        ("bad.yml", "columns: {a: {kind: continuous}\n", "YAML"),
    ],
)
def test_bad_metadata_file_is_a_one_line_error_naming_the_file(tmp_path, name, text, needle):
    p = tmp_path / name
    p.write_text(text)
    _error(lambda: load_metadata(p), str(p), needle)


@pytest.mark.parametrize(
    "text",
    ["[1, 2]", '{"no_columns": 1}', '{"columns": {"a": "continuous"}}', '{"columns": 3}', '{"tables": null}'],
)
def test_metadata_of_the_wrong_shape_names_the_file(tmp_path, text):
    p = tmp_path / "meta.json"
    p.write_text(text)
    _error(lambda: load_metadata(p), str(p))


def test_missing_metadata_file(tmp_path):
    _error(lambda: load_metadata(tmp_path / "nope.json"), "nope.json")
    _error(lambda: load_metadata(tmp_path), str(tmp_path))


# ---------------------------------------------------------------------------------------
# Metadata: SDV
# ---------------------------------------------------------------------------------------

SDV_SINGLE = {
    "METADATA_SPEC_VERSION": "SINGLE_TABLE_V1",
    "primary_key": "id",
    "columns": {
        "id": {"sdtype": "id", "regex_format": "[0-9]{6}"},
        "x": {"sdtype": "numerical", "computer_representation": "Float"},
        "d": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
        "e": {"sdtype": "email", "pii": True},
        "c": {"sdtype": "categorical"},
        "b": {"sdtype": "boolean"},
    },
}


def test_sdv_single_table():
    md = parse_metadata(SDV_SINGLE)
    # SDV's id and PII sdtypes are identifiers, not held to uniqueness or completeness
    # (contract flags); the primary key is.
    assert md == {
        "id": {"kind": "identifier", "nullable": False, "unique": True},
        "x": {"kind": "continuous"},
        "d": {"kind": "datetime", "datetime_format": "%Y-%m-%d"},
        "e": {"kind": "identifier", "nullable": True, "unique": False},
        "c": {"kind": "categorical"},
        "b": {"kind": "boolean"},
    }


def test_sdv_metadata_applied_to_data(tmp_path, rng):
    p = tmp_path / "sdv.json"
    p.write_text(json.dumps(SDV_SINGLE))
    df = pd.DataFrame(
        {
            "id": rng.choice(10**6, 60, replace=False),
            "x": rng.integers(0, 3, 60),  # would be inferred discrete
            "d": _dates(60, "%Y-%m-%d"),
            "e": [f"user{i}@bank.example" for i in range(60)],
            "c": rng.choice(["a", "b"], 60),
            "b": rng.choice([True, False], 60),
        }
    )
    schema = infer_schema(df, load_metadata(p))
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {
        "id": ColumnKind.IDENTIFIER,
        "x": ColumnKind.CONTINUOUS,
        "d": ColumnKind.DATETIME,
        "e": ColumnKind.IDENTIFIER,
        "c": ColumnKind.CATEGORICAL,
        "b": ColumnKind.BOOLEAN,
    }
    assert schema["d"].datetime_format == "%Y-%m-%d"
    assert all(c.source == "metadata" for c in schema.columns)


def test_sdv_primary_key_overrides_its_sdtype():
    md = parse_metadata({"primary_key": "loan_no", "columns": {"loan_no": {"sdtype": "numerical"}}})
    assert md["loan_no"]["kind"] == "identifier"


def test_sdv_primary_key_not_listed_in_columns_is_still_an_identifier():
    # The issue's own example names "id" as primary key without listing it under columns.
    md = parse_metadata({"primary_key": "id", "columns": {"x": {"sdtype": "numerical"}}})
    assert md == {"x": {"kind": "continuous"}, "id": {"kind": "identifier", "nullable": False, "unique": True}}


@pytest.mark.parametrize("sdtype", ["email", "phone_number", "ssn", "address", "unknown"])
def test_sdv_pii_sdtypes_are_identifiers(sdtype):
    assert parse_metadata({"columns": {"p": {"sdtype": sdtype, "pii": True}}}) == {
        "p": {"kind": "identifier", "nullable": True, "unique": False}
    }


def test_sdv_multi_table_with_one_table(tmp_path):
    p = tmp_path / "multi.json"
    p.write_text(
        json.dumps(
            {
                "METADATA_SPEC_VERSION": "MULTI_TABLE_V1",
                "tables": {
                    "loans": {"primary_key": "id", "columns": {"id": {"sdtype": "id"}, "x": {"sdtype": "numerical"}}}
                },
                "relationships": [],
            }
        )
    )
    assert load_metadata(p) == {"id": {"kind": "identifier", "nullable": False, "unique": True}, "x": {"kind": "continuous"}}


def test_sdv_multi_table_with_two_tables(tmp_path):
    p = tmp_path / "multi.json"
    p.write_text(json.dumps({"tables": {"a": {"columns": {}}, "b": {"columns": {}}}}))
    _error(lambda: load_metadata(p), str(p), "2 tables")


# ---------------------------------------------------------------------------------------
# Schema JSON round trip
# ---------------------------------------------------------------------------------------


@pytest.fixture
def mixed_table(rng):
    n = 400
    amount = np.where(rng.random(n) < 0.6, 0.0, rng.lognormal(6, 1, n).round(2))
    opened = _dates(n, "%d/%m/%Y")
    opened[rng.choice(n, 8, replace=False)] = "unknown"
    stray = pd.Series([f"{v:.3f}" for v in rng.normal(size=n)], dtype=object)
    stray[:6] = "n.a."
    income = rng.lognormal(8, 1, n)
    income[:40] = np.nan
    return pd.DataFrame(
        {
            "loan_id": rng.permutation(n) + 1,
            "income": income,
            "past_due": amount,
            "dependents": rng.poisson(1.2, n),
            "grade": rng.choice(list("ABCDE"), n),
            "defaulted": rng.random(n) < 0.1,
            "owns_home": rng.choice(["yes", "no"], n),
            "opened": opened,
            "ts": _dates(n, "%Y-%m-%dT%H:%M:%S", freq="h"),
            "native": pd.date_range("2020-01-01", periods=n, freq="D"),
            "email": [f"u{i}@example.com" for i in range(n)],
            "score": stray,
            "constant": ["GBP"] * n,
            "empty": [np.nan] * n,
        }
    )


def test_inferred_kinds_of_a_realistic_table(mixed_table):
    kinds = {c.name: c.kind for c in infer_schema(mixed_table).columns}
    assert kinds == {
        "loan_id": ColumnKind.IDENTIFIER,
        "income": ColumnKind.CONTINUOUS,
        "past_due": ColumnKind.MIXED,
        "dependents": ColumnKind.DISCRETE,
        "grade": ColumnKind.CATEGORICAL,
        "defaulted": ColumnKind.BOOLEAN,
        "owns_home": ColumnKind.BOOLEAN,
        "opened": ColumnKind.DATETIME,
        "ts": ColumnKind.DATETIME,
        "native": ColumnKind.DATETIME,
        "email": ColumnKind.IDENTIFIER,
        "score": ColumnKind.CONTINUOUS,
        "constant": ColumnKind.CONSTANT,
        "empty": ColumnKind.CONSTANT,
    }


def _facts(schema: Schema) -> dict[str, tuple]:
    return {c.name: (c.kind, c.point_masses, c.datetime_format, c.missing_rate) for c in schema.columns}


def test_schema_json_round_trip_through_parse_metadata(mixed_table):
    schema = infer_schema(mixed_table)
    declared = parse_metadata(json.loads(schema.to_json()))
    again = infer_schema(mixed_table, declared)
    assert _facts(again) == _facts(schema)
    assert all(c.source == "metadata" for c in again.columns)


def test_schema_json_round_trip_through_a_file(tmp_path, mixed_table):
    schema = infer_schema(mixed_table)
    p = tmp_path / "schema.json"
    p.write_text(schema.to_json())
    again = infer_schema(mixed_table, load_metadata(p))
    assert _facts(again) == _facts(schema)


def test_schema_from_dict_is_the_inverse_of_to_dict(mixed_table):
    schema = infer_schema(mixed_table)
    back = Schema.from_dict(json.loads(schema.to_json()))
    assert back == schema
    assert ColumnSpec.from_dict(schema["past_due"].to_dict()) == schema["past_due"]


def test_round_trip_with_non_text_column_names(rng):
    # Bug fixed: a saved schema names column 0 "0", which did not match the int label 0.
    df = pd.DataFrame({0: rng.normal(size=50), 1: rng.choice(["a", "b", "c"], 50)})
    schema = infer_schema(df)
    again = infer_schema(df, parse_metadata(json.loads(schema.to_json())))
    assert [c.kind for c in again.columns] == [ColumnKind.CONTINUOUS, ColumnKind.CATEGORICAL]


def test_to_json_with_unusual_constant_values():
    # Bug fixed: a constant column of dates (or Decimals, Timedeltas) made to_json raise TypeError.
    df = pd.DataFrame({"d": [dt.date(2020, 1, 1)] * 5, "t": [pd.Timestamp("2021-05-06")] * 5})
    schema = infer_schema(df)
    data = json.loads(schema.to_json())
    values = {c["name"]: c["constant_value"] for c in data["columns"]}
    assert values == {"d": "2020-01-01", "t": "2021-05-06T00:00:00"}


def test_describe_schema(mixed_table):
    rows = {r["column"]: r for r in describe_schema(infer_schema(mixed_table))}
    assert rows["past_due"]["details"].startswith("point masses at 0")
    assert "format %d/%m/%Y" in rows["opened"]["details"]
    assert rows["opened"]["missing"] == "2.0%"
    assert rows["constant"]["details"].startswith("value 'GBP'")
    assert rows["income"]["missing"] == "10.0%"
    assert rows["grade"]["missing"] == ""


def test_contract_flags_in_metadata_files(tmp_path):
    """nullable/unique in a synthkit metadata file reach the input check (synthkit.contracts);
    a column with only flags keeps its inferred kind; inference ignores the flags."""
    p = tmp_path / "meta.json"
    p.write_text(json.dumps({"columns": {"loan_id": {"kind": "identifier", "unique": True},
                                         "income": {"nullable": False}}}))
    md = load_metadata(p)
    assert md == {"loan_id": {"kind": "identifier", "unique": True}, "income": {"nullable": False}}
    df = pd.DataFrame({"loan_id": [f"L{i}" for i in range(50)], "income": np.linspace(1, 2, 50)})
    schema = infer_schema(df, md)
    assert schema["loan_id"].kind is ColumnKind.IDENTIFIER and schema["income"].source != "metadata"
    from synthkit.tabular.synthesizer import Synthesizer

    df.loc[3, "income"] = np.nan
    with pytest.raises(SynthkitError, match="income"):
        Synthesizer(metadata=md, epochs=1, progress=False).fit(df, track=False)
