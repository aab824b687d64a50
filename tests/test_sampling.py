"""The fast sampling plans compute what the training-time code defines (synthkit.tabular.sampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthkit.tabular import sampling
from synthkit.tabular.heads import OutputHeads
from synthkit.tabular.methods import METHODS
from synthkit.tabular.sampling import HeadOutput, Workspace, sample_codes
from synthkit.tabular.transformer import MinMaxLogTransformer, ModeSpecificTransformer


def _table(n: int = 1500) -> pd.DataFrame:
    """Blocks of several widths, Gaussian modes, point masses, missing values, text."""
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {
            "amount": np.where(rng.random(n) < 0.3, 0.0, np.round(rng.gamma(2, 300, n), 2)),
            "score": np.concatenate([rng.normal(-5, 1, n // 2), rng.normal(5, 1, n - n // 2)]),
            "flag": rng.random(n) < 0.2,
            "grade": rng.choice(list("ABCDEFGHIJKLMNOPQRS"), n),
            "term": rng.choice([12, 24, 36], n),
        }
    )
    df.loc[rng.random(n) < 0.1, "score"] = np.nan
    return df


@pytest.fixture(scope="module", params=[ModeSpecificTransformer, MinMaxLogTransformer])
def spans(request: pytest.FixtureRequest) -> list:
    return request.param().fit(_table()).spans


def _randomise(module: torch.nn.Module, seed: int) -> None:
    """Random weights everywhere (AdaIN's maps start at zero, which would hide mistakes)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)


def test_head_output_is_the_linear_layer_in_the_inference_layout(spans: list) -> None:
    heads = OutputHeads(spans)
    linear = torch.nn.Linear(16, heads.raw_dim)
    _randomise(linear, 0)
    h = torch.randn(300, 16, generator=torch.Generator().manual_seed(1))
    expected = heads.inference_rows(linear(h))
    # Plans keep activations transposed with a row of ones below (the bias rides on it).
    got = HeadOutput(linear, heads).rows(torch.cat([h.t(), torch.ones(1, len(h))]), Workspace(), "rows")
    finite = torch.isfinite(expected)
    assert torch.equal(finite, torch.isfinite(got))  # the padding is −inf in both
    assert torch.allclose(got[finite], expected[finite], atol=1e-5)


def test_folded_layer_reads_the_expected_row(spans: list) -> None:
    """fold_input(W) @ expected_t(rows) = W @ mean(raw)ᵀ: the layer that reads stage one's
    expected row sees the same input in either layout, also when expected_t works in place."""
    heads = OutputHeads(spans)
    raw = torch.randn(400, heads.raw_dim, generator=torch.Generator().manual_seed(2)) * 3
    weight = torch.randn(32, heads.output_dim, generator=torch.Generator().manual_seed(3))
    expected = heads.mean(raw) @ weight.t()
    rows = heads.inference_rows(raw)
    for out in (None, rows.clone()):
        got = (heads.fold_input(weight) @ heads.expected_t(rows, out=out)).t()
        assert torch.allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("method", ["tvae", "betatcvae", "msvae"])
def test_plans_draw_what_the_reference_decoders_draw(spans: list, method: str) -> None:
    """Same latents and random stream: the plan's codes and offsets equal those drawn from
    the training-time decoders' outputs (up to rows on a float-rounding boundary)."""
    cls = METHODS[method]
    model = cls(cls.config_class(), spans)
    _randomise(model, 4)
    dims = model.latent_dims()
    n = 3000
    # The plan draws its latents (block by block, transposed) and then the rows from one
    # generator; the reference consumes the same stream in the same order.
    g = torch.Generator().manual_seed(5)
    latents = {k: torch.randn(d, n, generator=g).t() for k, d in dims.items()}
    with torch.no_grad():
        if method == "msvae":
            y = model.stage1.heads.mean(model.stage1.decoder(latents["c"]))
            raw, heads = model.stage2.decoder(y, latents["z"]), model.stage2.heads
        else:
            raw, heads = model.decoder(latents[model.latent_names[0]]), model.heads
        reference = heads.draw_t(heads.inference_rows(raw), g)
        got = model.sampling_plan()(torch.Generator().manual_seed(5), n, Workspace())
    codes_ref, offsets_ref, values_ref = reference
    codes, offsets, values = got
    same = (codes == codes_ref).all(dim=0)
    assert float(same.float().mean()) > 0.995
    assert torch.allclose(offsets[:, same], offsets_ref[:, same], atol=1e-4)
    assert torch.allclose(values, values_ref, atol=1e-4)


def test_sample_codes_do_not_depend_on_threads_or_reuse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each chunk has its own generator, so one thread and several give the same rows;
    chunks of different sizes (the last one) reuse workspaces safely."""
    monkeypatch.setattr(sampling, "CHUNK_ROWS", 256)
    spans = ModeSpecificTransformer().fit(_table()).spans
    model = METHODS["msvae"](METHODS["msvae"].config_class(), spans)
    _randomise(model, 8)
    plan = model.sampling_plan()
    n = 256 * 5 + 17
    one = sample_codes(plan, n, seed=3, threads=1)
    two = sample_codes(plan, n, seed=3, threads=2)
    other = sample_codes(plan, n, seed=4, threads=2)
    for a, b in zip(one, two):
        assert a.shape[0] == n and np.array_equal(a, b)
    assert not np.array_equal(one[0], other[0])
    # Chunks are independent draws, not copies of one another.
    assert not np.array_equal(one[1][:256], one[1][256:512])
    assert one[0].dtype == np.int16 and one[1].dtype == np.float32


@pytest.mark.parametrize("n", [100, 256 * 5])
def test_every_chunk_runs_single_threaded_and_the_setting_is_restored(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """With two intra-op threads the same seed gave rows differing in the 6th digit in about
    one process in 40 (tests/test_cli.py caught it in CI); a draw must therefore run every
    chunk, the first one included, with one intra-op thread, whatever the caller set."""
    monkeypatch.setattr(sampling, "CHUNK_ROWS", 256)
    spans = ModeSpecificTransformer().fit(_table()).spans
    model = METHODS["msvae"](METHODS["msvae"].config_class(), spans)
    plan = model.sampling_plan()
    seen: list[int] = []

    def watched(generator: torch.Generator, rows: int, ws: Workspace) -> sampling.Codes:
        seen.append(torch.get_num_threads())
        return plan(generator, rows, ws)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sample_codes(watched, n, seed=0, threads=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert len(seen) == -(-n // 256) and set(seen) == {1}


@pytest.mark.parametrize("before", [True, False])
def test_numpy_hugepage_advice_is_off_inside_and_restored(before: bool) -> None:
    """Synthesizer.sample allocates its arrays without NumPy's huge-page advice (a first
    draw stalled on synchronous memory compaction) and leaves NumPy's setting as it found it,
    also when the draw fails."""
    switch = sampling._numpy_hugepage_switch()
    if switch is None:
        pytest.skip("this NumPy has no huge-page switch")
    original = switch(before)
    try:
        with sampling.without_numpy_hugepages():
            inside = switch(False)  # returns the setting in force
        assert inside is False and switch(before) is before
        with pytest.raises(RuntimeError), sampling.without_numpy_hugepages():
            raise RuntimeError("a failing draw")
        assert switch(before) is before
    finally:
        switch(original)


def test_synthesizer_sample_runs_without_hugepage_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    from synthkit.tabular.synthesizer import Synthesizer

    switch = sampling._numpy_hugepage_switch()
    if switch is None:
        pytest.skip("this NumPy has no huge-page switch")
    synth = Synthesizer(method="tvae", epochs=1).fit(_table(300), track=False)
    seen: list[bool] = []
    real = sampling.sample_codes

    def watched(*args: object, **kwargs: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        seen.append(switch(False))  # the setting in force (False stays False)
        return real(*args, **kwargs)

    monkeypatch.setattr(sampling, "sample_codes", watched)
    original = switch(True)
    try:
        synth.sample(50, seed=0)
        assert seen == [False] and switch(True) is True
    finally:
        switch(original)
