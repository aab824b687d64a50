"""The sampling prior fitted to the aggregate posterior (synthkit.core.priors) and MS-VAE's use of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from synthkit.core.priors import MixturePrior, fit_gaussian_mixture, mixture_components
from synthkit.datasets import simulate_credit
from synthkit.errors import SynthkitError
from synthkit.tabular.sampling import Workspace
from synthkit.tabular.synthesizer import Synthesizer


def test_components_follow_the_rows_per_parameter_rule() -> None:
    # 18 latents: 18 + 171 values a component, 2 rows each -> one component per 378 rows,
    # and none below the 10 components 3,780 rows support.
    assert [mixture_components(n, 18, 50) for n in (377, 800, 3_779, 3_780, 8_000, 19_000, 10**6)] == [0, 0, 0, 10, 21, 50, 50]
    # The cap applies after the floor: a user's cap below 10 still gets its components.
    assert mixture_components(10_000, 2, 3) == 3 and mixture_components(50, 2, 3) == 0


def test_em_reaches_scikit_learns_likelihood_and_parameters() -> None:
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 1.0], [0.0, 5.0, -2.0]])
    mix = np.linalg.cholesky(np.array([[1.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]]))
    side = rng.choice(3, 3_000, p=[0.5, 0.3, 0.2])
    x = centres[side] + rng.standard_normal((3_000, 3)) @ mix.T * np.array([1.0, 0.5, 2.0])[side, None]
    weights, means, cov = fit_gaussian_mixture(x, 3, seed=0)
    reference = GaussianMixture(3, covariance_type="full", reg_covar=1e-6, random_state=0).fit(x)
    ours = GaussianMixture(3, covariance_type="full")
    ours.weights_, ours.means_, ours.covariances_ = weights, means, cov
    ours.precisions_cholesky_ = np.linalg.cholesky(np.linalg.inv(cov))
    assert ours.score(x) == pytest.approx(reference.score(x), abs=1e-3)
    order, ref_order = np.argsort(means[:, 0] + 10 * means[:, 1]), np.argsort(reference.means_[:, 0] + 10 * reference.means_[:, 1])
    assert np.allclose(weights[order], reference.weights_[ref_order], atol=1e-3)
    assert np.allclose(means[order], reference.means_[ref_order], atol=1e-2)
    assert np.allclose(cov[order], reference.covariances_[ref_order], atol=2e-2)
    assert np.allclose(weights[order], [0.5, 0.3, 0.2], atol=0.03)


def test_a_fitted_mixture_draws_the_codes_distribution_widened_by_the_posterior_variance() -> None:
    rng = np.random.default_rng(0)
    n = 6_000
    side = rng.random(n) < 0.3
    means = np.column_stack([np.where(side, 3.0, -2.0) + 0.2 * rng.standard_normal(n), 0.01 * rng.standard_normal(n)])
    # Coordinate 0 is informative (small posterior variance); coordinate 1 is inactive.
    prior = MixturePrior(2).fit(means, np.array([0.05, 1.0]), max_components=4, seed=0)
    assert prior.components == 4  # 6,000 rows support 600 components in 2 dimensions; capped at 4
    draws = prior.draw_t(20_000, torch.Generator().manual_seed(1)).T.numpy()
    assert draws.shape == (20_000, 2)
    right = draws[:, 0] > 0.5
    assert abs(right.mean() - 0.3) < 0.02
    # Within a cluster: the codes' spread (0.2²) plus the posterior variance (0.05).
    assert abs(draws[right, 0].std() - np.sqrt(0.04 + 0.05)) < 0.03
    # The inactive coordinate draws ~N(0, 1), as the decoder saw it in training.
    assert abs(draws[:, 1].std() - 1.0) < 0.03 and abs(draws[:, 1].mean()) < 0.03
    # Same generator, same draws; and the density is the mixture's.
    again = prior.draw_t(20_000, torch.Generator().manual_seed(1)).T.numpy()
    assert np.array_equal(draws, again)
    assert float(prior.log_prob(torch.tensor([[3.0, 0.0]]))) > float(prior.log_prob(torch.tensor([[0.5, 0.0]]))) + 3


def test_too_few_rows_keep_the_standard_normal() -> None:
    prior = MixturePrior(18).fit(np.zeros((3_000, 18)), np.ones(18), max_components=50, seed=0)
    assert prior.components == 0 and prior.describe()["kind"] == "standard normal"
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(prior.draw_t(50, g1), torch.randn(18, 50, generator=g2))


@pytest.fixture(scope="module")
def credit() -> object:
    return simulate_credit(4_000, seed=0)[0]


def test_msvae_samples_from_the_mixture_and_training_is_unchanged(credit: object, tmp_path: Path) -> None:
    mixture = Synthesizer("msvae", seed=2, progress=False, epochs=3, cpu_threads=1).fit(credit, track=False)
    standard = Synthesizer("msvae", seed=2, progress=False, epochs=3, cpu_threads=1, prior="standard").fit(credit, track=False)
    assert mixture.summary["prior"]["components"] == 4_000 // 378
    assert standard.summary["prior"] == {"kind": "standard normal", "components": 0}
    # The prior is fitted after training: both stages' weights are the same either way.
    weights = {k: v for k, v in mixture.model.state_dict().items() if not k.startswith("prior.")}
    for k, v in standard.model.state_dict().items():
        if not k.startswith("prior."):
            assert torch.equal(v, weights[k]), k
    a, b = mixture.sample(800, seed=5), standard.sample(800, seed=5)
    assert not a.equals(b)
    # The plan's draws are the decoders' outputs for the mixture's codes, in the same stream.
    model, dims, n = mixture.model, mixture.model.latent_dims(), 3000
    g = torch.Generator().manual_seed(5)
    joint = model.prior.draw_t(n, g).T
    with torch.no_grad():
        y = model.stage1.heads.mean(model.stage1.decoder(joint[:, : dims["c"]]))
        heads = model.stage2.heads
        reference = heads.draw_t(heads.inference_rows(model.stage2.decoder(y, joint[:, dims["c"] :])), g)
        got = model.sampling_plan()(torch.Generator().manual_seed(5), n, Workspace())
    same = (got[0] == reference[0]).all(dim=0)
    assert float(same.float().mean()) > 0.995
    assert torch.allclose(got[1][:, same], reference[1][:, same], atol=1e-4)
    # Save → load → sample gives the same rows, with the same mixture.
    mixture.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    assert loaded.model.prior.components == mixture.model.prior.components
    assert loaded.sample(800, seed=5).equals(a)


def test_a_model_saved_without_a_prior_loads_and_samples_from_n01(credit: object, tmp_path: Path) -> None:
    standard = Synthesizer("msvae", seed=2, progress=False, epochs=2, cpu_threads=1, prior="standard").fit(credit, track=False)
    standard.save(tmp_path / "m")
    state = torch.load(tmp_path / "m" / "model.pt", weights_only=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("prior.")}, tmp_path / "m" / "model.pt")
    loaded = Synthesizer.load(tmp_path / "m")
    assert loaded.model.prior.components == 0
    assert loaded.sample(300, seed=1).equals(standard.sample(300, seed=1))


def test_a_bad_prior_option_is_a_one_line_error() -> None:
    with pytest.raises(SynthkitError, match="prior must be 'mixture' or 'standard', not 'gmm'"):
        Synthesizer("msvae", prior="gmm")
    with pytest.raises(SynthkitError, match="prior_components must be at least 1"):
        Synthesizer("msvae", prior_components=0)
    with pytest.raises(SynthkitError, match="unknown option 'prior'"):
        Synthesizer("tvae", prior="standard")
