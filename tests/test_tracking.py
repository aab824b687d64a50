"""MLflow tracking of fits, against a real SQLite store in a temporary folder (never ./mlruns)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from synthkit.datasets import simulate_credit
from synthkit.errors import SynthkitError
from synthkit.tabular.synthesizer import Synthesizer

import mlflow  # a core dependency: a missing MLflow must fail the suite, not skip it  # noqa: E402

from synthkit.tracking import (  # noqa: E402
    DEFAULT_TRACKING_URI,
    MetricBuffer,
    Tracking,
    TrackingWarning,
    log_report,
    model_run,
    resolve_tracking_uri,
    settings_for,
)

FAST = {"epochs": 2, "progress": False, "batch_size": 128}


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return simulate_credit(600, seed=0)[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mlruns")
    return {"root": root, "uri": f"sqlite:///{root}/mlflow.db"}


@pytest.fixture(scope="module")
def tracked(credit: pd.DataFrame, store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tracked, registered fit shared by the tests below."""
    synth = Synthesizer("msvae", seed=3, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrackingWarning)
        synth.fit(credit, track=Tracking(uri=store["uri"], experiment="tests", source="data/credit.csv",
                                         register="credit-test"))
    folder = synth.save(tmp_path_factory.mktemp("tracked") / "model")
    client = mlflow.MlflowClient(store["uri"])
    return {"synth": synth, "folder": folder, "client": client, "run": client.get_run(synth.summary["mlflow_run_id"])}


@pytest.fixture(autouse=True)
def _no_ambient_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "SYNTHKIT_TRACKING"):
        monkeypatch.delenv(name, raising=False)


def test_a_fit_is_a_run(tracked: dict[str, Any], credit: pd.DataFrame) -> None:
    run, synth = tracked["run"], tracked["synth"]
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "msvae · credit.csv · 600×19"
    p = run.data.params
    assert p["method"] == "msvae" and p["seed"] == "3" and p["transformer"] == "mode_specific"
    assert p["rows"] == "600" and p["columns"] == "19" and p["data_fingerprint"] == synth.summary["data_fingerprint"]
    assert p["config.latent_dim"] == "9" and p["trainer.epochs"] == "2" and p["data_source"] == "data/credit.csv"
    tags = run.data.tags
    assert tags["synthkit.method"] == "msvae" and tags["synthkit.data_source"] == "data/credit.csv"
    from synthkit import __version__

    assert tags["synthkit.version"] == __version__
    m = run.data.metrics
    assert m["stage1/epochs_run"] == 2 and m["stage2/epochs_run"] == 2
    assert m["fit_seconds"] == pytest.approx(synth.summary["fit_seconds"])
    assert m["cpu_threads"] == synth.summary["cpu_threads"] >= 1  # with the seed, what reproduces the model
    assert m["stage1/best_validation/loss"] == pytest.approx(synth.summary["stages"]["stage1"]["best_validation"]["loss"])
    assert 0 < m["tracking_seconds"] < 60


def test_per_epoch_losses_are_logged_with_the_epoch_as_step(tracked: dict[str, Any]) -> None:
    client, run_id, synth = tracked["client"], tracked["run"].info.run_id, tracked["synth"]
    for stage in ("stage1", "stage2"):
        for split in ("train", "validation"):
            history = client.get_metric_history(run_id, f"{stage}/{split}/loss")
            assert [h.step for h in history] == [1, 2]
            assert [h.value for h in history] == pytest.approx(getattr(synth.history[stage], split)["loss"])
    assert client.get_metric_history(run_id, "stage1/train/total_correlation")


def test_artifacts_schema_model_folder_and_pyfunc(tracked: dict[str, Any], store: dict[str, Any]) -> None:
    client, run = tracked["client"], tracked["run"]
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"schema.json", "synthkit_model"} <= names
    inside = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "synthkit_model")}
    assert {"synthesizer.json", "model.pt", "transformer.pkl"} <= inside
    assert run.info.artifact_uri.startswith(Path(store["root"]).as_uri())  # beside the database, not ./mlruns
    schema = json.loads(Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="schema.json",
                                                                  tracking_uri=store["uri"])).read_text())
    assert [c["name"] for c in schema["columns"]] == list(tracked["synth"].schema.names)
    # the run id travels with the saved model
    assert model_run(tracked["folder"]) == (run.info.run_id, store["uri"])
    assert Synthesizer.load(tracked["folder"]).summary["mlflow_run_id"] == run.info.run_id


