"""What every image method shares: core's method contract (synthkit.core.methods) over convolutional networks.

Layout. Every tensor a method takes or returns is (N, C, H, W), the networks' layout (image_track.networks), and so
are the batches `fit` trains on — what a dataset's ``as_torch(num_steps, batch_size, seed)`` stream yields, or any
iterable of (N, H, W, C) arrays mapped through :func:`~image_track.networks.to_tensor`.

Likelihood. Images are scored with a Bernoulli likelihood on logits, as disentanglement_lib's study scores every data
set (config/unsupervised_study_v1/model_configs/shared.gin: ``reconstruction_loss.loss_fn = @bernoulli_loss``); grey
levels in [0, 1] are its continuous relaxation. `decode`, `sample` and `reconstruct` return the likelihood's mean
(pixel probabilities), as the lib's visualisations do.

Training is :func:`synthkit.core.trainer.train_steps` with the lib's optimizer (Adam, learning rate 1e-4, β 0.9 and
0.999, ε 1e-8: :class:`~synthkit.core.trainer.StepTrainerConfig`'s defaults). The lib's study batches 64 images and
trains 300,000 steps (shared.gin: ``model.batch_size``, ``model.training_steps``); the batch size is the iterator's
business, and `fit`'s default number of steps is far smaller (:data:`DEFAULT_NUM_STEPS`): pass more for a real run.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from image_track.networks import ConvEncoder, DeconvDecoder, bernoulli_nll, image_spec
from synthkit.core.methods import Method, MethodConfig
from synthkit.core.objectives import kl_normal_standard, reparameterize
from synthkit.core.trainer import AuxStep, Callback, History, StepTrainerConfig, train_steps

#: Gradient steps `fit` takes by default (per stage for MS-VAE): enough to see a model learn on a CPU in minutes.
#: disentanglement_lib's study trained 300,000 — pass `num_steps` for results comparable with it.
DEFAULT_NUM_STEPS = 1_000

#: Files of a saved model folder, and the version of their layout.
CONFIG_FILE, WEIGHTS_FILE, FORMAT_VERSION = "method.json", "model.pt", 1


@dataclass
class ImageMethodConfig(MethodConfig):
    """Fields every image method's config has (core's latent_dim, 10 as in the lib's study, plus the images')."""

    #: (H, W, C) of the training images, as the dataset reports them (dSprites: 64 × 64 × 1).
    image_shape: tuple[int, ...] = (64, 64, 1)
    #: Encoder/decoder architecture of image_track.networks: "dlib64" (64×64) or "cascade28" (28×28, 32×32).
    arch: str = "dlib64"


class ImageMethod(Method):
    """An image method: a config, ``loss(batch)``, named latent blocks, and fit / sample / reconstruct / save / load.

    Subclasses set `name`, `config_class` and `latent_names` and implement `loss`, `encode` and `decode`."""

    config_class: ClassVar[type[MethodConfig]] = ImageMethodConfig

    def __init__(self, config: ImageMethodConfig) -> None:
        super().__init__(config)
        self.spec = image_spec(config.image_shape, config.arch)

    @abstractmethod
    def decode(self, latents: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean images (pixel probabilities, (N, C, H, W)) given every latent block."""

    def aux_step(self, trainer: StepTrainerConfig) -> AuxStep | None:
        """The hook train_steps runs after each main optimizer step (None: no second optimizer)."""
        return None

    def train_stage(
        self,
        batches: Iterable[torch.Tensor],
        num_steps: int,
        seed: int,
        trainer: StepTrainerConfig,
        callbacks: list[Callback],
        stage: str,
    ) -> History:
        """Train this model's loss on (N, C, H, W) batches (one stage of a fit)."""
        return train_steps(
            self, batches, num_steps, trainer, seed=seed, callbacks=callbacks, aux_step=self.aux_step(trainer),
            description=self.name, stage=stage,
        )

    def fit(
        self,
        batches: Iterable[torch.Tensor],
        num_steps: int = DEFAULT_NUM_STEPS,
        seed: int = 0,
        trainer: StepTrainerConfig | None = None,
        callbacks: list[Callback] | None = None,
    ) -> dict[str, History]:
        """Train on (N, C, H, W) batches for `num_steps` steps (fewer if they run out); returns each stage's history.

        Weights start as they were built (seed torch before building: :func:`image_track.methods.build` does);
        `seed` seeds the draws made while training."""
        return {"model": self.train_stage(batches, num_steps, seed, trainer or StepTrainerConfig(),
                                          list(callbacks or []), "model")}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` mean images decoded from latents drawn from the prior N(0, I) of every block (drawn on the CPU with
        `generator`, so a seeded generator gives the same images on any device)."""
        device = next(self.parameters()).device
        latents = {
            name: torch.randn((n, dim), generator=generator).to(device) for name, dim in self.latent_dims().items()
        }
        return self.decode(latents)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean reconstructions of `x`: decoded at the posterior means."""
        return self.decode(self.encode(x))

    def save(self, path: str | Path) -> None:
        """Write the model to the folder `path`: its config as JSON and its weights (a state_dict)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"format_version": FORMAT_VERSION, "method": self.name, "config": self.config.to_dict()}
        (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        torch.save({k: v.detach().cpu() for k, v in self.state_dict().items()}, folder / WEIGHTS_FILE)

    @classmethod
    def load(cls, path: str | Path) -> ImageMethod:
        """Rebuild a model :meth:`save` wrote, on the CPU in evaluation mode (``image_track.methods.load`` picks the
        class from the folder)."""
        name, config = read_config(path)
        if name != cls.name:
            raise ValueError(f"{path}: holds a {name!r} model, not {cls.name!r}")
        model = cls(cls.config_class.from_dict(config))  # type: ignore[arg-type]
        model.load_state_dict(torch.load(Path(path) / WEIGHTS_FILE, map_location="cpu", weights_only=True))
        return model.eval()


def read_config(path: str | Path) -> tuple[str, dict[str, Any]]:
    """The method name and config fields of a saved model folder (a one-line ValueError when unreadable)."""
    file = Path(path) / CONFIG_FILE
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError are ValueErrors
        raise ValueError(f"{file}: cannot be read ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{file}: damaged (not a JSON object)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{file}: saved in format {meta.get('format_version')}, this version reads {FORMAT_VERSION}")
    if not isinstance(meta.get("method"), str) or not isinstance(meta.get("config"), dict):
        raise ValueError(f"{file}: damaged (needs a \"method\" name and a \"config\" object)")
    return meta["method"], meta["config"]


class ConvVAE(ImageMethod):
    """A single-stage VAE over images: q(z | x) = N(mean(x), diag(exp(log_var(x)))) by :class:`ConvEncoder`, p(x | z)
    Bernoulli on :class:`DeconvDecoder`'s logits, prior N(0, I). Subclasses define ``loss`` from its terms."""

    def __init__(self, config: ImageMethodConfig) -> None:
        super().__init__(config)
        self.encoder = ConvEncoder(self.spec, config.latent_dim)
        self.decoder = DeconvDecoder(self.spec, config.latent_dim)

    def forward_terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """z ~ q(z | x) (reparameterised), its mean and log-variance, and −log p(x | z) per image."""
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar)
        return z, mu, logvar, bernoulli_nll(x, self.decoder(z))

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {self.latent_names[0]: self.encoder(x)[0]}

    @torch.no_grad()
    def decode(self, latents: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.sigmoid(self.decoder(latents[self.latent_names[0]]))


def kl_term(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Batch mean of the analytic KL(q(z | x) ‖ N(0, I)) (the lib's compute_gaussian_kl)."""
    return kl_normal_standard(mu, logvar).mean()
