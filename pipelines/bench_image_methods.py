"""Benchmark: every image method on procedural dSprites — disentanglement, reconstruction and speed.

Run:
    python pipelines/bench_image_methods.py [--steps 900] [--methods vae,betavae,factorvae,betatcvae,msvae]
        [--seeds 0] [--batch-size 64] [--eval bench|lib|quick] [--json results.json] [--save-models DIR]
    python pipelines/bench_image_methods.py --speed [--speed-steps 100] [--json speed.json]

Scores. Each method is built with its defaults (image_track.methods: disentanglement_lib's networks and optimizer,
β-VAE β 4, FactorVAE γ 10, β-TCVAE β 6, MS-VAE on a β-TCVAE stage one with 5 residual latents), trained ``--steps``
steps (per stage for MS-VAE) at batch 64 on the CPU stream of ``DSprites().as_torch`` under each seed, and scored
with image_track.evaluation: FactorVAE score, MIG, DCI disentanglement, reconstruction BCE; for MS-VAE also M1–M4
and stage one against the full model (FID of reconstructions on the stand-in classifier's features, MIG of C against
MIG of (C, Z)). ``--eval lib`` uses disentanglement_lib's sample sizes, ``quick`` the CLI's small ones, and
``bench`` (the default) sizes that fit this project's 2-core CPU (:data:`BENCH`: the lib's MIG; FactorVAE score
on 1,000 / 500 votes of 64 images and 5,000 images for the variances instead of 10,000 / 5,000 / 10,000; DCI on
2,000 / 1,000 points instead of 10,000 / 5,000 — its 100-tree boosted classifier per factor over dSprites' 40
orientations and 32 positions costs minutes a model at the lib's size here).

Speed (``--speed``): steps per second of the standard 64×64 conv VAE (method ``vae``, batch 64) — on the CPU through
the trainer (train_steps: fused Adam, losses read back once per logged window) with the host-rendered stream and with
one batch resident (the model alone), and on a CUDA GPU when there is one, with dSprites drawn and rendered on the
device (image_track.datasets.device). On CUDA the clock covers the steps alone (train_steps' step, timed from one
``torch.cuda.synchronize()`` to the next; set-up before it, the losses' read-back after it) and the host
synchronisations inside that window are counted with ``torch.cuda.set_sync_debug_mode`` (none expected).

The figures in docs/images.md come from this script (the command is written beside each table).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from image_track.datasets import DSprites
from image_track.cli import write_json as atomic_json
from image_track.evaluation import LIB, PARAMETER_SETS, evaluate_model
from image_track.methods import IMAGE_METHODS, build
from synthkit.core.trainer import StepTrainerConfig, default_cpu_threads, make_adam, seed_everything, train_steps

#: Evaluation sizes that fit the 2-core CPU (see the module notes); everything else is LIB's.
BENCH: dict[str, dict[str, Any]] = {
    **LIB,
    "factor_vae": {"batch_size": 64, "num_train": 1000, "num_eval": 500, "num_variance_estimate": 5000},
    "dci": {"num_train": 2000, "num_test": 1000},
    "fid": {"train_images": 10000, "train_steps": 1000, "num_images": 5000},
    "msvae": {"num_images": 5000},
}
EVAL_SETS = {**PARAMETER_SETS, "bench": BENCH}
#: About five minutes a stage at batch 64 on this project's shared 2-core CPU (about 3 steps/s while loaded).
DEFAULT_STEPS = 900
#: disentanglement_lib's study: steps per model.
LIB_STEPS = 300_000
METRICS = ["factor_vae", "mig", "dci", "reconstruction"]


def _load() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def run_method(method: str, seed: int, steps: int, batch_size: int, eval_set: str,
               save_models: Path | None) -> dict[str, Any]:
    """Train one method under one seed and score it."""
    data = DSprites()
    model = build(method, seed=seed)
    trainer = StepTrainerConfig(device="cpu", log_every=min(100, steps), progress=sys.stdout.isatty())
    load_before = _load()
    histories = model.fit(data.as_torch(steps, batch_size, seed), steps, seed=seed, trainer=trainer)
    train_seconds = sum(h.seconds for h in histories.values())
    steps_run = sum(h.steps_run for h in histories.values())
    names = METRICS + (["msvae"] if method == "msvae" else [])
    t0 = time.perf_counter()
    report = evaluate_model(model, data, names, parameters=EVAL_SETS[eval_set], seed=seed)
    if save_models is not None:
        model.save(save_models / f"{method}-seed{seed}")
    results = report["results"]
    row: dict[str, Any] = {
        "method": method, "seed": seed, "steps_per_stage": steps, "stages": len(histories),
        "steps_per_second": steps_run / train_seconds, "train_seconds": train_seconds,
        "eval_seconds": time.perf_counter() - t0, "load_average_before": load_before, "load_average_after": _load(),
        "final_losses": {stage: {k: v[-1] for k, v in h.train.items()} for stage, h in histories.items()},
        "factor_vae_score": results["factor_vae"]["eval_accuracy"],
        "active_dims": results["factor_vae"]["num_active_dims"],
        "mig": results["mig"]["discrete_mig"],
        "dci_disentanglement": results["dci"]["disentanglement"],
        "reconstruction_bce": results["reconstruction"]["bce"],
        "results": results, "eval_parameters": report["parameters"], "eval_metric_seconds": report["seconds"],
    }
    if method == "msvae":
        row["msvae"] = results["msvae"]
    return row


def _mean_sd(values: list[float | None], digits: int) -> str:
    """Mean ± sd of the values that were computed (None: not run, e.g. M1–M4 with no active coordinate)."""
    values = [v for v in values if v is not None]
    if not values:
        return "not run"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The per-method table (means ± sd over seeds) and, when MS-VAE ran, its own table."""
    lines = [("| method | steps | steps/s (CPU) | FactorVAE score | active dims | MIG | DCI disentanglement | "
             "reconstruction BCE |"), "|---|---|---|---|---|---|---|---|"]
    for method in dict.fromkeys(r["method"] for r in rows):
        rs = [r for r in rows if r["method"] == method]
        steps = f"{rs[0]['steps_per_stage']:,}" + (" × 2 stages" if rs[0]["stages"] == 2 else "")
        lines.append(
            f"| {method} | {steps} | {_mean_sd([r['steps_per_second'] for r in rs], 2)} | "
            f"{_mean_sd([r['factor_vae_score'] for r in rs], 3)} | {_mean_sd([r['active_dims'] for r in rs], 1)} | "
            f"{_mean_sd([r['mig'] for r in rs], 3)} | {_mean_sd([r['dci_disentanglement'] for r in rs], 3)} | "
            f"{_mean_sd([r['reconstruction_bce'] for r in rs], 1)} |")
    ms = [r["msvae"] for r in rows if r["method"] == "msvae"]
    if ms:
        lines += ["", "| MS-VAE | stage one (β-TCVAE) | full model |", "|---|---|---|",
                  (f"| FID of reconstructions (stand-in features) | "
                  f"{_mean_sd([m['stage_one']['fid_reconstructions'] for m in ms], 1)} | "
                  f"{_mean_sd([m['full']['fid_reconstructions'] for m in ms], 1)} |"),
                  (f"| MIG | {_mean_sd([m['stage_one']['mig'] for m in ms], 3)} (C) | "
                  f"{_mean_sd([m['full']['mig'] for m in ms], 3)} (C, Z) |"),
                  "", "| M1 | M2 | M3 | M4 | floor | active coordinates of C |", "|---|---|---|---|---|---|",
                  "| " + " | ".join(_mean_sd([m[k] for m in ms], 3) for k in ("M1", "M2", "M3", "M4", "floor"))
                  + f" | {_mean_sd([m['active_coordinates'] for m in ms], 1)} |"]
        lines += [f"\nMS-VAE seed {r['seed']}: {part} not computed: {reason}" for r in rows if r["method"] == "msvae"
                  for part, reason in (r["msvae"].get("not_run") or {}).items()]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# speed
