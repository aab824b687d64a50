"""Disentanglement against known generating factors: MIG, a FactorVAE-style score, and
which factor each latent coordinate matches (for data with ground truth, such as
:func:`synthkit.datasets.simulate_credit`'s 11 factors).

**MIG** (Chen et al. 2018, §4.1, computed as disentanglement_lib's ``mig.py``): each latent
coordinate's posterior means are cut into 20 equal-width bins over their range
(``np.histogram`` edges, ``np.digitize``); for each factor v_k, the discrete mutual
information I(z_j; v_k) with every coordinate j; the gap between the largest and the
second largest, divided by the factor's entropy H(v_k); the mean over factors.
disentanglement_lib's factors are discrete; continuous factors are cut into 20
equal-width bins the same way (a factor with at most 20 distinct values is used as it
is). The MI of binned variables is biased upwards by about (bins − 1)² / (2N) nats for
independent ones, which is why the tests accept "near 0" rather than 0.

**FactorVAE score** (Kim & Mnih 2018, §4, as disentanglement_lib's ``factor_vae.py``):
coordinates whose posterior-mean standard deviation over all rows is below 0.05 are pruned
(``prune_dims.threshold = 0.05``, compared with the standard deviation); for a
vote, draw a factor uniformly, fix it, take a batch of 64 rows sharing that value,
divide each coordinate's variance in the batch by its variance over all rows, and vote
(factor, coordinate of least normalized variance); the classifier maps each coordinate to
the factor it received most votes for; the score is its accuracy on fresh votes.
*Adaptation to a fixed table*: the simulator cannot be asked for rows with a factor
fixed, so "fixing" a factor means drawing rows that share its (binned) value: a random
row picks the value (so values are drawn from the factor's distribution, as in the
original), and the batch is up to 64 rows drawn without replacement from the rows with
that value; a value held by fewer than 8 rows is redrawn. Continuous factors are fixed
to one of the 20 equal-width bins. With d active coordinates and K factors the score
cannot exceed d / K when d < K (each coordinate predicts one factor); guessing gives
about 1/K.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import SynthkitError

BINS = 20


def discretize(values: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Each column cut into `bins` equal-width bins over its range (disentanglement_lib's
    ``_histogram_discretize``): integer codes 1 … bins."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    out = np.zeros(values.shape, dtype=np.int64)
    for j in range(values.shape[1]):
        edges = np.histogram(values[:, j], bins)[1]
        out[:, j] = np.digitize(values[:, j], edges[:-1])
    return out


def factor_codes(factors: pd.DataFrame | np.ndarray, bins: int = BINS) -> tuple[np.ndarray, list[str], list[str]]:
    """Integer codes for each factor (rows × K), the factor names and how each was coded:
    "discrete" (≤ `bins` distinct values, or text: used as it is) or "binned" (cut into
    `bins` equal-width bins)."""
    frame = factors if isinstance(factors, pd.DataFrame) else pd.DataFrame(np.asarray(factors))
    codes, kinds = [], []
    for name in frame.columns:
        s = frame[name]
        numbers = pd.to_numeric(s, errors="coerce")
        if s.isna().any():
            raise SynthkitError(f"factor {name!r} has missing values")
        if numbers.notna().all() and s.nunique() > bins:
            codes.append(discretize(numbers.to_numpy(float), bins)[:, 0])
            kinds.append("binned")
        else:
            codes.append(pd.factorize(s)[0].astype(np.int64))
            kinds.append("discrete")
    matrix = np.column_stack(codes) if codes else np.zeros((len(frame), 0), np.int64)
    return matrix, [str(c) for c in frame.columns], kinds


def discrete_mutual_info(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """I(a_i; b_k) in nats for every column i of `a` and k of `b` (integer codes, same
    rows): the plug-in estimate from the contingency table, as sklearn's
    ``mutual_info_score``."""
    a, b = np.atleast_2d(a.T).T, np.atleast_2d(b.T).T
    n = len(a)
    out = np.zeros((a.shape[1], b.shape[1]))
    if n == 0:
        return out
    ac = [np.unique(a[:, i], return_inverse=True)[1] for i in range(a.shape[1])]
    bc = [np.unique(b[:, k], return_inverse=True)[1] for k in range(b.shape[1])]
    for i, x in enumerate(ac):
        px = np.bincount(x) / n
        for k, y in enumerate(bc):
            py = np.bincount(y) / n
            joint = np.bincount(x * (int(y.max()) + 1) + y).astype(float)
            nz = np.nonzero(joint)[0]
            pxy = joint[nz] / n
            out[i, k] = float((pxy * np.log(pxy / (px[nz // (int(y.max()) + 1)] * py[nz % (int(y.max()) + 1)]))).sum())
    return np.maximum(out, 0.0)


def discrete_entropy(codes: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each column of integer codes."""
    codes = np.atleast_2d(codes.T).T
    out = np.zeros(codes.shape[1])
    for k in range(codes.shape[1]):
        p = np.unique(codes[:, k], return_counts=True)[1] / len(codes)
        out[k] = float(-(p * np.log(p)).sum())
    return out