def test_logged_and_registered_model_load_and_sample(tracked: dict[str, Any], store: dict[str, Any]) -> None:
    from synthkit.tracking import use_tracking_uri

    run_id = tracked["run"].info.run_id
    assert tracked["synth"].summary["mlflow_registered_model"] == {"name": "credit-test", "version": "1"}
    expected = tracked["synth"].sample(4, seed=7)
    with use_tracking_uri(store["uri"]):
        for uri in (f"runs:/{run_id}/model", "models:/credit-test/1", tracked["synth"].summary["mlflow_model_uri"]):
            model = mlflow.pyfunc.load_model(uri)
            out = model.predict(pd.DataFrame({"num_rows": [4], "seed": [7]}))
            pd.testing.assert_frame_equal(out, expected)
        # registering an existing run's model by hand, as docs/operations.md shows
        version = mlflow.register_model(f"runs:/{run_id}/model", "credit-by-hand")
        assert str(version.version) == "1"
        assert len(mlflow.pyfunc.load_model("models:/credit-by-hand/1").predict(pd.DataFrame({"num_rows": [2]}))) == 2


def test_synthkit_serve_loads_run_uris(tracked: dict[str, Any], store: dict[str, Any], tmp_path: Path) -> None:
    from synthkit.serving import load_served_model

    loaded = load_served_model(f"runs:/{tracked['run'].info.run_id}/model", tmp_path, tracking_uri=store["uri"],
                               max_rows=50)
    assert loaded.unwrap_python_model().max_rows == 50
    with pytest.raises(SynthkitError, match="cannot load"):
        load_served_model("models:/no-such-model/1", tmp_path, tracking_uri=store["uri"])


