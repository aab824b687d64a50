"""Defects found in review of the image track's CLI, evaluation and benchmark, each pinned by a test: damaged model
folders are one-line errors, an impossible ``-o`` fails before training, the FID classifier of a labelled dataset is
trained on its own labels, and the benchmark rejects bad arguments before it trains anything."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cli_helpers import invoke, one_error_line
from image_track.datasets import DSprites
from image_track.evaluation import fid_labels
from image_track.methods import build

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def model_folder(tmp_path: Path) -> Path:
    """A small saved model folder (28×28 VAE, untrained) with a card naming its dataset."""
    folder = tmp_path / "model"
    build("vae", seed=0, image_shape=(28, 28, 1), arch="cascade28").save(folder)
    (folder / "card.json").write_text(json.dumps({"dataset": "digits_sklearn", "dataset_options": {"size": 28}}))
    return folder


def test_a_saved_model_samples_through_the_cli(model_folder: Path, tmp_path: Path) -> None:
    res = invoke("sample", str(model_folder), "-n", "4", "-o", str(tmp_path / "s.png"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "s.png").is_file()


@pytest.mark.parametrize("content", [b"not a torch file", b""])
def test_damaged_weights_are_one_line_errors(model_folder: Path, tmp_path: Path, content: bytes) -> None:
    (model_folder / "model.pt").write_bytes(content)
    line = one_error_line(invoke("sample", str(model_folder), "-n", "4", "-o", str(tmp_path / "s.png")))
    assert "the weights cannot be loaded" in line
    assert not (tmp_path / "s.png").exists()


@pytest.mark.parametrize("meta", [{"format_version": 1}, {"format_version": 1, "method": "vae"}, [1]])
def test_a_damaged_method_file_is_a_one_line_error_naming_it(model_folder: Path, tmp_path: Path, meta: object) -> None:
    (model_folder / "method.json").write_text(json.dumps(meta))
    line = one_error_line(invoke("sample", str(model_folder), "-n", "4", "-o", str(tmp_path / "s.png")))
    assert "method.json" in line and "damaged" in line


@pytest.mark.parametrize("card", ["[1, 2]", "\"text\"", "{not json"])
def test_a_damaged_card_is_a_one_line_error(model_folder: Path, tmp_path: Path, card: str) -> None:
    (model_folder / "card.json").write_text(card)
    line = one_error_line(invoke("traverse", str(model_folder), "-o", str(tmp_path / "t.png")))
    assert "card.json" in line and "damaged" in line
    assert not (tmp_path / "t.png").exists()


def test_fit_into_a_folder_under_a_file_fails_before_training(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    line = one_error_line(invoke("fit", "--method", "vae", "--dataset", "digits_sklearn", "--dataset-option",
                                 "size=28", "--steps", "2", "--no-track", "-o", str(tmp_path / "afile" / "model")))
    assert "is a file, not a folder" in line and "training" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_fid_classes_of_a_labelled_dataset_are_its_own_labels() -> None:
    digits = SimpleNamespace(factors_num_values=[10])
    labels = fid_labels(digits, np.arange(10)[:, None])  # type: ignore[arg-type]
    assert labels.tolist() == list(range(10))  # each digit its own class, not 4 runs of digits
    data = DSprites()
    factors = data.sample_factors(5000, np.random.RandomState(0))
    classes = fid_labels(data, factors)
    assert classes.min() >= 0 and classes.max() < 3 * 4**4 and len(np.unique(classes)) > 500  # factors still binned


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_image_methods_under_test",
                                                  ROOT / "pipelines" / "bench_image_methods.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize(("args", "expected"), [
    (["--json", "{tmp}/no/such/r.json"], "does not exist"),
    (["--steps", "0"], "at least 1"),
    (["--seeds", "0,a"], "comma-separated integers"),
])
def test_the_benchmark_rejects_bad_arguments_before_training(args: list[str], expected: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench_module()
    monkeypatch.setattr(bench, "run_method", lambda *a, **k: pytest.fail("trained despite a bad argument"))
    monkeypatch.setattr(sys, "argv", ["bench", "--methods", "vae", *(a.format(tmp=tmp_path) for a in args)])
    with pytest.raises(SystemExit) as exit_info:
        bench.main()
    assert exit_info.value.code == 2
    assert expected in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