# ---------------------------------------------------------------------------------------


def _timed_steps(model: torch.nn.Module, batches: Any, steps: int, device: str) -> float:
    """Steps per second of `steps` training steps of `model` (a method without an auxiliary step, as the VAE).

    On the CPU through the trainer (train_steps: one logged window, one read-back of the losses at its end). On CUDA
    by :func:`_cuda_timed_steps`, which times the steps alone."""
    if device.startswith("cuda"):
        return _cuda_timed_steps(model, batches, steps, device)[0]
    config = StepTrainerConfig(device=device, log_every=steps, progress=False)
    start = time.perf_counter()
    history = train_steps(model, batches, steps, config, seed=0)
    return history.steps_run / (time.perf_counter() - start)


def _cuda_timed_steps(model: torch.nn.Module, batches: Any, steps: int, device: str,
                      count_syncs: bool = False) -> tuple[float, int | None]:
    """Steps per second of `steps` steps on CUDA and, with `count_syncs`, the host synchronisations among them.

    Each step is train_steps' (the batch moved to the device, the loss, zero_grad, backward, the trainer's fused Adam
    step, the losses summed on the device). Everything else is outside the clock: seeding, moving the model and
    making the optimizer before it, reading the summed losses back (the one device→host copy) after it. The clock
    starts and stops on torch.cuda.synchronize(), so it measures the GPU work of the steps, not their launch; the
    synchronisations are counted (torch.cuda.set_sync_debug_mode) between the two, where none is expected."""
    torch_device = torch.device(device)
    config = StepTrainerConfig(device=device)
    seed_everything(0)
    model.to(torch_device)
    parameters = model.trained_parameters() if hasattr(model, "trained_parameters") else model.parameters()
    optimizer = make_adam(parameters, torch_device, config.learning_rate, config.weight_decay,
                          tuple(config.adam_betas), config.adam_eps)
    batches = iter(batches)
    sums: dict[str, torch.Tensor] = {}
    model.train()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.synchronize()
        if count_syncs:
            torch.cuda.set_sync_debug_mode("warn")
        start = time.perf_counter()
        try:
            for _ in range(steps):
                batch = torch.as_tensor(next(batches)).to(torch_device, non_blocking=True)
                total, terms = model.loss(batch)
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                optimizer.step()
                for k, v in (("loss", total), *terms.items()):
                    sums[k] = sums.get(k, 0.0) + v.detach()
        finally:
            if count_syncs:
                torch.cuda.set_sync_debug_mode("default")
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    model.eval()
    loss = float(sums["loss"]) / steps  # after the clock
    if not math.isfinite(loss):
        raise RuntimeError(f"the loss became {loss} in the timed CUDA steps")
    syncs = sum("synchroniz" in str(w.message) for w in caught) if count_syncs else None
    return steps / seconds, syncs