def test_tracking_uri_from_the_environment_and_the_switch(credit: pd.DataFrame, store: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    uri = store["uri"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    small = credit.head(300)
    synth = Synthesizer("tvae", **{**FAST, "epochs": 1}).fit(small)  # tracked by default
    run = mlflow.MlflowClient(uri).get_run(synth.summary["mlflow_run_id"])
    assert run.info.run_name == "tvae · DataFrame · 300×19"
    assert mlflow.MlflowClient(uri).get_experiment(run.info.experiment_id).name == "synthkit"
    import os

    assert os.environ["MLFLOW_TRACKING_URI"] == uri  # the global URI is restored after the fit
    monkeypatch.setenv("SYNTHKIT_TRACKING", "off")
    assert "mlflow_run_id" not in Synthesizer("tvae", **{**FAST, "epochs": 1}).fit(small).summary
    assert settings_for(None) is None and settings_for(True) is not None and settings_for(False) is None
    assert settings_for(uri).uri == uri
    with pytest.raises(SynthkitError):
        settings_for(3)  # type: ignore[arg-type]


def test_default_store_is_under_mlruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert DEFAULT_TRACKING_URI == "sqlite:///mlruns/mlflow.db"
    assert resolve_tracking_uri() == f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    assert (tmp_path / "mlruns").is_dir()
    assert resolve_tracking_uri("http://server:5000") == "http://server:5000"


def test_no_tracking_leaves_no_trace(credit: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    synth = Synthesizer("tvae", **{**FAST, "epochs": 1}).fit(credit.head(200), track=False)
    assert "mlflow_run_id" not in synth.summary and not (tmp_path / "mlruns").exists()


def test_a_tracking_failure_warns_and_keeps_the_model(credit: pd.DataFrame, tmp_path: Path) -> None:
    synth = Synthesizer("tvae", **{**FAST, "epochs": 1})
    with pytest.warns(TrackingWarning, match="tracking is off for this fit"):
        synth.fit(credit.head(200), track="http://127.0.0.1:9")  # nothing listens on port 9
    assert synth.model is not None and "mlflow_run_id" not in synth.summary
    assert len(synth.sample(3)) == 3
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.warns(TrackingWarning):
        Synthesizer("tvae", **{**FAST, "epochs": 1}).fit(credit.head(200), track=f"sqlite:///{blocked}/x/mlflow.db")


def test_a_failed_fit_is_a_failed_run(store: dict[str, Any], credit: pd.DataFrame) -> None:
    def boom(stage: str, epoch: int, history: Any) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        Synthesizer("tvae", **FAST).fit(credit.head(200), callbacks=[boom],
                                        track=Tracking(uri=store["uri"], experiment="failures"))
    client = mlflow.MlflowClient(store["uri"])
    runs = client.search_runs([client.get_experiment_by_name("failures").experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FAILED"
    assert runs[0].data.tags["synthkit.error"] == "stop here"
    assert mlflow.active_run() is None


def test_epoch_metrics_are_sent_in_batches(store: dict[str, Any]) -> None:
    from synthkit.core.trainer import History

    client = mlflow.MlflowClient(store["uri"])
    run = client.create_run(client.get_experiment_by_name("tests").experiment_id)
    calls = []

    class CountingClient:
        def log_batch(self, run_id: str, **kwargs: Any) -> None:
            calls.append(len(kwargs["metrics"]))
            client.log_batch(run_id, **kwargs)

    buffer = MetricBuffer(CountingClient(), run.info.run_id, flush_seconds=3600)
    h1, h2 = History(), History()
    for epoch in range(30):
        h1.train.setdefault("loss", []).append(float(epoch))
        h1.validation.setdefault("loss", []).append(float(epoch) / 2)
        buffer("stage1", epoch, h1)
    assert calls == []  # nothing sent while a stage runs
    h2.train["loss"] = [1.0]
    buffer("stage2", 0, h2)  # a new stage sends the last one's losses
    buffer.close()
    assert calls == [60, 1]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "stage1/train/loss")] == list(range(1, 31))


def test_log_report_attaches_files_and_numbers(tracked: dict[str, Any], store: dict[str, Any], tmp_path: Path) -> None:
    report = tmp_path / "report"
    report.mkdir()
    (report / "report.json").write_text(json.dumps(
        {"fidelity": {"train": {"score": 0.91, "columns": ["a"]}}, "detection": {"auc": 0.55}, "ok": True}))
    (report / "report.html").write_text("<html></html>")
    run_id = tracked["run"].info.run_id
    assert log_report(run_id, report, tracking_uri=store["uri"]) == "reports/report"
    client = tracked["client"]
    assert {Path(a.path).name for a in client.list_artifacts(run_id, "reports/report")} == {"report.json", "report.html"}
    metrics = client.get_run(run_id).data.metrics
    assert metrics["report/fidelity/train/score"] == pytest.approx(0.91) and metrics["report/detection/auc"] == 0.55
    single = tmp_path / "card.html"
    single.write_text("<html></html>")
    assert log_report(run_id, single, tracking_uri=store["uri"]) == "reports/card"
    with pytest.raises(SynthkitError, match="cannot attach"):
        log_report("0" * 32, single, tracking_uri=store["uri"])
    with pytest.raises(SynthkitError, match="no such file"):
        log_report(run_id, tmp_path / "missing", tracking_uri=store["uri"])


def _synthkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "synthkit.cli", *args], capture_output=True, text=True,
                          timeout=300, env=full_env)


def test_cli_fit_tracks_quietly(tmp_path: Path, credit: pd.DataFrame, store: dict[str, Any]) -> None:
    data = tmp_path / "credit.csv"
    credit.head(300).to_csv(data, index=False)
    uri = store["uri"]
    res = _synthkit("fit", str(data), "--method", "tvae", "--epochs", "2", "--tracking-uri", uri,
                    "--experiment", "cli", "-o", str(tmp_path / "model"))
    assert res.returncode == 0, res.stderr
    assert "MLflow run" in res.stderr
    for noise in ("INFO", "alembic", "Warning", "🏃", "View run", "Successfully registered", "Downloading"):
        assert noise not in res.stderr + res.stdout, noise
    run_id, run_uri = model_run(tmp_path / "model")
    assert run_uri == uri and run_id in res.stderr
    run = mlflow.MlflowClient(uri).get_run(run_id)
    assert run.info.run_name == "tvae · credit.csv · 300×19" and run.data.tags["synthkit.data_source"] == str(data)

    res = _synthkit("fit", str(data), "--method", "tvae", "--epochs", "1", "--no-track", "-o", str(tmp_path / "m2"),
                    env={"MLFLOW_TRACKING_URI": uri})
    assert res.returncode == 0 and "MLflow run" not in res.stderr
    assert model_run(tmp_path / "m2") == (None, None)
    res = _synthkit("fit", str(data), "--no-track", "--register", "x", "-o", str(tmp_path / "m3"))
    assert res.returncode == 2 and "need tracking" in res.stderr and not (tmp_path / "m3").exists()


def test_cli_fit_warns_in_one_line_when_the_server_is_down(tmp_path: Path, credit: pd.DataFrame) -> None:
    data = tmp_path / "credit.csv"
    credit.head(200).to_csv(data, index=False)
    from click.testing import CliRunner

    from synthkit.cli import cli

    res = CliRunner().invoke(cli, ["fit", str(data), "--method", "tvae", "--epochs", "1", "--tracking-uri",
                                   "http://127.0.0.1:9", "-o", str(tmp_path / "model")])
    assert res.exit_code == 0, res.output
    warning_lines = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning_lines) == 1 and "does not answer" in warning_lines[0]
    assert "Traceback" not in res.stderr and (tmp_path / "model" / "synthesizer.json").is_file()


