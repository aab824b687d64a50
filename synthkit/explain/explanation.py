"""One entry point: :func:`explain` runs every interpretability analysis on a fitted
synthesizer and returns an :class:`Explanation` (JSON-ready results, PNG figures, timings).

    from synthkit.explain import explain
    ex = explain(synth, df, factors)          # factors optional (ground truth, row-aligned)
    ex.to_dict()["notes"]["c2"]["text"]       # "c2 is active … tracks strongly Mortgage …"
    ex.figures["perturbation_c2"]             # PNG bytes
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.explain.conditioning import conditioning_checks
from synthkit.explain.correlations import latent_feature_correlations, latent_information
from synthkit.explain.disentanglement import BINS, disentanglement, mig
from synthkit.explain.latents import fitted, labels, latent_dims, posteriors, subsample, threaded
from synthkit.explain.notes import latent_notes
from synthkit.explain.perturbation import latent_effects, perturb, traverse

#: Rows analysed at most; larger tables are subsampled (rng `seed`). 5,000 rows keep the
#: whole analysis to seconds on a laptop CPU and bin counts of MIG and FactorVAE well filled.
MAX_ROWS = 5000


@dataclass
class Explanation:
    """JSON-ready results, figures (name → PNG bytes) and how long each part took."""

    results: dict[str, Any]
    figures: dict[str, bytes] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the figures, JSON-ready (plain lists, dicts, floats, None)."""
        return {**self.results, "timings_s": dict(self.timings)}

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=_json_default, allow_nan=False)

    @property
    def notes(self) -> dict[str, str]:
        """{latent: plain-language note}."""
        return {k: v["text"] for k, v in self.results["notes"].items()}

    def headline(self) -> list[tuple[str, str, str]]:
        """The figures a reader looks at first: (measure, value, what it means)."""
        r = self.results
        rows: list[tuple[str, str, str]] = []
        for block, rows_info in r["information"]["blocks"].items():
            active = [x["latent"] for x in rows_info if x["active"]]
            cut = r["information"]["inactive_below"]
            rows.append((f"active coordinates of {block}", f"{len(active)} of {len(rows_info)}",
                         f"mean KL to the prior ≥ {cut:g} nats; the others are ignored"))
        for block, corr in r["correlations"].items():
            sig = corr["significant"]
            owners = sorted({p["latent"] for p in sig})
            rows.append((f"significant correlations in {block} (|r| ≥ {corr['threshold']:g})", str(len(sig)),
                         f"pairs latent–feature; held by {', '.join(owners) if owners else 'no coordinate'}"))
        for block, d in (r.get("disentanglement") or {}).items():
            if d.get("mig") is not None:
                extra = "" if d.get("mig_active") is None else f" (active only: {d['mig_active']:.3f})"
                rows.append((f"MIG ({block})", f"{d['mig']:.3f}{extra}",
                             "0 = no coordinate isolates a factor, 1 = each factor has its own"))
            fv = d["factorvae"]
            rows.append((f"FactorVAE score ({block})", f"{fv['score']:.3f}",
                         f"majority-vote accuracy; chance ≈ {fv['chance']:.2f}, ceiling {fv['ceiling']:.2f}"))
        cond = r.get("conditioning")
        if cond and cond.get("values"):
            v = cond["values"]
            rows.append(("conditioning M1 / M2 / M3 / M4", " / ".join(f"{v[k]:.3f}" for k in ("M1", "M2", "M3", "M4")),
                         f"expected {cond['expected']}: {'holds' if cond['holds'] else 'does NOT hold'}"))
        return rows

    def write(self, folder: str | Path) -> Path:
        """Write explanation.json and one PNG per figure into `folder`."""
        from synthkit.tabular.io import write_text

        out = Path(folder)
        if out.exists() and not out.is_dir():
            raise SynthkitError(f"{out}: exists and is not a folder")
        out.mkdir(parents=True, exist_ok=True)
        write_text(self.to_json() + "\n", out / "explanation.json")
        for name, png in self.figures.items():
            (out / f"{name}.png").write_bytes(png)
        return out


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _finite(o: Any) -> Any:
    """NaN and ±inf → None, recursively, so that the results are strict JSON."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


@threaded
def explain(
    synth: Any,
    data: pd.DataFrame,
    factors: pd.DataFrame | None = None,
    *,
    threshold: float = 0.75,
    floor: float = 0.2,
    shift: float = 3.0,
    seed: int = 0,
    max_rows: int | None = MAX_ROWS,
    inactive_below: float = 0.01,
    bins: int = BINS,
    illustrate: list[str] | None = None,
    traversal_steps: int = 9,
    plots: bool = True,
    factor_names: dict[str, str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Explanation:
    """Every interpretability analysis of a fitted synthesizer on the rows of `data`.

    * `factors` — ground-truth generating factors, row-aligned with `data` (e.g. the
      second frame of :func:`~synthkit.datasets.simulate_credit`): adds MIG, the FactorVAE
      score and latent → factor matches;
    * `threshold`, `floor` — |r| of a "significant" pair (Table 3) and of the full table
      (Table 7);
    * `shift` — k of the "+k sd" perturbation measured for every coordinate;
    * `max_rows` — rows analysed at most (subsampled with `seed`; None = all);
    * `illustrate` — coordinates drawn as perturbation and traversal figures (default:
      the active coordinate with most information in each block);
    * `plots` — False skips the figures (faster).

    Results (``Explanation.to_dict()``): ``method``, ``rows``, ``rows_given``, ``settings``,
    ``blocks``, ``information``, ``correlations`` (per block), ``effects`` (per latent),
    ``disentanglement`` (per block, with ``c+z`` for MS-VAE, each with ``mig_active``, MIG
    over the active coordinates; None without factors),
    ``conditioning`` (MS-VAE; None otherwise), ``notes`` (per latent), ``illustrated``.
    """
    fitted(synth)
    if not 0 <= floor <= threshold <= 1:
        raise SynthkitError(f"need 0 ≤ floor ≤ threshold ≤ 1, got floor {floor} and threshold {threshold}")
    timings: dict[str, float] = {}

    def step(name: str) -> float:
        if on_step is not None:
            on_step(name)
        return time.perf_counter()

    t = step("encoding")
    rows, facs = subsample(data, factors, max_rows, seed)
    if len(rows) < 10:
        raise SynthkitError(f"need at least 10 rows to explain a model, got {len(rows)}")
    dims = latent_dims(synth)
    posts = posteriors(synth, rows)
    timings["encode"] = time.perf_counter() - t

    t = step("information per coordinate")
    information = latent_information(posts, inactive_below=inactive_below, seed=seed)
    timings["information"] = time.perf_counter() - t

    t = step("correlations")
    correlations = {
        b: latent_feature_correlations({b: posts[b].mean}, rows, synth.schema, threshold=threshold, floor=floor)
        for b in dims
    }
    active = {r["latent"]: r["active"] for rs in information["blocks"].values() for r in rs}
    for corr in correlations.values():
        for pair in corr["significant"] + corr["table"]:
            pair["latent_active"] = active[pair["latent"]]
    timings["correlations"] = time.perf_counter() - t

    t = step("perturbation effects")
    effects = latent_effects(synth, None, shift=shift, seed=seed, posts=posts)
    timings["effects"] = time.perf_counter() - t

    dis: dict[str, Any] | None = None
    if facs is not None:
        t = step("disentanglement")
        dis = {
            b: disentanglement(posts[b].mean, facs, bins=bins, seed=seed, latent_labels=labels(b, dims[b]))
            for b in dims
        }
        if len(dims) > 1:
            joint = np.hstack([posts[b].mean for b in dims])
            dis["+".join(dims)] = disentanglement(joint, facs, bins=bins, seed=seed,
                                                   latent_labels=[n for b in dims for n in labels(b, dims[b])])
        # MIG over the active coordinates only: binned posterior means of inactive
        # coordinates still vary a little with the row and can take the second place in
        # MIG's gap (Chen et al.'s estimator, which samples q(z|x), would see noise there).
        for key, d in dis.items():
            names = [n for b in key.split("+") for n in labels(b, dims[b])]
            lat = np.hstack([posts[b].mean for b in key.split("+")])
            keep = [i for i, n in enumerate(names) if active[n]]
            d["mig_active"] = (mig(lat[:, keep], facs, bins=bins, latent_labels=[names[i] for i in keep])["mig"]
                               if len(keep) >= 2 else None)
        timings["disentanglement"] = time.perf_counter() - t

    cond = None
    if getattr(synth.model, "stage2", None) is not None:
        t = step("conditioning checks")
        cond = conditioning_checks(synth, rows, seed=seed, bins=bins, inactive_below=inactive_below)
        timings["conditioning"] = time.perf_counter() - t

    t = step("notes")
    notes: dict[str, Any] = {}
    for b in dims:
        matches = dis[b]["matches"]["by_latent"] if dis is not None else None
        notes.update(latent_notes(correlations[b], information, effects, matches, factor_names=factor_names))
    timings["notes"] = time.perf_counter() - t

    # Coordinates to illustrate: the most informative active one of each block.
    info_rows = {r["latent"]: r for rs in information["blocks"].values() for r in rs}
    if illustrate is None:
        illustrate = []
        for b in dims:
            rs = information["blocks"][b]
            pool = [r for r in rs if r["active"]] or rs
            illustrate.append(max(pool, key=lambda r: (r["mutual_information"], r["kl_to_prior"]))["latent"])
    figures: dict[str, bytes] = {}
    illustrated: dict[str, Any] = {}
    t = step("perturbation and traversal figures")
    for label in illustrate:
        if label not in info_rows:
            raise SynthkitError(f"unknown latent {label!r} to illustrate (this model has {', '.join(info_rows)})")
        r = info_rows[label]
        block = label.rstrip("0123456789")
        mean = float(posts[block].mean[:, int(label[len(block):]) - 1].mean())
        sd = r["aggregate_std"]
        values = np.linspace(mean - 3 * sd, mean + 3 * sd, traversal_steps)
        p = perturb(synth, None, label, shift=shift, seed=seed, posts=posts)
        tr = traverse(synth, None, label, values, seed=seed, posts=posts)
        illustrated[label] = {"perturbation": p.to_dict(), "traversal": tr.to_dict()}
        if plots:
            from synthkit.explain import plots as P

            figures[f"perturbation_{label}"] = P.perturbation_plot(p)
            figures[f"traversal_{label}"] = P.traversal_plot(tr)
    if plots:
        from synthkit.explain import plots as P

        figures["information"] = P.information_plot(information)
        for b in dims:
            figures[f"correlation_{b}"] = P.correlation_heatmap(
                correlations[b], f"{b}: latent–feature correlation", [n for n, a in active.items() if not a]
            )
        for b, d in (dis or {}).items():
            figures[f"factor_mi_{b}"] = P.factor_mi_heatmap(d["mutual_information"], f"{b}: MI with factors")
        if cond is not None and cond.get("values"):
            figures["conditioning"] = P.conditioning_plot(cond)
    timings["figures"] = time.perf_counter() - t

    results = {
        "method": getattr(synth, "method_name", None),
        "rows": len(rows),
        "rows_given": len(data),
        "settings": {"threshold": threshold, "floor": floor, "shift": shift, "seed": seed, "max_rows": max_rows,
                     "inactive_below": inactive_below, "bins": bins, "traversal_steps": traversal_steps},
        "blocks": dims,
        "information": information,
        "correlations": correlations,
        "effects": effects,
        "disentanglement": dis,
        "conditioning": cond,
        "notes": notes,
        "illustrated": illustrated,
    }
    return Explanation(_finite(results), figures, timings)