def _repeat(batch: torch.Tensor, steps: int) -> Any:
    return (batch for _ in range(steps))


def speed(method: str, steps: int, batch_size: int) -> dict[str, Any]:
    """Steps/s of `method` at `batch_size` on the CPU (host stream; one resident batch) and on CUDA if present."""
    data = DSprites()
    out: dict[str, Any] = {"method": method, "batch_size": batch_size, "torch": torch.__version__,
                           "cpu_threads": default_cpu_threads(), "load_average": _load()}
    model = build(method, seed=0)
    _timed_steps(model, data.as_torch(5, batch_size, 1), 5, "cpu")  # warm-up
    out["cpu_stream_steps_per_second"] = _timed_steps(model, data.as_torch(steps, batch_size, 0), steps, "cpu")
    batch = next(iter(data.as_torch(1, batch_size, 0)))
    out["cpu_resident_steps_per_second"] = _timed_steps(model, _repeat(batch, steps), steps, "cpu")
    if not torch.cuda.is_available():
        out["cuda"] = "no CUDA device here"
        return out
    from image_track.datasets.device import DeviceStream

    device = "cuda"
    torch.backends.cudnn.benchmark = True
    model = build(method, seed=0).to(device)
    out["cuda_device"] = torch.cuda.get_device_name(0)
    _timed_steps(model, iter(DeviceStream(device, 100, batch_size, 1)), 100, device)  # warm-up, cuDNN autotune
    gpu_steps = max(steps, 2000)
    out["cuda_steps"] = gpu_steps
    rate, syncs = _cuda_timed_steps(model, iter(DeviceStream(device, gpu_steps, batch_size, 0)), gpu_steps, device,
                                    count_syncs=True)
    out["cuda_device_data_steps_per_second"] = rate
    out["cuda_host_syncs_in_window"] = syncs
    host = [b.pin_memory() for b in data.as_torch(50, batch_size, 0)]
    out["cuda_host_data_steps_per_second"] = _timed_steps(model, iter(host), len(host), device)
    out["cuda_hours_for_300k_steps"] = LIB_STEPS / rate / 3600
    return out


