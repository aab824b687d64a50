"""Latent-to-feature correlation (paper 001 §7.1, Tables 3 and 7) and how much each latent
coordinate says about a row (its information and whether it is active).

Correlation of each latent coordinate (posterior means, as :meth:`Synthesizer.encode`
returns them) with each original feature, over the rows given:

* numeric features — continuous, mixed, datetime (as days) and discrete counts — Pearson's r,
  the paper's measure; Spearman's ρ (Pearson's r of the ranks, ties averaged) is given
  beside it, because counts and skewed amounts relate to a latent monotonically more
  often than linearly;
* boolean features — the point-biserial r (Pearson's r with the feature coded 0/1; which
  value is 1 is reported);
* categorical features (text labels) — the correlation ratio η of the latent grouped by
  category, in [0, 1] and unsigned: the share of the latent's spread explained by the
  category, as the evaluation's association matrix uses it. Missing is a category.

Missing numeric values are left out pair by pair. A constant column (or latent) has
correlation 0. The paper calls a correlation "significant" when it is at least 0.75
(Table 3) and lists everything down to 0.2 in Table 7; both thresholds apply to |r| and
are parameters here. The paper prints magnitudes; we keep the sign, which tells the
direction (the sign of a latent coordinate is arbitrary, the sign between two features
driven by the same coordinate is not).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import rankdata

from synthkit.errors import SynthkitError
from synthkit.explain.latents import Posterior, labels, threaded
from synthkit.tabular.schema import CATEGORY_KINDS, NUMERIC_KINDS, ColumnKind, Schema, datetime_ns, infer_schema

PEARSON = "pearson"
POINT_BISERIAL = "point_biserial"
ETA = "correlation_ratio"

MEASURES = {
    PEARSON: "Pearson's r (Spearman's ρ given beside it)",
    POINT_BISERIAL: "point-biserial r: Pearson's r with the feature coded 0/1",
    ETA: "correlation ratio η in [0, 1] (unsigned): share of the latent's variance explained by the category",
}


def feature_vectors(data: pd.DataFrame, schema: Schema | None = None) -> dict[str, tuple[str, np.ndarray, str | None]]:
    """Each modelled column as (measure, values, note): floats for Pearson and
    point-biserial (NaN = missing), integer codes for η. Identifier and constant columns
    are left out."""
    schema = schema or infer_schema(data)
    out: dict[str, tuple[str, np.ndarray, str | None]] = {}
    for spec in schema.columns:
        if spec.name not in data.columns or spec.kind not in NUMERIC_KINDS | CATEGORY_KINDS:
            continue
        s = data[spec.name]
        if spec.kind is ColumnKind.DATETIME:
            out[spec.name] = (PEARSON, datetime_ns(s, spec.datetime_format) / 86_400e9, None)
            continue
        if spec.kind is ColumnKind.BOOLEAN:
            values = [v for v in pd.unique(s.dropna())]
            if len(values) == 2:
                ordered = sorted(values, key=lambda v: (str(type(v)), str(v)))
                one = ordered[1]
                coded = np.where(s.isna(), np.nan, (s == one).to_numpy(dtype=float))
                out[spec.name] = (POINT_BISERIAL, coded.astype(float), f"1 = {one!r}")
                continue
        numbers = pd.to_numeric(s, errors="coerce")
        if spec.kind in NUMERIC_KINDS or (
            spec.kind is ColumnKind.DISCRETE and numbers.notna().sum() == s.notna().sum()
        ):
            out[spec.name] = (PEARSON, numbers.to_numpy(dtype=float, na_value=np.nan), None)
            continue
        codes = pd.factorize(s, use_na_sentinel=False)[0]
        out[spec.name] = (ETA, codes.astype(np.int64), None)
    return out


def _pearson_columns(latents: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pearson's r of each latent column with `v` on the rows where `v` is present."""
    keep = ~np.isnan(v)
    lat, v = latents[keep], v[keep]
    if len(v) < 2 or v.max() == v.min():
        return np.zeros(latents.shape[1])
    lc = lat - lat.mean(axis=0)
    vc = v - v.mean()
    denom = np.sqrt((lc**2).sum(axis=0) * float(vc @ vc))
    flat = (lat.max(axis=0) == lat.min(axis=0)) | (denom == 0)
    r = np.divide(lc.T @ vc, denom, out=np.zeros(latents.shape[1]), where=~flat)
    return np.clip(r, -1.0, 1.0)


def _spearman_columns(latents: np.ndarray, v: np.ndarray) -> np.ndarray:
    keep = ~np.isnan(v)
    if keep.sum() < 2:
        return np.zeros(latents.shape[1])
    return _pearson_columns(rankdata(latents[keep], axis=0), rankdata(v[keep]).astype(float))