def test_import_synthkit_does_not_import_mlflow() -> None:
    code = "import sys, synthkit, synthkit.cli, synthkit.tabular.synthesizer; print('mlflow' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "False", res.stderr


def test_cli_evaluate_attaches_its_report_to_the_models_run(tracked: dict[str, Any], store: dict[str, Any],
                                                            credit: pd.DataFrame, tmp_path: Path) -> None:
    train, fake = tmp_path / "train.csv", tmp_path / "fake.csv"
    credit.head(300).to_csv(train, index=False)
    tracked["synth"].sample(300, seed=1).to_csv(fake, index=False)
    res = _synthkit("evaluate", str(train), str(fake), "--no-anonymeter", "-o", str(tmp_path / "report"),
                    "--mlflow-run", str(tracked["folder"]))
    assert res.returncode == 0, res.stderr
    run_id = tracked["run"].info.run_id
    assert f"report attached to MLflow run {run_id} as reports/evaluation" in res.stderr
    client = tracked["client"]
    names = {Path(a.path).name for a in client.list_artifacts(run_id, "reports/evaluation")}
    assert {"report.json", "report.html"} <= names
    assert any(k.startswith("evaluation/") for k in client.get_run(run_id).data.metrics)
    untracked = tmp_path / "untracked"
    Synthesizer("tvae", **{**FAST, "epochs": 1}).fit(credit.head(200), track=False).save(untracked)
    res = _synthkit("evaluate", str(train), str(fake), "--no-anonymeter", "-o", str(tmp_path / "r2"),
                    "--mlflow-run", str(untracked))
    assert res.returncode == 2 and "not tracked" in res.stderr


def test_a_fit_inside_an_active_run_is_its_child(store: dict[str, Any], credit: pd.DataFrame) -> None:
    from synthkit.tracking import use_tracking_uri

    with use_tracking_uri(store["uri"]):
        client = mlflow.MlflowClient(store["uri"])
        experiment_id = client.create_experiment("outer")
        with mlflow.start_run(experiment_id=experiment_id) as outer:
            synth = Synthesizer("tvae", **{**FAST, "epochs": 1}).fit(credit.head(200), track=store["uri"])
            assert mlflow.active_run().info.run_id == outer.info.run_id
    child = client.get_run(synth.summary["mlflow_run_id"])
    assert child.data.tags["mlflow.parentRunId"] == outer.info.run_id
    assert child.info.experiment_id == experiment_id and child.info.status == "FINISHED"
