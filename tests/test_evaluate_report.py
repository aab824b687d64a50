"""evaluate() end to end, the HTML/JSON report, and `synthkit evaluate` / `synthkit baseline`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from synthkit.cli import cli
from synthkit.datasets import simulate_credit
from synthkit.errors import SynthkitError
from synthkit.evaluate import evaluate
from synthkit.evaluate.report import headline, render_sections


def _with_target(df: pd.DataFrame) -> pd.DataFrame:
    out = df.drop(columns=["Amount Past Due"]).copy()
    out["Delinquent"] = out.pop("Delinquency Status") > 0
    return out


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    train = _with_target(simulate_credit(1500, seed=0)[0])
    synth = _with_target(simulate_credit(1500, seed=2)[0])
    holdout = _with_target(simulate_credit(800, seed=1)[0])
    return train, synth, holdout


def test_evaluate_runs_every_part(tables: tuple[pd.DataFrame, ...]) -> None:
    train, synth, holdout = tables
    ev = evaluate(train, synth, holdout, target="Delinquent", anonymeter=False)
    r = ev.results
    assert set(r) >= {"fidelity", "detection", "utility", "privacy", "rows", "columns"}
    assert set(r["fidelity"]) == {"train", "holdout"} and set(r["detection"]) == {"train", "holdout"}
    # An independent draw of the same generator: close on every measure.
    assert r["fidelity"]["train"]["jsd_mean"] < 0.05
    assert r["detection"]["holdout"]["auc"]["xgboost"] < 0.65
    assert 0.4 < r["privacy"]["dcr_share"] < 0.6
    assert r["utility"]["ratio"] > 0.9
    assert {f"column:{c}" for c in train.columns} <= set(ev.figures) and "associations" in ev.figures
    assert all(png.startswith(b"\x89PNG") for png in ev.figures.values())
    json.loads(ev.to_json())  # JSON-ready
    # The per-column and per-pair diagnosis, against the holdout only.
    det = r["detection"]["holdout"]
    assert {c["column"] for c in det["columns"]} == set(train.columns)
    assert all(abs(c["auc"] - 0.5) < 0.1 for c in det["columns"])
    assert 0 < len(det["pairs"]) <= 40 and all(set(p) == {"columns", "auc", "lift"} for p in det["pairs"])
    assert "columns" not in r["detection"]["train"] and "detectability" in ev.figures
    assert {"detection per column", "detection per pair"} <= set(ev.timings)


def test_diagnosis_names_the_broken_column(tables: tuple[pd.DataFrame, ...]) -> None:
    train, synth, holdout = tables
    broken = synth.copy()
    broken["Mortgage"] *= 2
    ev = evaluate(train, broken, holdout, anonymeter=False)
    det = ev.results["detection"]["holdout"]
    assert det["columns"][0]["column"] == "Mortgage" and det["columns"][0]["auc"] > 0.75
    assert set(det) >= {"auc", "n_real", "n_synthetic", "subsampled", "n_test", "top_features"}  # C2ST's keys kept
    rows = {measure: (value, meaning) for measure, value, meaning in headline(ev)}
    assert rows["most detectable column (vs holdout)"][0].startswith("Mortgage: AUC 0.")
    top = det["pairs"][0]
    assert rows["most detectable pair (vs holdout)"][0].startswith(f"{top['columns'][0]} + {top['columns'][1]}: AUC")
    page = render_sections(ev)
    assert "Which columns give the table away" in page and "above 0.60" in page and "lift" in page
    assert page.count("data:image/png;base64,") == len(ev.figures)
    # Off: no diagnosis, no section, the rest as before.
    ev = evaluate(train, broken, anonymeter=False, plots=False, detectability=False)
    assert set(ev.results["detection"]) == {"train"} and "columns" not in ev.results["detection"]["train"]
    assert "Which columns give the table away" not in render_sections(ev)
    assert not any(m.startswith("most detectable") for m, _, _ in headline(ev))


def test_report_files_are_self_contained(tables: tuple[pd.DataFrame, ...], tmp_path: Path) -> None:
    train, synth, holdout = tables
    ev = evaluate(train, synth, holdout, anonymeter=False)
    folder = ev.write(tmp_path / "report")
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(ev.figures)
    assert not re.search(r"(src|href)=['\"]https?://", page)  # nothing fetched from elsewhere
    for words in ("C2ST", "DCR share", "Jensen", "Mortgage", "Which columns give the table away"):
        assert words in page
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert data["privacy"]["dcr_share_ok"] in (True, False) and "timings_s" in data


def test_copied_training_data_is_flagged(tables: tuple[pd.DataFrame, ...]) -> None:
    train = tables[0]
    holdout = _with_target(simulate_credit(len(train), seed=7)[0])  # same size: no subsampling in the DCR share
    ev = evaluate(train, train.copy(), holdout, anonymeter=False, plots=False)
    p = ev.results["privacy"]
    assert p["dcr_share"] > 0.95 and not p["dcr_share_ok"] and p["exact_copy_rate_train"] == 1.0
    assert ev.results["fidelity"]["train"]["jsd_mean"] == 0.0


def test_evaluate_errors(tables: tuple[pd.DataFrame, ...]) -> None:
    train, synth, holdout = tables
    with pytest.raises(SynthkitError, match="--target needs --holdout"):
        evaluate(train, synth, target="Delinquent")
    with pytest.raises(SynthkitError, match="'Mortgage' is missing"):
        evaluate(train, synth.drop(columns=["Mortgage"]), holdout, anonymeter=False)


def test_cli_evaluate_and_baseline(tables: tuple[pd.DataFrame, ...], tmp_path: Path) -> None:
    train, synth, holdout = tables
    for name, df in (("train", train), ("synth", synth), ("holdout", holdout)):
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    runner = CliRunner()
    res = runner.invoke(cli, ["evaluate", str(tmp_path / "train.csv"), str(tmp_path / "synth.csv"), "--holdout",
                              str(tmp_path / "holdout.csv"), "--target", "Delinquent", "-o", str(tmp_path / "rep"),
                              "--no-anonymeter"])
    assert res.exit_code == 0, res.output
    assert "C2ST AUC" in res.output and "DCR share" in res.output
    assert (tmp_path / "rep" / "report.html").is_file()
    res = runner.invoke(cli, ["evaluate", str(tmp_path / "train.csv"), str(tmp_path / "nope.csv")])
    assert res.exit_code == 2 and "nope.csv" in res.output
    res = runner.invoke(cli, ["baseline", "sdv-gaussiancopula", str(tmp_path / "train.csv"), "-o",
                              str(tmp_path / "gc.csv"), "-n", "300", "--seed", "1"])
    assert res.exit_code == 0, res.output
    sample = pd.read_csv(tmp_path / "gc.csv")
    assert sample.shape == (300, train.shape[1]) and list(sample.columns) == list(train.columns)
