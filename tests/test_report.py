"""The compliance report: self-contained HTML, its sections per method, the CLI and its errors."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from synthkit.cli import cli
from synthkit.datasets import simulate_credit
from synthkit.errors import SynthkitError
from synthkit.report import ReportInputs, build_report, builtin_credit_data, find_chromium
from synthkit.report.html import render_report
from synthkit.tabular.io import write_table
from synthkit.tabular.synthesizer import Synthesizer

METHODS = ("msvae", "betatcvae", "tvae")
FAST = {"epochs": 2, "progress": False, "batch_size": 128}

try:  # the interpretability analyses arrive in their own package
    from synthkit.explain import explain as _explain  # noqa: F401

    HAVE_EXPLAIN = True
except ImportError:
    HAVE_EXPLAIN = False


@pytest.fixture(scope="module", autouse=True)
def _no_tracking():
    """Fits here are not MLflow runs (the default store is ./mlruns: nothing written in the repo)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNTHKIT_TRACKING", "off")
        yield


@pytest.fixture(scope="module")
def credit() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    data, factors = simulate_credit(800, seed=0)
    holdout, _ = simulate_credit(300, seed=1)
    return data, factors, holdout


@pytest.fixture(scope="module")
def models(credit, tmp_path_factory) -> dict[str, Path]:
    data = credit[0]
    root = tmp_path_factory.mktemp("models")
    out = {}
    for method in METHODS:
        Synthesizer(method, seed=0, **FAST).fit(data).save(root / method)
        out[method] = root / method
    return out


@pytest.fixture(scope="module")
def reports(credit, models) -> dict[str, tuple[str, object]]:
    """One report per method; plots (the slow part) drawn for MS-VAE only."""
    data, factors, holdout = credit
    out = {}
    for method, path in models.items():
        synth = Synthesizer.load(path)
        rep = build_report(synth, data, holdout, target="Balance", factors=factors, model_path=path, anonymeter=False,
                           plots=method == "msvae")
        out[method] = (rep.html(), rep)
    return out


def assert_self_contained(page: str) -> None:
    """No URL is fetched: no http(s) in any src/href, every image a data: URI, no external
    scripts, stylesheets or fonts."""
    assert page.startswith("<!doctype html>")
    refs = re.findall(r"""(?:src|href)\s*=\s*['"]?([^'"\s>]+)""", page, flags=re.I)
    assert refs, "expected some links"
    for ref in refs:
        assert not re.match(r"(https?:)?//", ref, flags=re.I), ref
        assert ref.startswith(("data:", "#")), ref
    for src in re.findall(r"""<img[^>]*\bsrc\s*=\s*['"]?([^'"\s>]+)""", page, flags=re.I):
        assert src.startswith("data:image/png;base64,"), src[:40]
    assert not re.search(r"<script[^>]*\bsrc|<link[^>]*stylesheet|@import|url\((?!data:)", page, flags=re.I)
    assert "http://" not in page and "https://" not in page


COMMON_SECTIONS = ("id='summary'", "id='how-to-read'", "id='model-card'", "id='evaluation'", "id='interpretability'",
                   "id='reproduce'", "Schema: each column", "Headline figures", "Detection: classifier two-sample test",
                   "Privacy", "Utility: train on synthetic", "@media print", "How close the synthetic data are")


@pytest.mark.parametrize("method", METHODS)
def test_report_is_self_contained_with_the_sections_of_each_method(reports, method) -> None:
    page, rep = reports[method]
    assert_self_contained(page)
    for needle in COMMON_SECTIONS:
        assert needle in page, needle
    card = rep.model_card
    assert card["method"] == method and card["data_matches_training"] is True
    assert card["training"]["stages"] and card["data_fingerprint"] in page
    assert "reached 2 epochs" in page  # stopping reason per stage
    if method == "msvae":
        assert page.count("<img") >= 19 + 4  # a plot per column, perturbation and traversal of C and Z
    assert rep.inputs["synthetic_rows"] == 800
    topics = [v["topic"] for v in rep.verdicts]
    assert topics[:4] == ["How close the synthetic data are", "Usefulness for modelling", "Privacy", "What the latents mean"]
    if method == "msvae":
        assert "stage one (β-TCVAE, latents C)" in page and "stage two (conditional VAE, latents Z)" in page
        # 800 rows are too few for the mixture prior (synthkit.core.priors): the card says so.
        assert card["training"]["sampling_prior"]["components"] == 0 and "N(0, I), as in the paper" in page
    if HAVE_EXPLAIN:
        assert rep.explanation is not None, rep.explain_error
        assert "Latent ↔ feature correlations" in page and "Perturbation" in page and "Full matrix" in page
        assert "What each latent appears to control" in page
        assert "Disentanglement against the ground-truth factors" in page
        assert ("M1–M4" in page) == (method == "msvae")


