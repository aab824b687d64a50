"""Output heads: the likelihood, the expected row and the draws, checked against direct formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from synthkit.tabular.heads import INIT_SCALE, OutputHeads
from synthkit.tabular.transformer import MinMaxLogTransformer, ModeSpecificTransformer


@pytest.fixture(scope="module")
def setup() -> tuple[ModeSpecificTransformer, torch.Tensor]:
    rng = np.random.default_rng(0)
    n = 3000
    df = pd.DataFrame(
        {
            "amount": np.where(rng.random(n) < 0.4, 0.0, np.round(rng.gamma(2, 300, n), 2)),
            "score": np.concatenate([rng.normal(-5, 1, n // 2), rng.normal(5, 1, n - n // 2)]),
            "grade": rng.choice(list("ABCD"), n),
        }
    )
    df.loc[rng.random(n) < 0.1, "score"] = np.nan
    tr = ModeSpecificTransformer().fit(df)
    return tr, torch.as_tensor(tr.transform(df))


def _manual_nll(heads: OutputHeads, tr: ModeSpecificTransformer, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(len(x))
    r = 0
    blocks = [s for s in tr.spans if s.kind in ("modes", "categories")]
    for b in blocks:
        log_p = torch.log_softmax(raw[:, r : r + b.width], dim=1)
        total -= (x[:, b.start : b.start + b.width] * log_p).sum(dim=1)
        r += b.width
    sigma_log = math.log(INIT_SCALE)
    offsets = {s.column: s.start for s in tr.spans if s.kind == "offset"}
    for b in blocks:
        for k in range(b.gaussian):
            mean = raw[:, r]
            target = x[:, offsets[b.column]]
            nll = 0.5 * math.log(2 * math.pi) + sigma_log + 0.5 * ((target - mean) / INIT_SCALE) ** 2
            total += x[:, b.start + k] * nll
            r += 1
    return total


def test_nll_matches_per_block_formulas(setup: tuple[ModeSpecificTransformer, torch.Tensor]) -> None:
    tr, x = setup
    heads = OutputHeads(tr.spans)
    raw = torch.randn(len(x), heads.raw_dim, generator=torch.Generator().manual_seed(0)) * 3
    assert torch.allclose(heads.nll(x, raw), _manual_nll(heads, tr, x, raw), rtol=1e-5, atol=1e-4)


def test_mean_is_probabilities_and_weighted_offsets(setup: tuple[ModeSpecificTransformer, torch.Tensor]) -> None:
    tr, x = setup
    heads = OutputHeads(tr.spans)
    raw = torch.randn(50, heads.raw_dim, generator=torch.Generator().manual_seed(1))
    y = heads.mean(raw)
    for span in tr.spans:
        if span.kind in ("modes", "categories"):
            assert torch.allclose(y[:, span.start : span.start + span.width].sum(dim=1), torch.ones(50))
    modes = next(s for s in tr.spans if s.kind == "modes" and s.column == "score")
    offset = modes.start - 1
    means = raw[:, heads.mode_mean_raw][:, heads.offset_x == offset]
    probs = y[:, modes.start : modes.start + modes.gaussian]
    assert torch.allclose(y[:, offset], (probs * means).sum(dim=1), atol=1e-6)


def test_samples_follow_the_softmax_and_the_chosen_mode(setup: tuple[ModeSpecificTransformer, torch.Tensor]) -> None:
    tr, _ = setup
    heads = OutputHeads(tr.spans)
    one = torch.randn(1, heads.raw_dim, generator=torch.Generator().manual_seed(2))
    raw = one.repeat(40_000, 1)
    draws = heads.sample(raw, torch.Generator().manual_seed(3))
    expected = heads.mean(one)[0]
    for span in tr.spans:
        if span.kind in ("modes", "categories"):
            block = draws[:, span.start : span.start + span.width]
            assert torch.equal(block.sum(dim=1), torch.ones(len(raw)))  # exactly one per block
            freq = block.mean(dim=0)
            assert torch.allclose(freq, expected[span.start : span.start + span.width], atol=0.015)
    # Rows drawn into a Gaussian mode carry that mode's offset mean, spread by its scale.
    modes = next(s for s in tr.spans if s.kind == "modes" and s.column == "score")
    in_first = draws[:, modes.start] == 1
    mean0 = one[0, heads.mode_mean_raw[(heads.offset_x == modes.start - 1)][0]]
    offsets = draws[in_first, modes.start - 1]
    assert abs(float(offsets.mean() - mean0)) < 0.01 and abs(float(offsets.std()) - INIT_SCALE) < 0.01


def test_minmax_value_heads(setup: tuple[ModeSpecificTransformer, torch.Tensor]) -> None:
    df = pd.DataFrame({"a": np.linspace(1, 100, 200), "c": ["x", "y"] * 100})
    tr = MinMaxLogTransformer().fit(df)
    heads = OutputHeads(tr.spans)
    assert heads.raw_dim == tr.output_dim == 2 and heads.n_blocks == 0
    raw = torch.zeros(5, 2)
    assert torch.allclose(heads.mean(raw), torch.full((5, 2), 0.5))
    assert torch.isfinite(heads.nll(torch.as_tensor(tr.transform(df)), torch.zeros(200, 2))).all()


def _messy_table(n: int = 2000) -> pd.DataFrame:
    """Blocks of many widths (so several padded groups), point masses, missing values,
    pooled rare categories, integer categories and text."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {
            "amount": np.where(rng.random(n) < 0.3, 0.0, np.round(rng.gamma(2, 300, n), 2)),
            "score": np.concatenate([rng.normal(-5, 1, n // 2), rng.normal(5, 1, n - n // 2)]),
            "flag": rng.random(n) < 0.2,
            "count": rng.poisson(2, n),
            "grade": rng.choice(list("ABCDEFGHIJKLMNOPQRS"), n),
            "city": [f"city{int(v)}" for v in rng.zipf(1.6, n) % 400],
        }
    )
    df.loc[rng.random(n) < 0.1, "score"] = np.nan
    return df


@pytest.mark.parametrize("transformer", [ModeSpecificTransformer, MinMaxLogTransformer])
def test_compact_draws_decode_like_their_matrix(transformer: type) -> None:
    """Synthesizer.sample decodes the heads' compact draws (codes, offsets, values) with
    inverse_codes; that must equal inverse_transform of the matrix the draws describe."""
    df = _messy_table()
    tr = transformer().fit(df)
    heads = OutputHeads(tr.spans)
    raw = torch.randn(4000, heads.raw_dim, generator=torch.Generator().manual_seed(0)) * 2
    codes, offsets, values = heads.sample_codes(raw, torch.Generator().manual_seed(1))
    rows = heads.to_rows(codes, offsets, values)
    compact = tr.inverse_codes(codes.numpy(), offsets.numpy(), values.numpy(), seed=3)
    pd.testing.assert_frame_equal(compact, tr.inverse_transform(rows.numpy(), seed=3))
    assert list(compact.columns) == list(df.columns)
    # Draws never land in a block's padding: every code is inside its block.
    widths = torch.tensor([s.width for s in tr.spans if s.kind in ("modes", "categories")])
    assert bool((codes >= 0).all()) and bool((codes < widths).all())


def test_draws_skip_impossible_entries() -> None:
    """An entry with (numerically) zero probability is never drawn, even at the ends of a
    block or next to its padding."""
    df = _messy_table(500)
    tr = ModeSpecificTransformer().fit(df)
    heads = OutputHeads(tr.spans)
    raw = torch.full((20_000, heads.raw_dim), -200.0)
    # In every block only the last entry is possible.
    blocks = [s for s in tr.spans if s.kind in ("modes", "categories")]
    for i, s in enumerate(blocks):
        raw[:, int(heads.block_base[i]) + s.width - 1] = 0.0
    codes, _, _ = heads.sample_codes(raw, torch.Generator().manual_seed(0))
    assert torch.equal(codes, torch.tensor([s.width - 1 for s in blocks]).expand_as(codes))


@pytest.mark.parametrize("transformer", [ModeSpecificTransformer, MinMaxLogTransformer])
def test_training_layout_matches_nll_in_value_and_gradients(transformer: type) -> None:
    """nll_hidden (the training step's transposed layout) is nll of the output layer, gradients included, with
    blocks of several widths (several padded groups) and logits far apart (the padding must not leak in)."""
    rng = np.random.default_rng(1)
    n = 400
    df = pd.DataFrame(
        {
            "amount": np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2, 300, n)),
            "score": np.concatenate([rng.normal(-5, 1, n // 2), rng.normal(5, 1, n - n // 2)]),
            "grade": rng.choice(list("ABC"), n),
            "state": rng.choice([f"s{i}" for i in range(40)], n),
            "purpose": rng.choice([f"p{i}" for i in range(9)], n),
        }
    )
    df.loc[rng.random(n) < 0.1, "score"] = np.nan
    tr = transformer().fit(df)
    x = torch.as_tensor(tr.transform(df), dtype=torch.float32)
    heads = OutputHeads(tr.spans)
    torch.manual_seed(0)
    output = torch.nn.Linear(16, heads.raw_dim)
    with torch.no_grad():
        output.weight.mul_(20.0)  # logits tens of nats apart within a block
        heads.mode_log_scale.normal_()
        heads.value_log_scale.normal_()
    hidden = torch.randn(n, 16, requires_grad=True)
    params = [hidden, output.weight, output.bias, heads.mode_log_scale, heads.value_log_scale]

    expected = heads.nll(x, output(hidden))
    got = heads.nll_hidden(x, hidden, output)
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-3)
    g_expected = torch.autograd.grad(expected.sum(), params, allow_unused=True)
    g_got = torch.autograd.grad(got.sum(), params, allow_unused=True)
    for a, b in zip(g_expected, g_got):
        if a is None:
            assert b is None or not b.any()
        else:
            # float32 rounding scales with the largest gradient (Gaussian terms with small σ dominate)
            assert torch.allclose(b, a, rtol=1e-4, atol=1e-5 * float(a.abs().max())), ((b - a).abs().max(), a.abs().max())
