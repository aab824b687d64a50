"""Per-column output heads: a decoder's raw output as a likelihood over a transformed row.

The transformer's spans say what each transformed column is; the heads say what the decoder
emits for it and how that scores a row:

* a numeric column (``offset`` span + ``modes`` span with K modes, G of them Gaussian) is a
  mixture: K mode logits and, for each Gaussian mode, its own offset mean — functions of
  the latent code — with a learned scale σ_k per mode. A row scores −log softmax(logits)[k]
  for its mode k, plus, when k is Gaussian, −log N(offset; μ_k, σ_k). Point-mass and
  missing modes carry no offset.
* ``categories`` — K logits; cross-entropy.
* ``value`` (the min-max transformer) — a mean (through a sigmoid, values live in [0, 1])
  with a learned scale per column; Gaussian.

Why one offset mean per mode rather than TVAE's single offset output per column: with one
output the decoder must place a mean that serves whichever mode is sampled, so a row drawn
in one mode gets an offset meant for another. The per-mode mixture is the likelihood the
transformer's (mode, offset) encoding implies. The scales are parameters, not decoder
outputs: a decoder that can widen σ row by row explains the data through σ and stops using
the latent code (posterior collapse; seen on the credit data, where all but one latent
dimension went silent).

Speed: softmax blocks are grouped by width (rounded up to a power of two) into padded
(rows × blocks × width) tensors, so every block of a group is normalised by one fused
softmax kernel, and a draw is one argmax; padding costs at most 2× the logits, and the cost
of a step does not grow with the number of columns in Python — a GPU sees a handful of
kernels rather than one per column. Gaussian modes are one gathered tensor.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from synthkit.tabular.transformer import Span

LOG_2PI = math.log(2 * math.pi)
#: Bounds of log σ (offset units: σ of 1 spans four standard deviations of the mode).
LOG_SCALE_MIN, LOG_SCALE_MAX = -7.0, 2.0
#: Initial σ, as TVAE's.
INIT_SCALE = 0.1


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension. torch.softmax is ~5× slower on the CPU when that
    dimension is as short as a block (it vectorises along it); these five passes are not."""
    e = _exp_shifted(logits - logits.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)


def _exp_shifted(shifted: torch.Tensor) -> torch.Tensor:
    """exp() of max-shifted logits (all ≤ 0; −inf in the padding), floored at exp(−80) ≈ 2e−35:
    the CPU's exp() is ~30× slower on arguments that underflow, and probabilities below
    that floor are zero for every purpose here (a padding entry is never drawn or read)."""
    return torch.exp(shifted.clamp_min(-80.0))


