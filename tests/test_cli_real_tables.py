"""The CLI on real-looking tables: the messy data set, relations in `schema`, declared
relations through --metadata, --na-values, and a fit → sample round trip of a messy file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest


def run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["synthkit", *args], capture_output=True, text=True, timeout=timeout,
                          env={**__import__("os").environ, "COLUMNS": "200", "SYNTHKIT_TRACKING": "off"})


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("cli")
    data, truth = tmp / "messy.csv", tmp / "truth.json"
    res = run("datasets", "credit", "--messy", "-n", "3000", "-o", str(data), "--truth", str(truth))
    assert res.returncode == 0, res.stderr
    return data, truth


def test_messy_dataset_and_truth(messy):
    data, truth = messy
    df = pd.read_csv(data, keep_default_na=False, na_values=[""])
    facts = json.loads(truth.read_text())
    assert df.shape == (3000, 51) and facts["n_rows"] == 3000
    assert {"relations", "sentinels", "formats", "na_categories"} <= set(facts)
    res = run("datasets", "credit", "--messy", "-n", "10", "-o", str(data.parent / "x.csv"), "--factors", "f.csv")
    assert res.returncode != 0 and "--truth" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_schema_reports_findings_and_relations_and_saves_them(messy, tmp_path):
    data, _ = messy
    out = tmp_path / "schema.json"
    res = run("schema", str(data), "-o", str(out))
    assert res.returncode == 0, res.stderr
    for text in ("sentinel code", "finite support", "formatted numbers", "UTC offsets", "multiples of 25",
                 "grade is determined by sub_grade", "annuity payment", "missing exactly when", "relation(s) between"):
        assert text in res.stdout, text
    saved = json.loads(out.read_text())
    assert any(r["type"] == "annuity" for r in saved["relations"])


def test_declared_relations_from_metadata(messy, tmp_path):
    data, _ = messy
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"columns": {}, "relations": [
        {"type": "linear", "target": "total_paid", "sources": ["paid_principal", "paid_interest", "paid_late_fees"]}]}))
    res = run("schema", str(data), "--metadata", str(meta))
    assert res.returncode == 0, res.stderr
    assert "1 relation(s)" in res.stdout
    meta.write_text(json.dumps({"columns": {}, "relations": [
        {"type": "linear", "target": "total_paid", "sources": ["paid_principal", "paid_interest"]}]}))
    res = run("schema", str(data), "--metadata", str(meta))
    assert res.returncode == 2
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1 and "total_paid" in line and "first data row" in line
    res = run("schema", str(data), "--no-relations")
    assert "relations between columns: none found" in res.stdout


def test_na_values_option(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"code": ["NA", "OWN", "n/a", "RENT"] * 10, "x": range(40)}).to_csv(path, index=False)
    res = run("schema", str(path))
    assert res.returncode == 0 and "code" in res.stdout
    plain = run("schema", str(path), "-o", str(tmp_path / "a.json"))
    declared = run("schema", str(path), "--na-values", "n/a", "-o", str(tmp_path / "b.json"))
    assert plain.returncode == declared.returncode == 0
    a = json.loads((tmp_path / "a.json").read_text())["columns"][0]
    b = json.loads((tmp_path / "b.json").read_text())["columns"][0]
    assert a["missing_rate"] == 0 and b["missing_rate"] == 0.25


def test_fit_and_sample_a_messy_file(messy, tmp_path):
    data, _ = messy
    model, out = tmp_path / "model", tmp_path / "synthetic.csv"
    res = run("fit", str(data), "--method", "betatcvae", "--epochs", "2", "-o", str(model), timeout=600)
    assert res.returncode == 0, res.stderr
    assert "relations enforced on output" in res.stdout
    res = run("sample", str(model), "-n", "500", "-o", str(out))
    assert res.returncode == 0, res.stderr
    fake = pd.read_csv(out, keep_default_na=False, na_values=[""])
    real = pd.read_csv(data, keep_default_na=False, na_values=[""])
    assert list(fake.columns) == list(real.columns)
    assert fake["loan_amount_display"].str.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d").all()
    assert (fake["grade"] == fake["sub_grade"].str[0]).all()
    assert set(fake["home_ownership_code"]) <= set(real["home_ownership_code"])
