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

Speed: softmax blocks are grouped by width into padded (rows × blocks × width) tensors, a
group's blocks at most 25% (or one logit) narrower than its widest, so every block of a group
is normalised by the same few kernels; padding costs at most a quarter more logits, and the
cost of a step does not grow with the number of columns in Python — a GPU sees a handful of
kernels rather than one per column. Gaussian modes are one gathered tensor.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from synthkit.tabular.transformer import Span

if TYPE_CHECKING:
    from synthkit.tabular.sampling import Workspace

LOG_2PI = math.log(2 * math.pi)
#: Bounds of log σ (offset units: σ of 1 spans four standard deviations of the mode).
LOG_SCALE_MIN, LOG_SCALE_MAX = -7.0, 2.0
#: Initial σ, as TVAE's.
INIT_SCALE = 0.1
#: The padding of the transposed layout in training (:meth:`OutputHeads.nll_hidden`): finite, so that a padding
#: logit times its zero target is 0 rather than NaN; exp() floors it at e^−80 of its block's largest logit, as it
#: does any logit that far below.
TRAIN_PAD = -1.0e4


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


def _exp_shifted_(shifted: torch.Tensor) -> torch.Tensor:
    """In-place :func:`_exp_shifted`."""
    return shifted.clamp_min_(-80.0).exp_()


