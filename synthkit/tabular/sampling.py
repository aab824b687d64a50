"""Fast sampling: decoders and output heads evaluated for inference, chunks on parallel threads.

Drawing a million rows from MS-VAE is ~240 GFLOP of small dense layers plus a long series
of elementwise passes (softmaxes, running sums, comparisons, normalisations) over every
unit and logit. The plans here evaluate exactly the functions the training code defines
(checked against it in tests/test_sampling.py), arranged for a CPU:

* Everything runs *transposed*: units and logits are rows, table rows are columns. A
  block's softmax, its running sum and AdaIN's normalisation then reduce over rows of
  contiguous memory, vectorised across table rows, instead of over 8–16 adjacent values.
* The output layer of each decoder writes straight into the heads' inference layout
  (``OutputHeads.draw_t``); the padding of the width groups is part of its weight matrix
  (zero rows, bias −∞), not a gather and an addition per chunk.
* Biases ride on a row of ones kept below every activation (``Workspace.activations``), so
  a layer is one matrix product, without addmm's pass that first broadcasts the bias.
* MS-VAE's stage-one expected row Y feeds stage two's first layer only. That layer's weight
  is rearranged once (``OutputHeads.fold_input``) to read Y in the inference layout, so Y is
  never scattered back into transformer space.
* AdaIN's centring is folded into the weights of the layer before it (it is linear in
  the layer's input), so the matrix product yields centred units.
* Intermediates live in per-thread buffers reused from chunk to chunk (``Workspace``).
* Rows are decoded in chunks of :data:`CHUNK_ROWS` on one Python thread per core
  (PyTorch releases the GIL inside its kernels), each with one intra-op thread and its own
  random generator, seeded from (seed, chunk index): the rows do not depend on the number
  of threads. Intra-op threading on tensors this small spent much of its time synchronising.

Sampling runs on the CPU (a saved model loads there).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from synthkit.core.layers import AdaIN
from synthkit.core.priors import MixturePrior
from synthkit.core.trainer import flush_denormals, intra_op_threads
from synthkit.tabular.heads import OutputHeads

#: Rows per chunk: small enough that a chunk's intermediates (a few hundred values per row)
#: stay in a core's cache, large enough that the fixed cost of a chunk (~0.7 ms of Python
#: and kernel dispatch for ~120 operations) is small. 1M rows of the credit model, two
#: workers, best of 5: 2.08 s at 4,096 rows, 2.20 s at 2,048, 2.33 s at 8,192.
CHUNK_ROWS = 4096

Codes = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class Workspace:
    """Buffers a thread reuses from chunk to chunk. A fresh multi-megabyte tensor per
    intermediate costs page faults on first touch (glibc returns large blocks to the OS on
    free); writing into the same buffers keeps them mapped and in cache."""

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def __call__(self, name: str, *shape: int) -> torch.Tensor:
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape:
            buffer = self._buffers[name] = torch.empty(shape)
        return buffer

    def activations(self, name: str, features: int, n: int) -> torch.Tensor:
        """A (features + 1) × n buffer whose last row is ones: a layer writes the first
        `features` rows, and the next layer's bias rides on the ones row (see `_affine`)."""
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != (features + 1, n):
            buffer = self._buffers[name] = torch.empty(features + 1, n)
            buffer[features] = 1.0
        return buffer


#: A plan draws `n` rows with a generator: latents from N(0, I) (block by block, transposed),
#: then the decoders, then transposed codes (OutputHeads.draw_t); intermediates go into the
#: Workspace.
Plan = Callable[[torch.Generator, int, Workspace], Codes]


