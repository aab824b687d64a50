"""MLP encoders and decoders for tables (the shapes TVAE uses: two hidden layers of 128)."""

from __future__ import annotations

import torch
from torch import nn

from synthkit.core.layers import AdaIN


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int) -> nn.Sequential:
    """Linear → ReLU blocks through `hidden`, then a linear output layer."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU()]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class GaussianEncoder(nn.Module):
    """q(z | x) = N(mu(x), diag(exp(logvar(x))))."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], latent_dim: int) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=-1)
        # Bounded log-variance keeps exp() finite on outlying rows early in training.
        return mu, logvar.clamp(-12.0, 6.0)


class AdaINDecoder(nn.Module):
    """G(Y, Z) of MS-VAE (paper 001 §3.2): Y is the input; Z enters only through AdaIN
    after every hidden layer, never concatenated with Y."""

    def __init__(self, y_dim: int, z_dim: int, hidden: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        dims = (y_dim, *hidden)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.adains = nn.ModuleList(AdaIN(b, z_dim) for b in hidden)
        self.out = nn.Linear(dims[-1], out_dim)

    def hidden(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations (the input of `out`)."""
        h = y
        for linear, adain in zip(self.linears, self.adains):
            h = torch.relu(adain(linear(h), z))
        return h

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(y, z))