def _eta_columns(latents: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Correlation ratio of each latent column grouped by `codes`."""
    counts = np.bincount(codes).astype(float)
    used = counts > 0
    if used.sum() < 2 or len(codes) < 2:
        return np.zeros(latents.shape[1])
    out = np.zeros(latents.shape[1])
    for j in range(latents.shape[1]):
        v = latents[:, j]
        if v.max() == v.min():
            continue
        means = np.bincount(codes, weights=v)[used] / counts[used]
        mean = v.mean()
        between = float((counts[used] * (means - mean) ** 2).sum())
        total = float(((v - mean) ** 2).sum())
        out[j] = math.sqrt(min(max(between / total, 0.0), 1.0))
    return out


def latent_feature_correlations(
    latents: np.ndarray | Mapping[str, np.ndarray],
    data: pd.DataFrame,
    schema: Schema | None = None,
    *,
    threshold: float = 0.75,
    floor: float = 0.2,
    latent_labels: list[str] | None = None,
) -> dict[str, Any]:
    """Correlation of every latent coordinate with every feature of `data` (row-aligned).

    `latents` is an array (rows × d; labelled `latent_labels`, default ``l1 …``) or a dict
    of blocks as :meth:`Synthesizer.encode` returns them (labelled ``c1 …``, ``z1 …``).
    Returns a JSON-ready dict:

    * ``matrix`` — {latent: {feature: value}}, the headline value (r, point-biserial r or η);
    * ``spearman`` — {latent: {feature: ρ}} for Pearson features (None for the others);
    * ``features`` — {feature: {"measure", "note"}};
    * ``significant`` — pairs with |value| ≥ `threshold` (Table 3), strongest first within
      each latent; ``table`` — pairs with |value| ≥ `floor` (Table 7); each pair is
      {"latent", "feature", "value", "measure", "spearman"};
    * ``threshold``, ``floor``, ``measures`` (what each measure is), ``rows``.
    """
    if not 0 <= floor <= threshold <= 1:
        raise SynthkitError(f"need 0 ≤ floor ≤ threshold ≤ 1, got floor {floor} and threshold {threshold}")
    lat, names = _stack(latents, latent_labels)
    if len(lat) != len(data):
        raise SynthkitError(f"the latents have {len(lat):,} rows but the data {len(data):,}")
    if len(lat) < 3:
        raise SynthkitError(f"need at least 3 rows to correlate, got {len(lat)}")
    features = feature_vectors(data, schema)
    matrix: dict[str, dict[str, float]] = {n: {} for n in names}
    spear: dict[str, dict[str, float | None]] = {n: {} for n in names}
    for feat, (measure, values, _) in features.items():
        if measure == ETA:
            vals, rho = _eta_columns(lat, values), None
        else:
            vals, rho = _pearson_columns(lat, values), _spearman_columns(lat, values)
        for j, n in enumerate(names):
            matrix[n][feat] = float(vals[j])
            spear[n][feat] = None if rho is None else float(rho[j])

    def pairs(cut: float) -> list[dict[str, Any]]:
        out = []
        for n in names:
            row = sorted(matrix[n].items(), key=lambda kv: -abs(kv[1]))
            out.extend(
                {"latent": n, "feature": f, "value": v, "measure": features[f][0], "spearman": spear[n][f]}
                for f, v in row
                if abs(v) >= cut
            )
        return out

    return {
        "rows": len(lat),
        "threshold": threshold,
        "floor": floor,
        "measures": dict(MEASURES),
        "features": {f: {"measure": m, "note": note} for f, (m, _, note) in features.items()},
        "latents": names,
        "matrix": matrix,
        "spearman": spear,
        "significant": pairs(threshold),
        "table": pairs(floor),
    }


def _stack(latents: np.ndarray | Mapping[str, np.ndarray], names: list[str] | None) -> tuple[np.ndarray, list[str]]:
    if isinstance(latents, Mapping):
        arrays, out = [], []
        for block, arr in latents.items():
            arr = np.asarray(arr, dtype=float)
            arrays.append(arr)
            out.extend(labels(block, arr.shape[1]))
        return np.hstack(arrays), out
    arr = np.asarray(latents, dtype=float)
    if arr.ndim != 2:
        raise SynthkitError(f"latents must be a matrix (rows × coordinates), got shape {arr.shape}")
    names = names or labels("l", arr.shape[1])
    if len(names) != arr.shape[1]:
        raise SynthkitError(f"{len(names)} labels for {arr.shape[1]} latent coordinates")
    return arr, list(names)


# ---------------------------------------------------------------------------------------
# information carried by each coordinate
# ---------------------------------------------------------------------------------------


def kl_to_prior(post: Posterior) -> np.ndarray:
    """Mean over rows of KL(q(c_j | x) ‖ N(0, 1)) for each coordinate j, in nats:
    ½ (μ² + σ² − log σ² − 1)."""
    return 0.5 * (post.mean**2 + np.exp(post.logvar) - post.logvar - 1.0).mean(axis=0)


@threaded
def index_code_mi(post: Posterior, *, max_rows: int = 1000, samples: int = 4, seed: int = 0) -> np.ndarray:
    """I(n; c_j) for each coordinate j, in nats: the mutual information between a row
    (uniform over the rows given) and coordinate j of its code, estimated as

        mean over rows n and draws c ~ q(c_j | x_n) of  log q(c | x_n) − log q(c),
        q(c) = (1/N) Σ_m q(c | x_m)   (the aggregate posterior over the same N rows).

    This is the index-code MI term of the β-TCVAE KL decomposition (Chen et al. 2018, §3),
    with q(c_j) computed exactly over the rows rather than estimated from a minibatch.
    Using the aggregate posterior (not the prior) is what makes it a mutual information:
    the mean KL to the prior equals this MI plus KL(q(c_j) ‖ p(c_j)). It cannot exceed
    log N, so rows beyond `max_rows` are subsampled (rng `seed`); `samples` draws per row.
    """
    n = len(post.mean)
    if n < 2:
        return np.zeros(post.dims)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=max_rows, replace=False)) if n > max_rows else np.arange(n)
    mu = torch.as_tensor(post.mean[idx], dtype=torch.float64)
    logvar = torch.as_tensor(post.logvar[idx], dtype=torch.float64)
    n = len(idx)
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn((samples, n, post.dims), generator=gen, dtype=torch.float64)
    draws = mu + torch.exp(0.5 * logvar) * eps  # samples × n × d
    half_log2pi = 0.5 * math.log(2 * math.pi)
    # log N(c; μ_m, σ_m²) = a_m − ½ (c − μ_m)² / σ_m²; a_m = −½ log 2π − ½ log σ_m².
    a = -half_log2pi - 0.5 * logvar
    h = 0.5 * torch.exp(-logvar)
    out = np.zeros(post.dims)
    for j in range(post.dims):
        c = draws[:, :, j].reshape(-1)  # (samples·n): row m of every sample block
        own = (a[:, j] - h[:, j] * (c.view(samples, n) - mu[:, j]) ** 2).reshape(-1)
        log_mix = torch.empty_like(c)
        for lo in range(0, len(c), 2048):
            diff = c[lo : lo + 2048, None] - mu[None, :, j]
            log_mix[lo : lo + 2048] = torch.logsumexp(a[None, :, j] - h[None, :, j] * diff * diff, dim=1)
        out[j] = float((own - log_mix).mean()) + math.log(n)
    return np.maximum(out, 0.0)


def latent_information(
    posts: Mapping[str, Posterior],
    *,
    inactive_below: float = 0.01,
    max_rows: int = 1000,
    samples: int = 4,
    seed: int = 0,
) -> dict[str, Any]:
    """For each coordinate of each block: how much it says about a row, and whether the
    model uses it at all. JSON-ready:

    ``{"inactive_below", "estimator", "blocks": {block: [{"latent", "kl_to_prior",
    "mutual_information", "prior_mismatch", "mean_variance", "aggregate_std", "active"}]}}``

    * ``kl_to_prior`` — mean over rows of KL(q(c_j | x) ‖ N(0, 1)), nats;
    * ``mutual_information`` — I(n; c_j) from :func:`index_code_mi`, nats;
    * ``prior_mismatch`` — ``kl_to_prior − mutual_information`` ≈ KL(q(c_j) ‖ N(0, 1)),
      how far the aggregate posterior of the coordinate is from its prior;
    * ``mean_variance`` — Var_x E[c_j | x] (Burda et al.'s activity statistic);
    * ``active`` — ``kl_to_prior ≥ inactive_below`` (default 0.01 nats): below it the
      posterior of the coordinate is the prior for every row, so it carries no
      information and the decoder receives noise through it.
    """
    blocks: dict[str, list[dict[str, Any]]] = {}
    for block, post in posts.items():
        kl = kl_to_prior(post)
        mi = index_code_mi(post, max_rows=max_rows, samples=samples, seed=seed)
        agg = post.aggregate_std()
        var = post.mean.var(axis=0)
        blocks[block] = [
            {
                "latent": name,
                "kl_to_prior": float(kl[j]),
                "mutual_information": float(mi[j]),
                "prior_mismatch": float(max(kl[j] - mi[j], 0.0)),
                "mean_variance": float(var[j]),
                "aggregate_std": float(agg[j]),
                "active": bool(kl[j] >= inactive_below),
            }
            for j, name in enumerate(labels(block, post.dims))
        ]
    n = min(max_rows, min((len(p.mean) for p in posts.values()), default=0))
    return {
        "inactive_below": inactive_below,
        "estimator": (
            "mutual_information: I(n; c_j), mean of log q(c|x_n) − log q(c) over rows and "
            f"{samples} draws each, q(c) the aggregate posterior of {n} rows (at most log {n} = "
            f"{math.log(max(n, 1)):.2f} nats); active: mean KL(q(c_j|x) ‖ N(0,1)) ≥ {inactive_below} nats"
        ),
        "max_nats": math.log(max(n, 1)),
        "blocks": blocks,
    }
