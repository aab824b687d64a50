"""image_track.methods: every method trains on streamed batches, encodes/decodes/samples in the networks' shapes, is
reproducible and survives save → load; FactorVAE's discriminator, β-TCVAE's decomposition and MS-VAE's AdaIN-only
use of Z behave as their papers say."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from image_track import methods
from image_track.methods import IMAGE_METHODS, MSVAE, BetaTCVAE, BetaVAE, FactorVAE, ImageMethod, build
from image_track.networks import to_tensor
from synthkit.core.methods import UnknownMethodError
from synthkit.core.objectives import gaussian_log_density, permute_dims, reparameterize
from synthkit.core.trainer import History, StepTrainerConfig

torch.set_num_threads(1)

NAMES = ["vae", "betavae", "factorvae", "betatcvae", "msvae"]
SMALL = {"image_shape": (28, 28, 1), "arch": "cascade28"}
STEPS = 30
#: A higher learning rate than the lib's 1e-4, so that 30 steps show the loss fall.
TRAINER = StepTrainerConfig(learning_rate=1e-3, log_every=1, device="cpu", cpu_threads=1, progress=False)


def squares(n: int = 64, seed: int = 0) -> np.ndarray:
    """A fixed small binary dataset, (n, 28, 28, 1) as a dataset hands it over: one filled square per image."""
    rng = np.random.default_rng(seed)
    data = np.zeros((n, 28, 28, 1), np.float32)
    for image in data:
        side = rng.integers(6, 14)
        row, col = rng.integers(0, 28 - side, 2)
        image[row : row + side, col : col + side] = 1.0
    return data


DATA = squares()


def batches(seed: int = 0, size: int = 32) -> Iterator[torch.Tensor]:
    """Endless random batches of DATA as a dataset's training stream yields them: (N, C, H, W) tensors."""
    rng = np.random.default_rng(seed)
    while True:
        yield to_tensor(DATA[rng.choice(len(DATA), size, replace=False)])


def first_batch() -> torch.Tensor:
    return to_tensor(DATA[:16])


@pytest.fixture(scope="module")
def fitted() -> dict[str, tuple[ImageMethod, dict[str, History], dict[str, torch.Tensor]]]:
    """Each method fitted for STEPS steps (per stage), with its discriminator's or stage one's weights as they were
    before the stage that must not change them (FactorVAE: before training; MS-VAE: at the end of stage one)."""
    out = {}
    for name in NAMES:
        model = build(name, seed=0, **SMALL)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        snapshot: dict[str, torch.Tensor] = {}

        def end_of_stage_one(
            stage: str, index: int, history: History, model: ImageMethod = model, snapshot: dict = snapshot
        ) -> None:
            if stage == "stage1" and index == STEPS - 1:
                snapshot.update({k: v.clone() for k, v in model.state_dict().items()})

        history = model.fit(batches(), STEPS, seed=0, trainer=TRAINER, callbacks=[end_of_stage_one])
        out[name] = (model, history, snapshot or before)
    return out


def test_the_registry_lists_all_five_methods() -> None:
    assert list(IMAGE_METHODS) == NAMES
    with pytest.raises(UnknownMethodError, match=r"^unknown image method 'gan' \(known: vae, betavae, factorvae"):
        build("gan")


@pytest.mark.parametrize("name", NAMES)
def test_loss_is_finite_and_falls(fitted, name: str) -> None:
    _, history, _ = fitted[name]
    assert list(history) == (["stage1", "stage2"] if name == "msvae" else ["model"])
    for h in history.values():
        loss = np.array(h.train["loss"])
        assert len(loss) == STEPS and np.isfinite(loss).all()
        assert loss[-5:].mean() < 0.8 * loss[:5].mean()


