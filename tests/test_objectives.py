"""Objective terms against cases with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from synthkit.core.objectives import (
    _log_weights,
    aggregate_log_density,
    categorical_nll,
    decompose_kl,
    gaussian_log_density,
    gaussian_nll,
    kl_normal_standard,
    reparameterize,
)


def correlated_posteriors(n: int, rho: float, s2: float, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Posteriors N(mu_n, s2 I) with mu_n ~ N(0, Σ − s2 I): the aggregate q(z) is N(0, Σ),
    Σ = [[1, rho], [rho, 1]], so TC = −½ log(1 − rho²), dimension-wise KL = 0 and
    MI = H(q(z)) − H(q(z|x)) = ½ log(1 − rho²) − log s2 (two dimensions)."""
    g = torch.Generator().manual_seed(seed)
    sigma = torch.tensor([[1.0, rho], [rho, 1.0]], dtype=torch.float64)
    chol = torch.linalg.cholesky(sigma - s2 * torch.eye(2, dtype=torch.float64))
    mu = torch.randn(n, 2, generator=g, dtype=torch.float64) @ chol.T
    logvar = torch.full((n, 2), math.log(s2), dtype=torch.float64)
    z = reparameterize(mu, logvar, generator=g)
    return z, mu, logvar


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_decomposition_recovers_known_total_correlation(estimator: str) -> None:
    rho, s2, n = 0.7, 0.2, 4000
    z, mu, logvar = correlated_posteriors(n, rho, s2)
    d = decompose_kl(z, mu, logvar, dataset_size=n, estimator=estimator)  # type: ignore[arg-type]
    assert float(d.total_correlation) == pytest.approx(-0.5 * math.log(1 - rho**2), abs=0.05)
    assert float(d.mutual_information) == pytest.approx(0.5 * math.log(1 - rho**2) - math.log(s2), abs=0.05)
    assert float(d.dimension_wise_kl) == pytest.approx(0.0, abs=0.03)


def test_independent_latents_have_no_total_correlation() -> None:
    z, mu, logvar = correlated_posteriors(3000, 0.0, 0.3, seed=1)
    d = decompose_kl(z, mu, logvar, dataset_size=3000)
    assert abs(float(d.total_correlation)) < 0.03


def test_minibatch_estimates_are_close_to_full_batch_and_use_dataset_size() -> None:
    n = 4000
    z, mu, logvar = correlated_posteriors(n, 0.7, 0.2)
    full = decompose_kl(z, mu, logvar, dataset_size=n)
    idx = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:1024]
    batch = decompose_kl(z[idx], mu[idx], logvar[idx], dataset_size=n)
    assert float(batch.total_correlation) == pytest.approx(float(full.total_correlation), abs=0.05)
    # MSS weights depend on N: pretending the batch is the whole data set changes the estimate.
    wrong = decompose_kl(z[idx], mu[idx], logvar[idx], dataset_size=1024)
    assert float(wrong.mutual_information) != pytest.approx(float(batch.mutual_information), abs=1e-3)


def test_decomposition_sums_to_analytic_kl_for_large_batches() -> None:
    n = 3000
    z, mu, logvar = correlated_posteriors(n, 0.5, 0.25, seed=2)
    d = decompose_kl(z, mu, logvar, dataset_size=n)
    # E_x KL(q(z|x) ‖ p(z)) estimated by the sample: log q(z|x) − log p(z) averages to it.
    assert float(d.kl) == pytest.approx(float(kl_normal_standard(mu, logvar).mean()), abs=0.06)


def test_gradients_flow_through_every_term() -> None:
    mu = torch.randn(64, 3, requires_grad=True)
    logvar = torch.zeros(64, 3, requires_grad=True)
    z = reparameterize(mu, logvar)
    d = decompose_kl(z, mu, logvar, dataset_size=1000)
    (d.mutual_information + 2 * d.total_correlation + d.dimension_wise_kl).backward()
    assert mu.grad is not None and torch.isfinite(mu.grad).all() and mu.grad.abs().sum() > 0


