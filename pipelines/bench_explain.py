"""Benchmark: interpretability of TVAE, β-TCVAE and MS-VAE on the simulated credit data.

Run:  python pipelines/bench_explain.py                       (20,000 rows, package defaults)
      python pipelines/bench_explain.py --rows 20000 --epochs 60
      python pipelines/bench_explain.py --models /tmp/models   (reuse fits saved there)

Each model is fitted with its package defaults (latent dimension 9, β = 7, at most 150
epochs per stage with early stopping; ``--epochs`` caps them) on ``simulate_credit(rows,
seed)``. It is then explained (:func:`synthkit.explain.explain`) on *fresh* rows of the
same generator, ``simulate_credit(explain_rows, seed + 1)``, with their ground-truth
factors — as disentanglement_lib scores representations on new draws of the factors. The
report (markdown tables, pasted into docs/interpretability.md):

* per model and latent block: active coordinates, MIG, FactorVAE score, significant
  correlations (|r| ≥ 0.75, paper 001 Table 3);
* which factor each active coordinate matches (MI / H(factor));
* MS-VAE's conditioning checks M1–M4 (paper 001 §4) and whether M2 > M1 > M3 ≫ M4 holds;
* Fig. 12's experiment: the 2nd coordinate set to 5, the JSD it causes in Mortgage and
  Utilization, for β-TCVAE's C, MS-VAE's C and Z and TVAE's z (``--figures`` saves the
  plots).

MLflow tracking is off for these fits (SYNTHKIT_TRACKING=off unless set otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("SYNTHKIT_TRACKING", "off")

import numpy as np  # noqa: E402

from synthkit.datasets import simulate_credit  # noqa: E402
from synthkit.explain import disentanglement, explain, perturb, posteriors  # noqa: E402
from synthkit.explain import plots as P  # noqa: E402
from synthkit.tabular.synthesizer import Synthesizer  # noqa: E402

NAMES = {"tvae": "TVAE", "betatcvae": "β-TCVAE", "msvae": "MS-VAE"}


def get_model(method: str, df: Any, args: argparse.Namespace) -> tuple[Synthesizer, float | None]:
    """Fit (or load from --models) one synthesizer; the fit time, None when loaded."""
    folder = Path(args.models) / method if args.models else None
    if folder is not None and (folder / "synthesizer.json").is_file():
        return Synthesizer.load(folder), None
    options: dict[str, Any] = {"progress": False}
    if args.epochs is not None:
        options["epochs"] = args.epochs
    start = time.perf_counter()
    synth = Synthesizer(method, seed=args.seed, **options).fit(df)
    took = time.perf_counter() - start
    if folder is not None:
        synth.save(folder)
    return synth, took


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=20_000, help="training rows (simulate_credit, seed --seed)")
    ap.add_argument("--epochs", type=int, default=None, help="maximum epochs per stage [package default: 150]")
    ap.add_argument("--explain-rows", type=int, default=5000, help="fresh rows explained (seed --seed + 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="tvae,betatcvae,msvae")
    ap.add_argument("--models", default=None, help="folder to save fits in and reuse them from")
    ap.add_argument("--json", default=None, help="write all results as JSON here")
    ap.add_argument("--figures", default=None, help="write the figures (PNG) into this folder")
    args = ap.parse_args()

    df, _ = simulate_credit(args.rows, seed=args.seed)
    fresh, factors = simulate_credit(args.explain_rows, seed=args.seed + 1)
    methods = [m for m in args.methods.split(",") if m]
    results: dict[str, Any] = {}
    models: dict[str, Synthesizer] = {}
    for method in methods:
        synth, fit_s = get_model(method, df, args)
        models[method] = synth
        start = time.perf_counter()
        ex = explain(synth, fresh, factors, seed=args.seed, max_rows=args.explain_rows, plots=args.figures is not None)
        took = time.perf_counter() - start
        results[method] = {"fit_s": fit_s, "explain_s": took, "stages": {k: v["epochs_run"] for k, v in synth.summary.get("stages", {}).items()},
                           "explanation": ex.to_dict()}
        if args.figures:
            out = Path(args.figures) / method
            out.mkdir(parents=True, exist_ok=True)
            for name, png in ex.figures.items():
                (out / f"{name}.png").write_bytes(png)
        print(f"{NAMES[method]}: fit {'loaded' if fit_s is None else f'{fit_s:.0f} s'} "
              f"(epochs {results[method]['stages']}), explain {took:.1f} s", flush=True)

    print(f"\nTrained on simulate_credit({args.rows}, seed={args.seed}); explained on simulate_credit("
          f"{args.explain_rows}, seed={args.seed + 1}) with its 11 factors.\n")

    # 1. disentanglement per block
    rows = []
    for method in methods:
        e = results[method]["explanation"]
        for block, d in e["disentanglement"].items():
            info = [r for b in block.split("+") for r in e["information"]["blocks"][b]]
            active = sum(r["active"] for r in info)
            sig = sum(len(e["correlations"][b]["significant"]) for b in block.split("+"))
            sig_active = sum(p["latent_active"] for b in block.split("+") for p in e["correlations"][b]["significant"])
            fv = d["factorvae"]
            mig_active = "–" if d.get("mig_active") is None else f"{d['mig_active']:.3f}"
            rows.append([f"{NAMES[method]} {block.upper() if method == 'msvae' else block}", f"{active} of {len(info)}",
                         f"{d['mig']:.3f}", mig_active, f"{fv['score']:.3f}", f"{fv['ceiling']:.2f}",
                         f"{sig} ({sig_active})"])
    # References: the 11 factors themselves as "latents" (the best any representation can
    # do given how the factors correlate) and the 19 standardized features (no model).
    for name, lat in (("reference: the factors themselves", factors.to_numpy(float)),
                      ("reference: the 19 features", ((fresh - fresh.mean()) / fresh.std()).to_numpy(float))):
        d = disentanglement(lat, factors, seed=args.seed)
        rows.append([name, "", f"{d['mig']:.3f}", "", f"{d['factorvae']['score']:.3f}",
                     f"{d['factorvae']['ceiling']:.2f}", ""])
        results.setdefault("references", {})[name] = {"mig": d["mig"], "factorvae": d["factorvae"]["score"],
                                                      "mig_per_factor": d["mig_per_factor"]}
    print(md_table(["model / latents", "active", "MIG", "MIG (active only)", "FactorVAE", "FactorVAE ceiling",
                    "pairs |r| ≥ 0.75 (on active)"], rows))

    # 2. factor matches of active coordinates
    print()
    rows = []
    for method in methods:
        e = results[method]["explanation"]
        for block in e["blocks"]:
            d = e["disentanglement"][block]
            info = {r["latent"]: r for r in e["information"]["blocks"][block]}
            for lat, m in d["matches"]["by_latent"].items():
                if not info[lat]["active"]:
                    continue
                top = [p for p in e["correlations"][block]["table"] if p["latent"] == lat][:3]
                rows.append([f"{NAMES[method]} {lat}", f"{info[lat]['mutual_information']:.2f}", m["factor"],
                             f"{m['normalized_mi']:.2f}", f"{m['second_factor']} {m['second_normalized_mi']:.2f}",
                             ", ".join(f"{p['feature']} {p['value']:+.2f}" for p in top) or "—"])
    print(md_table(["latent (active only)", "I(n; c) nats", "best factor", "MI / H", "runner-up", "strongest correlations"], rows))

    # 3. conditioning checks
    if "msvae" in results and results["msvae"]["explanation"]["conditioning"]:
        c = results["msvae"]["explanation"]["conditioning"]
        print()
        v, g = c["values"], c["gaussian"]
        print(md_table(
            ["estimator", "M1", "M2", "M3", "M4", "M4 (Y from prior)", "independent codes", "M2 > M1", "M1 > M3", "M3 ≥ 3·M4"],
            [["normalized MI (App. H)"] + [f"{v[k]:.3f}" for k in ("M1", "M2", "M3", "M4")]
             + [f"{c['m4_variants']['prior_y']:.3f}", f"{c['floor']:.3f}"] + [str(x) for x in c["checks"].values()],
             ["Gaussian MI (nats)"] + [f"{g[k]:.3f}" for k in ("M1", "M2", "M3", "M4", "M4_prior_y", "floor")]
             + [str(x) for x in c["gaussian_checks"].values()]]))
        print(f"\nactive C coordinates used: {', '.join(c['active_latents'])}; expected {c['expected']}: "
              f"{'holds' if c['holds'] else 'does not hold'} (normalized MI), "
              f"{'holds' if c['gaussian_holds'] else 'does not hold'} (Gaussian MI)")

    # 4. Table 3 analogue
    print()
    rows = []
    for method in methods:
        e = results[method]["explanation"]
        for block in e["blocks"]:
            by: dict[str, list[str]] = {}
            for p in e["correlations"][block]["significant"]:
                by.setdefault(p["latent"], []).append(f"{p['feature']} {p['value']:+.2f}")
            info = {r["latent"]: r["active"] for r in e["information"]["blocks"][block]}
            for lat, items in by.items():
                rows.append([f"{NAMES[method]} {lat}" + ("" if info[lat] else " (inactive)"), ", ".join(items)])
    print(md_table(["latent", "correlations with |r| ≥ 0.75 (Table 3)"], rows or [["—", "none"]]))

    # 5. Fig. 12: 2nd coordinate set to 5
    print()
    grid = {}
    rows = []
    for method in methods:
        synth = models[method]
        posts = posteriors(synth, fresh.iloc[: min(len(fresh), 5000)])
        for block in synth.model.latent_dims():  # type: ignore[union-attr]
            p = perturb(synth, None, f"{block}2", set_to=5.0, seed=args.seed, posts=posts)
            jsd = {s["feature"]: s for s in p.shifts}
            name = f"{NAMES[method]} {block}"
            grid[name] = p
            rows.append([name + "2 := 5", f"{jsd['Mortgage']['jsd']:.3f}", f"{jsd['Utilization']['jsd']:.3f}",
                         f"{p.shifts[0]['feature']} ({p.shifts[0]['jsd']:.3f})"])
            results[method].setdefault("fig12", {})[block] = p.to_dict()
    # The same with, in each block, the coordinate whose +3 sd shift moves Mortgage most
    # (the role z_2 plays in the paper's β-TCVAE).
    for method in methods:
        synth = models[method]
        e = results[method]["explanation"]
        posts = posteriors(synth, fresh.iloc[: min(len(fresh), 5000)])
        for block in synth.model.latent_dims():  # type: ignore[union-attr]
            cands = [lab for lab in e["effects"] if lab.rstrip("0123456789") == block]
            best = max(cands, key=lambda lab: next(x["jsd"] for x in e["effects"][lab]["shifts"] if x["feature"] == "Mortgage"))
            p = perturb(synth, None, best, set_to=5.0, seed=args.seed, posts=posts)
            jsd = {s["feature"]: s for s in p.shifts}
            rows.append([f"{NAMES[method]} {best} := 5 (moves Mortgage most)", f"{jsd['Mortgage']['jsd']:.3f}",
                         f"{jsd['Utilization']['jsd']:.3f}", f"{p.shifts[0]['feature']} ({p.shifts[0]['jsd']:.3f})"])
            grid[f"{NAMES[method]} {block} (Mortgage's)"] = p
    print(md_table(["perturbation (Fig. 12)", "JSD Mortgage", "JSD Utilization", "most moved feature"], rows))
    if args.figures:
        for suffix, keys in (("", ("β-TCVAE c", "MS-VAE z", "TVAE z")),
                             ("_mortgage", ("β-TCVAE c (Mortgage's)", "MS-VAE c (Mortgage's)", "MS-VAE z (Mortgage's)",
                                            "TVAE z (Mortgage's)"))):
            pick = {k: grid[k] for k in keys if k in grid}
            if pick:
                (Path(args.figures) / f"fig12{suffix}.png").write_bytes(P.perturbation_grid(pick, ["Mortgage", "Utilization"]))

    if "betatcvae" in models and "msvae" in models:
        a = posteriors(models["betatcvae"], fresh.iloc[:1000])["c"].mean
        b = posteriors(models["msvae"], fresh.iloc[:1000])["c"].mean
        print(f"\nβ-TCVAE fitted alone vs MS-VAE's stage one (same seed): max |ΔC| = {np.abs(a - b).max():.2g}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