def test_report_json_and_mlflow_run_id(credit, models) -> None:
    data = credit[0]
    synth = Synthesizer.load(models["tvae"])
    synth.summary["mlflow_run_id"] = "0123abcd"
    rep = build_report(synth, data, model_path=models["tvae"], anonymeter=False, explain=False, plots=False)
    page = rep.html()
    assert "MLflow run id" in page and "0123abcd" in page
    assert "Not assessed: privacy needs a holdout" in page  # no holdout: privacy not assessed, and said so
    d = rep.to_dict()
    assert d["model_card"]["mlflow_run_id"] == "0123abcd" and d["evaluation"]["rows"]["synthetic"] == 800


def test_columns_that_do_not_match_the_model_are_one_line_errors(credit, models) -> None:
    data, factors, holdout = credit
    synth = Synthesizer.load(models["tvae"])
    with pytest.raises(SynthkitError, match="has no column 'Mortgage'"):
        build_report(synth, data.drop(columns=["Mortgage"]), explain=False)
    with pytest.raises(SynthkitError, match="'extra' is not one the model was trained on"):
        build_report(synth, data.assign(extra=1), explain=False)
    with pytest.raises(SynthkitError, match="row-aligned"):
        build_report(synth, data, factors=factors.iloc[:10], explain=False)
    with pytest.raises(SynthkitError, match="needs --holdout"):
        build_report(synth, data, target="Balance", explain=False)
    # Reordered columns are fine: the model's order is restored.
    rep = build_report(synth, data[data.columns[::-1]], holdout, anonymeter=False, explain=False, plots=False)
    assert rep.model_card["data_matches_training"] is True


def test_builtin_credit_data_regenerates_the_training_rows(models) -> None:
    synth = Synthesizer.load(models["betatcvae"])
    inputs = builtin_credit_data(synth)
    assert isinstance(inputs, ReportInputs) and len(inputs.data) == 800 and inputs.factors.shape == (800, 11)
    assert not inputs.notes  # same rows as the fit: the fingerprint matches
    assert inputs.holdout is not None and len(inputs.holdout) == 200


def _one_line_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _synthkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["synthkit", *args], capture_output=True, text=True, timeout=300)


def _cli_error(args: list[str], *needles: str) -> None:
    """In-process: exit status 2 and one line starting with 'error:' naming the culprit."""
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_cli_bad_input_gives_one_line_errors_and_leaves_nothing(tmp_path: Path, credit, models) -> None:
    data = credit[0]
    good = tmp_path / "credit.csv"
    write_table(data, good)
    out = tmp_path / "report.html"
    wrong = tmp_path / "wrong.csv"
    write_table(data.drop(columns=["Balance_3m"]).rename(columns={"Mortgage": "Home Loan"}), wrong)
    # As a user runs it: the installed console script, a real process.
    _one_line_error(_synthkit("report", str(models["tvae"]), str(wrong), "-o", str(out), "--no-anonymeter"),
                    "wrong.csv", "'Mortgage'")
    _one_line_error(_synthkit("report", str(tmp_path / "no_model"), str(good), "-o", str(out)), "no_model",
                    "no such model folder")
    not_a_model = tmp_path / "empty_dir"
    not_a_model.mkdir()
    _cli_error(["report", str(not_a_model), str(good), "-o", str(out)], "not a saved synthkit model")
    _cli_error(["report", str(good), str(good), "-o", str(out)], "is a file, expected a model folder")
    _cli_error(["report", str(models["tvae"]), str(tmp_path / "none.csv"), "-o", str(out)], "none.csv", "no such file")
    _cli_error(["report", str(models["tvae"]), str(good), "-o", str(tmp_path / "no" / "r.html")], "does not exist")
    _cli_error(["report", str(models["tvae"]), str(good), "-o", str(not_a_model)], "is a directory")
    _cli_error(["report", str(models["tvae"]), "-o", str(out), "--factors", str(good)], "--factors needs DATA")
    short = tmp_path / "factors.csv"
    write_table(credit[1].iloc[:100], short)
    _cli_error(["report", str(models["tvae"]), str(good), "-o", str(out), "--factors", str(short)], "factors", "row-aligned")
    _cli_error(["report", str(models["tvae"]), str(good), "-o", str(out), "--target", "Nope", "--holdout", str(good)],
               "'Nope'")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credit.csv", "empty_dir", "factors.csv", "wrong.csv"]


