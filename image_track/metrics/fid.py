"""Fréchet distance and inception-style score on the features of a small CNN trained here, not of Inception-v3.

FID (Heusel et al. 2017) and the Inception Score (Salimans et al. 2016) are defined on an ImageNet-trained
Inception-v3: FID on its 2048-d pool features, IS on its 1000-way softmax. Those weights cannot be downloaded in this
project (nothing may be fetched at run time), so both are computed on a stand-in: a small convolutional classifier
trained by :func:`train_feature_classifier` on the evaluated dataset's own labels (e.g. one ground-truth factor, or a
dataset's class label). FID then uses its penultimate (128-d) features and the score its softmax over the dataset's
classes. The formulas are the standard ones; the numbers are **not** comparable with published FID / IS values
(different feature space, different number of classes — an IS here lies in [1, num_classes]), only with each other
under the same trained extractor. Every result dict says so in its ``feature_extractor`` field.

Fréchet distance between Gaussians fitted to two feature sets (the TTUR / pytorch-fid ``calculate_frechet_distance``)::

    d² = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½)

with ``scipy.linalg.sqrtm`` for the matrix square root; if it is not finite (near-singular product, e.g. fewer
samples than feature dimensions), it is recomputed with ``eps`` (1e-6) added to both diagonals, and the real part is
taken. Deliberate difference: pytorch-fid raises when the square root's diagonal has an imaginary part above 1e-3;
here the real part is always taken, because the stand-in's small sample covariances are often rank-deficient and
their product's square root carries round-off imaginary parts that do not change the trace materially. (Units of
the ReLU feature layer that never fire make Σ singular; scipy then warns ``LinAlgWarning: Matrix is singular`` and
the distance of a set to itself comes out as round-off around 0, possibly slightly negative, as with pytorch-fid.)

Inception score (the improved-GAN reference code): split the N predictions into ``splits`` consecutive chunks of
N // splits (a remainder is dropped), per chunk exp(mean_i KL(p(y|x_i) ‖ p(y))) with p(y) the chunk's mean
prediction; mean and standard deviation over chunks. Confident predictions spread uniformly over C classes score C;
identical predictions score 1. 0 · log 0 is taken as 0 (``scipy.special.rel_entr``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.special
import torch
from torch import nn

FEATURE_EXTRACTOR = (
    "small CNN classifier trained in image_track on the dataset's own labels (penultimate 128-d features / softmax), "
    "not ImageNet Inception-v3 (no pretrained weights can be downloaded): values are comparable only between "
    "results of the same trained extractor, not with published FID / IS"
)


class FeatureClassifier(nn.Module):
    """Three stride-2 3×3 convolutions (width 32, 64, 64, ReLU), a 4×4 adaptive average pool, a dense feature layer
    and a linear classifier. The adaptive pool makes one network fit 28×28 (→ 14 → 7 → 4) and 64×64 (→ 32 → 16 → 8 →
    pooled to 4) inputs alike, so the same extractor definition serves every dataset of the track."""

    def __init__(self, in_channels: int, num_classes: int, feature_dim: int = 128, width: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(2 * width * 16, feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(penultimate features, logits) of an (N, C, H, W) batch."""
        features = self.body(x)
        return features, self.head(features)


def _to_nchw(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, C) or (N, H, W) numpy images as a float32 (N, C, H, W) tensor."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C) or (N, H, W), got shape {x.shape}")
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


