"""One-dimensional variational Gaussian mixture with a Dirichlet-process prior.

This is the model behind mode-specific normalization (Xu et al. 2019, "Modeling Tabular
Data using Conditional GAN", §4.2; paper 001 §6.1): a truncated stick-breaking Dirichlet
process mixture of at most `max_modes` Gaussians fitted by variational inference, whose
modes with posterior weight above a threshold (0.005) are kept. The updates are those of
Bishop (2006) §10.2 with a stick-breaking weight prior (Blei & Jordan 2006), i.e. the model
fitted by scikit-learn's ``BayesianGaussianMixture(weight_concentration_prior_type=
"dirichlet_process")`` that CTGAN/TVAE use, with the same priors (weight concentration
0.001, mean precision 1, mean prior = data mean, one degree of freedom, covariance prior =
data variance).

Why not call scikit-learn: it is the best-known bottleneck of CTGAN/TVAE on large tables.
Two things make this version fast without changing the model:

* Data compression. In one dimension, sorted data split into consecutive blocks of nearly
  equal count are summarised by each block's count, mean and within-block variance. The
  E-step scores block means; the M-step uses the blocks' exact first and second moments,
  so component variances are not underestimated. With a few thousand blocks each holds a
  tiny slice of the range, and the fit matches the full-data fit (see the benchmark in
  ``pipelines/bench_transformer.py``) at a cost independent of the row count.
* Deterministic initialisation. Responsibilities start from 1-D k-means seeded at evenly
  spaced quantiles, so the fit is reproducible and needs no random restarts.

Data are standardised before fitting so that the covariance regulariser (1e-6) is relative
to the column's scale, not its units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, logsumexp

#: Variance added to every component, in units of the column's variance (as scikit-learn's
#: ``reg_covar`` on standardised data).
REG_COVAR = 1e-6


@dataclass(frozen=True)
class GaussianModes:
    """The kept modes of a fitted mixture, in data units: weights sum to 1."""

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray

    @property
    def n_modes(self) -> int:
        """Number of modes kept."""
        return len(self.weights)

    def log_posterior(self, x: np.ndarray) -> np.ndarray:
        """Unnormalised log p(mode | x) for each value (rows) and mode (columns)."""
        z = (x[:, None] - self.means[None, :]) / self.stds[None, :]
        return np.log(self.weights)[None, :] - np.log(self.stds)[None, :] - 0.5 * z * z


def compress(x: np.ndarray, n_blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Summarise data by `n_blocks` consecutive blocks of its sorted values.

    Returns (count, mean, within-block variance), each of length `n_blocks`; when there are
    fewer values than blocks, each value is a block and the rest have count 0.
    """
    xs = np.sort(x)
    n = len(xs)
    if n <= n_blocks:
        pad = n_blocks - n
        return (
            np.concatenate((np.ones(n), np.zeros(pad))),
            np.concatenate((xs, np.full(pad, xs[-1]))),
            np.zeros(n_blocks),
        )
    starts = (np.arange(n_blocks) * n) // n_blocks
    counts = np.diff(np.append(starts, n))
    means = np.add.reduceat(xs, starts) / counts
    sq = np.add.reduceat((xs - np.repeat(means, counts)) ** 2, starts)
    return counts.astype(float), means, sq / counts


def _kmeans_1d(x: np.ndarray, w: np.ndarray, k: int, n_iter: int = 20) -> np.ndarray:
    """Weighted 1-D k-means from quantile seeds; returns a label per point."""
    cum = np.cumsum(w) / w.sum()
    centers = np.interp((np.arange(k) + 0.5) / k, cum, x)
    labels = np.zeros(len(x), dtype=int)
    for _ in range(n_iter):
        labels = np.abs(x[:, None] - centers[None, :]).argmin(axis=1)
        sums = np.bincount(labels, weights=w * x, minlength=k)
        tot = np.bincount(labels, weights=w, minlength=k)
        new = np.where(tot > 0, sums / np.maximum(tot, 1e-300), centers)
        if np.allclose(new, centers):
            break
        centers = new
    return labels


def fit_modes(x: np.ndarray, **kwargs: float) -> GaussianModes:
    """Fit the mixture to one column; see :func:`fit_modes_batch` for the options."""
    return fit_modes_batch([x], **kwargs)[0]


