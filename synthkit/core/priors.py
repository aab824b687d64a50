"""A sampling prior fitted to the aggregate posterior: a Gaussian mixture over the latent codes.

A VAE is trained against N(0, I), but what its decoder has learnt to read is the *aggregate
posterior* q(z) = 1/N Σ_i q(z | x_i), and the two differ: some regions of N(0, I) hold no
training row's code (the "holes" of Rosca et al. 2018; Dai & Wipf 2019), and there the
decoder's output is a row no training row resembles. Ghosh et al. (2020, "From variational
to deterministic autoencoders", §4 "ex-post density estimation") fit a density to the
training codes after training and sample from it instead; a Gaussian mixture was their
simplest and one of their best choices. This module does that for any method whose latent
blocks have Gaussian posteriors.

The mixture is fitted to the posterior means of the training rows (EM), and
every component's covariance is widened by the mean posterior variance of each coordinate:
q(z) is the mixture of the posteriors N(μ_i, σ_i²), so a density of the means alone would be
narrower than q(z) by that much, and no component ends up narrower than the encoder's own
uncertainty about a row (a component cannot shrink onto one training row's code). An
inactive coordinate (means ≈ 0, posterior variance ≈ 1) keeps drawing from ≈ N(0, 1), as
the decoder saw in training.

*How many components.* A full covariance in d dimensions has d + d(d+1)/2 free values per
component; the mixture gets one component for every :data:`ROWS_PER_PARAMETER` × that many
rows, at most `max_components`. A table with rows for fewer than :data:`MIN_COMPONENTS`
keeps N(0, I): for MS-VAE's 9 + 9 latents, one component per 378 rows, none below 3,780
rows, 21 on 8,000 rows, 50 from ~19,000. Why the floor: on the three tables of 8,000
training rows and more measured (lending, the messy and the clean simulated credit data) the
mixture lowered the XGBoost C2ST AUC by 0.03–0.05; on the five of 800–3,600 rows it did not
lower it (mean 0.613–0.626 over 1–20 components, against 0.602 with N(0, I); two sampling
seeds each, docs/real_tables.md, "Sampling from the codes' own distribution"), and a density
fitted to few rows' codes adds what those rows happen to hold. Ten components is where a
mixture starts to describe the codes' shape rather than one or two blobs; the tables
measured leave the line anywhere between 3,600 and 8,000 rows, and it is drawn by that
count, not by a table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

#: Training rows per free value of a component (mean and full covariance).
ROWS_PER_PARAMETER = 2
#: Fewer components than this and sampling keeps N(0, I) (see the module docstring).
MIN_COMPONENTS = 10
#: Rows the mixture is fitted on at most (a random subset of larger tables): EM's cost
#: grows with rows × components × d², and 20,000 rows already hold 2 per value of 50
#: components in 18 dimensions.
MAX_FIT_ROWS = 20_000


def mixture_components(rows: int, dim: int, max_components: int) -> int:
    """Components the mixture gets for `rows` training codes of `dim` coordinates (0: N(0, I))."""
    per_component = ROWS_PER_PARAMETER * (dim + dim * (dim + 1) // 2)
    supported = rows // per_component
    return 0 if supported < MIN_COMPONENTS else min(max_components, supported)


def fit_gaussian_mixture(x: np.ndarray, k: int, seed: int, tol: float = 1e-3, max_iter: int = 200,
                         reg_covar: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EM for a full-covariance Gaussian mixture: weights (k,), means (k, d), covariances
    (k, d, d). The algorithm and stopping rule of scikit-learn's GaussianMixture (its default
    initialisation: one k-means run's clusters as the first responsibilities; stop when the mean
    log-likelihood per row changes by less than `tol`; `reg_covar` on the diagonal), in
    batched float64 PyTorch: each iteration is a few matrix products over all components at
    once, where scikit-learn loops over components in Python. 50 components on 20,000 codes
    of the credit model in 18 dimensions, at tol 1e-3: scikit-learn 21.6 s (mean
    log-likelihood 13.7798 a row), this 5.1 s (13.7788); at 1e-2: 11.7 s (13.6404) against
    1.5 s (13.6338)."""
    from sklearn.cluster import KMeans

    data = torch.as_tensor(x, dtype=torch.float64)
    n, d = data.shape
    labels = KMeans(k, n_init=1, random_state=seed).fit(np.asarray(x, dtype=np.float64)).labels_
    resp = torch.nn.functional.one_hot(torch.as_tensor(labels, dtype=torch.int64), k).to(torch.float64)
    eye = torch.eye(d, dtype=torch.float64)
    previous = -math.inf
    # Outer products of the rows, flattened: the weighted second moments of all components
    # are then one matrix product (n × d² by the responsibilities).
    outer = (data[:, :, None] * data[:, None, :]).reshape(n, d * d)
    with torch.no_grad():
        for _ in range(max_iter):
            # M step.
            counts = resp.sum(0) + 10 * torch.finfo(torch.float64).eps
            weights = counts / n
            mu = (resp.T @ data) / counts[:, None]
            second = (resp.T @ outer).reshape(k, d, d) / counts[:, None, None]
            cov = second - mu[:, :, None] * mu[:, None, :] + reg_covar * eye
            # E step: log N(x | μ_k, Σ_k) = −½ (xᵀΛ_k x − 2 μ_kᵀΛ_k x + μ_kᵀΛ_k μ_k) − ½ log det Σ_k
            # − d/2 log 2π, Λ_k = Σ_k⁻¹: two matrix products for all components and rows
            # (the quadratic form through the flattened outer products), no n × k × d array.
            chol = torch.linalg.cholesky(cov)
            precision = torch.cholesky_inverse(chol)
            lam_mu = torch.einsum("kde,ke->kd", precision, mu)
            quadratic = outer @ precision.reshape(k, d * d).T - 2 * data @ lam_mu.T + (lam_mu * mu).sum(1)[None]
            log_det = 2 * torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(1)
            joint = -0.5 * quadratic + (torch.log(weights) - 0.5 * (log_det + d * math.log(2 * math.pi)))[None]
            log_lik = torch.logsumexp(joint, dim=1, keepdim=True)
            resp = torch.exp(joint - log_lik)
            current = float(log_lik.mean())
            if abs(current - previous) < tol:
                break
            previous = current
    return weights.numpy(), mu.numpy(), cov.numpy()


