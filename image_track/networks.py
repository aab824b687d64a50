"""Convolutional encoders, decoders and per-image likelihoods of the image track.

Layout. The datasets give batches as numpy arrays (N, H, W, C) — the layout of the image files and of the papers'
TensorFlow code — with values already in [0, 1]. Torch convolutions want channels first, so every network here takes
and returns (N, C, H, W) tensors, and the one transpose happens in :func:`to_tensor`, when a batch enters torch
(numpy arrays from a dataset, or NHWC tensors the trainer has sliced from one). Nothing else permutes axes.

Architectures (``arch``):

``"dlib64"``, for 64×64×C images: disentanglement_lib's ``conv_encoder`` and ``deconv_decoder``
(google-research/disentanglement_lib, methods/shared/architectures.py), the networks MS-VAE's stage one uses
(paper 001 §3.2: "the standard convolution and transposed-convolutions-based realization ... provided in the
disentanglement_lib package")::

    encoder: conv 32 k4 s2 ReLU → conv 32 k4 s2 ReLU → conv 64 k2 s2 ReLU → conv 64 k2 s2 ReLU
             → dense 256 ReLU → dense L (means), dense L (log variances)
    decoder: dense 256 ReLU → dense 1024 ReLU → reshape 64×4×4
             → deconv 64 k4 s2 ReLU → deconv 32 k4 s2 ReLU → deconv 32 k4 s2 ReLU → deconv C k4 s2

  The lib's third and fourth convolutions have 2×2 kernels, not 4×4 (its docstring cites β-VAE's Table 1 and
  CascadeVAE's Table 5 prints 4×4 for all four); the code is what the lib's study configs train
  (config/unsupervised_study_v1/model_configs/shared.gin selects conv_encoder), so it is followed. All its layers pad
  "same". For a stride-2 convolution on an even side n that gives n/2 outputs with k − 2 padding in total, split
  evenly: padding 1 for k = 4 and 0 for k = 2, so 64 → 32 → 16 → 8 → 4. A "same" stride-2 transposed convolution
  doubles the side; it is the adjoint of the k = 4 convolution above, i.e. torch's ``ConvTranspose2d(k=4, stride=2,
  padding=1)``: 4 → 8 → 16 → 32 → 64. The encoder's flatten and the decoder's reshape are channels-first here and
  channels-last in TensorFlow; the adjoining dense layers' weights differ by a fixed permutation, which changes
  neither the functions the networks can represent nor their parameter counts.

``"cascade28"``, for 28×28×C or 32×32×C images: CascadeVAE's MNIST/FashionMNIST networks (paper 003, App. B),
quoted from its Table 6 ("Encoder and decoder architecture for MNIST and FashionMNIST")::

    Encoder                                    Decoder
    4 × 4 conv 32, ReLU, stride 2              input dim × 256 fully connected, ReLU
    4 × 4 conv 32, ReLU, stride 2              256 × 64 × 4 × 4 fully connected, ReLU
    4 × 4 conv 64, ReLU, stride 2              4 × 4 conv transpose 32, ReLU, stride 2
    64 × 4 × 4 × 256 fully connected, ReLU     4 × 4 conv transpose 32, ReLU, stride 2
    256 × output dim fully connected           4 × 4 conv transpose 1, Sigmoid, stride 2

  The table's sizes (64 × 4 × 4 after three stride-2 convolutions, three doublings from 4) are those of a 32×32
  image: the paper resizes the 28×28 digits to 32×32 (App. B). 32×32 inputs are taken as they are. 28×28 inputs are
  zero-padded by 2 pixels a side on the way in and the decoder's 32×32 output is cropped back to the centre 28×28,
  so the likelihood is scored on the original pixels rather than on interpolated ones; the layers are the table's
  either way. A dataset that wants the paper's resize exactly resizes to 32×32 itself. The encoder's "output dim"
  head is two heads of L (means and log variances), the same parameters as one of 2L. The last layer's channel
  count is the image's (1 in the table).

Decoders return logits — the table's sigmoid lives in :func:`bernoulli_nll`, where it is computed stably — or, for
a Gaussian likelihood, the mean. Weights start as TensorFlow's ``tf.layers`` start them (Glorot-uniform kernels, zero
biases), so the lib's architecture also starts from the lib's initialisation.

MS-VAE's stage two (paper 001 §3.2) has the same shapes: :class:`ResidualConvEncoder` is q(z | x, y) and
:class:`AdaINConvDecoder` is G(Y, Z), which takes the stage-one reconstruction Y as its input and receives Z only
through :class:`ConvAdaIN` after every hidden convolution.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthkit.core import objectives
from synthkit.core.layers import FiLM


@dataclass(frozen=True)
class Architecture:
    """Layer sizes of one encoder/decoder pair, laid out for `size`×`size` images.

    `convs` are the encoder's stride-2 convolutions as (out channels, kernel); `deconvs` the widths of the decoder's
    hidden stride-2 transposed convolutions (kernel 4), after which one more gives the image's channels. The halves
    meet at the last convolution's feature map (64 × 4 × 4 in both tables), joined to the latents through a
    `hidden`-unit dense layer. `sides` are the square image sides accepted; a smaller one is zero-padded to `size`.
    """

    size: int
    sides: tuple[int, ...]
    convs: tuple[tuple[int, int], ...]
    deconvs: tuple[int, ...]
    hidden: int = 256

    @property
    def grid(self) -> int:
        """Side of the feature map between the halves."""
        return self.size >> len(self.convs)

    @property
    def grid_channels(self) -> int:
        """Channels of the feature map between the halves."""
        return self.convs[-1][0]


ARCHITECTURES: dict[str, Architecture] = {
    "dlib64": Architecture(64, (64,), ((32, 4), (32, 4), (64, 2), (64, 2)), (64, 32, 32)),
    "cascade28": Architecture(32, (28, 32), ((32, 4), (32, 4), (64, 4)), (32, 32)),
}


@dataclass(frozen=True)
class ImageSpec:
    """An architecture applied to images of one side and channel count (built and checked by :func:`image_spec`)."""

    arch: Architecture
    side: int
    channels: int

    @property
    def pad(self) -> int:
        """Zero padding per border that brings the image to the architecture's size."""
        return (self.arch.size - self.side) // 2