def fit_modes_batch(
    columns: list[np.ndarray],
    max_modes: int = 10,
    weight_threshold: float = 0.005,
    weight_concentration_prior: float = 1e-3,
    max_iter: int = 500,
    tol: float = 1e-9,
    n_blocks: int = 1024,
) -> list[GaussianModes]:
    """Fit a Dirichlet-process mixture to each column and keep modes above `weight_threshold`.

    All columns are fitted together, as one batch of arrays, so the per-iteration cost of
    the variational updates is paid once for the whole table. Iteration stops when the mean
    per-point log normaliser of the E-step changes by less than `tol` nats for every column,
    or after `max_iter` iterations. Variational inference prunes redundant modes slowly (their
    weights drift to zero over hundreds of iterations, far past scikit-learn's default of
    100), so the default runs long: each iteration is cheap on compressed data.
    """
    out: list[GaussianModes | None] = [None] * len(columns)
    batch, centers, scales = [], [], []
    for i, col in enumerate(columns):
        x = np.asarray(col, dtype=float)
        center = float(x.mean()) if len(x) else 0.0
        scale = float(x.std()) if len(x) > 1 else 0.0
        if not np.isfinite(scale) or scale == 0.0:
            out[i] = GaussianModes(np.ones(1), np.array([center]), np.array([max(abs(center) * 1e-6, 1e-12)]))
            continue
        batch.append(i)
        centers.append(center)
        scales.append(scale)
    if not batch:
        return out  # type: ignore[return-value]

    blocks = [compress((np.asarray(columns[i], float) - c) / s, n_blocks) for i, c, s in zip(batch, centers, scales)]
    w = np.stack([b[0] for b in blocks])  # (C, B)
    xb = np.stack([b[1] for b in blocks])
    vb = np.stack([b[2] for b in blocks])
    n = w.sum(axis=1, keepdims=True)  # (C, 1)
    k = max_modes
    eps = 10 * np.finfo(float).eps

    # Priors (scikit-learn's defaults for BayesianGaussianMixture, on standardised data).
    gamma0, lambda0, m0, nu0 = weight_concentration_prior, 1.0, 0.0, 1.0
    psi0 = ((w * (xb**2 + vb)).sum(axis=1, keepdims=True) / n)  # data variance, (C, 1)

    # Responsibilities are laid out (column, mode, block) so that reductions over modes run
    # along contiguous rows of blocks.
    resp = np.zeros((len(batch), k, w.shape[1]))
    for c in range(len(batch)):
        resp[c, _kmeans_1d(xb[c], w[c], k), np.arange(w.shape[1])] = 1.0

    # Both steps are quadratic forms in the block statistics, so each is one batched matrix
    # product: moments = [w, w·x, w·(x² + v)] @ respᵀ and log_prob = coefficients @ [1, x, x²].
    moments_lhs = np.stack((w, w * xb, w * (xb**2 + vb)), axis=1)  # (C, 3, B)
    design = np.stack((np.ones_like(xb), xb, xb**2), axis=1)  # (C, 3, B)
    prev = np.full(len(batch), -np.inf)
    for _ in range(max_iter):
        # M-step (Bishop 2006, Eqs. 10.51-10.53, 10.58-10.63; stick-breaking weights).
        mom = moments_lhs @ resp.transpose(0, 2, 1)  # (C, 3, K)
        nk = mom[:, 0] + eps
        xk = mom[:, 1] / nk
        sk = np.maximum(mom[:, 2] / nk - xk**2, 0.0) + REG_COVAR
        alpha = 1.0 + nk
        beta = gamma0 + np.concatenate((np.cumsum(nk[:, ::-1], axis=1)[:, -2::-1], np.zeros((len(batch), 1))), axis=1)
        lam = lambda0 + nk
        means = (lambda0 * m0 + nk * xk) / lam
        dof = nu0 + nk
        cov = (psi0 + nk * sk + nk * lambda0 / lam * (xk - m0) ** 2) / dof

        # E-step: expected log stick-breaking weights plus expected log likelihood.
        dsum = digamma(alpha + beta)
        log_w = digamma(alpha) - dsum
        log_w[:, 1:] += np.cumsum(digamma(beta) - dsum, axis=1)[:, :-1]
        const = log_w - 0.5 * (np.log(2 * np.pi) + np.log(cov) + np.log(dof)) + 0.5 * (
            np.log(2.0) + digamma(0.5 * dof) - 1.0 / lam
        )
        coef = np.stack((const - 0.5 * means**2 / cov, means / cov, -0.5 / cov), axis=2)  # (C, K, 3)
        log_prob = coef @ design  # (C, K, B)
        top = log_prob.max(axis=1, keepdims=True)
        np.subtract(log_prob, top, out=log_prob)
        np.exp(log_prob, out=log_prob)
        total = log_prob.sum(axis=1, keepdims=True)
        resp = np.divide(log_prob, total, out=log_prob)
        cur = (w * (np.log(total[:, 0]) + top[:, 0])).sum(axis=1) / n[:, 0]
        if np.all(np.abs(cur - prev) < tol):
            break
        prev = cur

    # Posterior mean weights of the stick-breaking process, from the last M-step (which
    # also gave `means` and `cov`).
    frac = beta / (alpha + beta)
    weights = alpha / (alpha + beta) * np.concatenate((np.ones((len(batch), 1)), np.cumprod(frac[:, :-1], axis=1)), axis=1)
    weights /= weights.sum(axis=1, keepdims=True)
    for c, i in enumerate(batch):
        keep = weights[c] > weight_threshold
        if not keep.any():
            keep = weights[c] == weights[c].max()
        order = np.argsort(means[c][keep])
        out[i] = GaussianModes(
            weights=(weights[c][keep] / weights[c][keep].sum())[order],
            means=(means[c][keep] * scales[c] + centers[c])[order],
            stds=(np.sqrt(cov[c][keep]) * scales[c])[order],
        )
    return out  # type: ignore[return-value]
