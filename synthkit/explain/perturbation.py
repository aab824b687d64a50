"""Perturbation analysis (paper 001 §7.2, Fig. 12): change one latent coordinate, decode,
and measure how each feature moves.

Rows are encoded (posterior means, as :meth:`Synthesizer.encode`), one coordinate is
changed — set to a value (the paper sets the 2nd coordinate to 5), shifted by k standard
deviations, or traversed over a range of values — and both the unperturbed and the
perturbed latents are decoded by :meth:`Synthesizer.decode` **with the same seed**: every
random draw of the decoder (a mode or category per column, the offset within a mode)
and of the inverse transform is then the same in both, so the differences come from the
perturbation alone. For MS-VAE, perturbing C changes Y = dec₁(C) and with it the input
of stage two; perturbing Z changes only the AdaIN modulation of stage two.

A standard deviation of coordinate j is that of its aggregate posterior,
√(Var_x E[c_j | x] + E_x Var[c_j | x]) over the rows (≈ 1 when the model matches its
N(0, 1) prior), so "k sd" means the same for active and inactive coordinates.

Per feature, between the unperturbed and the perturbed decoded rows:

* ``jsd`` — Jensen–Shannon divergence of the two distributions, exactly
  :func:`synthkit.evaluate.fidelity.column_jsd` (log 2, 20 equal-width bins over the
  unperturbed column's range for numeric columns, categories for categorical and
  discrete ones, the evaluation module's split of columns);
* ``mean_before``, ``mean_after``, ``mean_shift`` and ``mean_shift_sd`` (the shift
  divided by the unperturbed column's standard deviation) for columns with numeric
  values (discrete counts included; booleans as the share of the value coded 1);
* ``mean_abs_change_sd`` — the mean over rows of |perturbed − unperturbed| divided by
  the same standard deviation: the row-level change, which a symmetric change of the
  distribution (its mean unmoved) would hide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.evaluate.encoding import eval_columns
from synthkit.evaluate.fidelity import column_jsd
from synthkit.explain.latents import Posterior, fitted, labels, latent_dims, posteriors, resolve_latent, threaded
from synthkit.tabular.schema import ColumnKind, datetime_ns, infer_schema


@dataclass
class Perturbation:
    """One coordinate changed for all rows: the decoded rows before and after, and the
    shift of each feature (``shifts``, largest JSD first)."""

    block: str
    index: int
    kind: str  # "shift" or "set"
    amount: float  # k (sd) for "shift", the value for "set"
    sd: float  # the coordinate's aggregate-posterior standard deviation
    seed: int
    original: pd.DataFrame
    perturbed: pd.DataFrame
    shifts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The coordinate's name, e.g. ``c2``."""
        return f"{self.block}{self.index + 1}"

    def describe(self) -> str:
        """E.g. ``c2 shifted by +3 sd`` or ``c2 set to 5``."""
        if self.kind == "shift":
            return f"{self.label} shifted by {self.amount:+g} sd ({self.amount * self.sd:+.2f})"
        return f"{self.label} set to {self.amount:g}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the perturbation and the per-feature shifts (not the rows)."""
        return {"latent": self.label, "block": self.block, "index": self.index, "kind": self.kind,
                "amount": self.amount, "sd": self.sd, "seed": self.seed, "rows": len(self.original),
                "description": self.describe(), "shifts": self.shifts}


@dataclass
class Traversal:
    """One coordinate set to each of `values` in turn: per feature, the mean and the JSD to
    the unperturbed decoded rows at each value."""

    block: str
    index: int
    values: list[float]
    seed: int
    rows: int
    original_mean: dict[str, float | None]
    original_sd: dict[str, float | None]
    means: dict[str, list[float | None]]
    jsd: dict[str, list[float]]
    latent_mean: float
    latent_sd: float

    @property
    def label(self) -> str:
        return f"{self.block}{self.index + 1}"

    def most_affected(self, n: int = 6) -> list[str]:
        """Features whose largest JSD over the traversal is largest."""
        return sorted(self.jsd, key=lambda f: -max(self.jsd[f]))[:n]

    def to_dict(self) -> dict[str, Any]:
        return {"latent": self.label, "block": self.block, "index": self.index, "values": self.values,
                "seed": self.seed, "rows": self.rows, "latent_mean": self.latent_mean, "latent_sd": self.latent_sd,
                "original_mean": self.original_mean, "original_sd": self.original_sd,
                "means": self.means, "jsd": self.jsd}