def image_spec(image_shape: tuple[int, ...], arch: str = "dlib64", channels: int | None = None) -> ImageSpec:
    """Check that `arch` takes images of `image_shape` — (H, W, C) as a dataset reports it, or (H, W) with
    `channels` — and return their spec. Every failure is a one-line ValueError naming what is supported."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown arch {arch!r}; supported: {', '.join(ARCHITECTURES)}")
    architecture = ARCHITECTURES[arch]
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 3:
        height, width, depth = shape
        if channels is not None and channels != depth:
            raise ValueError(f"channels={channels} contradicts image_shape {shape} (H, W, C)")
    elif len(shape) == 2:
        if channels is None:
            raise ValueError(f"image_shape {shape} has no channel axis; pass channels=C or an (H, W, C) shape")
        (height, width), depth = shape, channels
    else:
        raise ValueError(f"image_shape must be (H, W, C) or (H, W), got {shape}")
    if depth < 1:
        raise ValueError(f"images need at least one channel, got {depth}")
    if height != width or height not in architecture.sides:
        sides = " or ".join(f"{s}×{s}" for s in architecture.sides)
        raise ValueError(f"arch {arch!r} takes {sides} images, not {height}×{width}")
    return ImageSpec(architecture, height, depth)


def to_tensor(batch_nhwc: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, H, W, C) images → a new contiguous float32 (N, C, H, W) tensor, on the input's device.

    The only place the image track transposes. Values are kept as they are (the datasets scale to [0, 1]); the result
    never shares memory with the dataset, so in-place work on a batch cannot change the data.
    """
    batch = torch.as_tensor(batch_nhwc)
    if batch.ndim != 4:
        raise ValueError(f"expected a batch of images (N, H, W, C), got shape {tuple(batch.shape)}")
    return batch.permute(0, 3, 1, 2).to(torch.float32, memory_format=torch.contiguous_format, copy=True)


def _tf_init(*modules: nn.Module) -> None:
    """TensorFlow's tf.layers defaults: Glorot-uniform kernels and zero biases (torch's own defaults differ)."""
    for module in modules:
        for layer in module.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)