def speed_markdown(s: dict[str, Any]) -> str:
    """A table of the speed figures."""
    def row(label: str, key: str) -> str:
        rate = s.get(key)
        if not isinstance(rate, float):
            return f"| {label} | {s.get('cuda', 'n/a')} | | |"
        return f"| {label} | {rate:,.1f} | {1000 / rate:,.1f} | {LIB_STEPS / rate / 3600:,.2f} |"

    lines = ["| where | steps/s | ms/step | hours for 300,000 steps |", "|---|---|---|---|",
             row(f"CPU ({s['cpu_threads']} threads), dSprites rendered on the host each step",
                 "cpu_stream_steps_per_second"),
             row("CPU, one batch resident (the model alone)", "cpu_resident_steps_per_second")]
    if "cuda_device" in s:
        lines += [row(f"{s['cuda_device']}, dSprites rendered on the device", "cuda_device_data_steps_per_second"),
                  row(f"{s['cuda_device']}, batches from the host (pinned, pre-rendered)",
                      "cuda_host_data_steps_per_second"),
                  f"\nhost synchronisations in the {s['cuda_steps']:,}-step window: {s['cuda_host_syncs_in_window']}"]
    else:
        lines.append(row("CUDA", "cuda_device_data_steps_per_second"))
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print markdown tables (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="steps per method (per stage for msvae)")
    parser.add_argument("--methods", default=",".join(IMAGE_METHODS))
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--eval", dest="eval_set", choices=sorted(EVAL_SETS), default="bench")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here (rewritten after each run)")
    parser.add_argument("--save-models", type=Path, default=None, help="save each trained model under this folder")
    parser.add_argument("--speed", action="store_true", help="measure steps/s of the conv VAE instead")
    parser.add_argument("--speed-steps", type=int, default=100)
    args = parser.parse_args()
    # Bad arguments fail here, not after the first model has trained for minutes.
    if args.json is not None and not (args.json.parent if str(args.json.parent) else Path(".")).is_dir():
        parser.error(f"--json {args.json}: the folder {args.json.parent} does not exist")
    if args.steps < 1 or args.speed_steps < 1 or args.batch_size < 2:
        parser.error("--steps and --speed-steps must be at least 1, --batch-size at least 2")
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds {args.seeds!r}: expected comma-separated integers")
    if not seeds:
        parser.error("--seeds: give at least one seed")
    if args.speed:
        result = speed("vae", args.speed_steps, args.batch_size)
        if args.json:
            write_json(args.json, result)
        print(speed_markdown(result))
        return
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in IMAGE_METHODS]
    if unknown:
        parser.error(f"unknown methods {unknown}; known: {', '.join(IMAGE_METHODS)}")
    if args.save_models is not None:
        args.save_models.mkdir(parents=True, exist_ok=True)
    setup = {"steps_per_stage": args.steps, "batch_size": args.batch_size, "eval": args.eval_set,
             "eval_parameters": EVAL_SETS[args.eval_set], "torch": torch.__version__,
             "share_of_lib_steps": args.steps / LIB_STEPS, "command": " ".join(sys.argv)}
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        for method in methods:
            t0 = time.perf_counter()
            row = run_method(method, seed, args.steps, args.batch_size, args.eval_set, args.save_models)
            rows.append(row)
            print(f"{method} seed {seed}: {row['steps_per_second']:.2f} steps/s, FactorVAE {row['factor_vae_score']:.3f},"
                  f" MIG {row['mig']:.3f}, DCI {row['dci_disentanglement']:.3f}, BCE "
                  f"{row['reconstruction_bce']:.1f} ({time.perf_counter() - t0:.0f} s)", flush=True)
            if args.json:
                write_json(args.json, {"setup": setup, "runs": rows})
    print()
    print(markdown(rows))


def write_json(path: Path, document: dict[str, Any]) -> None:
    """The results as JSON, written atomically (image_track.cli.write_json), NumPy scalars as numbers and
    non-finite floats as null."""
    atomic_json(path, document, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


if __name__ == "__main__":
    main()
