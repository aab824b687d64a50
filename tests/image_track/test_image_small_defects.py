"""Small defects of the image track, each pinned by a test that failed before its fix: ``fit -o .`` (the current
folder) is a one-line error before training, not a traceback after it; ``evaluate`` on a dataset without factors
skips the metrics that need them and says why; MS-VAE's M1–M4 are reported as not run when no coordinate of C is
active, never taken silently over all coordinates; the model card records absolute dataset paths; the benchmark
writes its JSON atomically and its CUDA clock covers the training steps alone."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from cli_helpers import invoke, one_error_line
from image_track.datasets import LabelledImages, UnlabelledImages
from image_track.evaluation import evaluate_model
from image_track.methods import build
from image_track.metrics.msvae_m import normalized_mutual_information

ROOT = Path(__file__).resolve().parents[2]
#: Two steps of a 28×28 VAE on an image folder: a fit in about a second.
FIT = ["fit", "--method", "vae", "--steps", "2", "--batch-size", "4", "--cpu-threads", "1", "--no-track"]


@pytest.fixture()
def images(tmp_path: Path) -> Path:
    """A folder of twelve 28×28 greyscale PNGs."""
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    state = np.random.RandomState(0)
    for i in range(12):
        Image.fromarray((state.rand(28, 28) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def _folder_options(root: str) -> list[str]:
    return ["--dataset", "image_folder", "--dataset-option", f"root={root}", "--dataset-option", "size=28",
            "--dataset-option", "channels=1"]


# 1. -o . ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("output", "where"), [(".", "is the current folder"), ("./", "is the current folder"),
                                               ("..", "is a folder above the current one")])
def test_fit_into_the_current_folder_is_a_one_line_error_before_training(
        output: str, where: str, images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = tmp_path / "work"
    here.mkdir()
    monkeypatch.chdir(here)
    res = invoke(*FIT, *_folder_options(str(images)), "-o", output)
    line = one_error_line(res)  # before: OSError "Device or resource busy: '.' -> '..old-…'" after training
    assert where in line and "give a new folder" in line
    assert "training" not in res.output
    assert list(here.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["imgs", "work"]


def test_fit_from_inside_a_model_folder_into_it_leaves_the_model_alone(
        images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke(*FIT, *_folder_options(str(images)), "-o", str(tmp_path / "model"))
    assert res.exit_code == 0, res.output
    before = {p.name: p.read_bytes() for p in (tmp_path / "model").iterdir()}
    monkeypatch.chdir(tmp_path / "model")
    assert "is the current folder" in one_error_line(invoke(*FIT, *_folder_options(str(images)), "-o", "."))
    assert {p.name: p.read_bytes() for p in (tmp_path / "model").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs", "model"]


# 4. absolute paths on the card --------------------------------------------------------------------------------------


def test_the_card_records_resolved_dataset_paths_and_works_from_elsewhere(
        images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = invoke(*FIT, *_folder_options("./imgs/../imgs"), "-o", "model")
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "model" / "card.json").read_text())
    assert card["dataset_options"] == {"root": str(images.resolve()), "size": 28, "channels": 1}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    res = invoke("evaluate", str(tmp_path / "model"), "--quick", "--metrics", "reconstruction", "--cpu-threads", "1")
    assert res.exit_code == 0, res.output  # before: "imgs/../imgs: no such folder" from any other folder
    assert "reconstruction BCE" in res.stdout


# 2. evaluate without factors ----------------------------------------------------------------------------------------


@pytest.fixture()
def folder_model(images: Path, tmp_path: Path) -> Path:
    """An untrained 28×28 VAE whose card names the image folder."""
    folder = tmp_path / "model"
    build("vae", seed=0, image_shape=(28, 28, 1), arch="cascade28").save(folder)
    (folder / "card.json").write_text(json.dumps(
        {"dataset": "image_folder", "dataset_options": {"root": str(images), "size": 28, "channels": 1}}))
    return folder


def test_evaluate_without_factors_skips_what_needs_them_and_says_why(folder_model: Path, tmp_path: Path) -> None:
    res = invoke("evaluate", str(folder_model), "--quick", "--cpu-threads", "1", "--json", str(tmp_path / "e.json"))
    assert res.exit_code == 0, res.output  # before: one error line and no score at all
    document = json.loads((tmp_path / "e.json").read_text())
    assert list(document["results"]) == ["reconstruction"] and document["results"]["reconstruction"]["bce"] > 0
    assert list(document["skipped"]) == ["factor_vae", "mig", "dci", "sap", "modularity", "fid"]
    assert document["skipped"]["mig"] == "scores the code against ground-truth factors or labels; image_folder has none"
    assert "stand-in feature classifier is trained on the dataset's factors" in document["skipped"]["fid"]
    assert ("skipped factor_vae, mig, dci, sap, modularity: scores the code against ground-truth factors or labels; "
            "image_folder has none") in res.stdout
    assert "reconstruction BCE" in res.stdout and "FID here is" not in res.stdout


def test_evaluate_without_factors_is_an_error_when_nothing_can_run(folder_model: Path) -> None:
    line = one_error_line(invoke("evaluate", str(folder_model), "--quick", "--metrics", "mig,fid"))
    assert "mig, fid need a dataset with ground-truth factors or labels; image_folder has none" in line


def test_evaluate_on_a_labelled_set_says_its_only_factor_is_the_label(tmp_path: Path) -> None:
    folder = tmp_path / "digits"
    build("vae", seed=0, image_shape=(28, 28, 1), arch="cascade28").save(folder)
    (folder / "card.json").write_text(json.dumps({"dataset": "digits_sklearn", "dataset_options": {"size": 28}}))
    res = invoke("evaluate", str(folder), "--quick", "--metrics", "mig", "--cpu-threads", "1")
    assert res.exit_code == 0, res.output
    assert "digits_sklearn's only factor is its label (10 classes)" in res.stdout


# 3. M1–M4 with no active coordinate ---------------------------------------------------------------------------------


def _collapsed_msvae(*scale: float) -> Any:
    """An untrained 28×28 MS-VAE (|C| 4) with its stage-one mean layer scaled, by coordinate: on the noise images
    below its posterior means' standard deviations are about 0.017 × `scale` (1e-4: collapsed, 30: active)."""
    model = build("msvae", seed=0, image_shape=(28, 28, 1), arch="cascade28", latent_dim=4, residual_dim=2)
    with torch.no_grad():
        model.stage1.encoder.mean.weight.mul_(torch.tensor(scale * (4 // len(scale)))[:, None])
        model.stage1.encoder.mean.bias.zero_()
    return model.eval()


def _unlabelled(num: int = 64) -> UnlabelledImages:
    return UnlabelledImages(np.random.RandomState(1).rand(num, 28, 28, 1).astype(np.float32), name="noise")


def test_msvae_checks_are_not_run_without_an_active_coordinate() -> None:
    images = _unlabelled()
    labelled = LabelledImages(images.observations(np.arange(64)), np.arange(64) % 4, name="noise")
    params = {"fid": {"train_images": 64, "train_steps": 2, "num_images": 64}, "mig": {"num_train": 64},
              "msvae": {"num_images": 64}}
    m = evaluate_model(_collapsed_msvae(1e-4), labelled, ["msvae"], parameters=params)["results"]["msvae"]
    assert [m[k] for k in ("M1", "M2", "M3", "M4", "floor")] == [None] * 5  # before: the all-coordinates values
    assert m["active_coordinates"] == 0 and m["coordinates_used"] == []
    assert m["not_run"] == {"M1–M4": "no coordinate of C is active (posterior-mean standard deviation ≥ 0.05 over "
                                     "64 images: none of 4); M1–M4 over all coordinates, collapsed ones included, "
                                     "are under all_coordinates"}
    assert all(isinstance(v, float) for v in m["all_coordinates"].values())  # still there, under their own name
    assert isinstance(m["stage_one"]["mig"], float) and isinstance(m["full"]["fid_reconstructions"], float)
    m = evaluate_model(_collapsed_msvae(1e-4), images, ["msvae"], parameters=params)["results"]["msvae"]
    assert set(m["not_run"]) == {"M1–M4", "stage one against the full model"} and m["stage_one"] is None


def test_msvae_checks_with_active_coordinates_name_the_ones_used() -> None:
    params = {"msvae": {"num_images": 64}}
    m = evaluate_model(_collapsed_msvae(30, 30, 1e-4, 1e-4), _unlabelled(), ["msvae"], parameters=params)[
        "results"]["msvae"]
    assert m["coordinates_used"] == [0, 1] and m["active_coordinates"] == 2
    assert isinstance(m["M1"], float) and "M1–M4" not in m["not_run"]
    m = evaluate_model(_collapsed_msvae(30), _unlabelled(), ["msvae"], parameters=params)["results"]["msvae"]
    assert m["coordinates_used"] == [0, 1, 2, 3] and m["M1"] == m["all_coordinates"]["M1"]


def test_an_exactly_constant_code_is_reported_not_raised() -> None:
    report = evaluate_model(_collapsed_msvae(0.0), _unlabelled(), ["msvae"], parameters={"msvae": {"num_images": 64}})
    m = report["results"]["msvae"]
    assert m["all_coordinates"]["M1"] is None and m["M1"] is None
    assert "no coordinate of the reference code varies" in m["not_run"]["M1–M4 over all coordinates"]


def test_the_cli_prints_that_msvae_checks_were_not_run(images: Path, tmp_path: Path) -> None:
    folder = tmp_path / "msvae"
    _collapsed_msvae(1e-4).save(folder)
    (folder / "card.json").write_text(json.dumps(
        {"dataset": "image_folder", "dataset_options": {"root": str(images), "size": 28, "channels": 1}}))
    res = invoke("evaluate", str(folder), "--quick", "--metrics", "msvae", "--cpu-threads", "1")
    assert res.exit_code == 0, res.output
    assert "msvae: M1–M4 not computed: no coordinate of C is active" in res.stdout
    assert "M1 = MI" not in res.stdout  # no number in the table for a check that did not run


def test_an_empty_coordinate_selection_is_an_error_not_all_coordinates() -> None:
    codes = np.random.RandomState(0).randn(100, 3)
    with pytest.raises(ValueError, match="coordinates is empty"):
        normalized_mutual_information(codes, codes, coordinates=[])


# 5–6. the benchmark ------------------------------------------------------------------------------------------------


def _bench_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_image_methods_small_defects",
                                                  ROOT / "pipelines" / "bench_image_methods.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_benchmark_json_is_written_beside_and_renamed_into_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench_module()
    target = tmp_path / "speed.json"
    target.write_text('{"old": true}\n')
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        renames.append((str(src), str(dst)))
        assert json.loads(Path(src).read_text()) == {"method": "vae"}  # whole before it takes the name
        assert json.loads(target.read_text()) == {"old": True}  # and the old file untouched until then
        real_replace(src, dst)

    monkeypatch.setattr(bench.os, "replace", replace)
    monkeypatch.setattr(bench, "speed", lambda *a, **k: {"method": "vae"})
    monkeypatch.setattr(bench, "speed_markdown", lambda s: "table")
    monkeypatch.setattr(sys, "argv", ["bench", "--speed", "--json", str(target)])
    bench.main()
    assert renames == [(str(tmp_path / f".speed.json.tmp-{os.getpid()}"), str(target))]
    assert json.loads(target.read_text()) == {"method": "vae"} and sorted(p.name for p in tmp_path.iterdir()) == [
        "speed.json"]


def test_a_benchmark_write_cut_short_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _bench_module()
    target = tmp_path / "results.json"
    target.write_text('{"runs": [1]}\n')
    real_write = Path.write_text

    def cut_short(self: Path, text: str, *args: Any, **kwargs: Any) -> int:
        real_write(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError("No space left on device")

    monkeypatch.setattr(Path, "write_text", cut_short)
    with pytest.raises(OSError, match="No space left"):
        bench.write_json(target, {"runs": [1, 2]})
    monkeypatch.undo()
    assert target.read_text() == '{"runs": [1]}\n'  # before: '{\n  "runs": [' — the half written over it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_the_cuda_clock_covers_the_steps_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read on the CPU with the CUDA calls recorded: synchronize, then the steps with sync counting on, then
    synchronize, and only then the losses' device→host read-back."""
    bench = _bench_module()
    model = build("vae", seed=0, image_shape=(28, 28, 1), arch="cascade28")
    real_loss = model.loss
    events: list[str] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: events.append("synchronize"))
    monkeypatch.setattr(torch.cuda, "set_sync_debug_mode", lambda mode: events.append(f"sync mode {mode}"))
    for name in ("item", "cpu", "__float__"):
        real = getattr(torch.Tensor, name)
        monkeypatch.setattr(torch.Tensor, name, lambda self, *a, _real=real, _name=name, **k: (
            events.append(f"read {_name}"), _real(self, *a, **k))[1])
    monkeypatch.setattr(model, "loss", lambda x: (events.append("step"), real_loss(x))[1])
    batches = iter([torch.rand(4, 1, 28, 28) for _ in range(3)])
    rate, syncs = bench._cuda_timed_steps(model, batches, 3, "cpu", count_syncs=True)
    assert rate > 0 and syncs == 0
    first = events.index("synchronize")
    window = events[first:events.index("synchronize", first + 1) + 1]
    assert window == ["synchronize", "sync mode warn", "step", "step", "step", "sync mode default", "synchronize"]
    assert "read __float__" in events[first + len(window):]  # the losses, after the clock
