"""Reaching into a fitted model: posterior means and log-variances, latent labels, rows.

:meth:`Synthesizer.encode` gives posterior means only; the information measures and the
"shift by k standard deviations" perturbation also need the posterior variances, which
this module reads from the model's encoders without changing the method files:

* TVAE and β-TCVAE: ``model.encoder(x) → (μ, log σ²)``;
* MS-VAE: stage one's ``model.stage1.encoder(x)`` for C, then Y = dec₁(E[c | x]) (the
  model's own Y, its mean reconstruction) and ``model.stage2._posterior(x, y)`` for Z.

Latent coordinates are labelled as the paper labels them (§7.1, Table 3): the block name
and a 1-based index, ``c1 … c9`` for C, ``z1 … z9`` for Z (TVAE's single block is ``z``).
Python functions take a label (``"c2"``) or a 0-based index with a block.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import torch

from synthkit.core.trainer import flush_denormals, intra_op_threads
from synthkit.errors import SynthkitError

F = TypeVar("F", bound=Callable[..., Any])

#: Rows sent through an encoder at once.
CHUNK = 65_536


@dataclass(frozen=True)
class Posterior:
    """Gaussian posteriors q(· | x) of one latent block, one row per data row."""

    mean: np.ndarray
    logvar: np.ndarray

    @property
    def dims(self) -> int:
        """Number of coordinates."""
        return int(self.mean.shape[1])

    def aggregate_std(self) -> np.ndarray:
        """Standard deviation of each coordinate under the aggregate posterior
        q(c_j) = mean over rows of q(c_j | x): √(Var_x μ_j + E_x σ_j²) (law of total
        variance). It is ≈ 1 when the model matches its N(0, 1) prior, and also for an
        inactive coordinate (μ ≈ 0, σ ≈ 1)."""
        return np.sqrt(self.mean.var(axis=0) + np.exp(self.logvar).mean(axis=0))


def threaded(fn: F) -> F:
    """Decorator: run `fn` on one intra-op thread (synthkit.core.trainer.intra_op_threads):
    the analyses run small matrices (thousands of rows × 128 units), which gain nothing from
    more threads (on a shared 2-core machine two made a decode eight times slower), and with
    one their results are the same in every process."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with intra_op_threads(1):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def fitted(synth: object) -> tuple[object, object]:
    """The transformer and model of a fitted Synthesizer (or a one-line error)."""
    transformer = getattr(synth, "transformer", None)
    model = getattr(synth, "model", None)
    if model is None or transformer is None:
        raise SynthkitError("the synthesizer is not fitted: call fit() or load() first")
    return transformer, model


def latent_dims(synth: object) -> dict[str, int]:
    """Size of each latent block, in the order :meth:`Synthesizer.encode` returns them."""
    _, model = fitted(synth)
    return dict(model.latent_dims())  # type: ignore[attr-defined]


def labels(block: str, dims: int) -> list[str]:
    """``["c1", …, "c<dims>"]``: the paper's 1-based names of a block's coordinates."""
    return [f"{block}{i + 1}" for i in range(dims)]


def resolve_latent(dims: dict[str, int], latent: str | int, block: str | None = None) -> tuple[str, int]:
    """(block, 0-based index) of a latent given as a label (``"c2"``) or as a 0-based
    index within `block` (default: the model's first block). Errors are one line."""
    if isinstance(latent, str) and not latent.lstrip("-").isdigit():
        name = latent.strip()
        blk = name.rstrip("0123456789")
        digits = name[len(blk):]
        if blk not in dims or not digits:
            raise SynthkitError(f"unknown latent {latent!r}: this model's latents are {_ranges(dims)}")
        if block is not None and block != blk:
            raise SynthkitError(f"latent {latent!r} is not in block {block!r}")
        index = int(digits) - 1
        if not 0 <= index < dims[blk]:
            raise SynthkitError(f"latent {latent!r} is out of range: block {blk!r} has {dims[blk]} coordinates "
                                f"({blk}1–{blk}{dims[blk]})")
        return blk, index
    blk = block if block is not None else next(iter(dims))
    if blk not in dims:
        raise SynthkitError(f"this model has no latent block {blk!r} (it has {', '.join(dims)})")
    index = int(latent)
    if not 0 <= index < dims[blk]:
        raise SynthkitError(f"latent index {index} is out of range: block {blk!r} has {dims[blk]} coordinates "
                            f"(0–{dims[blk] - 1}, labelled {blk}1–{blk}{dims[blk]})")
    return blk, index


def _ranges(dims: dict[str, int]) -> str:
    return ", ".join(f"{b}1–{b}{d}" for b, d in dims.items())


@threaded
def posteriors(synth: object, data: pd.DataFrame) -> dict[str, Posterior]:
    """Posterior means and log-variances of every latent block for each row of `data`.

    The means equal :meth:`Synthesizer.encode`'s. Works for the three methods synthkit
    ships (TVAE, β-TCVAE, MS-VAE); another method must expose ``encoder`` like them.
    """
    transformer, model = fitted(synth)
    x_all = transformer.transform(data, dtype=np.float32)  # type: ignore[attr-defined]
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    with torch.no_grad(), flush_denormals():
        for lo in range(0, len(x_all), CHUNK):
            x = torch.as_tensor(x_all[lo : lo + CHUNK])
            for name, (mu, logvar) in _posterior_tensors(model, x).items():
                parts.setdefault(name, []).append((mu.numpy().astype(np.float64), logvar.numpy().astype(np.float64)))
    if not parts:  # no rows
        dims = model.latent_dims()  # type: ignore[attr-defined]
        return {k: Posterior(np.zeros((0, d)), np.zeros((0, d))) for k, d in dims.items()}
    return {k: Posterior(np.vstack([m for m, _ in v]), np.vstack([s for _, s in v])) for k, v in parts.items()}


def _posterior_tensors(model: object, x: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    stage1 = getattr(model, "stage1", None)
    stage2 = getattr(model, "stage2", None)
    if stage1 is not None and stage2 is not None:  # MS-VAE
        mu_c, lv_c = stage1.encoder(x)
        y = stage1.heads.mean(stage1.decoder(mu_c))
        mu_z, lv_z = stage2._posterior(x, y)
        return {"c": (mu_c, lv_c), "z": (mu_z, lv_z)}
    encoder = getattr(model, "encoder", None)
    if encoder is None:
        raise SynthkitError(f"method {getattr(model, 'name', type(model).__name__)!r} exposes no encoder to explain")
    mu, logvar = encoder(x)
    return {model.latent_names[0]: (mu, logvar)}  # type: ignore[attr-defined]


def subsample(
    data: pd.DataFrame, factors: pd.DataFrame | None, max_rows: int | None, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """At most `max_rows` rows drawn without replacement (rng `seed`), factors kept aligned;
    the index is reset. All rows, in order, when the table is small enough."""
    if factors is not None and len(factors) != len(data):
        raise SynthkitError(
            f"the factors have {len(factors):,} rows but the data {len(data):,}: they must be row-aligned"
        )
    if max_rows is not None and max_rows < 2:
        raise SynthkitError(f"max_rows must be at least 2, not {max_rows}")
    if max_rows is None or len(data) <= max_rows:
        idx = np.arange(len(data))
    else:
        idx = np.sort(np.random.default_rng(seed).choice(len(data), size=max_rows, replace=False))
    out = data.iloc[idx].reset_index(drop=True)
    return out, (factors.iloc[idx].reset_index(drop=True) if factors is not None else None)
