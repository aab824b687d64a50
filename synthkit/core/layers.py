"""Conditioning layers: FiLM and AdaIN (paper 001 §3.2).

MS-VAE's second-stage decoder takes the stage-one reconstruction Y as its input and
receives the residual latents Z only through these layers, at every hidden layer, so that Z
modulates features computed from Y instead of being entangled with Y at the input.

AdaIN (Huang & Belongie 2017), as modified in paper 001 §3.2::

    AdaIN(h, z) = γ(z) · (h − μ(h)) / σ(h) + β(z)

For images μ and σ are per-instance, per-channel statistics over the spatial positions.
A tabular hidden layer is a vector with no spatial extent, so the statistics are taken per
instance over the vector's units — the only per-instance statistics a vector has (this is
layer normalisation without its own affine parameters). γ and β are learned affine maps of
z. γ is parameterised as 1 + Δγ(z) and both maps start at zero, so at initialisation the
layer is a plain normalisation and the decoder first learns from Y; Z earns its influence
during training (the point of feeding Z "later in the generative process").

FiLM (Perez et al. 2018) is the same modulation without normalisation:
``FiLM(h, z) = γ(z) · h + β(z)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FiLM(nn.Module):
    """Feature-wise linear modulation of `features` units by a `cond_dim` condition."""

    def __init__(self, features: int, cond_dim: int) -> None:
        super().__init__()
        self.to_gamma_beta = nn.Linear(cond_dim, 2 * features)
        nn.init.zeros_(self.to_gamma_beta.weight)
        nn.init.zeros_(self.to_gamma_beta.bias)

    def modulation(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """γ(z) = 1 + Δγ(z) and β(z)."""
        d_gamma, beta = self.to_gamma_beta(z).chunk(2, dim=-1)
        return 1.0 + d_gamma, beta

    def forward(self, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.modulation(z)
        return gamma * h + beta


class AdaIN(FiLM):
    """Adaptive instance normalisation for vector activations (see the module docstring)."""

    def __init__(self, features: int, cond_dim: int, eps: float = 1e-5) -> None:
        super().__init__(features, cond_dim)
        self.eps = eps

    def forward(self, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.modulation(z)
        # (h − μ(h)) / sqrt(σ²(h) + eps) over the units, biased variance: exactly
        # layer_norm without affine parameters, whose fused kernel is ~6× faster on the CPU
        # than mean/var/sqrt/divide.
        return gamma * F.layer_norm(h, h.shape[-1:], eps=self.eps) + beta
