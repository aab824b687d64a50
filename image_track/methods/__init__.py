"""Image methods, one file each, on synthkit.core's method contract; register each here.

* ``vae`` — :class:`~.vae.VAE` (β = 1);
* ``betavae`` — :class:`~.betavae.BetaVAE` (Higgins et al. 2017);
* ``factorvae`` — :class:`~.factorvae.FactorVAE` (Kim & Mnih 2018);
* ``betatcvae`` — :class:`~.betatcvae.BetaTCVAE` (Chen et al. 2018);
* ``msvae`` — :class:`~.msvae.MSVAE` (paper 001: stage one any of the above, stage two AdaIN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from image_track.methods.base import DEFAULT_NUM_STEPS, ImageMethod, ImageMethodConfig, read_config
from image_track.methods.betatcvae import BetaTCVAE, BetaTCVAEConfig
from image_track.methods.betavae import BetaVAE, BetaVAEConfig
from image_track.methods.factorvae import FactorVAE, FactorVAEConfig
from image_track.methods.msvae import MSVAE, MSVAEConfig
from image_track.methods.vae import VAE, VAEConfig
from synthkit.core.methods import Registry
from synthkit.core.trainer import seed_everything

#: Method name → model class (its `config_class` holds the settings).
IMAGE_METHODS: Registry[ImageMethod] = Registry("image method", {
    "vae": VAE,
    "betavae": BetaVAE,
    "factorvae": FactorVAE,
    "betatcvae": BetaTCVAE,
    "msvae": MSVAE,
})


def build(name: str, seed: int = 0, **options: Any) -> ImageMethod:
    """A new `name` model with config fields `options` (its defaults otherwise), its weights drawn under `seed`."""
    cls = IMAGE_METHODS[name]
    config = cls.config_class.from_dict(options)
    seed_everything(seed)
    return cls(config)  # type: ignore[arg-type]


def load(path: str | Path) -> ImageMethod:
    """The model a method's ``save(path)`` wrote, whichever method it is."""
    name, _ = read_config(path)
    return IMAGE_METHODS[name].load(path)


__all__ = [
    "DEFAULT_NUM_STEPS",
    "IMAGE_METHODS",
    "MSVAE",
    "VAE",
    "BetaTCVAE",
    "BetaTCVAEConfig",
    "BetaVAE",
    "BetaVAEConfig",
    "FactorVAE",
    "FactorVAEConfig",
    "ImageMethod",
    "ImageMethodConfig",
    "MSVAEConfig",
    "VAEConfig",
    "build",
    "load",
]
