"""MS-VAE over images (Srivastava et al., paper 001 §3.2, Eq. 2): two stages trained one after the other.

Eq. 2 lower-bounds log p(x, y) by two terms, each maximised by its own stage::

    (a) C → Y:       −KL[q_φ(c | y) ‖ p(c)] + E_q[log p_θ(y | c)]
    (b) (Y, Z) → X:  −KL[q_θZ(z | x, y) ‖ p(z)] + E_q[log p_Θ(x | z, y)]

Stage one, (a), is a penalty-based disentangling method learning C from X ("this stage can be realized with any
penalty-based method"; the paper uses β-TCVAE, the default here): any single-stage method of the registry, trained
first with its own loss. Y is its mean reconstruction, the Bernoulli decoder's pixel probabilities at the posterior
mean of C (App. E.1: "we use means rather than samples in all of our experiments"; App. J describes one sampled c
per x with the likelihood's mean, which differs only in where c is read off q(c | x)).

Stage two, (b), is a conditional VAE trained while stage one stays fixed (App. M.1: end-to-end training entangles C
and Z); its loss, this model's ``loss(batch)``, is −(b) with the KL weighted by `residual_beta` (1: Eq. 2 as printed)::

    loss = −E_q[log p_Θ(x | z, y)] + residual_beta · KL[q_θZ(z | x, y) ‖ N(0, I)]

q_θZ(z | x, y) is :class:`~image_track.networks.ResidualConvEncoder` ("a function of the residual of X and Y"), and
G_Θ(Y, Z) is :class:`~image_track.networks.AdaINConvDecoder`: Y is its input and Z enters only through AdaIN after
every hidden layer (§3.2, App. M.2), so Z can only modulate features computed from Y.

Sampling: c ~ p(c) → Y = E[p_θ(y | c)] → z ~ p(z) → E[p_Θ(x | Y, z)].
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from image_track.methods.base import DEFAULT_NUM_STEPS, ConvVAE, ImageMethod, ImageMethodConfig, kl_term
from image_track.networks import AdaINConvDecoder, ImageSpec, ResidualConvEncoder, bernoulli_nll
from synthkit.core.methods import MethodConfig
from synthkit.core.objectives import reparameterize
from synthkit.core.trainer import Callback, History, StepTrainerConfig, train_steps


@dataclass
class MSVAEConfig(ImageMethodConfig):
    """MS-VAE settings: latent_dim is C's size (10, as in paper 001 §4), image_shape and arch are both stages'."""

    #: Registry name of stage one's method, any single-stage one (the paper's: "betatcvae").
    stage_one: str = "betatcvae"
    #: Stage one's own settings beyond the shared ones, e.g. {"beta": 6.0} (its defaults otherwise).
    stage_one_options: dict[str, Any] = field(default_factory=dict)
    #: Dimension of the residual latents Z (paper 001 §4: 5 for Cars3D, 10 for SmallNORB).
    residual_dim: int = 5
    #: Weight of stage two's KL(q(z | x, y) ‖ N(0, I)); 1 is Eq. 2 (b) as printed.
    residual_beta: float = 1.0


class ResidualVAE(nn.Module):
    """Stage two: q(z | x, y) and G(Y, Z)."""

    def __init__(self, spec: ImageSpec, residual_dim: int) -> None:
        super().__init__()
        self.residual_encoder = ResidualConvEncoder(spec, residual_dim)
        self.decoder = AdaINConvDecoder(spec, residual_dim)


def stage_one_class(name: str) -> type[ConvVAE]:
    """The registered single-stage method `name` (a one-line error for an unknown or a multi-stage one)."""
    from image_track.methods import IMAGE_METHODS  # the registry imports this module: look it up when building

    cls = IMAGE_METHODS[name]  # an unknown name: the registry's own one-line error
    singles = [n for n, c in IMAGE_METHODS.items() if issubclass(c, ConvVAE)]
    if name not in singles:
        raise ValueError(f"stage_one must be a single-stage method ({', '.join(singles)}), not {name!r}")
    return cls  # type: ignore[return-value]


class MSVAE(ImageMethod):
    """The two-stage model; `encode` gives C and Z, `decode` takes both."""

    name = "msvae"
    config_class = MSVAEConfig
    latent_names = ("c", "z")

    def __init__(self, config: MSVAEConfig) -> None:
        super().__init__(config)
        cls = stage_one_class(config.stage_one)
        shared = {"latent_dim": config.latent_dim, "image_shape": config.image_shape, "arch": config.arch}
        clash = sorted(set(shared) & set(config.stage_one_options))
        if clash:
            raise ValueError(f"stage_one_options cannot set {clash[0]!r}: MS-VAE's own field sets it for both stages")
        stage_one_config: MethodConfig = cls.config_class.from_dict({**config.stage_one_options, **shared})
        self.stage1 = cls(stage_one_config)  # type: ignore[arg-type]
        self.stage2 = ResidualVAE(self.spec, config.residual_dim)

    def latent_dims(self) -> dict[str, int]:
        assert isinstance(self.config, MSVAEConfig)
        return {"c": self.config.latent_dim, "z": self.config.residual_dim}

    def trained_parameters(self) -> Iterator[nn.Parameter]:
        """Stage two's: stage one is trained first and then kept fixed (App. M.1)."""
        return self.stage2.parameters()

    @torch.no_grad()
    def stage_one_reconstruction(self, c: torch.Tensor) -> torch.Tensor:
        """Y = E[p_θ(y | c)]: stage one's decoder mean at `c`."""
        return self.stage1.decode({self.stage1.latent_names[0]: c})

    def residual_posterior(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z | x, y)."""
        return self.stage2.residual_encoder(x, y)

    def residual_decode(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Logits of p_Θ(x | y, z) = G_Θ(Y, Z)."""
        return self.stage2.decoder(y, z)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Stage two's objective, −(b) of Eq. 2, with Y from the fixed stage one."""
        y = self.stage1.reconstruct(x)
        mu, logvar = self.residual_posterior(x, y)
        z = reparameterize(mu, logvar)
        rec, kl = bernoulli_nll(x, self.residual_decode(y, z)).mean(), kl_term(mu, logvar)
        assert isinstance(self.config, MSVAEConfig)
        return rec + self.config.residual_beta * kl, {"reconstruction": rec, "kl": kl}

    def fit(
        self,
        batches: Iterable[torch.Tensor],
        num_steps: int = DEFAULT_NUM_STEPS,
        seed: int = 0,
        trainer: StepTrainerConfig | None = None,
        callbacks: list[Callback] | None = None,
    ) -> dict[str, History]:
        """Stage one for `num_steps` steps on its own loss, then stage two for `num_steps` on :meth:`loss`.

        Each stage iterates `batches` anew: a re-iterable stream (a list, a dataset's ``as_torch``) gives both stages
        the same batches, as both tabular stages see the same rows; a one-pass iterator goes on where stage one
        stopped, so it must hold 2 · num_steps batches."""
        trainer = trainer or StepTrainerConfig()
        callbacks = list(callbacks or [])
        stage1 = self.stage1.train_stage(batches, num_steps, seed, trainer, callbacks, "stage1")
        stage2 = train_steps(self, batches, num_steps, trainer, seed=seed + 1, callbacks=callbacks,
                             description="stage 2 (residual)", stage="stage2")
        return {"stage1": stage1, "stage2": stage2}

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.stage1.encode(x)[self.stage1.latent_names[0]]
        return {"c": c, "z": self.residual_posterior(x, self.stage_one_reconstruction(c))[0]}

    @torch.no_grad()
    def decode(self, latents: dict[str, torch.Tensor]) -> torch.Tensor:
        y = self.stage_one_reconstruction(latents["c"])
        return torch.sigmoid(self.residual_decode(y, latents["z"]))