def _affine(weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """[W | b]: with activations stored transposed and a row of ones below them (Workspace.
    activations), W·x + b is one matrix product — no pass that broadcasts the bias into the
    output first, which is what addmm does."""
    return torch.cat([weight.detach(), bias.detach()[:, None]], dim=1).contiguous()


def _layer(weight: torch.Tensor, x: torch.Tensor, ws: Workspace, name: str) -> torch.Tensor:
    """W·x (bias included) into a fresh activation buffer; returns the (features + 1) × n buffer."""
    out = ws.activations(name, len(weight), x.shape[1])
    torch.mm(weight, x, out=out[: len(weight)])
    return out


def _latent(dim: int, n: int, generator: torch.Generator, ws: Workspace, name: str) -> torch.Tensor:
    """dim × n standard normal draws, with the ones row below."""
    out = ws.activations(name, dim, n)
    torch.randn(dim, n, generator=generator, out=out[:dim])
    return out


class HeadOutput:
    """A decoder's output layer composed with its heads' inference layout: maps hidden
    activations (transposed, ones row below) to the transposed rows ``OutputHeads.draw_t``
    reads, in one matrix product whose padding rows are zero weights with a bias of −∞."""

    def __init__(self, linear: nn.Linear, heads: OutputHeads) -> None:
        weight, bias = linear.weight.detach(), linear.bias.detach()
        keep = heads.real_row.to(weight.dtype)[:, None]
        self.weight = _affine(
            weight.index_select(0, heads.inference_raw) * keep, bias.index_select(0, heads.inference_raw) + heads.inference_pad
        )

    def rows(self, hidden: torch.Tensor, ws: Workspace, name: str) -> torch.Tensor:
        """(inference rows × n) for hidden activations ((hidden + 1) × n)."""
        return _layer(self.weight, hidden, ws, name)[: len(self.weight)]


class _ReLUStack:
    """The Linear → ReLU layers of an MLP before its output layer."""

    def __init__(self, sequential: nn.Sequential) -> None:
        linears = [m for m in sequential if isinstance(m, nn.Linear)]
        self.weights = [_affine(lin.weight, lin.bias) for lin in linears[:-1]]

    def __call__(self, x: torch.Tensor, ws: Workspace, tag: str) -> torch.Tensor:
        for i, weight in enumerate(self.weights):
            x = _layer(weight, x, ws, f"{tag}{i}")
            x[: len(weight)].relu_()
        return x


def mlp_plan(decoder: nn.Sequential, heads: OutputHeads, latent_dim: int) -> Plan:
    """Plan for a single-stage decoder (TVAE, β-TCVAE): z → MLP → heads → draw."""
    hidden = _ReLUStack(decoder)
    output = HeadOutput(decoder[-1], heads)

    def decode(generator: torch.Generator, n: int, ws: Workspace) -> Codes:
        z = _latent(latent_dim, n, generator, ws, "z")
        return heads.draw_t(output.rows(hidden(z, ws, "h"), ws, "rows"), generator, ws)

    return decode


class _AdaINStack:
    """An AdaINDecoder's hidden layers for inference, transposed. γ(z) and β(z) of every layer
    come from one matrix product, with γ's 1 + Δγ folded into the bias; the normalisation
    runs over the units, which are rows here, so its sums are vectorised across table rows."""

    def __init__(self, linears: nn.ModuleList, adains: nn.ModuleList, first_weight: torch.Tensor) -> None:
        layers = list(linears)
        affine = [_affine(first_weight, layers[0].bias)] + [_affine(lin.weight, lin.bias) for lin in layers[1:]]
        # AdaIN's centring h − μ(h) is linear in the layer's input: with h = [W | b]·[x; 1],
        # μ(h) = mean of [W | b]'s rows · [x; 1], so subtracting the mean row from every row
        # of [W | b] (once, in float64) yields h − μ(h) from the matrix product itself — two
        # passes over the activations fewer per layer.
        self.weights = [(w.double() - w.double().mean(dim=0, keepdim=True)).to(w.dtype) for w in affine]
        modulation: list[AdaIN] = list(adains)
        self.eps = [m.eps for m in modulation]
        self.widths = [m.to_gamma_beta.out_features // 2 for m in modulation]
        bias = torch.cat([m.to_gamma_beta.bias.detach() for m in modulation]).clone()
        start = 0
        for width in self.widths:
            bias[start : start + width] += 1.0  # γ = 1 + Δγ
            start += 2 * width
        self.modulation = _affine(torch.cat([m.to_gamma_beta.weight for m in modulation]), bias)

    def __call__(self, x: torch.Tensor, z: torch.Tensor, ws: Workspace) -> torch.Tensor:
        mod = torch.mm(self.modulation, z, out=ws("mod", len(self.modulation), z.shape[1]))
        start = 0
        for i, (weight, width, eps) in enumerate(zip(self.weights, self.widths, self.eps)):
            x = _layer(weight, x, ws, f"h{i}")  # stage one's hidden buffers, free by now
            h = x[:width]
            # AdaIN: γ · (h − μ(h)) / sqrt(σ²(h) + eps) + β over the units (biased variance);
            # h is centred already (the weights are). (linalg.vector_norm over dim 0 was ~10×
            # slower than squaring and summing.)
            variance = torch.mul(h, h, out=ws("square", width, h.shape[1])).mean(dim=0, keepdim=True)
            h.mul_(variance.add_(eps).rsqrt_())
            torch.addcmul(mod[start + width : start + 2 * width], h, mod[start : start + width], out=h).relu_()
            start += 2 * width
        return x


def msvae_plan(stage1_decoder: nn.Sequential, stage1_heads: OutputHeads, stage2_decoder: nn.Module,
               stage2_heads: OutputHeads, c_dim: int, z_dim: int, prior: MixturePrior | None = None) -> Plan:
    """Plan for MS-VAE: c → dec₁ → Y (expected row, inference layout) → G(Y, z) → draw.
    (c, z) from N(0, I), or jointly from `prior` when given."""
    hidden1 = _ReLUStack(stage1_decoder)
    output1 = HeadOutput(stage1_decoder[-1], stage1_heads)
    first = stage2_decoder.linears[0].weight.detach()
    layers = _AdaINStack(stage2_decoder.linears, stage2_decoder.adains, stage1_heads.fold_input(first))
    output2 = HeadOutput(stage2_decoder.out, stage2_heads)

    def decode(generator: torch.Generator, n: int, ws: Workspace) -> Codes:
        if prior is None:
            c = _latent(c_dim, n, generator, ws, "c")
            z = _latent(z_dim, n, generator, ws, "z")
        else:
            joint = prior.draw_t(n, generator)
            c = ws.activations("c", c_dim, n)
            c[:c_dim] = joint[:c_dim]
            z = ws.activations("z", z_dim, n)
            z[:z_dim] = joint[c_dim:]
        # Stage two reuses stage one's buffers once they are read (the hidden layers, then the
        # output rows holding Y): a smaller working set per thread, fewer fresh pages.
        buffer = _layer(output1.weight, hidden1(c, ws, "h"), ws, "rows")
        # Y in place of stage one's rows (they are not read again), a ones row right below.
        y = stage1_heads.expected_t(buffer[: len(output1.weight)], out=buffer[: len(output1.weight)])
        buffer[len(y)] = 1.0
        return stage2_heads.draw_t(output2.rows(layers(buffer[: len(y) + 1], z, ws), ws, "rows"), generator, ws)

    return decode


def _numpy_hugepage_switch() -> Callable[[bool], bool] | None:
    """NumPy's (private, long-standing) switch for its huge-page advice; None if absent."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(name, fromlist=["_set_madvise_hugepage"])
        except ImportError:
            continue
        switch = getattr(module, "_set_madvise_hugepage", None)
        if switch is not None:
            return switch
    return None


@contextmanager
def without_numpy_hugepages() -> Iterator[None]:
    """NumPy advises Linux to back every array of 4 MB or more with transparent huge pages
    (madvise MADV_HUGEPAGE). Where the kernel's THP ``defrag`` setting is ``madvise`` (a
    common default, and this project's machine), faulting such memory in while no free huge
    page is at hand compacts memory synchronously (numpy/numpy#31590). A million-row draw
    allocates ~150 MB of fresh arrays, and its first call in a process stalled on it: the
    inverse transform took 0.52–0.97 s with the advice against 0.26–0.35 s without, and a
    whole first `sample(1_000_000)` 2.9–4.8 s against 2.8–3.1 s (four fresh processes each,
    alternating). Later calls in the same process reuse huge pages already faulted in and
    gain ~0.05 s from them, so this is a trade for the common case — one draw per process
    (`synthkit sample`, a notebook cell). NumPy's global setting is restored on exit; it only
    changes how memory is advised, never what is computed."""
    switch = _numpy_hugepage_switch()
    if switch is None:
        yield
        return
    previous = switch(False)
    try:
        yield
    finally:
        switch(previous)


def chunk_generator(seed: int, index: int) -> torch.Generator:
    """The random generator of chunk `index` of a draw seeded with `seed`."""
    state = np.random.SeedSequence(entropy=seed, spawn_key=(index,)).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def sample_codes(plan: Plan, n: int, seed: int, threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw `n` rows through `plan` on the CPU, chunk by chunk on `threads` threads
    (default: one per core). Returns codes (n × blocks), offsets (n × numeric columns) and
    values (n × value columns) as NumPy arrays (column-major views: the inverse transform
    reads them column by column). While it runs, PyTorch's intra-op thread count (a
    process-wide setting) is 1; it is restored afterwards.

    Every core gets a thread, busy or not: plain threads with one intra-op thread each share
    a busy core without an OpenMP team's spin-waiting (with another process keeping one of
    this machine's two cores busy, two threads drew a million rows' codes in 4.5 s against
    5.2–5.7 s for one), so sampling skips the 0.1 s measurement of idle cores training makes."""
    n_chunks = math.ceil(n / CHUNK_ROWS)
    local = threading.local()
    out: list[np.ndarray] = []

    def run(index: int) -> None:
        lo = index * CHUNK_ROWS
        rows = min(CHUNK_ROWS, n - lo)
        generator = chunk_generator(seed, index)
        if not hasattr(local, "ws"):
            local.ws = Workspace()
        with torch.no_grad(), flush_denormals():  # per thread: the FPU flags are thread state
            parts = plan(generator, rows, local.ws)
            if not out:  # first chunk: allocate the results
                out.extend(np.empty((len(p), n), dtype=p.numpy().dtype) for p in parts)
            for target, part in zip(out, parts):
                target[:, lo : lo + rows] = part.numpy()

    # Every chunk runs with one intra-op thread (torch's setting is process-wide, restored
    # afterwards), whatever the caller's setting. With two, the same seed gave rows that
    # differed in the 6th digit in about 1 process in 40 (traced to the exp_ over stage
    # one's logits, presumably split between the two threads in some processes and not in
    # others); with one, 130 processes out of 130 agreed. A draw is then a fixed sequence
    # of single-threaded kernels.
    with intra_op_threads(1):
        run(0)  # alone, before the pool starts: it allocates the results
        workers = 1 if n_chunks <= 2 else min(n_chunks - 1, threads or os.cpu_count() or 1)
        if workers <= 1:
            for i in range(1, n_chunks):
                run(i)
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="synthkit-sample") as pool:
                list(pool.map(run, range(1, n_chunks)))
    codes, offsets, values = (a.T for a in out)
    return codes, offsets, values