def prior_sentence(described: dict[str, Any]) -> str:
    """One line for a user or a reviewer from :meth:`MixturePrior.describe`'s dict (as the fit
    summary keeps it): the CLI's fit summary and the compliance report print it."""
    if described.get("components"):
        return (f"a {described['components']}-component Gaussian mixture fitted after training to the training rows' "
                "latent codes")
    return "N(0, I), as in the paper"


class MixturePrior(nn.Module):
    """A Gaussian mixture over a latent vector, stored as buffers (saved with the model).

    With no components (the default, and a model too small for one) :meth:`draw_t` draws
    N(0, I). Buffers: ``weights`` (K,), ``means`` (K, d), ``scale_tril`` (K, d, d), the
    Cholesky factors of the covariances.
    """

    _BUFFERS = ("weights", "means", "scale_tril")

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.register_buffer("weights", torch.zeros(0))
        self.register_buffer("means", torch.zeros(0, dim))
        self.register_buffer("scale_tril", torch.zeros(0, dim, dim))

    @property
    def components(self) -> int:
        return len(self.weights)

    def fit(self, means: np.ndarray, variances: np.ndarray, max_components: int, seed: int) -> MixturePrior:
        """Fit to the posterior `means` (rows × d) and mean posterior `variances` (d,) of the
        training rows; see the module docstring for the number of components."""
        means = np.asarray(means, dtype=np.float64)
        k = mixture_components(len(means), self.dim, max_components)
        if k == 0:
            self._set(torch.zeros(0), torch.zeros(0, self.dim), torch.zeros(0, self.dim, self.dim))
            return self
        rng = np.random.default_rng(seed)
        if len(means) > MAX_FIT_ROWS:
            means = means[rng.choice(len(means), MAX_FIT_ROWS, replace=False)]
        # EM stops at a change of 0.01 nats in a row's mean log-likelihood: 1.5 s for 50
        # components on 20,000 codes (5.1 s at 0.001, for a likelihood 0.15 nats a row higher).
        weights, centres, cov = fit_gaussian_mixture(means, k, int(rng.integers(2**31)), tol=1e-2)
        cov = cov + np.diag(np.asarray(variances, dtype=np.float64))[None]
        self._set(torch.as_tensor(weights, dtype=torch.float32), torch.as_tensor(centres, dtype=torch.float32),
                  torch.as_tensor(np.linalg.cholesky(cov), dtype=torch.float32))
        return self

    def _set(self, weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor) -> None:
        self.weights, self.means, self.scale_tril = weights, means, scale_tril

    def draw_t(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """d × n draws (transposed, as the sampling plans hold latents)."""
        if not self.components:
            return torch.randn(self.dim, n, generator=generator)
        index = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        # Rows grouped by component, so that each component is one product on contiguous
        # rows (x = μ_k + ε L_kᵀ), then put back where their components were drawn: a
        # gathered (n × d × d) batch of factors was ~2.5× slower for 50 components.
        order = torch.argsort(index, stable=True)
        eps = torch.randn(n, self.dim, generator=generator)
        grouped = torch.empty(n, self.dim)
        start = 0
        for k, count in enumerate(torch.bincount(index, minlength=self.components).tolist()):
            if count:
                rows = slice(start, start + count)
                torch.addmm(self.means[k], eps[rows], self.scale_tril[k].T, out=grouped[rows])
                start += count
        out = torch.empty(n, self.dim)
        out.index_copy_(0, order, grouped)
        return out.T

    def describe(self) -> dict[str, Any]:
        """For the fit summary and the model card."""
        if not self.components:
            return {"kind": "standard normal", "components": 0}
        return {"kind": "Gaussian mixture fitted to the training rows' posteriors", "components": self.components,
                "largest_weight": round(float(self.weights.max()), 4)}

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # The number of components is the saved model's; a model saved before this prior
        # existed has none of these buffers and samples from N(0, I), as it did.
        for name in self._BUFFERS:
            key = prefix + name
            if key in state_dict:
                setattr(self, name, torch.empty_like(state_dict[key]))
            else:
                state_dict[key] = getattr(self, name)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log density of rows `x` (n × d): for tests and diagnostics."""
        if not self.components:
            return -0.5 * (x**2).sum(1) - 0.5 * self.dim * math.log(2 * math.pi)
        mix = torch.distributions.Categorical(probs=self.weights)
        comp = torch.distributions.MultivariateNormal(self.means, scale_tril=self.scale_tril)
        return torch.distributions.MixtureSameFamily(mix, comp).log_prob(x)
