"""synthkit.core.methods (the method contract and registry both tracks use) and core's step-based trainer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from synthkit.core.methods import Method, MethodConfig, Registry, UnknownMethodError
from synthkit.core.objectives import kl_normal_standard, reparameterize
from synthkit.core.trainer import StepTrainerConfig, train_steps
from synthkit.errors import SynthkitError
from synthkit.tabular.methods import METHODS, TVAEConfig

QUIET = StepTrainerConfig(learning_rate=1e-2, log_every=1, device="cpu", cpu_threads=1, progress=False)


@dataclass
class ToyConfig(MethodConfig):
    """A linear Gaussian VAE over 4-vectors."""

    #: Width of the data.
    width: int = 4
    #: A tuple field, to check the JSON round trip.
    scales: tuple[float, ...] = (1.0, 2.0)


class ToyVAE(Method):
    """The smallest method on the core base: linear encoder and decoder, unit-variance Gaussian likelihood."""

    name = "toy"
    config_class = ToyConfig

    def __init__(self, config: ToyConfig) -> None:
        super().__init__(config)
        self.encoder = nn.Linear(config.width, 2 * config.latent_dim)
        self.decoder = nn.Linear(config.latent_dim, config.width)

    def loss(self, batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        mu, logvar = self.encoder(batch).chunk(2, dim=1)
        rec = 0.5 * (batch - self.decoder(reparameterize(mu, logvar))).pow(2).sum(dim=1).mean()
        kl = kl_normal_standard(mu, logvar).mean()
        return rec + kl, {"reconstruction": rec, "kl": kl}

    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"z": self.encoder(x).chunk(2, dim=1)[0]}

    def decode(self, latents: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.decoder(latents["z"])


def toy(seed: int = 0) -> ToyVAE:
    torch.manual_seed(seed)
    return ToyVAE(ToyConfig(latent_dim=2))


def stream(seed: int = 0, batch: int = 64) -> Iterator[torch.Tensor]:
    """Endless batches of 4-vectors on a 2-dimensional subspace, far from the origin (so there is a loss to lose)."""
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.tensor([[1.0, 0.5, -1.0, 2.0], [0.0, 1.5, 1.0, -0.5]])
    while True:
        yield 3.0 + torch.randn((batch, 2), generator=generator) @ mixing


def test_registry_lookup_and_its_one_line_error() -> None:
    registry: Registry[Method] = Registry("toy method", {"toy": ToyVAE})
    assert registry["toy"] is ToyVAE and registry.get("toy") is ToyVAE
    assert "toy" in registry and "other" not in registry
    assert list(registry) == ["toy"] and len(registry) == 1 and dict(registry.items()) == {"toy": ToyVAE}
    with pytest.raises(UnknownMethodError) as caught:
        registry.get("tvea")
    assert str(caught.value) == "unknown toy method 'tvea' (known: toy)"
    assert isinstance(caught.value, SynthkitError) and isinstance(caught.value, KeyError)
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(ToyVAE)


def test_register_decorator_uses_the_class_name() -> None:
    registry: Registry[Method] = Registry("toy method")
    assert registry.register(ToyVAE) is ToyVAE
    assert list(registry) == ["toy"]


def test_the_tabular_registry_is_a_core_registry() -> None:
    assert isinstance(METHODS, Registry)
    assert list(METHODS) == ["msvae", "betatcvae", "tvae"]
    with pytest.raises(UnknownMethodError, match=r"^unknown tabular method 'gan' \(known: msvae, betatcvae, tvae\)$"):
        METHODS["gan"]
    # The tables keep their own latent size; core's default is the image studies' 10.
    assert issubclass(TVAEConfig, MethodConfig) and TVAEConfig().latent_dim == 9 and MethodConfig().latent_dim == 10
    assert TVAEConfig().to_dict() == {"latent_dim": 9, "hidden": [128, 128], "loss_factor": 2.0}


def test_config_round_trips_through_its_dict() -> None:
    config = ToyConfig(latent_dim=3, scales=(0.5,))
    assert ToyConfig.from_dict(config.to_dict()) == config
    with pytest.raises(SynthkitError, match="unknown option 'widht' for ToyConfig"):
        ToyConfig.from_dict({"widht": 3})


def test_latent_dims_and_trained_parameters_default_to_the_config_and_all() -> None:
    model = toy()
    assert model.latent_dims() == {"z": 2}
    assert list(model.trained_parameters()) == list(model.parameters())


def test_train_steps_on_an_iterator_lowers_the_loss() -> None:
    model = toy()
    history = train_steps(model, stream(), 150, QUIET, seed=0)
    loss = history.train["loss"]
    assert len(loss) == 150 and history.steps == list(range(1, 151)) and history.steps_run == 150
    assert sum(loss[-10:]) / 10 < 0.3 * sum(loss[:10]) / 10
    assert history.stopped_because == "reached 150 steps" and not model.training


def test_aux_step_runs_after_every_step_on_that_steps_batch() -> None:
    model = toy()
    seen: list[tuple[int, torch.Tensor]] = []
    batches = [batch for batch, _ in zip(stream(), range(7))]

    def aux(m: nn.Module, batch: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        assert m is model
        seen.append((step, batch))
        return {"aux_term": torch.tensor(float(step))}

    history = train_steps(model, iter(batches), 7, QUIET, aux_step=aux)
    assert [s for s, _ in seen] == list(range(7))
    assert all(torch.equal(b, batches[s]) for s, b in seen)
    assert history.train["aux_term"] == [float(s) for s in range(7)]


def test_train_steps_is_deterministic_under_a_seed() -> None:
    def run(seed: int) -> tuple[dict[str, torch.Tensor], list[float]]:
        model = toy()
        history = train_steps(model, stream(), 25, QUIET, seed=seed)
        return model.state_dict(), history.train["loss"]

    (a, loss_a), (b, loss_b), (c, _) = run(3), run(3), run(4)
    assert loss_a == loss_b and all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)  # the seed drives the reparameterisation noise


class Counter(nn.Module):
    """A loss whose term `call` is how often it has been called: shows what a history record averages."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))
        self.frozen = nn.Parameter(torch.zeros(()))
        self.calls = 0

    def trained_parameters(self) -> Iterator[nn.Parameter]:
        return iter([self.weight])

    def loss(self, batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self.calls += 1
        total = (self.weight - 1.0) ** 2 + (self.frozen - 1.0) ** 2
        return total, {"call": torch.tensor(float(self.calls))}


def test_history_records_window_means_every_log_every_steps() -> None:
    model, records = Counter(), []
    config = StepTrainerConfig(log_every=4, device="cpu", cpu_threads=1, progress=False)
    history = train_steps(model, iter([torch.zeros(1)] * 10), 10, config, callbacks=[lambda *a: records.append(a[:2])])
    assert history.steps == [4, 8, 10]
    assert history.train["call"] == [2.5, 6.5, 9.5]  # means of calls 1-4, 5-8 and 9-10
    assert records == [("model", 0), ("model", 1), ("model", 2)]
    assert model.frozen.item() == 0.0 and model.weight.item() != 0.0  # only trained_parameters() move


def test_train_steps_stops_when_the_batches_run_out() -> None:
    config = StepTrainerConfig(log_every=4, device="cpu", cpu_threads=1, progress=False)
    history = train_steps(Counter(), iter([torch.zeros(1)] * 6), 10, config)
    assert history.steps_run == 6 and history.steps == [4, 6]
    assert history.stopped_because == "the batches ran out after 6 steps"
    with pytest.raises(SynthkitError, match="ran out before the first step"):
        train_steps(Counter(), iter([]), 10, config)
