"""The training loops every method shares.

A method is any ``nn.Module`` with ``loss(batch) -> (total, {term: value})``. The trainer
owns what is common: seeding, device choice, Adam, a progress bar, the per-term loss history
and callbacks. It refuses to train silently on nothing: too few rows for one batch, or a loss
that turns NaN, stop with a clear :class:`~synthkit.errors.SynthkitError`.

Two loops share that:

* :func:`train`, over the rows of an in-memory matrix (the tables), in epochs, with a
  held-out validation split, early stopping and an optional time budget. Speed: the whole
  data set is moved to the device once; batches are index slices of it. Per-term losses are
  accumulated on the device and read back once per epoch, so a GPU never waits on the host
  inside an epoch.
* :func:`train_steps`, a fixed number of gradient steps on batches streamed from an iterator
  (the images: a data set too large to hold as one tensor, or drawn afresh each step), with
  a hook for a second optimizer (FactorVAE's discriminator). Losses are read back once per
  logged window of steps.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from synthkit.errors import SynthkitError


class Trainable(Protocol):
    """What the trainer needs from a method."""

    def loss(self, batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...

    def parameters(self) -> object: ...


@dataclass
class TrainerConfig:
    """Training settings; every field has a default that works for tables up to ~1M rows."""

    #: Maximum passes over the training rows (per stage). The paper trained for 3,000;
    #: on the 20,000-row credit data the C2ST AUC of MS-VAE levels off within ~150 here,
    #: and early stopping usually ends stage one sooner.
    epochs: int = 150
    #: Cap on gradient steps per stage: a large table trains fewer epochs, each of which
    #: already sees more rows (None: no cap). At the default batch the cap binds above
    #: ~133,000 training rows (150 epochs × 267 steps); the 20,000-row credit data runs 36
    #: steps an epoch, 5,400 in 150. Without it a 1M-row table could run 270,000 steps a
    #: stage — hours on a laptop; with it, 22 epochs. 40,000 because quality still gained
    #: beyond 20,000: on 200,000 simulated credit rows a cap of 20,000 (69 epochs a stage)
    #: gave an XGBoost C2ST AUC of 0.731 against 0.706 uncapped, where early stopping ended
    #: the stages after 29,000 and 40,000 steps (docs/models.md, "Large tables"). Steps
    #: rather than a time budget: the same table and seed give the same model anywhere.
    max_steps: int | None = 40_000
    #: Rows per gradient step (capped at the training rows).
    batch_size: int = 500
    #: Smaller tables get smaller batches, so that an epoch still makes at least this many
    #: gradient steps (a 1,000-row table at batch 500 would otherwise train on ~2 steps an
    #: epoch); batches never go below 32 rows.
    min_steps_per_epoch: int = 10
    #: Adam learning rate.
    learning_rate: float = 1e-3
    #: Adam weight decay (L2), as TVAE's l2scale.
    weight_decay: float = 1e-5
    #: Share of rows held out to decide early stopping (0 disables it).
    validation_share: float = 0.1
    #: Stop after this many epochs without a relative improvement of `min_delta` on validation.
    patience: int = 20
    #: Relative improvement of the validation loss that counts as progress.
    min_delta: float = 1e-3
    #: Stop after this many seconds (None: no budget).
    time_budget_s: float | None = None
    #: "auto" (CUDA when present), "cpu" or "cuda".
    device: str = "auto"
    #: Threads for CPU training (None: the cores idle when training starts, at least half of
    #: them, at most 4; see default_cpu_threads). Small dense layers gain little from more
    #: threads, and OpenMP threads that compete with other processes for the same cores can
    #: slow a step down by an order of magnitude.
    cpu_threads: int | None = None
    #: Show a progress bar.
    progress: bool = True


@dataclass
class StepTrainerConfig:
    """Settings of :func:`train_steps`. The defaults are disentanglement_lib's for its VAEs
    (config/unsupervised_study_v1/model_configs/shared.gin: vae/AdamOptimizer)."""

    #: Adam learning rate (the lib's 1e-4).
    learning_rate: float = 1e-4
    #: Adam's (β1, β2) (the lib's 0.9, 0.999).
    adam_betas: tuple[float, float] = (0.9, 0.999)
    #: Adam's ε (the lib's 1e-8).
    adam_eps: float = 1e-8
    #: Adam weight decay (L2); the lib uses none.
    weight_decay: float = 0.0
    #: Steps per record of the loss history: each record is the mean over that many steps
    #: (the lib logs every 100 iterations).
    log_every: int = 100
    #: "auto" (CUDA when present), "cpu" or "cuda".
    device: str = "auto"
    #: Threads for CPU training (None: see default_cpu_threads).
    cpu_threads: int | None = None
    #: Show a progress bar.
    progress: bool = True


@dataclass
class History:
    """Mean of each loss term per record: per epoch on training and validation rows
    (:func:`train`), or per window of `log_every` steps (:func:`train_steps`, no validation)."""

    train: dict[str, list[float]] = field(default_factory=dict)
    validation: dict[str, list[float]] = field(default_factory=dict)
    epochs_run: int = 0
    best_epoch: int = 0
    stopped_because: str = ""
    seconds: float = 0.0
    #: :func:`train_steps` only: the step count at the end of each record's window.
    steps: list[int] = field(default_factory=list)
    #: :func:`train_steps` only: gradient steps taken.
    steps_run: int = 0


#: Called after every record as ``callback(stage, index, history)``: `stage` names the stage
#: being trained ("model" for single-stage methods, "stage1"/"stage2" for MS-VAE), `index`
#: counts the records from 0 (the epoch for :func:`train`; for :func:`train_steps`,
#: ``history.steps[index]`` is its step), `history` holds every record so far (MLflow
#: tracking hooks in here).
Callback = Callable[[str, int, History], None]

#: Called by :func:`train_steps` after each main optimizer step as ``aux_step(model, batch,
#: step)`` (`step` from 0), to update what the main optimizer leaves out with an optimizer of
#: its own (FactorVAE's discriminator); the named terms it returns, if any, join the history.
AuxStep = Callable[[nn.Module, torch.Tensor, int], "dict[str, torch.Tensor] | None"]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for the trainer's own draws."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Treat denormal floats as zero inside the block (CPU only; restored afterwards).

    As a model trains, some activations and gradients shrink into the denormal range, where
    x86 arithmetic is many times slower: late in training an MS-VAE stage-two step took 50 ms
    instead of 14 ms on the credit data. Values that small carry no information here.

    The flag is per thread (a CPU control register), and PyTorch's intra-op work runs on
    OpenMP threads too: set only here, the other thread of a two-thread step kept computing
    on denormals (a multiply over 4M denormal floats: 12 ms on two threads, 2.6 ms on one),
    and epochs slowed down as training went on. So the flag is set in every thread of
    PyTorch's OpenMP team as well (:func:`_set_flush_denormal_in_openmp_threads`).
    """
    torch.set_flush_denormal(True)
    _set_flush_denormal_in_openmp_threads(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        _set_flush_denormal_in_openmp_threads(False)


@contextlib.contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """PyTorch's intra-op thread count (process-wide) set to `n` inside the block, then restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def inference() -> Iterator[None]:
    """What a CPU inference pass (encode, decode, reconstruct, the explain analyses) runs
    under: no autograd, denormals flushed, one intra-op thread. With two threads the same
    seed gave results differing in the 6th digit in about one process in 40 (traced to an
    exp over a decoder's logits); with one, every process agrees — and these small matrices
    gain little from more threads."""
    with torch.no_grad(), flush_denormals(), intra_op_threads(1):
        yield


_GOMP: Any = None


def _set_flush_denormal_in_openmp_threads(on: bool) -> None:
    """Run torch.set_flush_denormal(on) on each thread of the OpenMP team PyTorch's intra-op
    work uses (the team of torch.get_num_threads() threads started from this thread), via
    GOMP_parallel of the libgomp PyTorch ships with on Linux. Where there is no such library
    (other platforms and builds) nothing happens: the main thread's flag still applies."""
    global _GOMP
    threads = torch.get_num_threads()
    if threads <= 1:
        return
    if _GOMP is None:
        try:
            library = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libgomp.so.1"))
            callback_type = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
            library.GOMP_parallel.argtypes = [callback_type, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
            library.GOMP_parallel.restype = None
            _GOMP = (library, callback_type)
        except (OSError, AttributeError):
            _GOMP = False
    if _GOMP is False:
        return
    library, callback_type = _GOMP
    callback = callback_type(lambda _: torch.set_flush_denormal(on))
    library.GOMP_parallel(callback, None, threads, 0)


def default_cpu_threads() -> int:
    """Threads for CPU work on small dense layers: the cores idle right now, at most 4.

    At least half the cores; more when they are idle, measured over 0.1 s from /proc/stat
    (elsewhere: half). On an idle 2-core machine that is 2 (a β-TCVAE step on the credit
    data: 14 ms against 21 ms on one); while another process keeps a core busy, 1 — OpenMP
    threads that compete with other processes for the same cores spin and wait, which slowed
    steps here by an order of magnitude. Small layers gain little beyond 4 threads. Set
    TrainerConfig.cpu_threads to choose yourself.
    """
    cores = os.cpu_count() or 2
    idle = _idle_cores(cores)
    half = max(1, cores // 2)
    return max(1, min(4, max(half, int(idle + 0.25)) if idle is not None else half))


def _idle_cores(cores: int, interval: float = 0.1) -> float | None:
    """How many cores sat idle over the next `interval` seconds (Linux; None elsewhere).
    The 1-minute load average would be simpler but lags: it still counts whatever ran in the
    minute before (this process's own start-up included)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        return values[3] + values[4], sum(values[:8])  # idle + iowait, all but guest time

    try:
        idle0, total0 = sample()
        time.sleep(interval)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    return cores * (idle1 - idle0) / (total1 - total0)


def resolve_device(name: str) -> torch.device:
    """"auto" → CUDA when available, else CPU; otherwise the named device (checked)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SynthkitError("--device cuda was asked for, but no CUDA GPU is available")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise SynthkitError(f"unknown device {name!r} (use auto, cpu or cuda)")
    return torch.device(name)


def _use_cpu_threads(device: torch.device, threads: int | None) -> int:
    """Set PyTorch's intra-op threads for training on `device` (`threads`, else default_cpu_threads(); unchanged
    off the CPU) and return the count before, to restore."""
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(threads or default_cpu_threads())
    return before


def make_adam(
    parameters: Iterable[nn.Parameter],
    device: torch.device,
    learning_rate: float,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> torch.optim.Adam:
    """Adam as the trainers use it: fused where the device has the kernel.

    Fused Adam is one kernel per step, and its step counters live on the device — the default
    implementation reads each parameter's step count back to the host every step."""
    return torch.optim.Adam(
        parameters, lr=learning_rate, weight_decay=weight_decay, betas=betas, eps=eps,
        fused=device.type in ("cpu", "cuda"),
    )


def train(
    model: nn.Module,
    data: np.ndarray,
    config: TrainerConfig,
    seed: int = 0,
    callbacks: list[Callback] | None = None,
    description: str = "training",
    stage: str = "model",
) -> History:
    """Train `model` (a :class:`Trainable` module) on the rows of `data`; returns its history.

    The model is left on its training device with the weights of its best validation epoch.
    """
    n = len(data)
    generator = seed_everything(seed)
    n_val = round(n * config.validation_share) if config.validation_share > 0 else 0
    if n_val and n - n_val < 2 * min(config.batch_size, 50):
        n_val = 0  # too small a table to spare validation rows: train on all, no early stopping
    n_train = n - n_val
    if n_train < 2:
        raise SynthkitError(f"need at least 2 rows to train, got {n}")
    batch_size = min(config.batch_size, max(n_train // config.min_steps_per_epoch, 32), n_train)
    if hasattr(model, "dataset_size"):
        model.dataset_size = n_train  # N of the total-correlation estimators
    device = resolve_device(config.device)
    threads_before = _use_cpu_threads(device, config.cpu_threads)
    model.to(device)
    order = torch.randperm(n, generator=generator)
    tensor = torch.as_tensor(np.asarray(data, dtype=np.float32))
    train_x = tensor[order[:n_train]].to(device)
    val_x = tensor[order[n_train:]].to(device) if n_val else None

    optimizer = make_adam(model.parameters(), device, config.learning_rate, config.weight_decay)
    history = History()
    best, best_state, waited = math.inf, None, 0
    start = time.perf_counter()
    steps = max(n_train // batch_size, 1)  # drop the last partial batch: TC estimators need full batches
    epochs = config.epochs
    if config.max_steps is not None:
        epochs = min(epochs, max(config.max_steps // steps, 1))
    bar = _progress(config.progress, epochs, description)
    with flush_denormals():
        try:
            for epoch in range(epochs):
                model.train()
                perm = torch.randperm(n_train, generator=generator).to(device)
                sums: dict[str, torch.Tensor] = {}
                for step in range(steps):
                    batch = train_x.index_select(0, perm[step * batch_size : (step + 1) * batch_size])
                    total, terms = model.loss(batch)
                    optimizer.zero_grad(set_to_none=True)
                    total.backward()
                    optimizer.step()
                    for k, v in (("loss", total), *terms.items()):
                        sums[k] = sums.get(k, 0.0) + v.detach()
                means = {k: float(v) / steps for k, v in sums.items()}  # one host sync per epoch
                _append(history.train, means)
                if not math.isfinite(means["loss"]):
                    raise SynthkitError(
                        f"{description}: the loss became {means['loss']} at epoch {epoch + 1}; "
                        "try a lower --learning-rate or check the data for extreme values"
                    )
                monitored = means["loss"]
                if val_x is not None:
                    val = evaluate_loss(model, val_x, batch_size)
                    _append(history.validation, val)
                    monitored = val["loss"]
                history.epochs_run = epoch + 1
                if monitored < best - config.min_delta * abs(best) or best_state is None:
                    best, waited, history.best_epoch = monitored, 0, epoch + 1
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    waited += 1
                for cb in callbacks or []:
                    cb(stage, epoch, history)
                bar.update(epoch + 1, means["loss"], monitored)
                if val_x is not None and waited >= config.patience:
                    history.stopped_because = f"early stopping: no validation improvement for {config.patience} epochs"
                    break
                if config.time_budget_s is not None and time.perf_counter() - start > config.time_budget_s:
                    history.stopped_because = f"time budget of {config.time_budget_s:g} s reached"
                    break
            else:
                history.stopped_because = f"reached {epochs} epoch{'s' if epochs != 1 else ''}"
                if epochs < config.epochs:
                    history.stopped_because += f" (the cap of {config.max_steps:,} steps, {steps:,} an epoch)"
        finally:
            bar.close()
            torch.set_num_threads(threads_before)
    if best_state is not None:
        model.load_state_dict(best_state)
    history.seconds = time.perf_counter() - start
    model.eval()
    return history


def train_steps(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    num_steps: int,
    config: StepTrainerConfig,
    seed: int = 0,
    callbacks: list[Callback] | None = None,
    aux_step: AuxStep | None = None,
    description: str = "training",
    stage: str = "model",
) -> History:
    """Take `num_steps` gradient steps of `model` (a :class:`Trainable` module), one per batch drawn from `batches`.

    The main optimizer is Adam over ``model.trained_parameters()`` where the model has it (see
    synthkit.core.methods.Method), else over all its parameters; `aux_step` runs after each of its
    steps. The batches' order is the iterator's; `seed` seeds everything else drawn while
    training (reparameterisation noise, a discriminator's permutations). An iterator that runs
    out stops the training early, and ``history.stopped_because`` says so. The model is left
    on its training device with its last weights, in evaluation mode.
    """
    if num_steps < 1:
        raise SynthkitError(f"num_steps must be at least 1, not {num_steps}")
    if config.log_every < 1:
        raise SynthkitError(f"log_every must be at least 1, not {config.log_every}")
    batches = iter(batches)  # an iterator stays itself: a later stage goes on where this one stopped
    seed_everything(seed)
    device = resolve_device(config.device)
    threads_before = _use_cpu_threads(device, config.cpu_threads)
    model.to(device)
    parameters = model.trained_parameters() if hasattr(model, "trained_parameters") else model.parameters()
    optimizer = make_adam(
        parameters, device, config.learning_rate, config.weight_decay, tuple(config.adam_betas), config.adam_eps
    )
    history = History()
    start = time.perf_counter()
    bar = _progress(config.progress, num_steps, description, validation=False)
    sums: dict[str, torch.Tensor] = {}
    window = 0

    def record(step: int) -> None:
        nonlocal sums, window
        means = {k: float(v) / window for k, v in sums.items()}  # one host sync per window
        _append(history.train, means)
        history.steps.append(step)
        sums, window = {}, 0
        if not math.isfinite(means["loss"]):
            raise SynthkitError(
                f"{description}: the loss became {means['loss']} by step {step}; "
                "try a lower --learning-rate or check the data for extreme values"
            )
        for cb in callbacks or []:
            cb(stage, len(history.steps) - 1, history)
        bar.update(step, means["loss"], math.nan)

    model.train()
    with flush_denormals():
        try:
            for step in range(num_steps):
                batch = next(batches, None)
                if batch is None:
                    if step == 0:
                        raise SynthkitError(f"{description}: the batches ran out before the first step")
                    history.stopped_because = f"the batches ran out after {step:,} steps"
                    break
                batch = torch.as_tensor(batch).to(device, non_blocking=True)
                total, terms = model.loss(batch)
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                optimizer.step()
                extra = aux_step(model, batch, step) if aux_step is not None else None
                for k, v in (("loss", total), *terms.items(), *(extra or {}).items()):
                    sums[k] = sums.get(k, 0.0) + v.detach()
                window += 1
                history.steps_run = step + 1
                if window == config.log_every:
                    record(step + 1)
            else:
                history.stopped_because = f"reached {num_steps:,} step{'s' if num_steps != 1 else ''}"
            if window:
                record(history.steps_run)
        finally:
            bar.close()
            torch.set_num_threads(threads_before)
    history.seconds = time.perf_counter() - start
    model.eval()
    return history


@torch.no_grad()
def evaluate_loss(model: nn.Module, x: torch.Tensor, batch_size: int) -> dict[str, float]:
    """Mean of each loss term over the rows of `x` (evaluation mode, no gradients)."""
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    count = 0
    for lo in range(0, len(x) - batch_size + 1 if len(x) >= batch_size else 1, batch_size):
        batch = x[lo : lo + batch_size]
        total, terms = model.loss(batch)
        for k, v in (("loss", total), *terms.items()):
            sums[k] = sums.get(k, 0.0) + v.detach()
        count += 1
    model.train()
    return {k: float(v) / count for k, v in sums.items()}


def _append(store: dict[str, list[float]], values: dict[str, float]) -> None:
    for k, v in values.items():
        store.setdefault(k, []).append(v)


class _progress:
    """A rich progress bar over epochs (or steps) showing the training loss and, with
    `validation`, the monitored one."""

    def __init__(self, enabled: bool, total: int, description: str, validation: bool = True) -> None:
        self.enabled = enabled
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.3f}" + (" (val {task.fields[val]:.3f})" if validation else "")),
            TimeElapsedColumn(),
            transient=False,
        )
        self.task = self.progress.add_task(description, total=total, loss=float("nan"), val=float("nan"))
        self.progress.start()

    def update(self, completed: int, loss: float, val: float) -> None:
        if self.enabled:
            self.progress.update(self.task, completed=completed, loss=loss, val=val)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()
