"""VAE (Kingma & Welling 2014): the ELBO of paper 001 Eq. 1, −E_q[log p(x | z)] + KL(q(z | x) ‖ p(z)), i.e. β-VAE at
β = 1 (disentanglement_lib's study configs set ``vae.beta = 1.`` as the shared default)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from image_track.methods.base import ConvVAE, ImageMethodConfig, kl_term


@dataclass
class VAEConfig(ImageMethodConfig):
    """VAE settings: only the shared ones (latent_dim, image_shape, arch)."""


class VAE(ConvVAE):
    """The plain VAE: reconstruction + KL to N(0, I)."""

    name = "vae"
    config_class = VAEConfig

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        _, mu, logvar, nll = self.forward_terms(x)
        rec, kl = nll.mean(), kl_term(mu, logvar)
        return rec + kl, {"reconstruction": rec, "kl": kl}