@pytest.mark.parametrize("name", NAMES)
def test_encode_decode_sample_shapes(fitted, name: str) -> None:
    model, _, _ = fitted[name]
    x = first_batch()
    codes = model.encode(x)
    assert list(codes) == list(model.latent_names)
    assert {k: tuple(v.shape) for k, v in codes.items()} == {k: (16, d) for k, d in model.latent_dims().items()}
    images = model.decode(codes)
    assert images.shape == x.shape and 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    assert torch.equal(model.reconstruct(x), images)
    draws = model.sample(5, torch.Generator().manual_seed(1))
    assert draws.shape == (5, 1, 28, 28) and torch.equal(draws, model.sample(5, torch.Generator().manual_seed(1)))


def test_the_lib_networks_take_64_pixel_images() -> None:
    model = build("betatcvae")  # the defaults: 64 × 64 × 1, "dlib64", 10 latents
    x = torch.rand(2, 1, 64, 64)
    assert model.encode(x)["z"].shape == (2, 10) and model.reconstruct(x).shape == (2, 1, 64, 64)
    loss, terms = model.loss(x)
    assert torch.isfinite(loss) and set(terms) >= {"reconstruction", "kl", "total_correlation"}


@pytest.mark.parametrize("name", NAMES)
def test_a_seed_gives_the_same_model(name: str) -> None:
    def run(seed: int) -> dict[str, torch.Tensor]:
        model = build(name, seed=seed, **SMALL)
        model.fit(batches(seed), 3, seed=seed, trainer=TRAINER)
        return model.state_dict()

    a, b, c = run(0), run(0), run(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(fitted, name: str, tmp_path: Path) -> None:
    model, _, _ = fitted[name]
    model.save(tmp_path / name)
    again = methods.load(tmp_path / name)
    assert type(again) is type(model) and again.config == model.config
    x = first_batch()
    assert torch.equal(again.reconstruct(x), model.reconstruct(x))
    assert torch.equal(type(model).load(tmp_path / name).reconstruct(x), model.reconstruct(x))
    other = BetaVAE if name != "betavae" else FactorVAE
    with pytest.raises(ValueError, match=f"holds a '{name}' model"):
        other.load(tmp_path / name)


def test_factorvae_trains_its_discriminator_through_the_aux_step(fitted) -> None:
    model, history, before = fitted["factorvae"]
    assert isinstance(model, FactorVAE)
    state = model.state_dict()
    changed = [k for k in before if k.startswith("discriminator.") and not torch.equal(before[k], state[k])]
    assert changed and len(history["model"].train["discriminator"]) == STEPS
    main = {id(p) for p in model.trained_parameters()}
    assert main and not main & {id(p) for p in model.discriminator.parameters()}


def test_factorvae_tc_is_the_discriminators_density_ratio_logit(fitted) -> None:
    model, _, _ = fitted["factorvae"]
    assert isinstance(model, FactorVAE)
    model.train()
    torch.manual_seed(3)
    _, terms = model.loss(first_batch())
    model.eval()
    z = model.last_latents
    with torch.no_grad():
        logits = model.discriminator(z)
        p = torch.softmax(logits, dim=1)[:, 0]
    assert torch.allclose(terms["total_correlation"], (logits[:, 0] - logits[:, 1]).mean())
    assert torch.allclose(terms["total_correlation"], torch.log(p / (1 - p)).mean(), atol=1e-4)


def test_permute_dims_shuffles_each_dimension_on_its_own() -> None:
    z = torch.arange(40.0).reshape(10, 4)
    torch.manual_seed(0)
    shuffled = permute_dims(z)
    for d in range(4):
        assert torch.equal(shuffled[:, d].sort().values, z[:, d])
    assert not torch.equal(shuffled.argsort(dim=0)[:, 0], shuffled.argsort(dim=0)[:, 1])


def test_betatcvae_at_beta_one_is_the_elbo_and_its_terms_decompose_the_kl() -> None:
    tc, vae = build("betatcvae", seed=0, beta=1.0, **SMALL), build("vae", seed=0, **SMALL)
    x = first_batch()
    torch.manual_seed(7)
    total, terms = tc.loss(x)
    torch.manual_seed(7)
    elbo, vae_terms = vae.loss(x)
    assert torch.equal(total, elbo) and torch.equal(total, terms["reconstruction"] + terms["kl"])
    assert all(torch.equal(terms[k], vae_terms[k]) for k in ("reconstruction", "kl"))
    # MI + TC + dimension-wise KL is the batch mean of log q(z|x) − log p(z) at the same z (Chen et al. Eq. 2).
    torch.manual_seed(7)
    mu, logvar = tc.encoder(x)
    z = reparameterize(mu, logvar)
    single = (gaussian_log_density(z, mu, logvar) - gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)))
    parts = terms["mutual_information"] + terms["total_correlation"] + terms["dimension_wise_kl"]
    assert torch.allclose(parts, single.sum(dim=1).mean(), atol=1e-3)
    # β weighs the TC on top of the ELBO: the lib's ELBO + (β − 1) · TC.
    six = build("betatcvae", seed=0, beta=6.0, **SMALL)
    torch.manual_seed(7)
    total6, terms6 = six.loss(x)
    assert torch.allclose(total6, terms6["reconstruction"] + terms6["kl"] + 5.0 * terms6["total_correlation"])