def _convs(in_channels: int, arch: Architecture) -> list[nn.Conv2d]:
    """The encoder's stride-2 "same" convolutions (padding (k − 2) / 2 on even sides, see the module docstring)."""
    layers = []
    for out_channels, kernel in arch.convs:
        layers.append(nn.Conv2d(in_channels, out_channels, kernel, stride=2, padding=(kernel - 2) // 2))
        in_channels = out_channels
    return layers


def _deconvs(arch: Architecture, out_channels: int) -> list[nn.ConvTranspose2d]:
    """The decoder's stride-2 "same" transposed convolutions from the grid to `out_channels` (each doubles the side)."""
    widths = (arch.grid_channels, *arch.deconvs, out_channels)
    return [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1) for a, b in itertools.pairwise(widths)]


def _crop(images: torch.Tensor, spec: ImageSpec) -> torch.Tensor:
    """Undo the encoder-side padding: the centre `spec.side` × `spec.side` pixels."""
    p = spec.pad
    return images[..., p : p + spec.side, p : p + spec.side] if p else images


def _pad(images: torch.Tensor, spec: ImageSpec) -> torch.Tensor:
    """Zero-pad images to the architecture's size (see "cascade28" in the module docstring)."""
    return F.pad(images, (spec.pad,) * 4) if spec.pad else images


class ConvEncoder(nn.Module):
    """q(z | x) = N(mean(x), diag(exp(log_var(x)))): stride-2 convolutions with ReLU, a dense ReLU layer and two
    linear heads (disentanglement_lib's conv_encoder, or Table 6 of paper 003). The log-variance is left unbounded,
    as in the lib."""

    def __init__(self, spec: ImageSpec, latent_dim: int) -> None:
        super().__init__()
        self.spec = spec
        arch = spec.arch
        layers: list[nn.Module] = []
        for conv in _convs(spec.channels, arch):
            layers += [conv, nn.ReLU()]
        layers += [nn.Flatten(), nn.Linear(arch.grid_channels * arch.grid**2, arch.hidden), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.mean = nn.Linear(arch.hidden, latent_dim)
        self.log_var = nn.Linear(arch.hidden, latent_dim)
        _tf_init(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(_pad(x, self.spec))
        return self.mean(h), self.log_var(h)


class DeconvDecoder(nn.Module):
    """p(x | z): dense layers to the 64 × 4 × 4 grid, then stride-2 transposed convolutions (disentanglement_lib's
    deconv_decoder, or Table 6 of paper 003). Returns (N, C, H, W) logits or means."""

    def __init__(self, spec: ImageSpec, latent_dim: int) -> None:
        super().__init__()
        self.spec = spec
        arch = spec.arch
        grid = (arch.grid_channels, arch.grid, arch.grid)
        self.dense = nn.Sequential(
            nn.Linear(latent_dim, arch.hidden), nn.ReLU(), nn.Linear(arch.hidden, int(np.prod(grid))), nn.ReLU(),
            nn.Unflatten(1, grid),
        )
        layers: list[nn.Module] = []
        for deconv in _deconvs(arch, spec.channels):
            layers += [deconv, nn.ReLU()]
        self.deconvs = nn.Sequential(*layers[:-1])  # no activation on the output layer
        _tf_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return _crop(self.deconvs(self.dense(z)), self.spec)


class FactorVAEDiscriminator(nn.Module):
    """FactorVAE's total-correlation discriminator (disentanglement_lib's fc_discriminator, Kim & Mnih 2018 App. A):
    six dense layers of 1000 units with leaky ReLU (slope 0.2, TensorFlow's default) and 2 logits. The lib's softmax
    and probability clipping belong to the objective that reads the logits, not here."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(6):
            layers += [nn.Linear(width, 1000), nn.LeakyReLU(0.2)]
            width = 1000
        layers.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*layers)
        _tf_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.flatten(1))


class ConvAdaIN(FiLM):
    """AdaIN for feature maps (paper 001 §3.2): AdaIN(h, z) = γ(z) · (h − μ(h)) / σ(h) + β(z).

    μ and σ are per instance and per channel over the spatial positions — instance normalisation without affine
    parameters, σ = sqrt(biased variance + eps) as in the paper's formula. γ = 1 + Δγ(z) and β(z) are core's FiLM
    modulation, zero at initialisation, so a fresh layer is a plain instance normalisation that ignores z: the
    decoder first learns from Y and Z earns its influence (see synthkit.core.layers). One γ and one β per channel,
    broadcast over the positions.
    """

    def __init__(self, channels: int, cond_dim: int, eps: float = 1e-5) -> None:
        super().__init__(channels, cond_dim)
        self.eps = eps

    def forward(self, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.modulation(z)
        return gamma[:, :, None, None] * F.instance_norm(h, eps=self.eps) + beta[:, :, None, None]


class AdaINConvDecoder(nn.Module):
    """G(Y, Z) of MS-VAE's stage two for images (paper 001 §3.2).

    Y — stage one's mean reconstruction, an image shaped like the output — is the input. The architecture's
    convolutions encode it to the 64 × 4 × 4 grid and its transposed convolutions decode that back to an image; no
    dense bottleneck, so Y's spatial layout is kept. Z is never concatenated with Y: it enters only through a
    :class:`ConvAdaIN` after every hidden (transposed) convolution, before the ReLU, so that it modulates features
    computed from Y instead of being entangled with Y at the input (§3.2, App. M.2). Returns logits or means, as
    :class:`DeconvDecoder` does.
    """

    def __init__(self, spec: ImageSpec, z_dim: int) -> None:
        super().__init__()
        self.spec = spec
        deconvs = _deconvs(spec.arch, spec.channels)
        self.hidden = nn.ModuleList([*_convs(spec.channels, spec.arch), *deconvs[:-1]])
        self.adains = nn.ModuleList(ConvAdaIN(layer.out_channels, z_dim) for layer in self.hidden)
        self.out = deconvs[-1]
        _tf_init(self.hidden, self.out)  # the AdaIN maps keep their zero initialisation

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = _pad(y, self.spec)
        for layer, adain in zip(self.hidden, self.adains):
            h = torch.relu(adain(layer(h), z))
        return _crop(self.out(h), self.spec)


class ResidualConvEncoder(nn.Module):
    """q(z | x, y) of MS-VAE's stage two: a :class:`ConvEncoder` on x and y stacked on the channel axis.

    The stack is [x − y, y], as in the tabular ResidualVAE: the paper's encoder sees "the residual of X and Y"
    (§3.2), and since the first convolution is linear in its input this is [x, y] reparameterised — the same
    functions, but the residual is what the network is handed at the start of training."""

    def __init__(self, spec: ImageSpec, z_dim: int) -> None:
        super().__init__()
        self.encoder = ConvEncoder(replace(spec, channels=2 * spec.channels), z_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(torch.cat([x - y, y], dim=1))


def build_networks(
    image_shape: tuple[int, ...], latent_dim: int, arch: str = "dlib64", channels: int | None = None
) -> tuple[ConvEncoder, DeconvDecoder]:
    """The (encoder, decoder) pair of `arch` for images of `image_shape` ((H, W, C), or (H, W) with `channels`).

    An unsupported combination is a one-line ValueError from :func:`image_spec`.
    """
    spec = image_spec(image_shape, arch, channels)
    return ConvEncoder(spec, latent_dim), DeconvDecoder(spec, latent_dim)


def bernoulli_nll(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """−log p(x | logits) per image, summed over pixels and channels (the lib's Bernoulli reconstruction loss).

    Takes logits, not probabilities: binary_cross_entropy_with_logits is exact where sigmoid-then-log underflows.
    Targets may be any values in [0, 1] (grey levels are the usual continuous relaxation)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)


def gaussian_nll(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor | float) -> torch.Tensor:
    """−log N(x; mean, exp(log_scale)²) per image, summed over pixels and channels.

    `log_scale` is a fixed number or a learned tensor broadcastable to the images (one per image, channel or pixel).
    The elementwise density is core's :func:`synthkit.core.objectives.gaussian_nll`; this adds the per-image sum."""
    log_scale = torch.as_tensor(log_scale, dtype=mean.dtype, device=mean.device)
    return objectives.gaussian_nll(x, mean, log_scale).flatten(1).sum(dim=1)
