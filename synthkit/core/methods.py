"""The method contract both tracks share (ARCHITECTURE.md, "One core, two tracks").

A method is a config dataclass, a model with ``loss(batch) -> (total, {term: value})`` and named latent blocks
(``encode`` gives the posterior means of each block, ``decode`` takes them back). Each track keeps a
:class:`Registry` of its methods, so a new method is one file plus one registry line. The trainer
(:mod:`synthkit.core.trainer`) takes any module with a ``loss``; nothing here knows about tables or images.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch import nn

from synthkit.errors import SynthkitError


@dataclass
class MethodConfig:
    """Fields every method's config has, in either track; a track's config subclasses it (and may change defaults)."""

    #: Dimension of the latent code (10: disentanglement_lib's study and paper 001 §4; the tables use 9).
    latent_dim: int = 10

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (tuples become lists)."""
        return {k: _json_ready(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> MethodConfig:
        """The config :meth:`to_dict` wrote: lists go back to tuples where the field's default is a tuple.

        A key that is no field of this config is a one-line SynthkitError naming it."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise SynthkitError(f"unknown option {unknown[0]!r} for {cls.__name__} (known: {', '.join(known)})")
        defaults = cls()
        return cls(**{
            k: _as_tuples(v) if isinstance(getattr(defaults, k), tuple) else v for k, v in values.items()
        })


def _json_ready(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return value


def _as_tuples(value: Any) -> Any:
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (tuple, list)) else value


class Method(nn.Module):
    """A generative model with named latent blocks. Subclasses set `name`, `config_class` and `latent_names` and
    implement the methods marked abstract (documentary: nn.Module is no ABC)."""

    #: Registry name.
    name: ClassVar[str] = ""
    #: The dataclass holding the method's settings.
    config_class: ClassVar[type[MethodConfig]] = MethodConfig
    #: Names of the latent blocks `encode` returns and `decode` takes, in order.
    latent_names: ClassVar[tuple[str, ...]] = ("z",)

    def __init__(self, config: MethodConfig) -> None:
        super().__init__()
        self.config = config

    def latent_dims(self) -> dict[str, int]:
        """Size of each latent block (all `config.latent_dim` unless a method says otherwise)."""
        return {name: self.config.latent_dim for name in self.latent_names}

    def trained_parameters(self) -> Iterator[nn.Parameter]:
        """The parameters the trainer's optimizer updates: all of them, unless a method trains some with its own
        optimizer (FactorVAE's discriminator) or keeps a trained part frozen (MS-VAE's stage one)."""
        return self.parameters()

    @abstractmethod
    def loss(self, batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The objective to minimise on `batch` and its named terms (batch means). A multi-stage method whose `fit`
        trains each stage on that stage's own loss may leave it to them (the tabular MS-VAE)."""

    @abstractmethod
    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Posterior means of each latent block."""

    @abstractmethod
    def decode(self, latents: dict[str, torch.Tensor]) -> torch.Tensor:
        """Data from the latent blocks (what exactly — rows drawn, mean images — the track says)."""


M = TypeVar("M", bound=Method)


class UnknownMethodError(SynthkitError, KeyError):
    """A name no registry entry has; a KeyError too, as a mapping's lookup raises."""

    def __str__(self) -> str:
        return str(self.args[0])  # KeyError would print the message quoted


class Registry(Generic[M]):
    """Method name → method class, for one track: ``registry[name]`` (or :meth:`get`), ``name in registry``,
    ``len`` and iteration over the names in registration order. Filled from a mapping or by :meth:`register`."""

    def __init__(self, kind: str, methods: Mapping[str, type[M]] | None = None) -> None:
        #: What the entries are, for messages ("tabular method", "image method").
        self.kind = kind
        self._methods: dict[str, type[M]] = {}
        for name, cls in (methods or {}).items():
            self._add(name, cls)

    def _add(self, name: str, cls: type[M]) -> None:
        if name in self._methods:
            twice = f"{self._methods[name].__name__}, {cls.__name__}"
            raise ValueError(f"{self.kind} {name!r} is registered twice ({twice})")
        self._methods[name] = cls

    def register(self, cls: type[M]) -> type[M]:
        """Class decorator: register `cls` under its `name`."""
        if not cls.name:
            raise ValueError(f"{cls.__name__} has no name to register it under")
        self._add(cls.name, cls)
        return cls

    def get(self, name: str) -> type[M]:
        """The class registered as `name`; an unknown name is a one-line error listing the known ones."""
        if name in self._methods:
            return self._methods[name]
        raise UnknownMethodError(f"unknown {self.kind} {name!r} (known: {', '.join(self._methods) or 'none'})")

    def __getitem__(self, name: str) -> type[M]:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._methods

    def __iter__(self) -> Iterator[str]:
        return iter(self._methods)

    def __len__(self) -> int:
        return len(self._methods)

    def items(self) -> Iterator[tuple[str, type[M]]]:
        """(name, class) pairs in registration order."""
        return iter(self._methods.items())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._methods)})"