def test_betatcvae_stratified_estimator_needs_the_dataset_size() -> None:
    with pytest.raises(ValueError, match="needs dataset_size"):
        build("betatcvae", estimator="mss", **SMALL)
    model = build("betatcvae", estimator="mss", dataset_size=len(DATA), **SMALL)
    assert torch.isfinite(model.loss(first_batch())[0])


def test_msvae_keeps_stage_one_fixed_while_stage_two_trains(fitted) -> None:
    model, _, end_of_stage_one = fitted["msvae"]
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in end_of_stage_one.items() if k.startswith("stage1."))
    assert any(not torch.equal(state[k], v) for k, v in end_of_stage_one.items() if k.startswith("stage2."))


def test_msvae_stage_two_decoder_sees_z_only_through_adain(fitted, tmp_path: Path) -> None:
    model, _, _ = fitted["msvae"]
    assert isinstance(model, MSVAE)
    model.save(tmp_path)
    model = methods.load(tmp_path)  # a copy to change
    assert isinstance(model, MSVAE)
    y = model.stage_one_reconstruction(model.encode(first_batch())["c"])
    z1, z2 = torch.randn(16, 5, generator=torch.Generator().manual_seed(0)), torch.zeros(16, 5)
    with torch.no_grad():
        assert not torch.allclose(model.residual_decode(y, z1), model.residual_decode(y, z2))  # Z is used ...
        for adain in model.stage2.decoder.adains:
            adain.to_gamma_beta.weight.zero_()  # ... and only by AdaIN: with γ(z), β(z) constant, not at all
        assert torch.equal(model.residual_decode(y, z1), model.residual_decode(y, z2))


def test_msvae_stages_each_iterate_a_reiterable_stream_and_share_a_one_pass_one() -> None:
    stream = [to_tensor(DATA[i : i + 16]) for i in range(0, 48, 16)]
    history = build("msvae", **SMALL).fit(stream, 3, trainer=TRAINER)
    assert [h.steps_run for h in history.values()] == [3, 3]
    history = build("msvae", **SMALL).fit(iter(stream), 2, trainer=TRAINER)
    assert [h.steps_run for h in history.values()] == [2, 1]
    assert history["stage2"].stopped_because == "the batches ran out after 1 steps"


def test_msvae_stage_one_is_any_single_stage_method() -> None:
    model = build("msvae", stage_one="betavae", stage_one_options={"beta": 2.0}, **SMALL)
    assert isinstance(model.stage1, BetaVAE) and model.stage1.config.beta == 2.0
    assert model.stage1.config.image_shape == (28, 28, 1) and model.stage1.config.latent_dim == 10
    assert isinstance(build("msvae", **SMALL).stage1, BetaTCVAE)
    with pytest.raises(ValueError, match="stage_one must be a single-stage method"):
        build("msvae", stage_one="msvae", **SMALL)
    with pytest.raises(ValueError, match="cannot set 'latent_dim'"):
        build("msvae", stage_one_options={"latent_dim": 4}, **SMALL)
