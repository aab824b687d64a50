"""MS-VAE (Srivastava et al., paper 001 §3.2, Eq. 2): two stages trained separately.

Stage one is a β-TCVAE over C; Y = dec₁(E[c | x]) is its mean reconstruction (App. E.1
uses means), expressed in transformer space (Gaussian means, softmax probabilities).
Stage two is a conditional VAE: a residual encoder q(z | x − y, y) and a decoder G(Y, Z)
that takes Y as its input and receives Z only through AdaIN after every hidden layer.
The stages train one after the other — App. M.1 shows end-to-end training entangles C and
Z — and stage one is frozen while stage two trains.

Sampling: (c, z) ~ p(c, z) → Y = dec₁(c) → X ~ p(x | G(Y, z)). The paper's p(c, z) is
N(0, I); by default synthkit samples from a Gaussian mixture fitted after training to the
training rows' posteriors (`prior`, synthkit.core.priors), which the decoders learnt from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from synthkit.core.objectives import reparameterize
from synthkit.core.priors import MixturePrior
from synthkit.core.trainer import Callback, History, TrainerConfig, train
from synthkit.tabular.heads import OutputHeads
from synthkit.tabular.methods.base import TabularMethod, kl_term
from synthkit.tabular.methods.betatcvae import BetaTCVAE, BetaTCVAEConfig
from synthkit.tabular.networks import AdaINDecoder, GaussianEncoder
from synthkit.tabular.sampling import Plan, msvae_plan
from synthkit.tabular.transformer import Span


@dataclass
class MSVAEConfig(BetaTCVAEConfig):
    """MS-VAE settings: stage one's β-TCVAE fields (latent_dim is C's size) plus Z."""

    #: Dimension of the residual latents Z.
    residual_dim: int = 9
    #: Weight of stage two's KL(q(z | x, y) ‖ N(0, I)). 0.5 is TVAE's weighting (its loss
    #: factor of 2 on the reconstruction): on the credit data it lowered the XGBoost C2ST
    #: AUC from 0.751 (weight 1) to 0.708 at 150 epochs.
    residual_beta: float = 0.5
    #: What sampling draws (C, Z) from: "mixture", a Gaussian mixture fitted after training
    #: to the training rows' posteriors (synthkit.core.priors: the decoders are fed codes like
    #: those they learnt from, not the holes of N(0, I) between them), or "standard", the
    #: paper's N(0, I) for both. Training is the same either way. The mixture lowered the
    #: XGBoost C2ST AUC on every table of ≥ 8,000 training rows tried (docs/real_tables.md,
    #: "Sampling from the codes' own distribution"); a table under 3,780 rows keeps N(0, I).
    prior: str = "mixture"
    #: Most components the mixture prior may have (fewer on small tables: core.priors).
    prior_components: int = 50


class ResidualVAE(nn.Module):
    """Stage two: q(z | x − y, y) and G(Y, Z). Trains on rows [x, y] side by side."""

    def __init__(self, config: MSVAEConfig, spans: list[Span]) -> None:
        super().__init__()
        self.config = config
        self.heads = OutputHeads(spans)
        self.dim = self.heads.output_dim
        self.residual_encoder = GaussianEncoder(2 * self.dim, config.hidden, config.residual_dim)
        self.decoder = AdaINDecoder(self.dim, config.residual_dim, tuple(reversed(config.hidden)), self.heads.raw_dim)

    def _posterior(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.residual_encoder(torch.cat([x - y, y], dim=1))

    def loss(self, xy: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, y = xy[:, : self.dim], xy[:, self.dim :]
        mu, logvar = self._posterior(x, y)
        z = reparameterize(mu, logvar)
        rec = self.heads.nll_hidden(x, self.decoder.hidden(y, z), self.decoder.out).mean()
        kl = kl_term(mu, logvar)
        return rec + self.config.residual_beta * kl, {"reconstruction": rec, "kl": kl}


class MSVAE(TabularMethod):
    """The two-stage model; `encode` gives C and Z, `decode` takes both."""

    name = "msvae"
    config_class = MSVAEConfig
    latent_names = ("c", "z")

    def __init__(self, config: MSVAEConfig, spans: list[Span]) -> None:
        super().__init__(config, spans)
        self.stage1 = BetaTCVAE(config, spans)
        self.stage2 = ResidualVAE(config, spans)
        #: Sampling's prior over [c, z] (no components: N(0, I)); fitted at the end of `fit`.
        self.prior = MixturePrior(config.latent_dim + config.residual_dim)

    def latent_dims(self) -> dict[str, int]:
        assert isinstance(self.config, MSVAEConfig)
        return {"c": self.config.latent_dim, "z": self.config.residual_dim}

    def fit(self, data: np.ndarray, trainer: TrainerConfig, seed: int, callbacks: list[Callback]) -> dict[str, History]:
        stage1 = train(self.stage1, data, trainer, seed=seed, callbacks=callbacks, description="stage 1 (β-TCVAE)",
                       stage="stage1")
        self.stage1.requires_grad_(False)
        y = self._mean_reconstruction(data)
        stage2 = train(
            self.stage2, np.hstack([data, y]), trainer, seed=seed + 1, callbacks=callbacks, description="stage 2 (residual)",
            stage="stage2",
        )
        assert isinstance(self.config, MSVAEConfig)
        if self.config.prior == "mixture":
            means, variances = self._posteriors(data)
            self.prior.fit(means, variances, self.config.prior_components, seed)
        return {"stage1": stage1, "stage2": stage2}

    @torch.no_grad()
    def _posteriors(self, data: np.ndarray, chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
        """The training rows' posterior means of [c, z] and the mean posterior variance of each coordinate."""
        device = next(self.stage1.parameters()).device
        means, var_sum = [], None
        for i in range(0, len(data), chunk):
            x = torch.as_tensor(data[i : i + chunk], dtype=torch.float32, device=device)
            mu_c, logvar_c = self.stage1.encoder(x)
            y = self.stage1.heads.mean(self.stage1.decoder(mu_c))
            mu_z, logvar_z = self.stage2._posterior(x, y)
            means.append(torch.cat([mu_c, mu_z], 1).double().cpu().numpy())
            part = torch.cat([logvar_c, logvar_z], 1).double().exp().sum(0).cpu().numpy()
            var_sum = part if var_sum is None else var_sum + part
        assert var_sum is not None
        return np.vstack(means), var_sum / len(data)

    @torch.no_grad()
    def _mean_reconstruction(self, data: np.ndarray, chunk: int = 65_536) -> np.ndarray:
        device = next(self.stage1.parameters()).device
        parts = [
            self.stage1.reconstruct_mean(torch.as_tensor(data[i : i + chunk], dtype=torch.float32, device=device)).cpu().numpy()
            for i in range(0, len(data), chunk)
        ]
        return np.vstack(parts)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.stage1.encoder(x)[0]
        y = self.stage1.heads.mean(self.stage1.decoder(c))
        return {"c": c, "z": self.stage2._posterior(x, y)[0]}

    @torch.no_grad()
    def reconstructions(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Y = dec₁(E[c|x]) (stage one) and G(Y, E[z|x, y]) (MS-VAE), both as expected rows."""
        y = self.stage1.reconstruct_mean(x)
        z = self.stage2._posterior(x, y)[0]
        return {"stage1": y, "msvae": self.stage2.heads.mean(self.stage2.decoder(y, z))}

    @torch.no_grad()
    def decode_codes(
        self, latents: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y = self.stage1.heads.mean(self.stage1.decoder(latents["c"]))
        return self.stage2.heads.sample_codes(self.stage2.decoder(y, latents["z"]), generator)

    def sampling_plan(self) -> Plan:
        dims = self.latent_dims()
        return msvae_plan(
            self.stage1.decoder, self.stage1.heads, self.stage2.decoder, self.stage2.heads, dims["c"], dims["z"],
            prior=self.prior if self.prior.components else None,
        )

    @torch.no_grad()
    def decode(self, latents: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        return self.stage2.heads.to_rows(*self.decode_codes(latents, generator))
