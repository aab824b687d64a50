"""Benchmark: how much of C does stage one (β-TCVAE) use, and how disentangled is it?

Run:  python pipelines/bench_stage_one.py                        (λ = 1 and 2, seeds 0 and 1, ~8 min)
      python pipelines/bench_stage_one.py --loss-factors 1 --seeds 0 --betas 1
      python pipelines/bench_stage_one.py --loss-factors 1 --seeds 0 --epochs 500 --patience 100
      python pipelines/bench_stage_one.py --loss-factors 1 --seeds 0 --transformer minmax_log

β-TCVAE is MS-VAE's stage one, so its latents are MS-VAE's C. Each configuration is fitted
on ``simulate_credit(20000, seed=0)`` with the package defaults otherwise, and measured on
fresh rows ``simulate_credit(5000, seed=1)`` with their 11 ground-truth factors:

* active coordinates: mean KL(q(c_d | x) ‖ N(0, 1)) ≥ 0.01 nats (and each one's KL);
* MIG against the factors (synthkit.explain.disentanglement, 20 bins);
* significant latent–feature correlations, |r| ≥ 0.75 (paper 001 Table 3): pairs, latents;
* reconstruction error (as in bench_models.py: mean over columns of |Δ|/range or mismatch).

MLflow tracking is off for these fits.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("SYNTHKIT_TRACKING", "off")

from bench_models import reconstruction_error  # noqa: E402

from synthkit.datasets import simulate_credit  # noqa: E402
from synthkit.explain import posteriors  # noqa: E402
from synthkit.explain.correlations import kl_to_prior, latent_feature_correlations  # noqa: E402
from synthkit.explain.disentanglement import mig  # noqa: E402
from synthkit.tabular.synthesizer import Synthesizer  # noqa: E402


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loss-factors", type=floats, default=[1.0, 2.0], help="λ values (comma-separated)")
    ap.add_argument("--betas", type=floats, default=[7.0], help="β values (comma-separated)")
    ap.add_argument("--seeds", default="0,1", help="fit seeds (comma-separated)")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--transformer", default="mode_specific", help="mode_specific or minmax_log")
    ap.add_argument("--epochs", type=int, default=None, help="maximum epochs [package default]")
    ap.add_argument("--patience", type=int, default=None, help="early-stopping patience [package default]")
    args = ap.parse_args()
    options = {k: v for k, v in (("epochs", args.epochs), ("patience", args.patience)) if v is not None}

    df, _ = simulate_credit(args.rows, seed=0)
    fresh, factors = simulate_credit(5000, seed=1)
    print("| λ | β | seed | epochs | active of 9 | KL per active coordinate (nats) | MIG | pairs |r| ≥ 0.75 (latents) | reconstruction error | fit (s) |")
    print("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for loss_factor in args.loss_factors:
        for beta in args.betas:
            for seed in (int(s) for s in args.seeds.split(",") if s):
                start = time.perf_counter()
                synth = Synthesizer(
                    "betatcvae", seed=seed, progress=False, transformer=args.transformer, beta=beta,
                    loss_factor=loss_factor, **options,
                ).fit(df)
                took = time.perf_counter() - start
                post = posteriors(synth, fresh)["c"]
                kl = kl_to_prior(post)
                active = kl >= 0.01
                sig = latent_feature_correlations({"c": post.mean}, fresh)["significant"]
                rec = reconstruction_error(fresh, synth.reconstruct(fresh)["betatcvae"], synth.schema)
                epochs = synth.summary["stages"]["model"]["epochs_run"]
                print(f"| {loss_factor:g} | {beta:g} | {seed} | {epochs} | {int(active.sum())} | "
                      f"{', '.join(f'{v:.2f}' for v in kl[active])} | {mig(post.mean, factors)['mig']:.3f} | "
                      f"{len(sig)} ({len({p['latent'] for p in sig})}) | {rec:.3f} | {took:.0f} |", flush=True)


if __name__ == "__main__":
    main()
