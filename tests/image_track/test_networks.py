"""image_track.networks: shapes and parameter counts of the papers' architectures, AdaIN's conditioning contract,
the per-image likelihoods, and that the 64×64 VAE trains and is reproducible."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from image_track.networks import (
    AdaINConvDecoder,
    ConvAdaIN,
    FactorVAEDiscriminator,
    ResidualConvEncoder,
    bernoulli_nll,
    build_networks,
    gaussian_nll,
    image_spec,
    to_tensor,
)

torch.set_num_threads(1)

SUPPORTED = [((64, 64, 1), "dlib64"), ((64, 64, 3), "dlib64"), ((28, 28, 1), "cascade28"), ((32, 32, 1), "cascade28")]


def n_params(*modules: torch.nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def conv(k: int, c_in: int, c_out: int) -> int:
    """Weights and biases of a k×k (transposed) convolution."""
    return k * k * c_in * c_out + c_out


def dense(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


@pytest.mark.parametrize(("shape", "arch"), SUPPORTED)
def test_output_shapes(shape: tuple[int, int, int], arch: str) -> None:
    h, w, c = shape
    images = np.random.default_rng(0).random((5, h, w, c)).astype(np.float32)  # what a dataset hands over
    x = to_tensor(images)
    encoder, decoder = build_networks(shape, 7, arch)
    mean, log_var = encoder(x)
    assert mean.shape == log_var.shape == (5, 7)
    assert decoder(mean).shape == (5, c, h, w)
    spec = image_spec(shape, arch)
    assert AdaINConvDecoder(spec, 3)(x, torch.randn(5, 3)).shape == (5, c, h, w)
    assert ResidualConvEncoder(spec, 3)(x, x)[0].shape == (5, 3)


@pytest.mark.parametrize(
    ("shape", "arch", "channels"),
    [
        ((28, 28, 1), "dlib64", None),
        ((64, 64, 1), "cascade28", None),
        ((32, 28, 1), "cascade28", None),
        ((64, 64, 1), "resnet", None),
        ((64, 64, 3), "dlib64", 1),
        ((64, 64), "dlib64", None),
        ((64,), "dlib64", None),
    ],
)
def test_unsupported_combinations_are_one_line_value_errors(
    shape: tuple[int, ...], arch: str, channels: int | None
) -> None:
    with pytest.raises(ValueError) as err:
        build_networks(shape, 10, arch, channels=channels)
    assert "\n" not in str(err.value)


def test_channels_keyword_stands_in_for_the_channel_axis() -> None:
    assert image_spec((64, 64), "dlib64", channels=3) == image_spec((64, 64, 3), "dlib64")


def test_to_tensor_transposes_nhwc_to_nchw_into_new_memory() -> None:
    images = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)  # N, H, W, C
    x = to_tensor(images)
    assert x.shape == (2, 5, 3, 4) and x.dtype == torch.float32 and x.is_contiguous()
    assert x[1, 4, 2, 3] == images[1, 2, 3, 4]
    single = np.zeros((2, 3, 4, 1), dtype=np.float32)  # one channel: a view would be possible; a copy is made
    to_tensor(single).fill_(1.0)
    assert not single.any()
    assert torch.equal(to_tensor(torch.as_tensor(images)), x)  # NHWC tensors sliced by the trainer
    with pytest.raises(ValueError):
        to_tensor(images[0])


@pytest.mark.parametrize("c", [1, 3])
def test_dlib64_parameter_counts_match_the_lib(c: int) -> None:
    latent = 10
    encoder, decoder = build_networks((64, 64, c), latent, "dlib64")
    # conv_encoder: e1 k4 32, e2 k4 32, e3 k2 64, e4 k2 64, e5 dense 4·4·64 → 256, means and log_var 256 → L.
    expected_encoder = (
        conv(4, c, 32) + conv(4, 32, 32) + conv(2, 32, 64) + conv(2, 64, 64) + dense(1024, 256) + 2 * dense(256, latent)
    )
    # deconv_decoder: dense L → 256 → 1024, then k4 transposed convs 64 → 64 → 32 → 32 → C.
    expected_decoder = (
        dense(latent, 256) + dense(256, 1024) + conv(4, 64, 64) + conv(4, 64, 32) + conv(4, 32, 32) + conv(4, 32, c)
    )
    assert n_params(encoder) == expected_encoder == 309_204 + 512 * (c - 1)
    assert n_params(decoder) == expected_decoder


@pytest.mark.parametrize("side", [28, 32])
def test_cascade28_parameter_counts_match_table_6(side: int) -> None:
    latent = 10
    encoder, decoder = build_networks((side, side, 1), latent, "cascade28")
    # Encoder: three 4×4 convs 32, 32, 64; 64·4·4 × 256 dense; 256 × output dim, output dim = 2L (means, log vars).
    expected_encoder = (
        conv(4, 1, 32) + conv(4, 32, 32) + conv(4, 32, 64) + dense(64 * 4 * 4, 256) + dense(256, 2 * latent)
    )
    # Decoder: input dim × 256, 256 × 64·4·4 dense; 4×4 conv transposes 32, 32, 1.
    expected_decoder = dense(latent, 256) + dense(256, 64 * 4 * 4) + conv(4, 64, 32) + conv(4, 32, 32) + conv(4, 32, 1)
    assert n_params(encoder) == expected_encoder
    assert n_params(decoder) == expected_decoder


def test_cascade28_on_28_pixels_is_the_32_pixel_network_on_zero_padded_images() -> None:
    torch.manual_seed(0)
    enc28, dec28 = build_networks((28, 28, 1), 4, "cascade28")
    torch.manual_seed(0)
    enc32, dec32 = build_networks((32, 32, 1), 4, "cascade28")
    x = torch.rand(3, 1, 28, 28)
    z = torch.randn(3, 4)
    torch.testing.assert_close(enc28(x), enc32(F.pad(x, (2, 2, 2, 2))))
    torch.testing.assert_close(dec28(z), dec32(z)[..., 2:30, 2:30])


def test_factorvae_discriminator_is_six_layers_of_1000_with_two_logits() -> None:
    disc = FactorVAEDiscriminator(10)
    assert n_params(disc) == dense(10, 1000) + 5 * dense(1000, 1000) + dense(1000, 2)
    slopes = {m.negative_slope for m in disc.modules() if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {0.2}
    assert disc(torch.randn(4, 10)).shape == (4, 2)


def instance_norm_by_hand(h: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    mu = h.mean(dim=(2, 3), keepdim=True)
    var = ((h - mu) ** 2).mean(dim=(2, 3), keepdim=True)
    return (h - mu) / torch.sqrt(var + eps)


def test_conv_adain_at_init_is_instance_norm_and_ignores_z() -> None:
    torch.manual_seed(0)
    layer = ConvAdaIN(4, 3)
    h = torch.randn(2, 4, 5, 6) * 3 + 1
    out = layer(h, torch.randn(2, 3))
    torch.testing.assert_close(out, instance_norm_by_hand(h))
    torch.testing.assert_close(layer(h, torch.randn(2, 3) * 10), out)


def test_conv_adain_uses_z_once_its_maps_are_trained() -> None:
    torch.manual_seed(0)
    layer = ConvAdaIN(4, 3)
    torch.nn.init.normal_(layer.to_gamma_beta.weight)
    torch.nn.init.normal_(layer.to_gamma_beta.bias)
    h, z = torch.randn(2, 4, 5, 6), torch.randn(2, 3)
    gamma, beta = layer.modulation(z)
    out = layer(h, z)
    torch.testing.assert_close(out, gamma[:, :, None, None] * instance_norm_by_hand(h) + beta[:, :, None, None])
    assert not torch.allclose(layer(h, z + 1.0), out)


def test_conv_adain_statistics_are_per_instance_and_per_channel_over_pixels() -> None:
    torch.manual_seed(0)
    layer = ConvAdaIN(3, 2)
    torch.nn.init.normal_(layer.to_gamma_beta.weight)
    h, z = torch.randn(2, 3, 6, 6), torch.randn(2, 2)
    out = layer(h, z)
    shifted = h.clone()
    shifted[0, 1] += 7.0  # one channel of one image: removed by that channel's own mean
    torch.testing.assert_close(layer(shifted, z), out)
    scaled = h.clone()
    scaled[1, 2] *= 5.0  # and a scale, by its own σ
    torch.testing.assert_close(layer(scaled, z), out, atol=1e-4, rtol=1e-4)
    other = h.clone()
    other[1] = torch.randn(3, 6, 6)  # another image's pixels do not enter image 0's statistics
    torch.testing.assert_close(layer(other, z)[0], out[0])


@pytest.mark.parametrize(("shape", "arch"), [((64, 64, 1), "dlib64"), ((28, 28, 1), "cascade28")])
def test_adain_decoder_depends_on_z_only_through_adain(shape: tuple[int, int, int], arch: str) -> None:
    torch.manual_seed(0)
    decoder = AdaINConvDecoder(image_spec(shape, arch), 4)
    y = torch.rand(3, shape[2], shape[0], shape[1])
    z1, z2 = torch.randn(3, 4), torch.randn(3, 4)
    torch.testing.assert_close(decoder(y, z1), decoder(y, z2))  # at init: a function of Y alone
    adains = [m for m in decoder.modules() if isinstance(m, ConvAdaIN)]
    assert len(adains) == 2 * len(decoder.spec.arch.convs) - 1  # after every hidden (transposed) convolution
    with torch.no_grad():
        for p in decoder.parameters():
            p.add_(0.1 * torch.randn_like(p))
    assert not torch.allclose(decoder(y, z1), decoder(y, z2))
    with torch.no_grad():
        for adain in adains:
            adain.to_gamma_beta.weight.zero_()
    out = decoder(y, z1)
    torch.testing.assert_close(decoder(y, z2), out)
    assert not torch.allclose(decoder(torch.rand_like(y), z1), out)  # still a function of Y


def test_residual_encoder_reads_x_and_y() -> None:
    torch.manual_seed(0)
    encoder = ResidualConvEncoder(image_spec((32, 32, 1), "cascade28"), 3)
    x, y = torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32)
    mean = encoder(x, y)[0]
    assert not torch.allclose(encoder(x, torch.rand_like(y))[0], mean)
    assert not torch.allclose(encoder(torch.rand_like(x), y)[0], mean)


def test_bernoulli_nll_is_the_per_image_sum_of_binary_cross_entropies() -> None:
    torch.manual_seed(0)
    x = (torch.rand(3, 2, 4, 4) < 0.5).double()
    x[0, 0, 0, 0] = 0.3  # a grey level
    logits = torch.randn(3, 2, 4, 4, dtype=torch.float64) * 3
    p = 1.0 / (1.0 + torch.exp(-logits))
    by_hand = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=(1, 2, 3))
    torch.testing.assert_close(bernoulli_nll(x, logits), by_hand)
    assert bernoulli_nll(torch.ones(1, 1, 1, 1), torch.tensor([[[[0.0]]]])).item() == pytest.approx(math.log(2))


def test_gaussian_nll_per_image_with_fixed_and_learned_scales() -> None:
    torch.manual_seed(0)
    x, mean = torch.randn(2, 3, 4, 4, dtype=torch.float64), torch.randn(2, 3, 4, 4, dtype=torch.float64)
    sigma = 0.5
    fixed = (0.5 * math.log(2 * math.pi) + math.log(sigma) + (x - mean) ** 2 / (2 * sigma**2)).sum(dim=(1, 2, 3))
    torch.testing.assert_close(gaussian_nll(x, mean, math.log(sigma)), fixed)
    log_scale = torch.randn(3, 1, 1, dtype=torch.float64, requires_grad=True)  # learned, one per channel
    s = torch.exp(log_scale)
    learned = (0.5 * math.log(2 * math.pi) + log_scale + (x - mean) ** 2 / (2 * s**2)).sum(dim=(1, 2, 3))
    nll = gaussian_nll(x, mean, log_scale)
    torch.testing.assert_close(nll, learned)
    nll.sum().backward()
    assert log_scale.grad is not None and log_scale.grad.shape == (3, 1, 1)


def rectangles(n: int, seed: int) -> torch.Tensor:
    """n binary 64×64 images, each one random 8–16 pixel rectangle: tiny, and different from each other."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 64, 64)
    for i in range(n):
        top, left = torch.randint(0, 48, (2,), generator=g).tolist()
        height, width = torch.randint(8, 17, (2,), generator=g).tolist()
        x[i, 0, top : top + height, left : left + width] = 1.0
    return x