def test_cli_pdf_without_chromium_is_a_one_line_error(tmp_path: Path, models, monkeypatch) -> None:
    monkeypatch.setenv("SYNTHKIT_CHROMIUM", str(tmp_path / "no-such-browser"))
    out, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    res = CliRunner().invoke(cli, ["report", str(models["tvae"]), "-o", str(out), "--pdf", str(pdf)])
    assert res.exit_code == 2 and "needs headless Chromium" in res.output
    assert not out.exists() and not pdf.exists()


def test_cli_report_end_to_end_on_the_builtin_data(tmp_path: Path, models) -> None:
    out = tmp_path / "report.html"
    pdf = tmp_path / "report.pdf" if find_chromium() else None
    args = ["report", str(models["tvae"]), "-o", str(out), "--no-anonymeter"] + (["--pdf", str(pdf)] if pdf else [])
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "built-in simulated credit data (800 rows, seed 0)" in page and "fresh simulated credit data" in page
    assert "Privacy" in res.output and "report written to" in res.output
    if HAVE_EXPLAIN:
        assert "Disentanglement against the ground-truth factors" in page  # the built-in factors are used
    if pdf is not None:
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 50_000
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers


def test_render_is_deterministic_apart_from_the_date(reports) -> None:
    _, rep = reports["tvae"]
    assert render_report(rep) == render_report(rep)


def test_report_is_attached_to_the_models_mlflow_run_and_failure_only_warns(tmp_path: Path, models, monkeypatch) -> None:
    import synthkit.tracking as tracking

    model = tmp_path / "model"
    synth = Synthesizer.load(models["tvae"])
    synth.summary.update(mlflow_run_id="feedbeef", mlflow_tracking_uri="sqlite:///somewhere.db")
    synth.save(model)
    calls = []

    def fake_log_report(run_id, path, *, tracking_uri=None, **_):
        calls.append((run_id, Path(path).name, tracking_uri))
        return "reports/report"

    monkeypatch.setattr(tracking, "log_report", fake_log_report)
    import synthkit.report as report_pkg  # the CLI imports build_report at call time: make it quick here

    monkeypatch.setattr(report_pkg, "build_report", functools.partial(build_report, plots=False, explain=False))
    out = tmp_path / "report.html"
    res = CliRunner().invoke(cli, ["report", str(model), "-o", str(out), "--no-anonymeter"])
    assert res.exit_code == 0, res.output
    assert calls == [("feedbeef", "report.html", "sqlite:///somewhere.db")]
    assert "attached to MLflow run feedbeef" in res.stderr and "feedbeef" in out.read_text(encoding="utf-8")

    def broken(*_a, **_k):
        raise SynthkitError("cannot attach: the store is locked")

    monkeypatch.setattr(tracking, "log_report", broken)
    res = CliRunner().invoke(cli, ["report", str(model), "-o", str(out), "--no-anonymeter"])
    assert res.exit_code == 0 and "warning:" in res.stderr and "store is locked" in res.stderr


def _latent_results(active: int, holds: bool) -> dict:
    """A minimal explain() result: 4 C latents (`active` of them used, c1 clearly linked to
    Mortgage) and the M1–M4 outcome."""
    info = [{"latent": f"c{i}", "active": i <= active} for i in range(1, 5)]
    notes = {f"c{i}": {"confidence": "high" if i == 1 else "low",
                       "top_features": [{"feature": "Mortgage", "value": 0.9}] if i == 1 else []}
             for i in range(1, 5)}
    return {"notes": notes, "blocks": {"c": 4, "z": 2},
            "information": {"blocks": {"c": info, "z": [{"latent": "z1", "active": True}]}},
            "conditioning": {"values": {"M1": 0.8}, "holds": holds, "expected": "M2 > M1 > M3 ≫ M4",
                             "checks": {"M2 > M1": holds, "M1 > M3": True, "M3 ≫ M4": True}}}


def test_latent_verdict_asks_for_a_look_when_the_code_is_mostly_unused_or_m_order_fails() -> None:
    from synthkit.report.html import latent_summary

    text, status = latent_summary(_latent_results(active=4, holds=True), "msvae")
    assert status == "ok" and "c1 → Mortgage" in text
    text, status = latent_summary(_latent_results(active=1, holds=True), "msvae")
    assert status == "warn" and "1 factor(s)" in text
    text, status = latent_summary(_latent_results(active=4, holds=False), "msvae")
    assert status == "warn" and "fails: M2 > M1" in text