def _cols(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``t[:, index]`` by index_select, which is ~5× faster on the CPU than advanced
    indexing for the (rows × columns) tensors of a training step (and its backward is one
    index_add)."""
    return t.index_select(1, index)


class OutputHeads(nn.Module):
    """Raw layout, likelihood, mean and sampling for a transformer's spans (module docstring)."""

    def __init__(self, spans: list[Span]) -> None:
        super().__init__()
        self.output_dim = sum(s.width for s in spans)
        blocks = [s for s in spans if s.kind in ("modes", "categories")]
        values = [s for s in spans if s.kind == "value"]
        offsets = {s.column: s.start for s in spans if s.kind == "offset"}

        # Raw layout: all block logits (block after block), then one offset mean per Gaussian
        # mode, then one mean per value column.
        logit_x, base = [], []
        for b in blocks:
            base.append(len(logit_x))
            logit_x += list(range(b.start, b.start + b.width))
        r = len(logit_x)
        self.n_blocks = len(blocks)
        self._index("logit_x", torch.tensor(logit_x, dtype=torch.long))
        # Gaussian modes: where the mode's indicator and its column's offset sit in x, and,
        # per logit, the raw index of its mode's mean and its scale (for draws by code).
        mode_pos, offset_pos = [], []
        mean_of_logit, scale_of_logit, gaussian_logit = [0] * r, [0] * r, [False] * r
        numeric_blocks, numeric_offset_x = [], []
        for i, b in enumerate(blocks):
            if b.kind == "modes":
                numeric_blocks.append(i)
                numeric_offset_x.append(offsets[b.column])
                for k in range(b.gaussian):
                    mean_of_logit[base[i] + k] = r + len(mode_pos)
                    scale_of_logit[base[i] + k] = len(mode_pos)
                    gaussian_logit[base[i] + k] = True
                    mode_pos.append(b.start + k)
                    offset_pos.append(offsets[b.column])
        g = len(mode_pos)
        self._index("mode_x", torch.tensor(mode_pos, dtype=torch.long))
        self._index("offset_x", torch.tensor(offset_pos, dtype=torch.long))
        self._index("mode_mean_raw", torch.arange(r, r + g, dtype=torch.long))
        self._index("mean_of_logit", torch.tensor(mean_of_logit, dtype=torch.long))
        self._index("scale_of_logit", torch.tensor(scale_of_logit, dtype=torch.long))
        self._index("gaussian_logit", torch.tensor(gaussian_logit, dtype=torch.bool))
        self._index("block_base", torch.tensor(base, dtype=torch.long))
        self._index("numeric_blocks", torch.tensor(numeric_blocks, dtype=torch.long))
        self._index("numeric_offset_x", torch.tensor(numeric_offset_x, dtype=torch.long))
        r += g
        self._index("value_x", torch.tensor([s.start for s in values], dtype=torch.long))
        self._index("value_mean_raw", torch.arange(r, r + len(values), dtype=torch.long))
        r += len(values)
        # log σ per Gaussian mode and per value column, learned (TVAE initialises σ at 0.1).
        self.mode_log_scale = nn.Parameter(torch.zeros(g))
        self.value_log_scale = nn.Parameter(torch.zeros(len(values)))
        #: Width of the decoder output these heads read.
        self.raw_dim = r
        self._group(blocks, base)

    def _group(self, blocks: list[Span], base: list[int]) -> None:
        """Padded groups of blocks of similar width (see the module docstring)."""
        groups: dict[int, list[int]] = {}
        for i, b in enumerate(blocks):
            groups.setdefault(max(2, 1 << (b.width - 1).bit_length()), []).append(i)
        self.group_widths: list[int] = []
        logit_place = [0] * sum(b.width for b in blocks)  # each logit's place in the padded groups
        block_order: list[int] = []
        place = 0
        for gi, (width, members) in enumerate(sorted(groups.items())):
            raw_index = torch.zeros(len(members), width, dtype=torch.long)
            pad = torch.full((len(members), width), -math.inf)
            for row, i in enumerate(members):
                w = blocks[i].width
                raw_index[row, :w] = torch.arange(base[i], base[i] + w)
                pad[row, :w] = 0.0
                for k in range(w):
                    logit_place[base[i] + k] = place + row * width + k
            place += len(members) * width
            block_order += members
            self._index(f"group{gi}_raw", raw_index.flatten())
            self._index(f"group{gi}_pad", pad)
            self._index(f"group{gi}_last", torch.tensor([blocks[i].width - 1 for i in members], dtype=torch.long))
            self.group_widths.append(width)
        self._index("logit_place", torch.tensor(logit_place, dtype=torch.long))
        # Blocks come out of the groups in `block_order`; this puts them back in span order.
        self._index("block_unorder", torch.argsort(torch.tensor(block_order, dtype=torch.long)))

    def _index(self, name: str, tensor: torch.Tensor) -> None:
        """An index tensor derived from the spans: moves with the module, but is not saved
        in the state dict (it is rebuilt from the spans, so old model files keep loading)."""
        self.register_buffer(name, tensor, persistent=False)

    # -- pieces ---------------------------------------------------------------------------

    def _padded_logits(self, raw: torch.Tensor) -> list[torch.Tensor]:
        """Each group's logits as (rows × blocks × width), padding at −inf."""
        out = []
        for gi, width in enumerate(self.group_widths):
            pad = getattr(self, f"group{gi}_pad")
            out.append(_cols(raw, getattr(self, f"group{gi}_raw")).view(len(raw), -1, width) + pad)
        return out

    def _flat(self, per_group: list[torch.Tensor]) -> torch.Tensor:
        """Padded per-group values back to (rows × logits) in raw logit order."""
        joined = torch.cat([t.reshape(len(t), -1) for t in per_group], dim=1)
        return _cols(joined, self.logit_place)

    def _log_softmax(self, raw: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of every logit within its block, in raw logit order."""
        out = []
        for g in self._padded_logits(raw):
            shifted = g - g.detach().amax(dim=-1, keepdim=True)
            out.append(shifted - torch.log(_exp_shifted(shifted).sum(dim=-1, keepdim=True)))
        return self._flat(out)

    @staticmethod
    def _log_scale(param: torch.Tensor) -> torch.Tensor:
        return (param + math.log(INIT_SCALE)).clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)

    def _gaussian(self, mean: torch.Tensor, log_scale: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 0.5 * LOG_2PI + log_scale + 0.5 * ((target - mean) * torch.exp(-log_scale)) ** 2

    # -- likelihood -----------------------------------------------------------------------

    def nll(self, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """−log p(x | decoder output `raw`) per row, summed over columns (nats)."""
        total = torch.zeros(len(x), device=x.device, dtype=raw.dtype)
        if self.n_blocks:
            total = total - (_cols(x, self.logit_x) * self._log_softmax(raw)).sum(dim=1)
        if len(self.mode_x):
            active = _cols(x, self.mode_x)  # 1 where the row is in that Gaussian mode
            nll = self._gaussian(
                _cols(raw, self.mode_mean_raw), self._log_scale(self.mode_log_scale), _cols(x, self.offset_x)
            )
            total = total + (active * nll).sum(dim=1)
        if len(self.value_x):
            mean = torch.sigmoid(_cols(raw, self.value_mean_raw))
            total = total + self._gaussian(mean, self._log_scale(self.value_log_scale), _cols(x, self.value_x)).sum(dim=1)
        return total

    # -- expected row and draws -----------------------------------------------------------

    def mean(self, raw: torch.Tensor) -> torch.Tensor:
        """The expected row in transformer space: mode/category probabilities, and for each
        numeric column the probability-weighted mean of its Gaussian modes' offsets."""
        y = torch.zeros((len(raw), self.output_dim), device=raw.device, dtype=raw.dtype)
        if self.n_blocks:
            y.index_copy_(1, self.logit_x, self._flat([_softmax(g) for g in self._padded_logits(raw)]))
        if len(self.mode_x):
            weighted = _cols(y, self.mode_x) * _cols(raw, self.mode_mean_raw)
            y.index_add_(1, self.offset_x, weighted)
        if len(self.value_x):
            y.index_copy_(1, self.value_x, torch.sigmoid(_cols(raw, self.value_mean_raw)))
        return y

    @torch.no_grad()
    def sample_codes(
        self, raw: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A draw from p(x | raw), compactly: the chosen code of every block (rows × blocks,
        in span order), the offset of every numeric column (rows × numeric blocks; 0 where a
        point-mass or missing mode was drawn) and every value column (rows × values).

        A mode or category per block is drawn from its softmax (so rare modes and categories
        keep their rates, which an argmax would erase), then the chosen Gaussian mode's
        offset from N(μ_k, σ_k)."""
        n = len(raw)
        codes = torch.zeros((n, 0), dtype=torch.long, device=raw.device)
        offsets = torch.zeros((n, len(self.numeric_blocks)), device=raw.device, dtype=raw.dtype)
        if self.n_blocks:
            chosen = []
            for gi, logits in enumerate(self._padded_logits(raw)):
                # Inverse CDF within each block: one uniform per block (Gumbel-max would need
                # one per logit, and drawing random numbers is most of a draw's cost).
                cum = _exp_shifted(logits - logits.amax(dim=-1, keepdim=True)).cumsum(dim=-1)
                u = torch.rand((*logits.shape[:2], 1), generator=generator, device=raw.device, dtype=raw.dtype)
                # u < 1 − 1e-6 keeps u·total strictly below the total in float32, so the draw
                # is never a trailing zero-probability entry or the padding.
                target = u.clamp_max_(1.0 - 1e-6) * cum[..., -1:]
                code = (cum <= target).sum(dim=-1)
                chosen.append(torch.minimum(code, getattr(self, f"group{gi}_last")))
            codes = _cols(torch.cat(chosen, dim=1), self.block_unorder)
        if len(self.numeric_blocks):
            logit = _cols(codes, self.numeric_blocks) + self.block_base[self.numeric_blocks]
            noise = torch.randn(offsets.shape, generator=generator, device=raw.device, dtype=raw.dtype)
            mean = raw.gather(1, self.mean_of_logit[logit])
            scale = torch.exp(self._log_scale(self.mode_log_scale))[self.scale_of_logit[logit]]
            offsets = torch.where(self.gaussian_logit[logit], mean + scale * noise, torch.zeros_like(mean))
        values = torch.zeros((n, len(self.value_x)), device=raw.device, dtype=raw.dtype)
        if len(self.value_x):
            noise = torch.randn(values.shape, generator=generator, device=raw.device, dtype=raw.dtype)
            values = torch.sigmoid(_cols(raw, self.value_mean_raw)) + torch.exp(self._log_scale(self.value_log_scale)) * noise
        return codes, offsets, values

    @torch.no_grad()
    def sample(self, raw: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A draw from p(x | raw) as a row of transformer space (see :meth:`sample_codes`)."""
        codes, offsets, values = self.sample_codes(raw, generator)
        return self.to_rows(codes, offsets, values)

    def to_rows(self, codes: torch.Tensor, offsets: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Rows of transformer space from :meth:`sample_codes`' output."""
        x = torch.zeros((len(codes), self.output_dim), device=offsets.device, dtype=offsets.dtype)
        if self.n_blocks:
            x.scatter_(1, self.logit_x[codes + self.block_base], 1.0)
        if len(self.numeric_blocks):
            x.index_copy_(1, self.numeric_offset_x, offsets)
        if len(self.value_x):
            x.index_copy_(1, self.value_x, values)
        return x
