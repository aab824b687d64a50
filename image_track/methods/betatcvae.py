"""β-TCVAE (Chen et al. 2018) over images, as disentanglement_lib implements it — the realisation MS-VAE's stage one
uses (paper 001 §3.2: "as provided in the disentanglement_lib package").

Chen et al.'s Eq. 4 weighs the three terms of the KL's decomposition (synthkit.core.objectives; Eq. 2 there)::

    loss = −E_q[log p(x | z)] + α · I_q(x; z) + β · TC(z) + γ · Σ_d KL(q(z_d) ‖ p(z_d))

With α = γ = 1 the three terms sum to the average KL(q(z | x) ‖ p(z)), so the loss is the ELBO plus (β − 1) · TC;
the lib (``beta_tc_vae``) writes it that way, with the KL computed analytically and only the TC estimated::

    loss = −E_q[log p(x | z)] + KL(q(z | x) ‖ p(z)) + (β − 1) · TC(z)

That is what is trained here. The TC is the tables' estimator, :func:`synthkit.core.objectives.decompose_kl`, on the
whole batch: minibatch-weighted sampling by default ("mws", Chen et al. §4.1 — the lib's estimator, whose dropped
constant does not change a gradient), or stratified ("mss", which needs N, the number of training images). The
mutual information and dimension-wise KL of the same decomposition are reported beside it. β = 1 is exactly the VAE.

β defaults to 6, from the lib study's sweep (config/unsupervised_study_v1/sweep.py: β ∈ {1, 2, 4, 6, 8, 10}); paper 001
§4 trains β from 1 to 10.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from image_track.methods.base import ConvVAE, ImageMethodConfig, kl_term
from synthkit.core.objectives import decompose_kl


@dataclass
class BetaTCVAEConfig(ImageMethodConfig):
    """β-TCVAE settings."""

    #: β, the weight of the total correlation (the disentanglement pressure; 1 is the VAE).
    beta: float = 6.0
    #: Estimator of q(z) in the TC: "mws" (minibatch weighted, the lib's) or "mss" (minibatch stratified).
    estimator: str = "mws"
    #: N, the number of training images; needed by "mss" only (e.g. dSprites: 737,280).
    dataset_size: int | None = None


class BetaTCVAE(ConvVAE):
    """β-TCVAE: the ELBO plus (β − 1) times the minibatch estimate of the total correlation."""

    name = "betatcvae"
    config_class = BetaTCVAEConfig

    def __init__(self, config: BetaTCVAEConfig) -> None:
        if config.estimator not in ("mws", "mss"):
            raise ValueError(f"estimator must be 'mws' or 'mss', not {config.estimator!r}")
        if config.estimator == "mss" and not (config.dataset_size or 0) >= 1:
            raise ValueError("estimator 'mss' needs dataset_size, the number of training images")
        super().__init__(config)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z, mu, logvar, nll = self.forward_terms(x)
        cfg = self.config
        assert isinstance(cfg, BetaTCVAEConfig)
        # N does not enter the minibatch-weighted estimate (every batch row weighs 1/M), so 1 stands in for it there.
        d = decompose_kl(z, mu, logvar, dataset_size=cfg.dataset_size or 1, estimator=cfg.estimator)  # type: ignore[arg-type]
        rec, kl = nll.mean(), kl_term(mu, logvar)
        return rec + kl + (cfg.beta - 1.0) * d.total_correlation, {
            "reconstruction": rec,
            "kl": kl,
            "mutual_information": d.mutual_information,
            "total_correlation": d.total_correlation,
            "dimension_wise_kl": d.dimension_wise_kl,
        }
