"""Pixel-wise reconstruction errors: Bernoulli cross-entropy, L1 and L2, each summed over an image's pixels.

Definitions follow google-research/disentanglement_lib's ``methods/shared/losses.py``, the losses its models train
with: ``bernoulli_loss`` sums the binary cross-entropy of an image over all its pixels and channels (targets are
grey levels in [0, 1], not binary), ``l2_loss`` sums the squared differences; L1 sums the absolute differences
(paper 001, App. K reports L1 and L2 beside FID). Summing per image, then averaging over images, keeps the numbers
on the scale of a model's per-image negative log-likelihood, which is what the papers' tables report.

Reconstructions are either probabilities / intensities in [0, 1] (``activation="probabilities"``) or decoder logits
(``activation="logits"``; the disentanglement_lib and image_track decoders return logits). With logits the
cross-entropy is computed from the logits directly, max(l, 0) − l·x + log(1 + e^−|l|), which is exact where the
sigmoid would saturate, and L1 / L2 compare the target with sigmoid(logits), as the lib's ``l2_loss`` does.
Probabilities are clipped to [1e-6, 1 − 1e-6] inside the logarithms, as the lib's "tanh" branch clips them.

The cross-entropy of a grey-level image is not 0 even for a perfect reconstruction: its floor is the images' own
Bernoulli entropy (the lib's ``subtract_true_image_entropy`` option); ``bce`` here is the plain sum, as the lib's
default and the papers report it.
"""

from __future__ import annotations

import numpy as np

_CLIP = 1e-6


def per_image_errors(
    observations: np.ndarray, reconstructions: np.ndarray, activation: str = "probabilities"
) -> dict[str, np.ndarray]:
    """Per-image ``bce``, ``l1`` and ``l2`` (each a (num,) array), summed over all non-batch axes.

    Parameters
    ----------
    observations
        Targets in [0, 1], shape (num, ...) — e.g. (num, H, W, C).
    reconstructions
        Same shape: probabilities, or logits when ``activation="logits"``.
    activation
        ``"probabilities"`` or ``"logits"``.
    """
    x = np.asarray(observations, dtype=np.float64)
    r = np.asarray(reconstructions, dtype=np.float64)
    if x.shape != r.shape:
        raise ValueError(f"observations {x.shape} and reconstructions {r.shape} differ in shape")
    x, r = x.reshape(len(x), -1), r.reshape(len(r), -1)
    if activation == "logits":
        bce = np.maximum(r, 0.0) - r * x + np.log1p(np.exp(-np.abs(r)))
        p = 1.0 / (1.0 + np.exp(-r))
    elif activation == "probabilities":
        q = np.clip(r, _CLIP, 1.0 - _CLIP)
        bce = -(x * np.log(q) + (1.0 - x) * np.log1p(-q))
        p = r
    else:
        raise ValueError(f"activation must be 'probabilities' or 'logits', got {activation!r}")
    return {"bce": bce.sum(axis=1), "l1": np.abs(x - p).sum(axis=1), "l2": np.square(x - p).sum(axis=1)}


def compute_reconstruction(
    observations: np.ndarray, reconstructions: np.ndarray, activation: str = "probabilities"
) -> dict[str, float]:
    """Mean over images of the per-image sums of :func:`per_image_errors`.

    Returns
    -------
    dict
        ``bce``, ``l1``, ``l2`` (lower is better; ``l2`` is the summed *squared* error, the lib's ``l2_loss``).
    """
    errors = per_image_errors(observations, reconstructions, activation)
    return {name: float(np.mean(values)) for name, values in errors.items()}