def test_densities_and_likelihoods() -> None:
    x = torch.tensor([0.3, -1.2])
    assert torch.allclose(
        gaussian_log_density(x, torch.zeros(2), torch.zeros(2)),
        torch.distributions.Normal(0.0, 1.0).log_prob(x),
    )
    mean, log_scale = torch.tensor([0.1, 0.5]), torch.tensor([-1.0, 0.2])
    expected = -torch.distributions.Normal(mean, log_scale.exp()).log_prob(x)
    assert torch.allclose(gaussian_nll(x, mean, log_scale), expected)
    logits = torch.tensor([[2.0, 0.5, -1.0]])
    onehot = torch.tensor([[0.0, 1.0, 0.0]])
    assert torch.allclose(categorical_nll(onehot, logits), torch.nn.functional.cross_entropy(logits, torch.tensor([1]), reduction="none"))
    mu, logvar = torch.tensor([[0.5, -0.3]]), torch.tensor([[0.2, -0.4]])
    expected_kl = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, (0.5 * logvar).exp()), torch.distributions.Normal(0.0, 1.0)
    ).sum(-1)
    assert torch.allclose(kl_normal_standard(mu, logvar), expected_kl)


def test_reparameterize_is_seeded() -> None:
    mu, logvar = torch.zeros(5, 2), torch.zeros(5, 2)
    a = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(3))
    b = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_query_subset_estimates_match_the_full_batch() -> None:
    n = 4000
    z, mu, logvar = correlated_posteriors(n, 0.7, 0.2, seed=3)
    idx = torch.randperm(n, generator=torch.Generator().manual_seed(1))[:1000]
    full = decompose_kl(z[idx], mu[idx], logvar[idx], dataset_size=n)
    sub = decompose_kl(z[idx], mu[idx], logvar[idx], dataset_size=n, n_queries=250)
    assert float(sub.total_correlation) == pytest.approx(float(full.total_correlation), abs=0.06)
    assert float(sub.mutual_information) == pytest.approx(float(full.mutual_information), abs=0.1)
    same = decompose_kl(z[idx], mu[idx], logvar[idx], dataset_size=n, n_queries=1000)
    assert torch.equal(same.total_correlation, full.total_correlation)


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_fused_aggregate_density_matches_autograd_reference(estimator: str) -> None:
    """The hand-written backward of aggregate_log_density against autograd on the direct
    formula, and against finite differences (gradcheck, float64)."""
    g = torch.Generator().manual_seed(0)
    q, m, d = 5, 7, 3
    z = torch.randn(q, d, generator=g, dtype=torch.float64, requires_grad=True)
    mu = torch.randn(m, d, generator=g, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(m, d, generator=g, dtype=torch.float64, requires_grad=True)
    log_w = _log_weights(m, 100, estimator, mu)[:q]  # type: ignore[arg-type]

    def reference(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lp = gaussian_log_density(z[:, None, :], mu[None], logvar[None])
        return torch.logsumexp(log_w + lp.sum(2), 1), torch.logsumexp(log_w[:, :, None] + lp, 1).sum(1)

    fused, direct = aggregate_log_density(z, mu, logvar, log_w), reference(z, mu, logvar)
    for a, b in zip(fused, direct):
        assert torch.allclose(a, b)
    weights = torch.randn(2, q, generator=g, dtype=torch.float64)
    grads_fused = torch.autograd.grad((weights[0] * fused[0] + weights[1] * fused[1]).sum(), (z, mu, logvar))
    grads_direct = torch.autograd.grad((weights[0] * direct[0] + weights[1] * direct[1]).sum(), (z, mu, logvar))
    for a, b in zip(grads_fused, grads_direct):
        assert torch.allclose(a, b)
    assert torch.autograd.gradcheck(lambda *args: aggregate_log_density(*args, log_w), (z, mu, logvar))
