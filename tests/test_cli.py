"""The command line, end to end on real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from synthkit.cli import cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as a user would."""
    return subprocess.run(["synthkit", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_help_lists_commands() -> None:
    res = run("--help")
    assert res.returncode == 0
    for word in ("datasets", "schema"):
        assert word in res.stdout
    assert run("datasets", "credit", "--help").returncode == 0


def test_credit_dataset_end_to_end(tmp_path: Path) -> None:
    out, factors = tmp_path / "credit.csv", tmp_path / "factors.csv"
    res = run("datasets", "credit", "-n", "500", "--seed", "3", "-o", str(out), "--factors", str(factors))
    assert res.returncode == 0, res.stderr
    features = pd.read_csv(out)
    truth = pd.read_csv(factors)
    assert features.shape == (500, 19) and truth.shape == (500, 11)
    again = tmp_path / "again.csv"
    assert run("datasets", "credit", "-n", "500", "--seed", "3", "-o", str(again)).returncode == 0
    assert out.read_bytes() == again.read_bytes()


def test_schema_prints_saves_and_reloads(tmp_path: Path, runner: CliRunner) -> None:
    data = tmp_path / "credit.csv"
    assert runner.invoke(cli, ["datasets", "credit", "-n", "2000", "-o", str(data)]).exit_code == 0
    schema_file = tmp_path / "schema.json"
    res = runner.invoke(cli, ["schema", str(data), "-o", str(schema_file)])
    assert res.exit_code == 0, res.output
    assert "Amount Past Due" in res.output and "mixed" in res.output
    saved = json.loads(schema_file.read_text())
    kinds = {c["name"]: c["kind"] for c in saved["columns"]}
    assert kinds["Amount Past Due"] == "mixed" and kinds["Credit Inquiry_3m"] == "discrete"
    res = runner.invoke(cli, ["schema", str(data), "--metadata", str(schema_file)])
    assert res.exit_code == 0 and "(declared)" in res.output


def test_schema_check_encoding_reports_round_trip(tmp_path: Path, runner: CliRunner) -> None:
    data = tmp_path / "credit.csv"
    runner.invoke(cli, ["datasets", "credit", "-n", "1000", "-o", str(data)])
    for name in ("mode_specific", "minmax_log"):
        res = runner.invoke(cli, ["schema", str(data), "--check-encoding", "--transformer", name])
        assert res.exit_code == 0, res.output
        assert "100.0% exact" in res.output and "model columns" in res.output


def _one_line_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error:")
    assert "Traceback" not in res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_bad_files_give_one_line_errors(tmp_path: Path) -> None:
    _one_line_error(run("schema", str(tmp_path / "nope.csv")), "nope.csv", "no such file")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _one_line_error(run("schema", str(empty)), "empty.csv", "empty")
    header = tmp_path / "header.csv"
    header.write_text("a,b,c\n")
    _one_line_error(run("schema", str(header)), "header.csv", "no data rows")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5,6\n")
    _one_line_error(run("schema", str(ragged)), "ragged.csv", "malformed")
    meta = tmp_path / "meta.json"
    meta.write_text("{not json")
    good = tmp_path / "good.csv"
    good.write_text("a,b\n1,x\n2,y\n")
    _one_line_error(run("schema", str(good), "--metadata", str(meta)), "meta.json", "JSON")
    meta.write_text(json.dumps({"columns": {"b": {"kind": "continuous"}}}))
    _one_line_error(run("schema", str(good), "--metadata", str(meta)), "'b'", "continuous")


def test_nothing_half_written_on_error(tmp_path: Path) -> None:
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    target = tmp_path / "schema.json"
    _one_line_error(run("schema", str(header), "-o", str(target)), "header.csv")
    assert not target.exists()
    _one_line_error(run("datasets", "credit", "-n", "10", "-o", str(tmp_path / "no" / "dir" / "x.csv")), "does not exist")
    assert not (tmp_path / "no").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["header.csv"]


def test_invalid_options_are_usage_errors() -> None:
    res = run("datasets", "credit", "-n", "0", "-o", "x.csv")
    assert res.returncode == 2 and "Invalid value" in res.stderr and "Traceback" not in res.stderr
    res = run("schema", "x.csv", "--transformer", "magic")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_module_entry_point() -> None:
    res = subprocess.run([sys.executable, "-m", "synthkit.cli", "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and "synthkit" in res.stdout


def test_fit_and_sample_end_to_end(tmp_path: Path) -> None:
    data, model, out = tmp_path / "credit.csv", tmp_path / "model", tmp_path / "synthetic.csv"
    assert run("datasets", "credit", "-n", "600", "-o", str(data)).returncode == 0
    res = run("fit", str(data), "--epochs", "2", "--seed", "4", "-o", str(model))
    assert res.returncode == 0, res.stderr
    assert "stage1" in res.stdout and "stage2" in res.stdout and "saved to" in res.stdout
    # 600 rows are too few for a mixture over MS-VAE's 18 latents (synthkit.core.priors).
    assert "sampling prior: N(0, I)" in res.stdout
    res = run("sample", str(model), "-n", "250", "--seed", "1", "-o", str(out))
    assert res.returncode == 0, res.stderr
    fake = pd.read_csv(out)
    assert fake.shape == (250, 19) and list(fake.columns) == list(pd.read_csv(data).columns)
    again = tmp_path / "again.csv"
    assert run("sample", str(model), "-n", "250", "--seed", "1", "-o", str(again)).returncode == 0
    assert out.read_bytes() == again.read_bytes()


def test_fit_is_reproducible_across_processes(tmp_path: Path) -> None:
    """Two fits with one seed and thread count in two processes write the same model files,
    byte for byte (what a validator re-running a documented fit gets), and the model records
    the thread count it was trained on. The count is pinned: by default it follows the idle
    cores, and the weights depend on it."""
    data = tmp_path / "credit.csv"
    assert run("datasets", "credit", "-n", "400", "-o", str(data)).returncode == 0
    for name in ("a", "b"):
        res = run("fit", str(data), "--epochs", "2", "--seed", "7", "--threads", "2", "--no-track",
                  "-o", str(tmp_path / name))
        assert res.returncode == 0, res.stderr
        assert "cpu, 2 thread(s) (seed 7)" in res.stdout
    for file in ("model.pt", "transformer.pkl", "expectations.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
    assert json.loads((tmp_path / "a" / "synthesizer.json").read_text())["summary"]["cpu_threads"] == 2


def test_fit_without_a_file_uses_the_built_in_credit_data(tmp_path: Path) -> None:
    # 18,000 training rows at batch 500: 36 steps an epoch, so a cap of 40 steps allows one.
    res = run("fit", "--method", "tvae", "--epochs", "3", "--max-steps", "40", "-o", str(tmp_path / "m"))
    assert res.returncode == 0, res.stderr
    assert "built-in simulated credit data" in res.stderr and (tmp_path / "m" / "synthesizer.json").is_file()
    saved = (tmp_path / "m" / "synthesizer.json").read_text()
    assert "reached 1 epoch (the cap of 40 steps, 36 an epoch)" in saved


def test_fit_and_sample_errors(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,x\n2,y\n3,x\n")
    _one_line_error(run("fit", str(data), "--method", "tvae", "--residual-dim", "3", "-o", str(tmp_path / "m")), "--residual-dim")
    _one_line_error(run("fit", str(data), "--method", "tvae", "--beta", "3", "-o", str(tmp_path / "m")), "--beta")
    _one_line_error(run("fit", str(data), "--method", "tvae", "--prior", "standard", "-o", str(tmp_path / "m")), "--prior")
    _one_line_error(run("fit", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "m")), "missing.csv")
    _one_line_error(run("sample", str(tmp_path), "-n", "5", "-o", str(tmp_path / "s.csv")), "not a saved synthkit model")
    assert not (tmp_path / "m").exists() and not (tmp_path / "s.csv").exists()


def test_error_messages_with_brackets_print_verbatim(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("[bold]x,b\n1,2\n3,4\n")
    meta = tmp_path / "meta.json"
    meta.write_text('{"columns": {"[red]nope": {"kind": "continuous"}}}')
    _one_line_error(run("schema", str(data), "--metadata", str(meta)), "'[red]nope'")
