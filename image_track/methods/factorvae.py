"""FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising"), as disentanglement_lib implements it.

Objective (their Eq. 2, minimised)::

    loss = −E_q[log p(x | z)] + KL(q(z | x) ‖ p(z)) + γ · TC(z),   TC(z) ≈ E_q(z)[logit₀ D(z) − logit₁ D(z)]

The total correlation KL(q(z) ‖ ∏_d q(z_d)) is the density-ratio estimate of a discriminator D that tells samples of
q(z) (class 0) from samples of ∏_d q(z_d) (class 1, made by shuffling each dimension across the batch:
:func:`synthkit.core.objectives.permute_dims`); their Eq. 3,
:func:`~synthkit.core.objectives.density_ratio_total_correlation`.
D is :class:`~image_track.networks.FactorVAEDiscriminator` (six 1000-unit layers, App. A). The VAE's optimizer does not
update D; D is trained after each VAE step by the trainer's `aux_step` hook with its own Adam — learning rate 1e-4,
β (0.5, 0.9), ε 1e-8 (the lib's ``discriminator/AdamOptimizer`` in config/unsupervised_study_v1/model_configs/
shared.gin) — on the same batch's latents z and their permutation, as the lib's grouped train ops do (D's update
sees the z the VAE step was computed from; Kim & Mnih's Algorithm 1 permutes a second batch).

γ defaults to 10, the smallest value of the lib study's sweep (config/unsupervised_study_v1/sweep.py:
``factor_vae.gamma`` ∈ {10, 20, 30, 40, 50, 100}; the lib has no default, the parameter is gin.REQUIRED).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from image_track.methods.base import ConvVAE, ImageMethodConfig, kl_term
from image_track.networks import FactorVAEDiscriminator
from synthkit.core.objectives import density_ratio_discriminator_loss, density_ratio_total_correlation, permute_dims
from synthkit.core.trainer import AuxStep, StepTrainerConfig, make_adam, resolve_device


@dataclass
class FactorVAEConfig(ImageMethodConfig):
    """FactorVAE settings."""

    #: γ, the weight of the discriminator's total-correlation estimate (see the module docstring for the default).
    gamma: float = 10.0
    #: Learning rate of the discriminator's Adam (the lib's 1e-4).
    discriminator_learning_rate: float = 1e-4
    #: (β1, β2) of the discriminator's Adam (the lib's 0.5, 0.9).
    discriminator_betas: tuple[float, float] = (0.5, 0.9)


class FactorVAE(ConvVAE):
    """FactorVAE: the ELBO plus γ times a density-ratio discriminator's estimate of the total correlation."""

    name = "factorvae"
    config_class = FactorVAEConfig

    def __init__(self, config: FactorVAEConfig) -> None:
        super().__init__(config)
        self.discriminator = FactorVAEDiscriminator(config.latent_dim)
        #: The latents of the last training batch (detached): what the discriminator's step learns from.
        self.last_latents: torch.Tensor | None = None

    def trained_parameters(self) -> Iterator[nn.Parameter]:
        """The encoder's and decoder's: the discriminator has its own optimizer (:meth:`aux_step`)."""
        return itertools.chain(self.encoder.parameters(), self.decoder.parameters())

    def total_correlation(self, z: torch.Tensor) -> torch.Tensor:
        """The discriminator's estimate of TC(z) from samples `z` of q(z): the batch mean of logit₀ − logit₁."""
        return density_ratio_total_correlation(self.discriminator(z))

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z, mu, logvar, nll = self.forward_terms(x)
        if self.training:
            self.last_latents = z.detach()
        rec, kl, tc = nll.mean(), kl_term(mu, logvar), self.total_correlation(z)
        assert isinstance(self.config, FactorVAEConfig)
        return rec + kl + self.config.gamma * tc, {"reconstruction": rec, "kl": kl, "total_correlation": tc}

    def aux_step(self, trainer: StepTrainerConfig) -> AuxStep:
        """One step of the discriminator's own Adam after each VAE step (class 0: z ~ q(z), class 1: permuted z)."""
        cfg = self.config
        assert isinstance(cfg, FactorVAEConfig)
        optimizer = make_adam(
            self.discriminator.parameters(), resolve_device(trainer.device), cfg.discriminator_learning_rate,
            betas=tuple(cfg.discriminator_betas),  # type: ignore[arg-type]
        )

        def step(model: nn.Module, batch: torch.Tensor, index: int) -> dict[str, torch.Tensor]:
            z = self.last_latents
            assert z is not None, "the VAE step runs first"
            loss = density_ratio_discriminator_loss(self.discriminator(z), self.discriminator(permute_dims(z)))
            optimizer.zero_grad(set_to_none=True)  # also drops the gradient the VAE's TC term left on D
            loss.backward()
            optimizer.step()
            return {"discriminator": loss}

        return step
