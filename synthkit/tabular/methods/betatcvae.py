"""β-TCVAE (Chen et al. 2018; stage one of MS-VAE, paper 001 §3.2).

loss = λ · reconstruction NLL + α · I(x; z) + β · TC(z) + γ · Σ_d KL(q(z_d) ‖ p(z_d)),
with α = γ = 1 (Chen et al.'s setting) and the KL decomposition estimated on each minibatch
(:func:`synthkit.core.objectives.decompose_kl`, minibatch-stratified by default, with N the
number of training rows).

λ is TVAE's reconstruction weight (its "loss factor", 2), so that β-TCVAE and TVAE weigh
reconstruction against the KL alike; in Chen et al.'s parameterisation (λ = 1) the default
equals α = γ = ½, β = 3.5. Why not λ = 1: on the mode-specific-normalised credit data,
λ = 1 with β = 7 left 2 of the 9 coordinates of C in use (mean KL ≥ 0.01 nats), also after
448 epochs, with MIG 0.04–0.05 against the simulation's factors; λ = 2 used 3, with MIG
0.06–0.10, and reconstructed better (docs/models.md, "Stage one's latents"; two seeds, twice).
The paper, on min-max-scaled data, found six groups of features in C (Table 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from synthkit.core.objectives import decompose_kl
from synthkit.tabular.methods.base import MethodConfig, SingleStageVAE


@dataclass
class BetaTCVAEConfig(MethodConfig):
    """β-TCVAE settings."""

    #: Weight of the total-correlation term (the disentanglement pressure).
    beta: float = 7.0
    #: Weight of the index-code mutual information.
    alpha: float = 1.0
    #: Weight of the dimension-wise KL.
    gamma: float = 1.0
    #: λ, the weight of the reconstruction term (TVAE's loss factor; see the module docstring).
    loss_factor: float = 2.0
    #: Estimator of q(z): "mss" (minibatch stratified) or "mws" (minibatch weighted).
    estimator: str = "mss"
    #: Batch rows at which the KL terms are evaluated, each against all the batch's
    #: posteriors (see decompose_kl); the whole batch when larger than it.
    kl_queries: int = 128


class BetaTCVAE(SingleStageVAE):
    """β-TCVAE over tables; its latents are MS-VAE's C."""

    name = "betatcvae"
    config_class = BetaTCVAEConfig
    latent_names = ("c",)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z, mu, logvar, nll = self.forward_terms(x)
        cfg = self.config
        assert isinstance(cfg, BetaTCVAEConfig)
        d = decompose_kl(
            z, mu, logvar, dataset_size=self.dataset_size, estimator=cfg.estimator, n_queries=cfg.kl_queries  # type: ignore[arg-type]
        )
        rec = nll.mean()
        total = cfg.loss_factor * rec + cfg.alpha * d.mutual_information + cfg.beta * d.total_correlation + cfg.gamma * d.dimension_wise_kl
        return total, {
            "reconstruction": rec,
            "mutual_information": d.mutual_information,
            "total_correlation": d.total_correlation,
            "dimension_wise_kl": d.dimension_wise_kl,
        }
