"""TVAE (Xu et al. 2019, "Modeling Tabular Data using Conditional GAN"; paper 001 §6.1).

A VAE over mode-specific normalised rows: loss = loss_factor · reconstruction NLL + KL, with
TVAE's loss factor of 2 weighting the reconstruction.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from synthkit.tabular.methods.base import MethodConfig, SingleStageVAE, kl_term


@dataclass
class TVAEConfig(MethodConfig):
    """TVAE settings (latent 9 as in the paper's Tables 1–2; Xu et al. used 128)."""

    #: Weight of the reconstruction term (TVAE's loss_factor).
    loss_factor: float = 2.0


class TVAE(SingleStageVAE):
    """TVAE: reconstruction + KL to N(0, I)."""

    name = "tvae"
    config_class = TVAEConfig
    latent_names = ("z",)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        _, mu, logvar, nll = self.forward_terms(x)
        rec, kl = nll.mean(), kl_term(mu, logvar)
        assert isinstance(self.config, TVAEConfig)
        return self.config.loss_factor * rec + kl, {"reconstruction": rec, "kl": kl}
