"""What every tabular method provides to the Synthesizer."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from synthkit.core import methods
from synthkit.core.objectives import kl_normal_standard, reparameterize
from synthkit.core.trainer import Callback, History, TrainerConfig, train
from synthkit.tabular.heads import OutputHeads
from synthkit.tabular.networks import GaussianEncoder, mlp
from synthkit.tabular.sampling import Plan, mlp_plan
from synthkit.tabular.transformer import Span


@dataclass
class MethodConfig(methods.MethodConfig):
    """Fields shared by every tabular method's config (core's, with the tables' latent size, plus widths)."""

    #: Dimension of the latent code (9, as in the paper's Tables 1–2).
    latent_dim: int = 9
    #: Hidden layer widths of encoder and decoder (TVAE's: 128, 128).
    hidden: tuple[int, ...] = (128, 128)


class TabularMethod(methods.Method):
    """A generative model over transformer space: core's method contract plus what is about tables — the
    transformer's column spans, per-column output heads, sampling plans. Subclasses set `name`, `config_class` and
    `latent_names` and implement the methods marked abstract; a single-stage method also defines ``loss(batch)``,
    which the default `fit` trains."""

    config_class: ClassVar[type[methods.MethodConfig]] = MethodConfig

    def __init__(self, config: MethodConfig, spans: list[Span]) -> None:
        super().__init__(config)
        self.spans = spans
        #: Rows the model trains on (N in the TC estimators); set by the trainer.
        self.dataset_size = 1

    def fit(self, data: np.ndarray, trainer: TrainerConfig, seed: int, callbacks: list[Callback]) -> dict[str, History]:
        """Train on rows of transformer space; returns the history of each stage."""
        return {"model": train(self, data, trainer, seed=seed, callbacks=callbacks, description=self.name)}

    @abstractmethod
    def decode_codes(
        self, latents: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows drawn from p(x | latents), compactly (see OutputHeads.sample_codes)."""

    @abstractmethod
    def sampling_plan(self) -> Plan:
        """The decoder arranged for fast sampling (synthkit.tabular.sampling); build it
        after training, it copies the weights."""

    @abstractmethod
    def decode(self, latents: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """Rows drawn from p(x | latents), in transformer space (`generator` drives the draws)."""

    @abstractmethod
    def reconstructions(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Mean reconstructions of `x` (posterior means in, expected rows out), per stage."""


class SingleStageVAE(TabularMethod):
    """Encoder q(z|x), decoder p(x|z) with per-column heads; subclasses define
    ``loss(batch) -> (total, {term: value})``."""

    def __init__(self, config: MethodConfig, spans: list[Span]) -> None:
        super().__init__(config, spans)
        self.heads = OutputHeads(spans)
        self.encoder = GaussianEncoder(self.heads.output_dim, config.hidden, config.latent_dim)
        self.decoder = mlp(config.latent_dim, tuple(reversed(config.hidden)), self.heads.raw_dim)

    def forward_terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """z ~ q(z|x), its mean and log-variance, and the reconstruction NLL per row."""
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar)
        nll = self.heads.nll_hidden(x, self.decoder[:-1](z), self.decoder[-1])
        return z, mu, logvar, nll

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {self.latent_names[0]: self.encoder(x)[0]}

    @torch.no_grad()
    def decode_codes(
        self, latents: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.heads.sample_codes(self.decoder(latents[self.latent_names[0]]), generator)

    @torch.no_grad()
    def decode(self, latents: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        return self.heads.to_rows(*self.decode_codes(latents, generator))

    def sampling_plan(self) -> Plan:
        return mlp_plan(self.decoder, self.heads, self.config.latent_dim)

    @torch.no_grad()
    def reconstruct_mean(self, x: torch.Tensor) -> torch.Tensor:
        """The mean reconstruction dec(E[z|x]) in transformer space (MS-VAE's Y)."""
        return self.heads.mean(self.decoder(self.encoder(x)[0]))

    @torch.no_grad()
    def reconstructions(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {self.name: self.reconstruct_mean(x)}


def kl_term(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Batch mean of the analytic KL(q(z|x) ‖ N(0, I))."""
    return kl_normal_standard(mu, logvar).mean()