@dataclass
class FeatureExtractor:
    """A trained :class:`FeatureClassifier` with the label values its outputs stand for.

    Attributes
    ----------
    network
        The classifier, in eval mode.
    classes
        Label value of each output (sorted unique training labels).
    train_accuracy
        Accuracy on the training images after training — a stand-in whose features do not separate the classes
        would make FID / IS meaningless, so it is kept for the caller to check.
    description
        What the features are; copied into every result dict as ``feature_extractor``.
    """

    network: FeatureClassifier
    classes: np.ndarray
    train_accuracy: float
    description: str = FEATURE_EXTRACTOR

    @torch.no_grad()
    def embed(self, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(features (N, 128), class probabilities (N, num_classes)) of NHWC images, as float64 numpy arrays."""
        self.network.eval()
        x = _to_nchw(images)
        feats, probs = [], []
        for i in range(0, len(x), batch_size):
            f, logits = self.network(x[i : i + batch_size])
            feats.append(f.double().numpy())
            probs.append(torch.softmax(logits.double(), dim=1).numpy())
        return np.concatenate(feats), np.concatenate(probs)


def train_feature_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    steps: int = 2000,
    seed: int = 0,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
) -> FeatureExtractor:
    """Train the stand-in feature extractor on a dataset's own labels.

    Parameters
    ----------
    images
        (N, H, W, C) (or (N, H, W)) floats, e.g. in [0, 1]; any side from 8 up (28×28 and 64×64 are the track's).
    labels
        (N,) class labels of any hashable numeric kind; to use several ground-truth factors, combine them into one
        label first (e.g. ``np.ravel_multi_index``).
    steps
        Adam steps on minibatches drawn with replacement.
    seed
        Seeds the initialisation and the minibatches; the global torch RNG state is restored afterwards.
    batch_size, learning_rate
        Minibatch size and Adam's learning rate.
    """
    classes, y = np.unique(np.asarray(labels).reshape(-1), return_inverse=True)
    x = _to_nchw(images)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    target = torch.from_numpy(y.astype(np.int64))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = FeatureClassifier(x.shape[1], len(classes))
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate)
        network.train()
        for _ in range(steps):
            index = torch.randint(len(x), (batch_size,), generator=generator)
            _, logits = network(x[index])
            loss = nn.functional.cross_entropy(logits, target[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    extractor = FeatureExtractor(network=network.eval(), classes=classes, train_accuracy=0.0)
    _, probs = extractor.embed(images)
    extractor.train_accuracy = float(np.mean(np.argmax(probs, axis=1) == y))
    return extractor


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets (see the module notes)."""
    a, b = np.asarray(feats_a, dtype=np.float64), np.asarray(feats_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be (N, D) with the same D, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    sigma_a = np.atleast_2d(np.cov(a, rowvar=False))
    sigma_b = np.atleast_2d(np.cov(b, rowvar=False))
    covmean = scipy.linalg.sqrtm(sigma_a @ sigma_b)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma_a.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma_a + offset) @ (sigma_b + offset))
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * np.trace(np.real(covmean)))


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over ``splits`` chunks of exp(E_x KL(p(y|x) ‖ p(y))) for (N, num_classes) predictions."""
    p = np.asarray(probs, dtype=np.float64)
    size = len(p) // splits
    if size == 0:
        raise ValueError(f"{len(p)} predictions cannot be split into {splits} chunks")
    scores = []
    for k in range(splits):
        part = p[k * size : (k + 1) * size]
        marginal = part.mean(axis=0, keepdims=True)
        scores.append(np.exp(np.mean(np.sum(scipy.special.rel_entr(part, marginal), axis=1))))
    return float(np.mean(scores)), float(np.std(scores))


def compute_fid(
    extractor: FeatureExtractor, images_a: np.ndarray, images_b: np.ndarray, eps: float = 1e-6
) -> dict[str, float | str]:
    """Fréchet distance between the stand-in features of two image sets (e.g. data and reconstructions).

    Returns
    -------
    dict
        ``fid`` (≥ 0, lower is closer) and ``feature_extractor`` (what the features are, see the module notes).
    """
    feats_a, _ = extractor.embed(images_a)
    feats_b, _ = extractor.embed(images_b)
    return {"fid": frechet_distance(feats_a, feats_b, eps), "feature_extractor": extractor.description}


def compute_inception_score(
    extractor: FeatureExtractor, images: np.ndarray, splits: int = 10
) -> dict[str, float | str]:
    """Inception-style score of an image set under the stand-in classifier.

    Returns
    -------
    dict
        ``inception_score_mean``, ``inception_score_std`` (in [1, num_classes] of the stand-in) and
        ``feature_extractor``.
    """
    _, probs = extractor.embed(images)
    mean, std = inception_score(probs, splits)
    return {"inception_score_mean": mean, "inception_score_std": std, "feature_extractor": extractor.description}