def _check(
    latents: np.ndarray, factors: pd.DataFrame | np.ndarray, names: Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    lat = np.asarray(latents, dtype=float)
    if lat.ndim != 2 or lat.shape[1] == 0:
        raise SynthkitError(f"latents must be a matrix (rows × coordinates), got shape {lat.shape}")
    if len(lat) != len(factors):
        raise SynthkitError(
            f"the latents have {len(lat):,} rows but the factors {len(factors):,}: they must be row-aligned"
        )
    if len(lat) < 2:
        raise SynthkitError("need at least 2 rows to measure disentanglement")
    labels = list(names) if names is not None else [f"l{j + 1}" for j in range(lat.shape[1])]
    if len(labels) != lat.shape[1]:
        raise SynthkitError(f"{len(labels)} labels for {lat.shape[1]} latent coordinates")
    return lat, labels


def mutual_information_matrix(
    latents: np.ndarray,
    factors: pd.DataFrame | np.ndarray,
    *,
    bins: int = BINS,
    latent_labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Discrete MI between every binned latent coordinate and every factor:
    ``{"latents", "factors", "factor_coding", "entropy": {factor: nats},
    "mi": {latent: {factor: nats}}, "normalized": {latent: {factor: MI / H(factor)}}}``."""
    lat, names = _check(latents, factors, latent_labels)
    fcodes, fnames, kinds = factor_codes(factors, bins)
    m = discrete_mutual_info(discretize(lat, bins), fcodes)
    h = discrete_entropy(fcodes)
    norm = np.divide(m, h[None, :], out=np.zeros_like(m), where=h[None, :] > 0)
    return {
        "bins": bins,
        "latents": names,
        "factors": fnames,
        "factor_coding": dict(zip(fnames, kinds)),
        "entropy": {f: float(v) for f, v in zip(fnames, h)},
        "mi": {n: {f: float(m[j, k]) for k, f in enumerate(fnames)} for j, n in enumerate(names)},
        "normalized": {n: {f: float(norm[j, k]) for k, f in enumerate(fnames)} for j, n in enumerate(names)},
    }


def mig(
    latents: np.ndarray,
    factors: pd.DataFrame | np.ndarray,
    *,
    bins: int = BINS,
    latent_labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Mutual Information Gap (Chen et al. 2018), as disentanglement_lib computes it.

    Returns ``{"mig": float in [0, 1], "per_factor": {factor: {"gap", "top_latent",
    "second_latent", "top_normalized_mi"}}, "bins"}``. Factors of zero entropy (a
    constant) are left out of the mean. Needs at least 2 latent coordinates.
    """
    lat, names = _check(latents, factors, latent_labels)
    if lat.shape[1] < 2:
        raise SynthkitError("MIG needs at least 2 latent coordinates")
    mi = mutual_information_matrix(lat, factors, bins=bins, latent_labels=names)
    per: dict[str, Any] = {}
    gaps = []
    for f in mi["factors"]:
        h = mi["entropy"][f]
        col = np.array([mi["mi"][n][f] for n in names])
        order = np.argsort(-col, kind="stable")
        gap = float((col[order[0]] - col[order[1]]) / h) if h > 0 else None
        per[f] = {
            "gap": gap,
            "top_latent": names[order[0]],
            "second_latent": names[order[1]],
            "top_normalized_mi": float(col[order[0]] / h) if h > 0 else None,
        }
        if gap is not None:
            gaps.append(gap)
    return {"mig": float(np.mean(gaps)) if gaps else None, "per_factor": per, "bins": bins}


def factorvae_score(
    latents: np.ndarray,
    factors: pd.DataFrame | np.ndarray,
    *,
    bins: int = BINS,
    batch_size: int = 64,
    n_train: int = 5000,
    n_eval: int = 2500,
    prune_below: float = 0.05,
    min_group: int = 8,
    seed: int = 0,
    latent_labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """FactorVAE score (Kim & Mnih 2018) adapted to a fixed table (see the module notes).

    Returns ``{"score": eval accuracy, "train_accuracy", "active_latents", "classifier":
    {latent: factor}, "votes": {factor: {latent: count}} (training votes), "chance": 1/K,
    "ceiling": min(1, d_active/K), "settings": {...}}``; score 0 when no coordinate is
    active (disentanglement_lib's convention).
    """
    lat, names = _check(latents, factors, latent_labels)
    fcodes, fnames, _ = factor_codes(factors, bins)
    k_factors = fcodes.shape[1]
    settings = {"bins": bins, "batch_size": batch_size, "n_train": n_train, "n_eval": n_eval,
                "prune_below": prune_below, "min_group": min_group, "seed": seed}
    global_var = lat.var(axis=0, ddof=1)
    # disentanglement_lib's prune_dims: the *standard deviation* against the threshold
    # (0.05 in its FactorVAE configuration).
    active = np.nonzero(np.sqrt(global_var) >= prune_below)[0]
    base = {"chance": 1.0 / k_factors if k_factors else None, "active_latents": [names[j] for j in active],
            "settings": settings}
    if len(active) == 0 or k_factors == 0:
        return {"score": 0.0, "train_accuracy": 0.0, "classifier": {}, "votes": {}, "ceiling": 0.0, **base}
    rng = np.random.default_rng(seed)
    # Rows sharing each factor value, and which values have enough rows to form a batch.
    groups: list[dict[int, np.ndarray]] = []
    for k in range(k_factors):
        vals, inverse = np.unique(fcodes[:, k], return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.cumsum(np.bincount(inverse, minlength=len(vals)))
        members = np.split(order, bounds[:-1])
        groups.append({int(v): m for v, m in zip(vals, members) if len(m) >= min_group})
    usable = [k for k in range(k_factors) if groups[k]]
    if not usable:
        raise SynthkitError(
            f"no factor value is shared by at least {min_group} rows: too few rows for the FactorVAE score"
        )

    def votes(n: int) -> np.ndarray:
        out = np.zeros((k_factors, lat.shape[1]), dtype=np.int64)
        for _ in range(n):
            k = int(rng.integers(k_factors))
            if not groups[k]:
                continue  # a factor no value of which has min_group rows: cannot be fixed
            for _attempt in range(100):
                value = int(fcodes[rng.integers(len(fcodes)), k])
                if value in groups[k]:
                    break
            else:
                continue
            rows = groups[k][value]
            pick = rng.choice(rows, size=min(batch_size, len(rows)), replace=False)
            local = lat[pick][:, active].var(axis=0, ddof=1)
            j = active[int(np.argmin(local / global_var[active]))]
            out[k, j] += 1
        return out

    train = votes(n_train)
    evalv = votes(n_eval)
    classifier = np.argmax(train, axis=0)  # factor predicted for each coordinate
    cols = np.arange(lat.shape[1])

    def accuracy(v: np.ndarray) -> float:
        total = v.sum()
        return float(v[classifier, cols].sum() / total) if total else 0.0

    return {
        "score": accuracy(evalv),
        "train_accuracy": accuracy(train),
        "classifier": {names[j]: fnames[int(classifier[j])] for j in active},
        "votes": {fnames[k]: {names[j]: int(train[k, j]) for j in active if train[k, j]} for k in range(k_factors)},
        "ceiling": min(1.0, len(active) / k_factors),
        **base,
    }


def factor_matches(
    latents: np.ndarray,
    factors: pd.DataFrame | np.ndarray,
    *,
    bins: int = BINS,
    latent_labels: Sequence[str] | None = None,
    mi: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Which factor each coordinate best matches, by MI normalized by the factor's entropy
    (MIG's scale: 1 = the coordinate determines the binned factor):
    ``{"by_latent": {latent: {"factor", "normalized_mi", "second_factor",
    "second_normalized_mi"}}, "by_factor": {factor: {"latent", "normalized_mi"}}}``."""
    if mi is None:
        mi = mutual_information_matrix(latents, factors, bins=bins, latent_labels=latent_labels)
    fnames, names = mi["factors"], mi["latents"]
    by_latent = {}
    for n in names:
        ranked = sorted(fnames, key=lambda f: -mi["normalized"][n][f])
        by_latent[n] = {
            "factor": ranked[0],
            "normalized_mi": mi["normalized"][n][ranked[0]],
            "second_factor": ranked[1] if len(ranked) > 1 else None,
            "second_normalized_mi": mi["normalized"][n][ranked[1]] if len(ranked) > 1 else None,
        }
    by_factor = {}
    for f in fnames:
        best = max(names, key=lambda n: mi["normalized"][n][f])
        by_factor[f] = {"latent": best, "normalized_mi": mi["normalized"][best][f]}
    return {"by_latent": by_latent, "by_factor": by_factor}


def disentanglement(
    latents: np.ndarray,
    factors: pd.DataFrame | np.ndarray,
    *,
    bins: int = BINS,
    seed: int = 0,
    latent_labels: Sequence[str] | None = None,
    factorvae: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """MIG, FactorVAE score, the MI matrix and the factor matches of one set of latents,
    JSON-ready: ``{"mig", "mig_per_factor", "factorvae", "mutual_information",
    "matches"}``. `factorvae` passes options to :func:`factorvae_score`."""
    lat, names = _check(latents, factors, latent_labels)
    mi = mutual_information_matrix(lat, factors, bins=bins, latent_labels=names)
    out: dict[str, Any] = {"rows": len(lat)}
    if lat.shape[1] >= 2:
        g = mig(lat, factors, bins=bins, latent_labels=names)
        out["mig"], out["mig_per_factor"] = g["mig"], g["per_factor"]
    else:
        out["mig"], out["mig_per_factor"] = None, {}
    out["factorvae"] = factorvae_score(lat, factors, bins=bins, seed=seed, latent_labels=names, **(factorvae or {}))
    out["mutual_information"] = mi
    out["matches"] = factor_matches(lat, factors, mi=mi)
    return out