# ---------------------------------------------------------------------------------------


def _numeric_values(s: pd.Series) -> np.ndarray | None:
    """Float values of a column with numbers (or booleans), else None."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=float)
    v = pd.to_numeric(s, errors="coerce")
    if v.notna().sum() != s.notna().sum():
        return None
    return v.to_numpy(dtype=float, na_value=np.nan)


def feature_shifts(original: pd.DataFrame, perturbed: pd.DataFrame, schema: Any = None) -> list[dict[str, Any]]:
    """Per-feature shift between two row-aligned decoded tables (see the module notes),
    largest JSD first."""
    schema = schema or infer_schema(original)
    cols = eval_columns(schema)
    numeric = set(cols.numeric)
    out = []
    for name in cols.all:
        for frame, which in ((original, "original"), (perturbed, "perturbed")):
            if name not in frame.columns:
                raise SynthkitError(f"column {name!r} is missing from the {which} rows")
        spec = schema[name]
        if spec.kind is ColumnKind.DATETIME:  # days, as the evaluation module compares them
            a_s = pd.Series(datetime_ns(original[name], spec.datetime_format) / 86_400e9)
            b_s = pd.Series(datetime_ns(perturbed[name], spec.datetime_format) / 86_400e9)
        else:
            a_s, b_s = original[name], perturbed[name]
        # column_jsd on the raw columns: categories are compared by value (missing is a
        # category), numeric columns are binned over the unperturbed range — the
        # evaluation module's definition, without its text conversion of every value.
        row: dict[str, Any] = {"feature": name, "jsd": column_jsd(a_s, b_s, numeric=name in numeric)}
        a = _numeric_values(a_s)
        b = _numeric_values(b_s)
        if a is None or b is None or np.isnan(a).all() or np.isnan(b).all():
            row.update(mean_before=None, mean_after=None, mean_shift=None, mean_shift_sd=None, mean_abs_change_sd=None)
        else:
            ma, mb = float(np.nanmean(a)), float(np.nanmean(b))
            sd = float(np.nanstd(a))
            both = ~(np.isnan(a) | np.isnan(b))
            row.update(
                mean_before=ma,
                mean_after=mb,
                mean_shift=mb - ma,
                mean_shift_sd=(mb - ma) / sd if sd > 0 else None,
                mean_abs_change_sd=float(np.abs(b[both] - a[both]).mean()) / sd if sd > 0 and both.any() else None,
            )
        out.append(row)
    return sorted(out, key=lambda r: -r["jsd"])


def _prepare_latents(
    synth: Any, data: pd.DataFrame | None, posts: dict[str, Posterior] | None
) -> dict[str, Posterior]:
    if posts is None:
        if data is None:
            raise SynthkitError("give the rows to perturb (data) or their posteriors")
        posts = posteriors(synth, data)
    if not posts or len(next(iter(posts.values())).mean) == 0:
        raise SynthkitError("no rows to perturb")
    return posts


@threaded
def perturb(
    synth: Any,
    data: pd.DataFrame | None,
    latent: str | int,
    *,
    block: str | None = None,
    shift: float | None = None,
    set_to: float | None = None,
    seed: int = 0,
    posts: dict[str, Posterior] | None = None,
) -> Perturbation:
    """Shift coordinate `latent` by `shift` standard deviations, or set it to `set_to`,
    for every row of `data`; decode before and after with `seed`. Exactly one of `shift`
    and `set_to`. `latent` is a label (``"c2"``) or a 0-based index in `block`;
    `posts` (from :func:`~synthkit.explain.latents.posteriors`) saves encoding again."""
    if (shift is None) == (set_to is None):
        raise SynthkitError("give exactly one of shift (in standard deviations) and set_to (a value)")
    fitted(synth)
    blk, j = resolve_latent(latent_dims(synth), latent, block)
    posts = _prepare_latents(synth, data, posts)
    means = {k: v.mean for k, v in posts.items()}
    sd = float(posts[blk].aggregate_std()[j])
    changed = {k: v.copy() for k, v in means.items()}
    if shift is not None:
        changed[blk][:, j] = changed[blk][:, j] + float(shift) * sd
        kind, amount = "shift", float(shift)
    else:
        changed[blk][:, j] = float(set_to)  # type: ignore[arg-type]
        kind, amount = "set", float(set_to)  # type: ignore[arg-type]
    original = synth.decode(means, seed=seed)
    perturbed = synth.decode(changed, seed=seed)
    shifts = feature_shifts(original, perturbed, synth.schema)
    return Perturbation(blk, j, kind, amount, sd, seed, original, perturbed, shifts)


@threaded
def traverse(
    synth: Any,
    data: pd.DataFrame | None,
    latent: str | int,
    values: list[float] | np.ndarray,
    *,
    block: str | None = None,
    seed: int = 0,
    posts: dict[str, Posterior] | None = None,
) -> Traversal:
    """Set coordinate `latent` to each of `values` for every row and decode (same seed
    each time): feature means and JSD to the unperturbed rows at each value."""
    vals = [float(v) for v in np.asarray(values, dtype=float).ravel()]
    if not vals or not all(np.isfinite(vals)):
        raise SynthkitError("a traversal needs at least one finite value")
    fitted(synth)
    blk, j = resolve_latent(latent_dims(synth), latent, block)
    posts = _prepare_latents(synth, data, posts)
    means = {k: v.mean for k, v in posts.items()}
    original = synth.decode(means, seed=seed)
    base = feature_shifts(original, original, synth.schema)
    feats = [r["feature"] for r in base]
    omean = {r["feature"]: r["mean_before"] for r in base}
    osd: dict[str, float | None] = {}
    for f in feats:
        v = _numeric_values(original[f]) if f in original else None
        osd[f] = float(np.nanstd(v)) if v is not None and not np.isnan(v).all() else None
    trav_means: dict[str, list[float | None]] = {f: [] for f in feats}
    trav_jsd: dict[str, list[float]] = {f: [] for f in feats}
    for v in vals:
        changed = {k: m.copy() for k, m in means.items()}
        changed[blk][:, j] = v
        rows = feature_shifts(original, synth.decode(changed, seed=seed), synth.schema)
        for r in rows:
            trav_means[r["feature"]].append(r["mean_after"])
            trav_jsd[r["feature"]].append(r["jsd"])
    post = posts[blk]
    return Traversal(blk, j, vals, seed, len(original), omean, osd, trav_means, trav_jsd,
                     float(post.mean[:, j].mean()), float(post.aggregate_std()[j]))


@threaded
def latent_effects(
    synth: Any,
    data: pd.DataFrame | None,
    *,
    shift: float = 3.0,
    seed: int = 0,
    posts: dict[str, Posterior] | None = None,
    blocks: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """:func:`perturb` with `shift` sd for every coordinate of every block (or of
    `blocks`): ``{latent label: Perturbation.to_dict()}``. One decode per coordinate plus
    one; a few seconds for 18 coordinates and 5,000 rows."""
    fitted(synth)
    posts = _prepare_latents(synth, data, posts)
    dims = latent_dims(synth)
    means = {k: v.mean for k, v in posts.items()}
    original = synth.decode(means, seed=seed)
    out: dict[str, dict[str, Any]] = {}
    for blk in blocks or list(dims):
        sds = posts[blk].aggregate_std()
        for j, name in enumerate(labels(blk, dims[blk])):
            changed = {k: m.copy() for k, m in means.items()}
            changed[blk][:, j] += shift * sds[j]
            pert = synth.decode(changed, seed=seed)
            p = Perturbation(blk, j, "shift", float(shift), float(sds[j]), seed, original, pert,
                             feature_shifts(original, pert, synth.schema))
            out[name] = p.to_dict()
    return out