def _cols(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``t[:, index]`` by index_select, which is ~5× faster on the CPU than advanced
    indexing for the (rows × columns) tensors of a training step (and its backward is one
    index_add)."""
    return t.index_select(1, index)


class _BlockNLL(torch.autograd.Function):
    """−Σ_k x_k log softmax_b(l)_k per row (one column per row: the transposed layout), summed over the padded
    groups of blocks, as Σ_b m_b logsumexp_b(l) − Σ_k x_k l_k with m_b = Σ_{k∈b} x_k (1 for a one-hot or a
    probability target). Its gradient, m_b softmax_b(l) − x, is kept from the forward pass: one pass back, where
    autograd would record ~8 per group."""

    @staticmethod
    def forward(ctx, logits, x_pad, group_rows):  # type: ignore[no-untyped-def, override]
        n = logits.shape[1]
        weighted = torch.empty_like(logits)  # becomes m_b · softmax_b(l)
        total = logits.new_zeros(n)
        for start, blocks, width in group_rows:
            rows = slice(start, start + blocks * width)
            l = logits[rows].view(blocks, width, n)
            top = l.amax(dim=1, keepdim=True)
            e = _exp_shifted_(torch.sub(l, top, out=weighted[rows].view(blocks, width, n)))
            z = e.sum(dim=1, keepdim=True)
            mass = x_pad[rows].view(blocks, width, n).sum(dim=1, keepdim=True)
            total += (mass * (z.log() + top)).sum(dim=(0, 1))
            e.mul_(mass / z)
        total -= (x_pad * logits).sum(dim=0)
        ctx.save_for_backward(weighted, x_pad)
        return total

    @staticmethod
    def backward(ctx, grad):  # type: ignore[no-untyped-def, override]
        weighted, x_pad = ctx.saved_tensors
        return (weighted - x_pad).mul_(grad[None, :]), None, None


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
        # per logit, the index of its Gaussian mode (its mean and scale, for draws by code).
        mode_pos, offset_pos = [], []
        scale_of_logit, gaussian_logit = [0] * r, [False] * r
        numeric_blocks, numeric_offset_x, gaussian_logits = [], [], []
        for i, b in enumerate(blocks):
            if b.kind == "modes":
                numeric_blocks.append(i)
                numeric_offset_x.append(offsets[b.column])
                for k in range(b.gaussian):
                    gaussian_logits.append(base[i] + k)
                    scale_of_logit[base[i] + k] = len(mode_pos)
                    gaussian_logit[base[i] + k] = True
                    mode_pos.append(b.start + k)
                    offset_pos.append(offsets[b.column])
        g = len(mode_pos)
        self._index("mode_x", torch.tensor(mode_pos, dtype=torch.long))
        self._index("offset_x", torch.tensor(offset_pos, dtype=torch.long))
        self._index("mode_mean_raw", torch.arange(r, r + g, dtype=torch.long))
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
        self._inference_layout(g, len(values), gaussian_logits)

    def _group(self, blocks: list[Span], base: list[int]) -> None:
        """Padded groups of blocks of similar width (see the module docstring)."""
        groups: dict[int, list[int]] = {}
        members: list[int] = []
        for i in sorted(range(len(blocks)), key=lambda i: blocks[i].width):
            if members and blocks[i].width > max(blocks[members[0]].width * 1.25, blocks[members[0]].width + 1):
                groups[blocks[members[-1]].width] = members
                members = []
            members.append(i)
        if members:
            groups[blocks[members[-1]].width] = members
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
            # (floating point: draw_t counts in floating point)
            self._index(f"group{gi}_last", torch.tensor([blocks[i].width - 1 for i in members], dtype=torch.float))
            self.group_widths.append(width)
        self._index("logit_place", torch.tensor(logit_place, dtype=torch.long))
        # Blocks come out of the groups in `block_order`; this puts them back in span order.
        self._index("block_unorder", torch.argsort(torch.tensor(block_order, dtype=torch.long)))

    def _inference_layout(self, n_gaussian: int, n_values: int, gaussian_logits: list[int]) -> None:
        """The transposed layout sampling works in (see :meth:`draw_t`): one row per padded
        logit, group after group, then one per Gaussian mode's offset mean, then one per value
        column's mean; one column per table row."""
        groups = [getattr(self, f"group{gi}_raw") for gi in range(len(self.group_widths))]
        pads = [getattr(self, f"group{gi}_pad").flatten() for gi in range(len(self.group_widths))]
        #: (first row, blocks, width) of each padded group in the transposed layout.
        self.group_rows: list[tuple[int, int, int]] = []
        start = 0
        for gi, width in enumerate(self.group_widths):
            blocks = len(getattr(self, f"group{gi}_last"))
            self.group_rows.append((start, blocks, width))
            self._index(f"group{gi}_tril", torch.tril(torch.ones(width, width)))
            start += blocks * width
        #: Rows of padded logits in the transposed layout.
        self.n_padded = start
        #: Drawn codes are int16 when every block fits (2 bytes a cell for a million rows).
        self.code_dtype = torch.int16 if max(self.group_widths, default=0) < 2**15 else torch.int32
        empty = torch.zeros(0, dtype=torch.long)
        self._index("inference_raw", torch.cat([*groups, empty, self.mode_mean_raw, self.value_mean_raw]))
        self._index("inference_pad", torch.cat([*pads, torch.zeros(n_gaussian + n_values)]))
        # Row (in the transposed layout) of each Gaussian mode's probability, and of the offset
        # mean that belongs to each logit (read only for Gaussian modes).
        self._index("gaussian_row", self.logit_place[torch.tensor(gaussian_logits, dtype=torch.long)])
        # Which numeric column (in numeric_offset_x's order) each Gaussian mode belongs to.
        column_of_x = {int(x): i for i, x in enumerate(self.numeric_offset_x)}
        self._index("gaussian_column", torch.tensor([column_of_x[int(x)] for x in self.offset_x], dtype=torch.long))
        self._index("mean_row_of_logit", self.n_padded + self.scale_of_logit)
        # Training: per padded logit row, the column of x holding its target (the padding reads column
        # output_dim, a row of zeros appended to x), and the output layer's mask (real_row, also used by sampling) and padding.
        padded_x = torch.full((self.n_padded,), self.output_dim, dtype=torch.long)
        padded_x[self.logit_place] = self.logit_x
        self._index("padded_x", padded_x)
        self._index("real_row", (self.inference_pad == 0).to(torch.float))  # 1 on a logit row, 0 on padding
        self._index("train_pad", torch.where(self.inference_pad == 0, 0.0, TRAIN_PAD))

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

    def nll_hidden(self, x: torch.Tensor, hidden: torch.Tensor, output: nn.Linear) -> torch.Tensor:
        """:meth:`nll` of ``output(hidden)``, the decoder's last layer, computed in the transposed layout of
        :meth:`inference_rows`: the same value and gradients (up to rounding), faster on the CPU.

        The output layer is evaluated straight into that layout, in three products — the padded block logits
        (padding rows of the weight zero, with a bias of TRAIN_PAD), the Gaussian modes' offset means, the value
        columns' means — so that no autograd slice of one large output allocates and fills a full-size gradient
        per piece. Every reduction over a block then runs across contiguous batch rows, and the blocks'
        cross-entropy is one autograd node (:class:`_BlockNLL`) whose gradient is one pass."""
        n = len(x)
        p, g = self.n_padded, len(self.mode_x)
        xt = x.new_zeros((self.output_dim + 1, n))
        xt[: self.output_dim] = x.t()
        h = hidden.t()
        total = x.new_zeros(n)
        if self.n_blocks:
            index = self.inference_raw[:p]
            keep = self.real_row[:p]
            logits = torch.addmm(
                (output.bias.index_select(0, index) * keep + self.train_pad[:p])[:, None],
                output.weight.index_select(0, index) * keep[:, None],
                h,
            )
            total = total + _BlockNLL.apply(logits, xt.index_select(0, self.padded_x), self.group_rows)
        if g:
            index = self.mode_mean_raw
            means = torch.addmm(output.bias.index_select(0, index)[:, None], output.weight.index_select(0, index), h)
            nll = self._gaussian(means, self._log_scale(self.mode_log_scale)[:, None], xt.index_select(0, self.offset_x))
            total = total + (xt.index_select(0, self.mode_x) * nll).sum(dim=0)
        if len(self.value_x):
            index = self.value_mean_raw
            mean = torch.sigmoid(
                torch.addmm(output.bias.index_select(0, index)[:, None], output.weight.index_select(0, index), h)
            )
            total = total + self._gaussian(mean, self._log_scale(self.value_log_scale)[:, None], xt.index_select(0, self.value_x)).sum(dim=0)
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

    # -- the transposed layout sampling works in -----------------------------------------
    #
    # Sampling evaluates the decoder's output layer transposed, straight into the layout of
    # `_inference_layout`: a (rows × n) tensor whose padded groups are contiguous
    # (blocks × width × n) views. Every reduction over a block then runs across n contiguous
    # table rows — vectorised, unlike a reduction over a block of 8 or 16 logits — and no
    # gather or padding pass is needed (synthkit.tabular.sampling builds that output layer).

    def inference_rows(self, raw: torch.Tensor) -> torch.Tensor:
        """A decoder output (n × raw_dim) in the transposed layout (rows × n), padding at −inf."""
        return (_cols(raw, self.inference_raw).t() + self.inference_pad[:, None]).contiguous()

    def _block_probabilities(self, rows: torch.Tensor, out: torch.Tensor | None) -> list[torch.Tensor]:
        """exp(logit − max) per padded group as (blocks × width × n), unnormalised."""
        n = rows.shape[1]
        parts = []
        for start, blocks, width in self.group_rows:
            logits = rows[start : start + blocks * width].view(blocks, width, n)
            target = None if out is None else out[start : start + blocks * width].view(blocks, width, n)
            parts.append(_exp_shifted_(torch.sub(logits, logits.amax(dim=1, keepdim=True), out=target)))
        return parts

    def expected_t(self, rows: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`mean` in the transposed layout: ((padded logits + numeric columns + value
        columns) × n) holding each logit's probability (≈ 0 in the padding), each numeric
        column's expected offset (Σ over its Gaussian modes of probability × offset mean) and
        each value column's mean. Multiplied by a weight matrix from :meth:`fold_input` it
        gives what a layer reading :meth:`mean` would. `out` may be `rows` itself."""
        n = rows.shape[1]
        p, g, m, v = self.n_padded, len(self.gaussian_row), len(self.numeric_blocks), len(self.value_x)
        values = torch.sigmoid(rows[p + g :]) if v else None  # read before `out` may overwrite it
        if out is None:
            out = torch.empty((p + m + v, n), dtype=rows.dtype, device=rows.device)
        for e in self._block_probabilities(rows, out):
            e.div_(e.sum(dim=1, keepdim=True))
        if m:
            weighted = out.index_select(0, self.gaussian_row).mul_(rows[p : p + g])
            out[p : p + m].zero_().index_add_(0, self.gaussian_column, weighted)
        if v:
            out[p + m : p + m + v] = values
        return out[: p + m + v]

    def fold_input(self, weight: torch.Tensor) -> torch.Tensor:
        """A weight matrix over :meth:`mean`'s layout (out × output_dim) rearranged for
        :meth:`expected_t`'s: W @ mean(raw)ᵀ = fold_input(W) @ expected_t(rows) (padding
        columns are zero)."""
        p, m, v = self.n_padded, len(self.numeric_blocks), len(self.value_x)
        folded = torch.zeros((weight.shape[0], p + m + v), dtype=weight.dtype, device=weight.device)
        folded[:, self.logit_place] = weight[:, self.logit_x]
        folded[:, p : p + m] = weight[:, self.numeric_offset_x]
        folded[:, p + m :] = weight[:, self.value_x]
        return folded

    @torch.no_grad()
    def draw_t(
        self, rows: torch.Tensor, generator: torch.Generator | None = None, ws: Workspace | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A draw from p(x | rows) (rows in the transposed layout), compactly and transposed:
        the chosen code of every block (blocks × n, span order), the offset of every numeric
        column (numeric blocks × n; 0 where a point-mass or missing mode was drawn) and every
        value column (values × n). `ws`, if given, lends buffers to work in
        (synthkit.tabular.sampling.Workspace).

        A mode or category per block is drawn from its softmax by inverse CDF, one uniform per
        block (so rare modes and categories keep their rates, which an argmax would erase;
        Gumbel-max would need a uniform per logit, and random numbers are much of a draw's
        cost); then the chosen Gaussian mode's offset from N(μ_k, σ_k)."""
        n = rows.shape[1]
        kw = {"device": rows.device, "dtype": rows.dtype}
        codes = torch.zeros((0, n), dtype=self.code_dtype, device=rows.device)
        if self.n_blocks:
            chosen = []
            scratch = None if ws is None else ws("exp", self.n_padded, n)
            for gi, ((start, blocks, width), e) in enumerate(zip(self.group_rows, self._block_probabilities(rows, scratch))):
                # The running sum over a block as one small matrix product (a lower-triangular
                # matrix of ones): several times faster on the CPU than cumsum along dim 1.
                cum = None if ws is None else ws(f"cum{gi}", blocks, width, n)
                cum = torch.matmul(getattr(self, f"group{gi}_tril"), e, out=cum)
                u = torch.rand((blocks, 1, n), generator=generator, **kw)
                # u < 1 − 1e-6 keeps u·total strictly below the total in float32, so the draw
                # is never a trailing zero-probability entry or the padding.
                target = u.clamp_max_(1.0 - 1e-6).mul_(cum[:, -1:])
                # The code is the count of running sums ≤ target: compared in place (1.0 or
                # 0.0 in `cum`, read no more) and summed in floating point, ~4× faster on the
                # CPU than summing a bool tensor, which is first copied to int64.
                code = cum.le_(target).sum(dim=1)
                chosen.append(code.clamp_max_(getattr(self, f"group{gi}_last")[:, None]))
            codes = torch.cat(chosen).index_select(0, self.block_unorder).to(self.code_dtype)
        offsets = torch.zeros((len(self.numeric_blocks), n), **kw)
        if len(self.numeric_blocks):
            logit = codes.index_select(0, self.numeric_blocks) + self.block_base[self.numeric_blocks][:, None]
            noise = torch.randn(offsets.shape, generator=generator, **kw)
            mean = rows.gather(0, self.mean_row_of_logit[logit])
            scale = torch.exp(self._log_scale(self.mode_log_scale))[self.scale_of_logit[logit]]
            offsets = torch.where(self.gaussian_logit[logit], mean.addcmul_(scale, noise), offsets)
        values = torch.zeros((len(self.value_x), n), **kw)
        if len(self.value_x):
            p = self.n_padded + len(self.gaussian_row)
            noise = torch.randn(values.shape, generator=generator, **kw)
            scale = torch.exp(self._log_scale(self.value_log_scale))[:, None]
            values = torch.sigmoid(rows[p:]).addcmul_(scale, noise)
        return codes, offsets, values

    @torch.no_grad()
    def sample_codes(
        self, raw: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A draw from p(x | raw) (:meth:`draw_t`), rows first: codes (n × blocks, span
        order), offsets (n × numeric blocks), values (n × value columns)."""
        codes, offsets, values = self.draw_t(self.inference_rows(raw), generator)
        return codes.t(), offsets.t(), values.t()

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
