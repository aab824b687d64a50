"""`synthkit image …` end to end through synthkit's own CLI (and so through its lazy hook): fit → evaluate → traverse →
sample, MLflow tracking into a temporary store, save → load, determinism, one-line errors, and that the tabular CLI
never imports the image track."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result
from matplotlib.image import imread

from image_track.datasets import DSprites
from image_track.methods import build, load
from image_track.networks import to_tensor
from synthkit.cli import cli
from synthkit.core.trainer import StepTrainerConfig

#: Small enough for seconds: 20 steps at batch 16 on 64×64 dSprites, one CPU thread (bit-for-bit repeatable).
FIT = ["--method", "betatcvae", "--dataset", "dsprites", "--steps", "20", "--batch-size", "16", "--cpu-threads", "1"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["image", *args], catch_exceptions=False)


def one_error_line(res: Result, alone: bool = True) -> str:
    """The single 'error: …' line of a failed command, its last (with `alone`, its only) line on stderr."""
    assert res.exit_code == 2, (res.exit_code, res.output)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), res.stderr
    assert sum(line.startswith("error: ") for line in lines) == 1 and (len(lines) == 1 or not alone), res.stderr
    assert "Traceback" not in res.output and "Usage:" not in res.output
    return lines[-1]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlruns')}/mlflow.db"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory, store: str) -> dict[str, Any]:
    """One tracked CLI fit shared by the tests below."""
    root = tmp_path_factory.mktemp("fit")
    res = invoke("fit", *FIT, "--tracking-uri", store, "--experiment", "image-tests", "-o", str(root / "model"))
    assert res.exit_code == 0, res.output
    return {"root": root, "folder": root / "model", "output": res.output,
            "card": json.loads((root / "model" / "card.json").read_text())}


def test_fit_saves_the_model_and_its_card(fitted: dict[str, Any]) -> None:
    folder, card = fitted["folder"], fitted["card"]
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "method.json", "model.pt"]
    assert [p.name for p in fitted["root"].iterdir()] == ["model"]  # no temporary folder left beside it
    assert card["method"] == "betatcvae" and card["dataset"] == "dsprites" and card["seed"] == 0
    assert card["steps"] == 20 and card["batch_size"] == 16 and card["config"]["beta"] == 6.0
    assert card["stages"]["model"]["steps_run"] == 20 and card["steps_per_second"] > 0 and card["seconds"] > 0
    assert "betatcvae trained in" in fitted["output"] and card["mlflow_run_id"] in fitted["output"]


def test_the_fit_is_an_mlflow_run(fitted: dict[str, Any], store: str) -> None:
    client = mlflow.MlflowClient(store)
    run = client.get_run(fitted["card"]["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "image-tests"
    params = run.data.params
    assert params["method"] == "betatcvae" and params["dataset"] == "dsprites" and params["config.beta"] == "6.0"
    assert params["steps"] == "20" and params["trainer.learning_rate"] == "0.0001"
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "model/train/loss")]
    assert steps == list(range(1, 21))  # one record per step at 20 steps (a window of 1), the step as MLflow's step
    assert run.data.metrics["steps_per_second"] > 0
    logged = {f.path for f in client.list_artifacts(run.info.run_id, "image_model")}
    assert logged == {"image_model/card.json", "image_model/method.json", "image_model/model.pt"}


def test_evaluate_quick_prints_writes_and_logs(fitted: dict[str, Any], store: str, tmp_path: Path) -> None:
    out = tmp_path / "scores.json"
    res = invoke("evaluate", str(fitted["folder"]), "--quick", "--metrics", "mig,sap,reconstruction",
                 "--cpu-threads", "1", "--json", str(out))
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["parameters_set"] == "quick" and doc["dataset"] == "dsprites"
    assert set(doc["results"]) == {"mig", "sap", "reconstruction"}
    assert 0 <= doc["results"]["mig"]["discrete_mig"] <= 1 and doc["results"]["reconstruction"]["bce"] > 0
    assert doc["parameters"]["mig"] == {"num_train": 1000}
    assert "MIG" in res.stdout and "reconstruction BCE" in res.stdout
    metrics = mlflow.MlflowClient(store).get_run(fitted["card"]["mlflow_run_id"]).data.metrics
    assert metrics["evaluation/mig/discrete_mig"] == pytest.approx(doc["results"]["mig"]["discrete_mig"])


def test_traverse_and_sample_write_pngs(fitted: dict[str, Any], tmp_path: Path) -> None:
    grid, samples = tmp_path / "grid.png", tmp_path / "samples.png"
    res = invoke("traverse", str(fitted["folder"]), "-o", str(grid), "--rows", "4", "--steps", "5")
    assert res.exit_code == 0, res.output
    assert "4×5 traversal" in res.stderr and imread(grid).shape[0] > 4 * 64
    res = invoke("sample", str(fitted["folder"]), "-n", "6", "--columns", "3", "-o", str(samples))
    assert res.exit_code == 0, res.output
    assert imread(samples).shape[:2] == (2 * 64 + 2, 3 * 64 + 2 * 2)  # 2 rows × 3 columns, 2-pixel gaps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png", "samples.png"]


def test_the_cli_fit_is_the_library_fit_and_survives_save_load(fitted: dict[str, Any]) -> None:
    """The same build and training in-process gives the CLI's weights, and the saved folder reconstructs as the
    in-memory model does."""
    data = DSprites()
    model = build("betatcvae", seed=0, latent_dim=10, image_shape=(64, 64, 1), arch="dlib64")
    trainer = StepTrainerConfig(device="cpu", cpu_threads=1, progress=False, log_every=1)
    model.fit(data.as_torch(20, 16, 0), 20, seed=0, trainer=trainer)
    loaded = load(fitted["folder"])
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    x = to_tensor(data.sample_observations(8, np.random.RandomState(5)))
    assert torch.equal(model.reconstruct(x), loaded.reconstruct(x))


def test_two_fits_with_one_seed_are_identical(fitted: dict[str, Any], tmp_path: Path) -> None:
    res = invoke("fit", *FIT, "--no-track", "-o", str(tmp_path / "again"))
    assert res.exit_code == 0, res.output
    first, second = torch.load(fitted["folder"] / "model.pt"), torch.load(tmp_path / "again" / "model.pt")
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    res = invoke("fit", *FIT[:4], "--steps", "1", "--batch-size", "16", "--seed", "1", "--no-track",
                 "-o", str(tmp_path / "other"))
    assert res.exit_code == 0, res.output
    other = torch.load(tmp_path / "other" / "model.pt")
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_msvae_on_digits_gets_its_own_checks(tmp_path: Path) -> None:
    folder, out = tmp_path / "msvae", tmp_path / "msvae.json"
    res = invoke("fit", "--method", "msvae", "--dataset", "digits_sklearn", "--dataset-option", "size=28",
                 "--steps", "10", "--batch-size", "16", "--beta", "4", "--residual-dim", "3", "--cpu-threads", "1",
                 "--no-track", "-o", str(folder))
    assert res.exit_code == 0, res.output
    card = json.loads((folder / "card.json").read_text())
    assert card["config"]["stage_one_options"] == {"beta": 4.0} and card["config"]["arch"] == "cascade28"
    assert set(card["stages"]) == {"stage1", "stage2"}
    res = invoke("evaluate", str(folder), "--quick", "--metrics", "msvae", "--cpu-threads", "1",
                 "--json", str(out))
    assert res.exit_code == 0, res.output
    checks = json.loads(out.read_text())["results"]["msvae"]
    assert {"M1", "M2", "M3", "M4", "floor", "stage_one", "full"} <= set(checks)
    assert set(checks["stage_one"]) == set(checks["full"]) == {"fid_reconstructions", "mig"}
    assert "stage one FID" in res.stdout
    # M1–M4 average over C's active coordinates; 10 steps leave none active, and then they are not computed (said
    # so), not taken silently over every coordinate
    if checks["active_coordinates"]:
        assert "M4 = MI" in res.stdout and checks["M4"] is not None
    else:
        assert checks["M4"] is None and "M4 = MI" not in res.stdout
        assert "msvae: M1–M4 not computed: no coordinate of C is active" in res.stdout
    res = invoke("traverse", str(folder), "--block", "z", "--rows", "3", "-o", str(tmp_path / "z.png"))
    assert res.exit_code == 0, res.output
    assert "3×8 traversal of z" in res.stderr


def test_a_failed_fit_leaves_nothing_and_fails_its_run(tmp_path: Path, store: str) -> None:
    res = invoke("fit", *FIT, "--learning-rate", "1e30", "--tracking-uri", store, "--experiment", "image-failures",
                 "-o", str(tmp_path / "model"))
    assert "the loss became" in one_error_line(res, alone=False)  # after the line that says what is training
    assert list(tmp_path.iterdir()) == []
    client = mlflow.MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("image-failures").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]


@pytest.fixture(scope="module")
def not_a_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plain")
    (folder / "notes.txt").write_text("not a model")
    return folder


@pytest.mark.parametrize(("args", "expected"), [
    (["evaluate", "{tmp}/missing"], "no such model folder"),
    (["evaluate", "{plain}"], "not an image model folder"),
    (["traverse", "{plain}/notes.txt", "-o", "{tmp}/g.png"], "is a file"),
    (["fit", "--method", "gan", "-o", "{tmp}/m"], "unknown method 'gan'"),
    (["fit", "--dataset", "celeba", "-o", "{tmp}/m"], "unknown dataset 'celeba'"),
    (["fit", "--method", "betavae", "--gamma", "3", "-o", "{tmp}/m"], "--gamma applies to factorvae"),
    (["fit", "--method", "vae", "--beta", "2", "-o", "{tmp}/m"], "--beta applies to betavae, betatcvae"),
    (["fit", "--method", "msvae", "--stage-one", "factorvae", "--beta", "2", "-o", "{tmp}/m"],
     "not msvae's stage one factorvae"),
    (["fit", "--residual-dim", "3", "-o", "{tmp}/m"], "--residual-dim applies to --method msvae only"),
    (["fit", "--bogus", "-o", "{tmp}/m"], "No such option"),
    (["fit", "--steps", "0", "-o", "{tmp}/m"], "Invalid value for '--steps'"),
    (["fit"], "Missing option '-o'"),
    (["fit", "--dataset-option", "size", "-o", "{tmp}/m"], "expected KEY=VALUE"),
    (["fit", "--dataset", "digits_sklearn", "-o", "{tmp}/m"], "the networks take 64×64"),
    (["fit", "--dataset", "digits_sklearn", "--dataset-option", "size=12", "-o", "{tmp}/m"], "size must be one of"),
    (["fit", "-o", "{plain}"], "holds something other than an image model"),
    (["fit", "-o", "{plain}/notes.txt"], "exists and is not a folder"),
    (["fit", "--no-track", "--tracking-uri", "x", "-o", "{tmp}/m"], "need tracking"),
    (["evaluate", "{model}", "--metrics", "bogus"], "unknown metric 'bogus'"),
    (["evaluate", "{model}", "--metrics", "msvae"], "applies to MS-VAE models"),
    (["evaluate", "{model}", "--dataset", "shapes3d"], "the model was trained on 64×64×1"),
    (["evaluate", "{model}", "--json", "{tmp}/no/such/out.json"], "does not exist"),
    (["traverse", "{model}", "-o", "{tmp}/grid.jpg"], "give a file name ending in .png"),
    (["traverse", "{model}", "--block", "c", "-o", "{tmp}/g.png"], "betatcvae has the blocks z"),
    (["sample", "{model}", "-n", "0", "-o", "{tmp}/s.png"], "Invalid value for '-n'"),
    (["nosuchcommand"], "No such command 'nosuchcommand'"),
])
def test_user_errors_are_one_line(args: list[str], expected: str, fitted: dict[str, Any], not_a_model: Path,
                                  tmp_path: Path) -> None:
    names = {"tmp": str(tmp_path), "plain": str(not_a_model), "model": str(fitted["folder"])}
    res = invoke(*(a.format(**names) for a in args))
    assert expected in one_error_line(res)
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    assert sorted(p.name for p in not_a_model.iterdir()) == ["notes.txt"]


def test_the_tabular_cli_never_imports_the_image_track() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from synthkit.cli import cli\n"
        "for args in (['--help'], ['fit', '--help'], ['datasets', '--help']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0\n"
        "print('image_track' in sys.modules, 'image_track.cli' in sys.modules)\n"
        "CliRunner().invoke(cli, ['image', '--help'])\n"
        "print('image_track.cli' in sys.modules)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert res.stdout.split() == ["False", "False", "True"], res.stderr
