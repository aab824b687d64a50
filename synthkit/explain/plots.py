"""Interpretability figures as PNG bytes (for self-contained HTML, like
:mod:`synthkit.evaluate.plots`): latent-feature correlations, information per coordinate,
perturbation grids in the style of paper 001's Fig. 12, latent traversals, the factor MI
matrix and the M1–M4 conditioning checks (Fig. 4)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from synthkit.evaluate.plots import REAL_COLOR, SYNTH_COLOR  # noqa: E402
from synthkit.explain.perturbation import Perturbation, Traversal  # noqa: E402

BEFORE_COLOR = REAL_COLOR
AFTER_COLOR = SYNTH_COLOR


def _png(fig: plt.Figure, dpi: int = 90) -> bytes:
    """PNG bytes of `fig` (then closed). Layout is set by each plot; no tight bounding
    box, which would draw every figure twice."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def correlation_heatmap(corr: dict[str, Any], title: str = "latent–feature correlation",
                        inactive: Sequence[str] = ()) -> bytes:
    """Latents (rows) × features (columns): signed r (Pearson / point-biserial) or η, on one
    −1…1 scale; cells with |value| ≥ the correlation's floor are annotated. Coordinates
    listed in `inactive` are marked: their correlations describe encoder noise, not
    something the decoder uses."""
    latents, features = corr["latents"], list(corr["features"])
    m = np.array([[corr["matrix"][n][f] for f in features] for n in latents])
    fig, ax = plt.subplots(figsize=(max(5.0, 0.42 * len(features) + 2), max(2.5, 0.36 * len(latents) + 1.6)))
    im = ax.imshow(m, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(features)))
    ax.set_xticklabels([f[:22] for f in features], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(latents)))
    ax.set_yticklabels([f"{n} (inactive)" if n in inactive else n for n in latents], fontsize=8)
    for i, n in enumerate(latents):
        if n in inactive:
            ax.get_yticklabels()[i].set_color("grey")
            ax.axhspan(i - 0.5, i + 0.5, color="white", alpha=0.55, lw=0)
    for i in range(len(latents)):
        for j in range(len(features)):
            if abs(m[i, j]) >= corr["floor"]:
                ax.text(j, i, f"{m[i, j]:.2f}".replace("0.", "."), ha="center", va="center", fontsize=6,
                        color="white" if abs(m[i, j]) >= 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    ax.set_title(f"{title} (values with |r| ≥ {corr['floor']:g} shown)", fontsize=9)
    fig.tight_layout(pad=0.4)
    return _png(fig)


def information_plot(information: dict[str, Any]) -> bytes:
    """Per coordinate: mean KL to the prior and I(n; c_j), nats, with the activity threshold."""
    blocks = information["blocks"]
    fig, axes = plt.subplots(1, len(blocks), figsize=(4.2 * len(blocks), 2.8), squeeze=False)
    for ax, (block, rows) in zip(axes[0], blocks.items()):
        x = np.arange(len(rows))
        ax.bar(x - 0.2, [r["kl_to_prior"] for r in rows], width=0.4, color=BEFORE_COLOR, label="mean KL to prior")
        ax.bar(x + 0.2, [r["mutual_information"] for r in rows], width=0.4, color=AFTER_COLOR, label="I(n; c_j)")
        ax.axhline(information["inactive_below"], color="grey", lw=0.8, ls="--")
        ax.set_xticks(x)
        ax.set_xticklabels([r["latent"] for r in rows], fontsize=7)
        for tick, r in zip(ax.get_xticklabels(), rows):
            if not r["active"]:
                tick.set_color("grey")
        ax.set_ylabel("nats", fontsize=8)
        ax.set_title(f"block {block}: information per coordinate (grey: inactive)", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout(pad=0.4)
    return _png(fig)


def _grid_layout(fig: plt.Figure, title: bool = True, bottom_labels: bool = False) -> None:
    """Fixed margins for a grid of small panels (tight_layout measures every tick label,
    which took most of the time of these figures)."""
    h = fig.get_figheight()
    rows = max(len(fig.axes) and max(ax.get_subplotspec().rowspan.stop for ax in fig.axes), 1)
    panel = (h - 1.0) / rows  # inches per row of panels
    fig.subplots_adjust(left=0.04 if not bottom_labels else 0.07, right=0.99, bottom=0.45 / h,
                        top=1 - (1.0 if title else 0.55) / h, hspace=1.0 / max(panel, 0.5), wspace=0.25)


def _is_continuous(a: pd.Series, b: pd.Series) -> bool:
    va, vb = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    if va.notna().sum() != a.notna().sum() or pd.api.types.is_bool_dtype(a.dtype):
        return False
    return int(pd.concat([va, vb]).nunique()) > 20


def _bars(ax: Any, centers: np.ndarray, heights: list[float], width: float, color: str, label: str) -> None:
    """Bars as one PolyCollection (ax.bar makes a patch per bar, slow in grids of panels)."""
    verts = [[(c - width / 2, 0.0), (c - width / 2, h), (c + width / 2, h), (c + width / 2, 0.0)]
             for c, h in zip(centers, heights)]
    ax.add_collection(PolyCollection(verts, facecolors=color, edgecolors="none", label=label))


def _distribution_panel(ax: Any, before: pd.Series, after: pd.Series, title: str, bins: int = 30) -> None:
    if _is_continuous(before, after):
        a = pd.to_numeric(before, errors="coerce").dropna().to_numpy(float)
        b = pd.to_numeric(after, errors="coerce").dropna().to_numpy(float)
        both = np.concatenate([a, b])
        lo, hi = (np.percentile(both, [0.5, 99.5]) if len(both) else (0.0, 1.0))
        hi = hi if hi > lo else lo + 1.0
        edges = np.linspace(lo, hi, bins + 1)
        # stairs: one artist per histogram (hist draws a patch per bin, ten times slower).
        for v, color, name in ((a, BEFORE_COLOR, "original"), (b, AFTER_COLOR, "perturbed")):
            counts = np.histogram(np.clip(v, lo, hi), bins=edges)[0] / max(len(v), 1)
            ax.stairs(counts, edges, fill=True, alpha=0.5, color=color, label=name)
        ax.ticklabel_format(axis="x", style="plain", useOffset=False)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    else:
        fa = before.astype(str).value_counts(normalize=True)
        fb = after.astype(str).value_counts(normalize=True)
        cats = list(fa.index.union(fb.index))
        numbers = pd.to_numeric(pd.Series(cats, dtype=object), errors="coerce")
        if numbers.notna().all():
            cats = [c for _, c in sorted(zip(numbers, cats))]
        cats = cats[:20]
        x = np.arange(len(cats))
        _bars(ax, x - 0.2, [fa.get(c, 0.0) for c in cats], 0.4, BEFORE_COLOR, "original")
        _bars(ax, x + 0.2, [fb.get(c, 0.0) for c in cats], 0.4, AFTER_COLOR, "perturbed")
        ax.set_xlim(-0.6, len(cats) - 0.4)
        ax.set_ylim(0, max([*fa.to_numpy(), *fb.to_numpy(), 1e-9]) * 1.05)
        ax.set_xticks(x)
        ax.set_xticklabels([c[:8] for c in cats], fontsize=6)
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6)
    ax.yaxis.set_visible(False)


def perturbation_plot(p: Perturbation, features: Sequence[str] | None = None, max_features: int = 20,
                      columns: int = 5) -> bytes:
    """One panel per feature (the most changed first, or `features`): the distribution of
    the decoded rows before and after the perturbation, with the feature's JSD."""
    shifts = {s["feature"]: s for s in p.shifts}
    feats = list(features) if features is not None else [s["feature"] for s in p.shifts][:max_features]
    ncols = min(columns, max(len(feats), 1))
    nrows = max(1, math.ceil(len(feats) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.0 * nrows + 0.5), squeeze=False)
    for ax in axes.flat[len(feats):]:
        ax.axis("off")
    for ax, f in zip(axes.flat, feats):
        jsd = shifts[f]["jsd"] if f in shifts else float("nan")
        _distribution_panel(ax, p.original[f], p.perturbed[f], f"{f[:24]}\nJSD {jsd:.3f}")
    axes.flat[0].legend(fontsize=6, frameon=False)
    fig.suptitle(f"{p.describe()} — {len(p.original):,} rows decoded with seed {p.seed}", fontsize=9)
    _grid_layout(fig)
    return _png(fig)


def perturbation_grid(rows: Mapping[str, Perturbation], features: Sequence[str]) -> bytes:
    """Paper 001 Fig. 12: one row per perturbation (e.g. MS-VAE's C, its Z, TVAE), one
    column per feature; each panel overlays the original and perturbed distributions."""
    names = list(rows)
    fig, axes = plt.subplots(len(names), len(features), figsize=(2.9 * len(features), 2.0 * len(names) + 0.4),
                             squeeze=False)
    for i, name in enumerate(names):
        p = rows[name]
        shifts = {s["feature"]: s["jsd"] for s in p.shifts}
        for j, f in enumerate(features):
            title = f"{name}: {p.describe()}\n{f} — JSD {shifts.get(f, float('nan')):.3f}"
            _distribution_panel(axes[i, j], p.original[f], p.perturbed[f], title)
    axes[0, 0].legend(fontsize=6, frameon=False)
    _grid_layout(fig, title=False)
    return _png(fig)


def traversal_plot(t: Traversal, features: Sequence[str] | None = None, max_features: int = 6) -> bytes:
    """Mean of each feature (the most affected, or `features`) against the value the
    coordinate is set to; the dashed line is the unperturbed mean and the shaded band the
    coordinate's mean ± 1 sd over the data."""
    feats = [f for f in (features or t.most_affected(len(t.means))) if any(v is not None for v in t.means[f])]
    feats = feats[:max_features] if features is None else feats
    ncols = min(3, max(len(feats), 1))
    nrows = max(1, math.ceil(len(feats) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.2 * nrows + 0.4), squeeze=False)
    for ax in axes.flat[len(feats):]:
        ax.axis("off")
    for ax, f in zip(axes.flat, feats):
        y = [np.nan if v is None else v for v in t.means[f]]
        ax.axvspan(t.latent_mean - t.latent_sd, t.latent_mean + t.latent_sd, color="grey", alpha=0.15, lw=0)
        ax.plot(t.values, y, marker="o", ms=3, color=AFTER_COLOR)
        if t.original_mean.get(f) is not None:
            ax.axhline(t.original_mean[f], color=BEFORE_COLOR, ls="--", lw=0.8)
        ax.set_title(f[:28], fontsize=8)
        ax.set_xlabel(t.label, fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle(f"traversal of {t.label}: feature means ({t.rows:,} rows, seed {t.seed})", fontsize=9)
    _grid_layout(fig, bottom_labels=True)
    return _png(fig)


def factor_mi_heatmap(mi: dict[str, Any], title: str = "MI with generating factors") -> bytes:
    """Latents × factors: discrete MI divided by the factor's entropy (MIG's scale)."""
    latents, factors = mi["latents"], mi["factors"]
    m = np.array([[mi["normalized"][n][f] for f in factors] for n in latents])
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(factors) + 2), max(2.5, 0.34 * len(latents) + 1.5)))
    im = ax.imshow(m, cmap="viridis", vmin=0, vmax=max(0.5, float(m.max()) if m.size else 1.0), aspect="auto")
    ax.set_xticks(range(len(factors)))
    ax.set_xticklabels(factors, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(latents)))
    ax.set_yticklabels(latents, fontsize=7)
    for i in range(len(latents)):
        for j in range(len(factors)):
            if m[i, j] >= 0.1:
                ax.text(j, i, f"{m[i, j]:.2f}".replace("0.", "."), ha="center", va="center", fontsize=6, color="white")
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    ax.set_title(f"{title} (MI / H(factor))", fontsize=9)
    fig.tight_layout(pad=0.4)
    return _png(fig)


def conditioning_plot(cond: dict[str, Any]) -> bytes:
    """M1–M4 (paper 001 Fig. 4 colours: blue, red, green, purple) with the
    independent-codes floor."""
    v = cond["values"]
    fig, ax = plt.subplots(figsize=(4.2, 2.8))
    keys = ["M1", "M2", "M3", "M4"]
    ax.bar(keys, [v[k] for k in keys], color=["#1f77b4", "#d62728", "#2ca02c", "#9467bd"])
    ax.axhline(cond["floor"], color="grey", ls="--", lw=0.8, label="independent codes")
    for i, k in enumerate(keys):
        ax.text(i, v[k], f"{v[k]:.3f}", ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("normalized MI with C_R", fontsize=8)
    verdict = "holds" if cond["holds"] else "does not hold"
    ax.set_title(f"conditioning on C: {cond['expected']} {verdict}", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout(pad=0.4)
    return _png(fig)