def train_steps(seed: int, steps: int, x: torch.Tensor) -> tuple[list[float], torch.nn.Module, torch.nn.Module]:
    """Autoencode x through the posterior means (a sampled ELBO at β = 1 collapses the posterior before 50 steps
    can show the code carrying anything)."""
    torch.manual_seed(seed)
    encoder, decoder = build_networks((64, 64, 1), 10, "dlib64")
    opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=3e-3)
    losses = []
    for _ in range(steps):
        loss = bernoulli_nll(x, decoder(encoder(x)[0])).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, encoder, decoder


def test_dlib64_overfits_sixteen_binary_images_in_50_steps() -> None:
    x = rectangles(16, seed=0)
    losses, encoder, decoder = train_steps(0, 50, x)
    with torch.no_grad():
        final = bernoulli_nll(x, decoder(encoder(x)[0])).mean().item()
        pixel_mean = x.mean(dim=0, keepdim=True).clamp(1e-4, 1 - 1e-4)
        # The best image-independent prediction: beating it means the code carries each image.
        blind = bernoulli_nll(x, torch.logit(pixel_mean).expand_as(x)).mean().item()
    assert losses[0] == pytest.approx(64 * 64 * math.log(2), rel=0.05)  # logits start near 0
    assert final < 0.2 * losses[0]
    assert final < blind


def test_seeded_networks_and_training_are_deterministic() -> None:
    x = rectangles(4, seed=1)
    losses_a, encoder_a, _ = train_steps(3, 3, x)
    losses_b, encoder_b, _ = train_steps(3, 3, x)
    assert losses_a == losses_b
    for a, b in zip(encoder_a.parameters(), encoder_b.parameters()):
        assert torch.equal(a, b)
    torch.manual_seed(4)
    other, _ = build_networks((64, 64, 1), 10, "dlib64")
    assert not torch.equal(next(other.parameters()), next(encoder_a.parameters()))
