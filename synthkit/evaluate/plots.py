"""Plots of real against synthetic data (paper 001 Figs. 7–11) as PNG bytes.

matplotlib runs on its non-interactive Agg backend, so plotting works on servers without
a display; figures are returned as PNG bytes for embedding in self-contained HTML.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REAL_COLOR = "#1f4e79"
SYNTH_COLOR = "#e07b39"


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def column_plot(real: pd.Series, synth: pd.Series, numeric: bool, bins: int = 40, max_categories: int = 20) -> bytes:
    """Histogram (numeric) or bar chart of category shares (categorical), real beside synthetic.

    Numeric histograms share `bins` equal-width bins over the real column's range, as
    densities; missing values are left out of the histogram and their shares printed in the
    title. Categorical bars show the `max_categories` most frequent real categories.
    """
    fig, ax = plt.subplots(figsize=(4.6, 2.8))
    name = str(real.name)
    if numeric:
        r, s = real.dropna().to_numpy(float), synth.dropna().to_numpy(float)
        lo, hi = (float(r.min()), float(r.max())) if len(r) else (0.0, 1.0)
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        ax.hist(r, bins=edges, density=True, alpha=0.55, color=REAL_COLOR, label="real")
        ax.hist(np.clip(s, edges[0], edges[-1]), bins=edges, density=True, alpha=0.55, color=SYNTH_COLOR, label="synthetic")
        title = name
        if real.isna().any() or synth.isna().any():
            title += f"  (missing: real {real.isna().mean():.1%}, synthetic {synth.isna().mean():.1%})"
        ax.set_title(title, fontsize=9)
    else:
        fr = real.value_counts(normalize=True)
        fs = synth.value_counts(normalize=True)
        cats = list(fr.index[:max_categories])
        numbers = pd.to_numeric(pd.Series(cats, dtype=object), errors="coerce")
        if numbers.notna().all():  # counts and codes read best in value order
            cats = [c for _, c in sorted(zip(numbers, cats))]
        x = np.arange(len(cats))
        ax.bar(x - 0.2, [fr.get(c, 0.0) for c in cats], width=0.4, color=REAL_COLOR, label="real")
        ax.bar(x + 0.2, [fs.get(c, 0.0) for c in cats], width=0.4, color=SYNTH_COLOR, label="synthetic")
        ax.set_xticks(x)
        ax.set_xticklabels([str(c)[:12] for c in cats], rotation=45 if len(cats) > 6 else 0, ha="right" if len(cats) > 6 else "center", fontsize=7)
        ax.set_ylabel("share", fontsize=8)
        extra = "" if len(fr) <= max_categories else f"  (top {max_categories} of {len(fr)})"
        ax.set_title(name + extra, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    return _png(fig)


def association_plot(real: pd.DataFrame, synth: pd.DataFrame) -> bytes:
    """The real and synthetic association matrices and their difference, side by side."""
    n = len(real)
    size = max(4.0, min(0.32 * n + 1.5, 9.0))
    fig, axes = plt.subplots(1, 3, figsize=(3 * size, size))
    diff = (synth - real).abs()
    panels = ((real, "real", "viridis", 0.0, 1.0), (synth, "synthetic", "viridis", 0.0, 1.0), (diff, "|difference|", "Reds", 0.0, 1.0))
    labels = [str(c)[:18] for c in real.columns]
    for ax, (m, title, cmap, vmin, vmax) in zip(axes, panels):
        im = ax.imshow(m.to_numpy(float).__abs__(), cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xticklabels(labels, rotation=90, fontsize=6)
        ax.set_yticklabels(labels if ax is axes[0] else [], fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle("Association (|Pearson r|, Theil's U, correlation ratio η)", fontsize=10)
    return _png(fig)


def detectability_plot(columns: list[dict], threshold: float = 0.6, max_columns: int = 30) -> bytes:
    """Horizontal bars of the per-column detector AUCs (rows of
    :func:`~synthkit.evaluate.detection.column_detectability`), most detectable on top.

    Bars above `threshold` (dashed line) are drawn in the synthetic colour, the others in the
    real colour; the axis starts at 0.5, the AUC of a column that cannot be told apart. At
    most `max_columns` columns, the most detectable ones.
    """
    rows = sorted(columns, key=lambda r: -r["auc"])[:max_columns]
    names = [str(r["column"])[:28] for r in rows][::-1]
    aucs = np.array([r["auc"] for r in rows][::-1], dtype=float)
    fig, ax = plt.subplots(figsize=(6.4, max(1.6, 0.24 * len(rows) + 0.9)))
    colors = [SYNTH_COLOR if a > threshold else REAL_COLOR for a in aucs]
    y = np.arange(len(rows))
    # Bars from 0.5: an AUC below it (noise) shows as a short bar to the left.
    ax.barh(y, aucs - 0.5, left=0.5, color=colors, height=0.7)
    ax.axvline(threshold, color="#a40000", linestyle="--", linewidth=1, label=f"flag: AUC > {threshold:.2f}")
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=7)
    lo = min(0.45, float(aucs.min()) - 0.02) if len(aucs) else 0.45
    ax.set_xlim(lo, 1.0)
    ax.set_xlabel("AUC of a detector on the column alone (0.5 = indistinguishable)", fontsize=8)
    extra = "" if len(columns) <= max_columns else f" (top {max_columns} of {len(columns)})"
    ax.set_title("Which columns give the table away" + extra, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return _png(fig)
