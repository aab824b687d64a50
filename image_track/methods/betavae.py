"""β-VAE (Higgins et al. 2017, Eq. 4): −E_q[log p(x | z)] + β · KL(q(z | x) ‖ p(z)), with β > 1 pressing the
posterior towards the factorised prior (disentanglement_lib's ``vae``, which cites the same equation).

β defaults to 4: it lies in the lib study's sweep (config/unsupervised_study_v1/sweep.py: β ∈ {1, 2, 4, 6, 8, 16};
the lib has no default, ``vae.beta`` is swept), and it is the value Higgins et al. report for their dSprites
(2D shapes) model, the data this track's defaults are set for. 1 is the plain VAE (:mod:`.vae`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from image_track.methods.base import ConvVAE, ImageMethodConfig, kl_term


@dataclass
class BetaVAEConfig(ImageMethodConfig):
    """β-VAE settings."""

    #: β, the weight of the KL term (see the module docstring for the default).
    beta: float = 4.0


class BetaVAE(ConvVAE):
    """β-VAE: reconstruction + β · KL to N(0, I)."""

    name = "betavae"
    config_class = BetaVAEConfig

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        _, mu, logvar, nll = self.forward_terms(x)
        rec, kl = nll.mean(), kl_term(mu, logvar)
        assert isinstance(self.config, BetaVAEConfig)
        return rec + self.config.beta * kl, {"reconstruction": rec, "kl": kl}
