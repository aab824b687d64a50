"""Per-column output heads: turning a decoder's raw output into a likelihood over a row.

The transformer's spans say what each output column is. A decoder emits one raw number per
output column; the heads interpret them:

* ``offset`` and ``value`` columns — Gaussian with a learned, per-column scale (as TVAE's
  σ parameter): mean = the raw output (``value`` columns: its sigmoid, since they live in
  [0, 1]);
* ``modes`` and ``categories`` blocks — a categorical over the block (softmax of the raw
  outputs), trained with cross-entropy.

Every softmax block is handled at once: blocks are gathered into one padded
(batch × blocks × widest block) tensor, so the cost of a step does not grow with the number
of columns in Python (and a GPU sees a handful of kernels, not one per column).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from synthkit.tabular.transformer import Span

LOG_2PI = math.log(2 * math.pi)


class OutputHeads(nn.Module):
    """Likelihood, mean and sampling for a transformer's output layout (see module docstring)."""

    def __init__(self, spans: list[Span], init_scale: float = 0.1) -> None:
        super().__init__()
        gauss = [s.start for s in spans if s.kind in ("offset", "value")]
        sigmoid = [s.start for s in spans if s.kind == "value"]
        blocks = [s for s in spans if s.kind in ("modes", "categories")]
        self.output_dim = sum(s.width for s in spans)
        self.register_buffer("gauss_idx", torch.tensor(gauss, dtype=torch.long))
        self.register_buffer("sigmoid_mask", torch.tensor([i in set(sigmoid) for i in gauss], dtype=torch.bool))
        width = max((b.width for b in blocks), default=1)
        index = torch.zeros((len(blocks), width), dtype=torch.long)
        valid = torch.zeros((len(blocks), width), dtype=torch.bool)
        for i, b in enumerate(blocks):
            index[i, : b.width] = torch.arange(b.start, b.start + b.width)
            valid[i, : b.width] = True
        self.register_buffer("block_idx", index)
        self.register_buffer("block_valid", valid)
        # log σ per Gaussian column, learned (TVAE initialises σ at 0.1).
        self.log_scale = nn.Parameter(torch.full((len(gauss),), math.log(init_scale)))

    def _gaussian_mean(self, out: torch.Tensor) -> torch.Tensor:
        mean = out[:, self.gauss_idx]
        return torch.where(self.sigmoid_mask, torch.sigmoid(mean), mean)

    def _block_logits(self, out: torch.Tensor) -> torch.Tensor:
        logits = out[:, self.block_idx]  # (batch, blocks, width)
        return logits.masked_fill(~self.block_valid, float("-inf"))

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """−log p(x | decoder output) per row, summed over columns (nats)."""
        total = torch.zeros(len(x), device=x.device, dtype=out.dtype)
        if len(self.gauss_idx):
            mean = self._gaussian_mean(out)
            target = x[:, self.gauss_idx]
            ls = self.log_scale.clamp(min=-7.0, max=2.0)
            total = total + (0.5 * LOG_2PI + ls + 0.5 * ((target - mean) * torch.exp(-ls)) ** 2).sum(dim=1)
        if self.block_idx.shape[0]:
            log_p = torch.log_softmax(self._block_logits(out), dim=-1)
            target = x[:, self.block_idx] * self.block_valid
            total = total - (target * log_p.masked_fill(~self.block_valid, 0.0)).sum(dim=(1, 2))
        return total

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """The expected row in transformer space: Gaussian means, softmax probabilities."""
        y = torch.zeros_like(out)
        if len(self.gauss_idx):
            y[:, self.gauss_idx] = self._gaussian_mean(out)
        if self.block_idx.shape[0]:
            probs = torch.softmax(self._block_logits(out), dim=-1)
            y[:, self.block_idx[self.block_valid]] = probs[:, self.block_valid]
        return y

    @torch.no_grad()
    def sample(self, out: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A draw from p(x | decoder output): Gaussian columns with their learned scale,
        one category per block drawn from its softmax (so rare modes and categories keep
        their rates, which an argmax would erase)."""
        x = torch.zeros_like(out)
        if len(self.gauss_idx):
            mean = self._gaussian_mean(out)
            noise = torch.randn(mean.shape, generator=generator, device=out.device, dtype=out.dtype)
            x[:, self.gauss_idx] = mean + torch.exp(self.log_scale.clamp(min=-7.0, max=2.0)) * noise
        if self.block_idx.shape[0]:
            logits = self._block_logits(out)
            # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits).
            u = torch.rand(logits.shape, generator=generator, device=out.device, dtype=out.dtype)
            choice = (logits - torch.log(-torch.log(u.clamp_min(1e-20)))).argmax(dim=-1)  # (batch, blocks)
            cols = torch.gather(self.block_idx.expand(len(out), -1, -1), 2, choice[:, :, None])[:, :, 0]
            x.scatter_(1, cols, 1.0)
        return x
