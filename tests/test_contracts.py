"""Data contracts (synthkit.contracts): the input check on fit, the suite derived from the
training table, validation reports, persistence with the model, and `synthkit validate`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthkit import contracts
from synthkit.cli import cli
from synthkit.errors import SynthkitError
from synthkit.tabular.io import read_table, write_table
from synthkit.tabular.schema import ColumnKind, infer_schema
from synthkit.tabular.synthesizer import Synthesizer

FAST = {"epochs": 2, "progress": False, "batch_size": 128}
#: The expectations synthkit guarantees by construction: a sample must meet all of them.
EXACT = {
    "expect_table_columns_to_match_ordered_list",
    "expect_column_values_to_be_in_type_list",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_match_regex",
}


@pytest.fixture(autouse=True, scope="module")
def _no_tracking() -> Iterator[None]:
    """Fits here are not MLflow runs (where tracking exists, it honours this switch)."""
    before = os.environ.get("SYNTHKIT_TRACKING")
    os.environ["SYNTHKIT_TRACKING"] = "off"
    yield
    if before is None:
        os.environ.pop("SYNTHKIT_TRACKING", None)
    else:
        os.environ["SYNTHKIT_TRACKING"] = before


def messy_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A loan book as exported: ids, gaps in ordinary columns, a point mass, text dates,
    a few stray words in a numeric column, a categorical and a yes/no column."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.lognormal(10, 0.5, n), 2)
    income[rng.choice(n, 15, replace=False)] = np.nan
    past_due = np.where(rng.random(n) < 0.6, 0.0, np.round(rng.gamma(2.0, 300.0, n), 2))
    balance = np.round(rng.normal(5000, 1500, n), 2).astype(object)
    balance[[3, 77, 150]] = "n.a."  # 1% stray text: read as missing, as inference does
    dates = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    return pd.DataFrame(
        {
            "loan_id": [f"L-{i:05d}" for i in range(n)],
            "age": rng.integers(18, 80, n),
            "income": income,
            "past_due": past_due,
            "balance": balance,
            "grade": rng.choice(["A", "B", "C", "D"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "default": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
            "opened": pd.Series(dates.strftime("%Y-%m-%d")).where(rng.random(n) > 0.05),
        }
    )


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return messy_table()


@pytest.fixture(scope="module")
def suite(table: pd.DataFrame) -> dict:
    return contracts.derive_suite(table, infer_schema(table))


@pytest.fixture(scope="module")
def fitted(table: pd.DataFrame) -> Synthesizer:
    # 4 epochs, not FAST's 2: income and past_due have their modes on a log scale, where a
    # 2-epoch model's loose offsets spread widely once exponentiated (of 25 expectations,
    # 18 met at 2 epochs, 21 at 4, 24 at 30; on the raw scale 19, 22 and 23).
    return Synthesizer("msvae", seed=0, **{**FAST, "epochs": 4}).fit(table)


def failed(report: contracts.ContractReport) -> set[tuple[str, str | None]]:
    return {(r.expectation, r.column) for r in report.failed}


# ---------------------------------------------------------------------------------------
# the input check
# ---------------------------------------------------------------------------------------


def _one_line(exc: pytest.ExceptionInfo[SynthkitError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.startswith("input check: ")
    return message


def test_input_check_catches_a_wrong_type(table: pd.DataFrame) -> None:
    schema = infer_schema(table)  # e.g. the schema saved with a model, applied to a new extract
    bad = table.assign(income=np.where(np.arange(len(table)) % 3, "high", "low"))
    with pytest.raises(SynthkitError) as exc:
        contracts.check_input(bad, schema)
    assert _one_line(exc) == "input check: column 'income' is continuous but holds text such as 'low'"
    # A declared kind the data contradict stops fit before anything is trained.
    synth = Synthesizer("tvae", metadata={"grade": {"kind": "continuous"}}, **FAST)
    with pytest.raises(SynthkitError, match="'grade' is declared continuous but holds text"):
        synth.fit(table)
    assert synth.model is None and synth.transformer is None


def test_input_check_catches_nulls_where_none_are_allowed(table: pd.DataFrame) -> None:
    synth = Synthesizer("tvae", metadata={"income": {"kind": "continuous", "nullable": False}}, **FAST)
    with pytest.raises(SynthkitError) as exc:
        synth.fit(table)
    assert _one_line(exc) == "input check: column 'income' is declared non-nullable but 15 of 300 values are missing"
    assert synth.model is None and synth.transformer is None  # stopped before training
    gap = table.assign(loan_id=table["loan_id"].where(table.index != 7))
    with pytest.raises(SynthkitError) as exc:
        Synthesizer("tvae", metadata={"loan_id": {"kind": "identifier"}}, **FAST).fit(gap)
    assert _one_line(exc) == "input check: column 'loan_id' is declared an identifier but 1 of 300 values are missing"


def test_input_check_catches_duplicate_ids(table: pd.DataFrame) -> None:
    dup = table.copy()
    dup.loc[[10, 20], "loan_id"] = "L-00003"
    with pytest.raises(SynthkitError) as exc:
        Synthesizer("tvae", metadata={"loan_id": {"kind": "identifier"}}, **FAST).fit(dup)
    assert _one_line(exc) == (
        "input check: column 'loan_id' is declared an identifier but 1 value(s) occur more than once, such as 'L-00003'"
    )
    # A declared identifier may be relaxed explicitly.
    schema = infer_schema(dup, {"loan_id": {"kind": "identifier"}})
    contracts.check_input(dup, schema, {"loan_id": {"unique": False}})


def test_input_check_accepts_messy_tables(table: pd.DataFrame) -> None:
    # Gaps in ordinary columns, stray text in a numeric column, unparseable dates and a nearly
    # unique *inferred* identifier with a gap and a repeat: all modelled, none rejected.
    messy = table.copy()
    messy.loc[5, "opened"] = "someday"
    messy.loc[[10, 20], "loan_id"] = "L-00003"
    messy.loc[30, "loan_id"] = None
    schema = infer_schema(messy)
    assert schema["loan_id"].kind is ColumnKind.IDENTIFIER and schema["balance"].kind is ColumnKind.CONTINUOUS
    assert schema["opened"].kind is ColumnKind.DATETIME
    contracts.check_input(messy, schema)
    assert Synthesizer("tvae", seed=0, **FAST).fit(messy).sample(20).shape == (20, messy.shape[1])


def test_contract_flags_are_split_from_schema_metadata() -> None:
    declared, flags = contracts.split_metadata(
        {"a": {"kind": "continuous", "nullable": False}, "b": {"unique": True}, "c": {"kind": "categorical"}}
    )
    assert declared == {"a": {"kind": "continuous"}, "c": {"kind": "categorical"}}
    assert flags == {"a": {"nullable": False}, "b": {"unique": True}}
    with pytest.raises(SynthkitError, match="'a': nullable must be true or false"):
        contracts.split_metadata({"a": {"kind": "continuous", "nullable": "no"}})
    with pytest.raises(SynthkitError, match="metadata names column 'zz', which is not in the data"):
        Synthesizer("tvae", metadata={"zz": {"nullable": False}}, **FAST).fit(messy_table())


def test_cli_fit_stops_on_duplicate_ids_and_writes_nothing(tmp_path: Path, table: pd.DataFrame) -> None:
    data, meta, model = tmp_path / "loans.csv", tmp_path / "meta.json", tmp_path / "model"
    dup = table.copy()
    dup.loc[10, "loan_id"] = "L-00003"
    write_table(dup, data)
    meta.write_text(json.dumps({"primary_key": "loan_id", "columns": {"loan_id": {"sdtype": "id"}}}))
    res = CliRunner().invoke(cli, ["fit", str(data), "--metadata", str(meta), "--epochs", "1", "-o", str(model)])
    assert res.exit_code == 2
    assert "error: input check: column 'loan_id' is declared an identifier but 1 value(s) occur more than once" in (
        res.output
    )
    assert not model.exists()


# ---------------------------------------------------------------------------------------
# the derived suite
# ---------------------------------------------------------------------------------------


def test_suite_describes_the_table(suite: dict, table: pd.DataFrame) -> None:
    by = {(e["type"], e["kwargs"].get("column")): e["kwargs"] for e in suite["expectations"]}
    assert by[("expect_table_columns_to_match_ordered_list", None)]["column_list"] == list(table.columns)
    assert by[("expect_column_values_to_be_in_set", "grade")]["value_set"] == ["A", "B", "C", "D"]
    assert by[("expect_column_values_to_be_in_set", "default")]["value_set"] == ["no", "yes"]
    income = table["income"].dropna()
    assert by[("expect_column_values_to_be_between", "income")] == {
        "column": "income", "min_value": income.min(), "max_value": income.max()
    }
    # Quantile bands are [Q(p - δ), Q(p + δ)] of the real values.
    q = by[("expect_column_quantile_values_to_be_between", "income")]["quantile_ranges"]
    assert q["quantiles"] == list(contracts.QUANTILES)
    lo, hi = q["value_ranges"][2]
    assert lo == income.quantile(0.45, interpolation="nearest") and hi == income.quantile(0.55, interpolation="nearest")
    assert q["value_ranges"][0][0] == income.min() and q["value_ranges"][-1][1] == income.max()
    # 5% of incomes are missing: the missing share may be 0% to 10%.
    assert by[("expect_column_proportion_of_non_null_values_to_be_between", "income")] == {
        "column": "income", "min_value": 0.9, "max_value": 1.0
    }
    assert ("expect_column_values_to_not_be_null", "age") in by
    assert ("expect_column_values_to_be_unique", "loan_id") in by
    assert ("expect_column_values_to_be_between", "loan_id") not in by  # regenerated ids may leave the range
    assert by[("expect_column_values_to_match_regex", "opened")]["regex"] == r"^\s*\d{4}\-\d{1,2}\-\d{1,2}\s*$"
    assert suite["meta"]["synthkit"]["columns"]["balance"] == "continuous"
    json.dumps(suite, allow_nan=False)  # plain JSON


def test_suite_passes_on_its_own_data(suite: dict, table: pd.DataFrame) -> None:
    report = contracts.validate(table, suite)
    assert report.success and report.pass_rate == 1.0 and report.rows == len(table)
    assert len(report.results) == len(suite["expectations"]) == 25
    assert report.summary().startswith(f"{len(report.results)} of {len(report.results)} expectations pass (100.0%)")


def test_suite_fails_the_specific_expectations_on_broken_data(suite: dict, table: pd.DataFrame) -> None:
    new_category = table.copy()
    new_category.loc[0, "grade"] = "Z"
    report = contracts.validate(new_category, suite)
    assert failed(report) == {("expect_column_values_to_be_in_set", "grade")}
    (r,) = report.failed
    assert r.observed["unexpected_count"] == 1 and r.observed["examples"] == ["Z"]
    assert r.observed_text() == "1 of 300 outside, e.g. 'Z'"
    assert 0 < report.pass_rate < 1 and not report.success

    out_of_range = table.copy()
    out_of_range.loc[0, "income"] = table["income"].max() * 10
    assert failed(contracts.validate(out_of_range, suite)) == {("expect_column_values_to_be_between", "income")}

    report = contracts.validate(table.drop(columns="grade"), suite)
    assert failed(report) == {
        ("expect_table_columns_to_match_ordered_list", None),
        ("expect_column_values_to_be_in_set", "grade"),
        ("expect_column_values_to_not_be_null", "grade"),
    }
    assert {r.observed_text() for r in report.failed} == {"missing 'grade'", "column 'grade' is missing"}

    report = contracts.validate(table.assign(extra=1), suite)
    assert failed(report) == {("expect_table_columns_to_match_ordered_list", None)}
    assert report.failed[0].observed_text() == "extra 'extra'"

    shuffled = table[list(reversed(table.columns))]
    assert contracts.validate(shuffled, suite).failed[0].observed_text() == "same columns, other order"


def test_suite_catches_types_gaps_repeats_and_shifts(suite: dict, table: pd.DataFrame) -> None:
    words = table.assign(age=np.where(table.index % 2, "young", "old"))
    assert ("expect_column_values_to_be_in_type_list", "age") in failed(contracts.validate(words, suite))
    gaps = table.assign(income=table["income"].where(table.index % 2 == 0))
    assert ("expect_column_proportion_of_non_null_values_to_be_between", "income") in failed(
        contracts.validate(gaps, suite)
    )
    repeats = table.assign(loan_id=table["loan_id"].where(table.index != 1, "L-00000"))
    assert failed(contracts.validate(repeats, suite)) == {("expect_column_values_to_be_unique", "loan_id")}
    shifted = table.assign(age=np.clip(table["age"] + 8, 18, 79))
    assert ("expect_column_quantile_values_to_be_between", "age") in failed(contracts.validate(shifted, suite))


def test_quantile_tolerance_accepts_sampling_noise_and_rejects_a_shift() -> None:
    rng = np.random.default_rng(1)
    real = pd.DataFrame({"x": rng.lognormal(0, 1, 5000)})
    suite = contracts.derive_suite(real, infer_schema(real))
    same = pd.DataFrame({"x": np.clip(rng.lognormal(0, 1, 2000), real.x.min(), real.x.max())})
    assert contracts.validate(same, suite).success
    # Scaled by 1.15: a tenth of a standard deviation on the log scale.
    shifted = pd.DataFrame({"x": np.clip(rng.lognormal(0, 1, 2000) * 1.15, real.x.min(), real.x.max())})
    assert failed(contracts.validate(shifted, suite)) == {("expect_column_quantile_values_to_be_between", "x")}


def test_numbers_stored_as_text_are_read_as_numbers(suite: dict, table: pd.DataFrame) -> None:
    as_text = table.assign(
        age=table["age"].astype(str), income=table["income"].map(lambda v: None if pd.isna(v) else f"{v}")
    )
    as_text.loc[0, "income"] = "unknown"
    report = contracts.validate(as_text, suite)
    assert report.success, report.failed


def test_a_sample_meets_every_exact_expectation(fitted: Synthesizer, table: pd.DataFrame) -> None:
    report = fitted.validate(fitted.sample(2000, seed=1))
    exact = [r for r in report.results if r.expectation in EXACT]
    assert len(exact) == 18 and all(r.success for r in exact), [r for r in exact if not r.success]
    assert not [r for r in report.results if isinstance(r.observed, dict) and "error" in r.observed]
    assert report.pass_rate >= 0.75, report.summary()


def test_report_to_dict_is_json(suite: dict, table: pd.DataFrame) -> None:
    broken = table.copy()
    broken.loc[0, "grade"] = "Z"
    d = contracts.validate(broken, suite).to_dict()
    again = json.loads(json.dumps(d, allow_nan=False))
    assert again["success"] is False and again["failed"] == 1 and again["evaluated"] == len(suite["expectations"])
    assert again["pass_rate"] == pytest.approx((again["evaluated"] - 1) / again["evaluated"])
    bad = [r for r in again["results"] if not r["success"]]
    assert bad == [
        {
            "expectation": "expect_column_values_to_be_in_set",
            "column": "grade",
            "success": False,
            "observed": {"unexpected_count": 1, "element_count": 300, "unexpected_percent": pytest.approx(1 / 3),
                         "examples": ["Z"]},
            "expected": {"value_set": ["A", "B", "C", "D"]},
        }
    ]


def test_validate_errors(suite: dict, table: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(SynthkitError, match="no rows"):
        contracts.validate(table.iloc[:0], suite)
    with pytest.raises(SynthkitError, match="no such suite file"):
        contracts.validate(table, tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"expectations": [{"type": "expect_nothing_at_all", "kwargs": {}}]}')
    with pytest.raises(SynthkitError, match="not a valid expectation suite: expectation 1 .'expect_nothing_at_all'."):
        contracts.validate(table, bad)
    with pytest.raises(SynthkitError, match="bad.json: not a valid expectation suite"):
        contracts.load_suite(bad)
    bad.write_text('{"expectations": [{"type": "expect_column_values_to_be_between", "kwargs": {"min_value": 1}}]}')
    with pytest.raises(SynthkitError, match="expectation 1 .'expect_column_values_to_be_between'.: "):
        contracts.validate(table, bad)
    bad.write_text("{oops")
    with pytest.raises(SynthkitError, match="not valid JSON"):
        contracts.load_suite(bad)


# ---------------------------------------------------------------------------------------
# persistence and the library API
# ---------------------------------------------------------------------------------------


def test_save_and_load_keep_the_suite(fitted: Synthesizer, table: pd.DataFrame, tmp_path: Path) -> None:
    folder = fitted.save(tmp_path / "model")
    assert (folder / "expectations.json").is_file() and not list(folder.glob(".*tmp"))
    loaded = Synthesizer.load(folder)
    assert loaded.expectations == json.loads(json.dumps(fitted.expectations))
    assert loaded.validate(table).pass_rate == 1.0
    # The serving API: a great-expectations suite from the folder or the file.
    import great_expectations as gx

    ge_suite = contracts.load_suite(folder)
    assert isinstance(ge_suite, gx.ExpectationSuite)
    assert len(ge_suite.expectations) == len(fitted.expectations["expectations"])
    assert contracts.validate(table, ge_suite).pass_rate == 1.0
    assert contracts.validate(table, folder / "expectations.json").pass_rate == 1.0


def test_models_saved_before_contracts_still_load(fitted: Synthesizer, tmp_path: Path) -> None:
    folder = fitted.save(tmp_path / "old")
    (folder / "expectations.json").unlink()
    old = Synthesizer.load(folder)
    assert old.expectations is None and old.sample(5).shape[0] == 5
    with pytest.raises(SynthkitError, match="no expectations"):
        old.validate(old.sample(5))
    res = CliRunner().invoke(cli, ["sample", str(folder), "-n", "5", "-o", str(tmp_path / "s.csv")])
    assert res.exit_code == 0 and "not validated: " in res.output and "has no expectations.json" in res.output
    # Saving it over a folder holding another model's contract removes that contract.
    fitted.save(tmp_path / "reused")
    old.save(tmp_path / "reused")
    assert not (tmp_path / "reused" / "expectations.json").exists()


def test_importing_synthkit_does_not_import_great_expectations() -> None:
    code = (
        "import sys, synthkit, synthkit.contracts, synthkit.cli; "
        "print('great_expectations' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "False", res.stderr


# ---------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory: pytest.TempPathFactory, table: pd.DataFrame) -> dict[str, Path]:
    """A model fitted on a CSV file as `synthkit fit` would (read_table), plus that file."""
    root = tmp_path_factory.mktemp("cli")
    data = root / "loans.csv"
    write_table(table, data)
    Synthesizer("tvae", seed=0, **FAST).fit(read_table(data)).save(root / "model")
    return {"root": root, "data": data, "model": root / "model"}


def test_cli_validate_passes_on_the_training_file(cli_files: dict[str, Path]) -> None:
    res = CliRunner().invoke(cli, ["validate", str(cli_files["data"]), "--suite", str(cli_files["model"])])
    assert res.exit_code == 0, res.output
    n = len(json.loads((cli_files["model"] / "expectations.json").read_text())["expectations"])
    assert f"{n} of {n} expectations pass (100.0%) on 300 rows" in res.output
    assert "FAIL" not in res.output and "grade" in res.output


def test_cli_validate_reports_failures_with_exit_status_1(cli_files: dict[str, Path], table: pd.DataFrame) -> None:
    broken, report = cli_files["root"] / "broken.csv", cli_files["root"] / "report.json"
    bad = table.copy()
    bad.loc[0, "grade"] = "Z"
    write_table(bad.drop(columns="default"), broken)
    suite_file = cli_files["model"] / "expectations.json"
    res = CliRunner().invoke(cli, ["validate", str(broken), "--suite", str(suite_file), "-o", str(report)])
    assert res.exit_code == 1, res.output
    assert "FAIL" in res.output and "failing: columns in order, values in set (grade)" in res.output
    saved = json.loads(report.read_text())
    assert saved["success"] is False and saved["rows"] == 300
    assert {(r["expectation"], r["column"]) for r in saved["results"] if not r["success"]} == {
        ("expect_table_columns_to_match_ordered_list", None),
        ("expect_column_values_to_be_in_set", "grade"),
        ("expect_column_values_to_be_in_set", "default"),
        ("expect_column_values_to_not_be_null", "default"),
    }


def test_cli_validate_user_errors_exit_2(cli_files: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()

    def error(args: list[str], *words: str) -> None:
        res = runner.invoke(cli, ["validate", *args])
        assert res.exit_code == 2, res.output
        line = res.output.strip()
        assert line.startswith("error:") and "\n" not in line and "Traceback" not in line
        for w in words:
            assert w in line

    data, model = str(cli_files["data"]), str(cli_files["model"])
    error([str(tmp_path / "nope.csv"), "--suite", model], "nope.csv", "no such file")
    error([data, "--suite", str(tmp_path / "nope")], "no such suite file or model folder")
    error([data, "--suite", str(tmp_path)], "has no expectations.json")
    (tmp_path / "x.json").write_text("[1, 2]")
    error([data, "--suite", str(tmp_path / "x.json")], "not an expectation suite")
    error([data, "--suite", model, "-o", str(tmp_path / "no" / "r.json")], "does not exist")
    assert not (tmp_path / "no").exists()


def test_cli_sample_validates_by_default(cli_files: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    out, report = tmp_path / "s.csv", tmp_path / "r.json"
    res = runner.invoke(cli, ["sample", str(cli_files["model"]), "-n", "400", "-o", str(out), "--report", str(report)])
    assert res.exit_code == 0, res.output
    assert "contract: " in res.output and "expectations pass" in res.output
    saved = json.loads(report.read_text())
    assert saved["rows"] == 400 and 0 < saved["pass_rate"] <= 1 and len(pd.read_csv(out)) == 400
    res = runner.invoke(cli, ["sample", str(cli_files["model"]), "-n", "50", "-o", str(out), "--no-validate"])
    assert res.exit_code == 0 and "contract" not in res.output
    res = runner.invoke(cli, ["sample", str(cli_files["model"]), "-n", "5", "-o", str(out), "--no-validate",
                              "--report", str(report)])
    assert res.exit_code == 2 and "--report needs validation" in res.output


def test_great_expectations_does_not_flood_the_terminal(cli_files: dict[str, Path], table: pd.DataFrame) -> None:
    # A real process, as a user runs it; the table misses a column so that GE meets errors too.
    broken = cli_files["root"] / "flood.csv"
    write_table(table.drop(columns="grade"), broken)
    env = {**os.environ, "SYNTHKIT_TRACKING": "off", "COLUMNS": "200"}
    env.pop("GX_ANALYTICS_ENABLED", None)
    res = subprocess.run(["synthkit", "validate", str(broken), "--suite", str(cli_files["model"])],
                         capture_output=True, text=True, timeout=180, env=env)
    assert res.returncode == 1, res.stderr
    everything = res.stdout + res.stderr
    for noise in ("Calculating Metrics", "it/s]", "great_expectations", "WARNING", "Traceback", "analytics"):
        assert noise not in everything, noise
    # stderr holds synthkit's own lines only ("took … s"); stdout the table and the summary.
    assert [line for line in res.stderr.strip().splitlines() if not line.startswith("took ")] == []
    last = res.stdout.strip().splitlines()[-1]
    assert " expectations pass (" in last
    assert "failing: columns in order, values in set (grade), no missing (grade)" in last
