"""The Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in Variational
Autoencoders", §4.1), as google-research/disentanglement_lib's ``evaluation/metrics/mig.py`` (``compute_mig``)
computes it.

Sample ``num_train`` (factors, code) pairs (16 per representation call, the lib's ``batch_size``); cut each code into
``num_bins`` equal-width bins over its sample range (:func:`~image_track.metrics.utils.discretize`); the plug-in
mutual information I(code_i; factor_k) of every pair; per factor, the gap between its largest and second largest
MI over the codes, divided by the factor's entropy H(factor_k); the mean over factors::

    MIG = (1/K) Σ_k [ I(z_{j(k)}; v_k) − max_{j ≠ j(k)} I(z_j; v_k) ] / H(v_k),   j(k) = argmax_j I(z_j; v_k)

A factor captured by exactly one code scores 1 (its MI equals its entropy when the code's bins separate the
factor's values, and the runner-up code has none); a factor spread over two codes scores near 0, which is what
distinguishes MIG from the classifier scores.

Defaults are the study config ``config/unsupervised_study_v1/metric_configs/mig.gin``: ``num_train=10000``,
``discretizer.num_bins = 20`` with the histogram discretiser; ``batch_size=16`` is the function's own default there.

Noise level: codes independent of the factors give a small positive MIG, the difference of two upward-biased
MI estimates (each about (bins − 1)(values − 1) / (2N) nats), not exactly 0. MIG needs at least two codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from image_track.metrics.utils import (
    RepresentationFunction,
    as_random_state,
    discrete_entropy,
    discrete_mutual_info,
    discretize,
    generate_batch_factor_code,
)


def mig_from_codes(mus: np.ndarray, ys: np.ndarray, num_bins: int = 20) -> dict[str, float]:
    """MIG of codes ``mus`` (num_codes, num_points) against factors ``ys`` (num_factors, num_points), the lib's
    ``_compute_mig``."""
    if mus.shape[0] < 2:
        raise ValueError(f"MIG needs at least two codes, got {mus.shape[0]}")
    m = discrete_mutual_info(discretize(mus, num_bins), ys)
    entropy = discrete_entropy(ys)
    sorted_m = np.sort(m, axis=0)[::-1]
    return {"discrete_mig": float(np.mean((sorted_m[0] - sorted_m[1]) / entropy))}


def compute_mig(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState | int | None,
    num_train: int = 10000,
    batch_size: int = 16,
    num_bins: int = 20,
) -> dict[str, float]:
    """The MIG of a representation.

    Parameters
    ----------
    ground_truth_data
        Object with the GroundTruthData API (``sample``).
    representation_function
        Maps a batch of observations to a (num, num_codes) array.
    random_state
        ``numpy.random.RandomState`` (or a seed).
    num_train, batch_size, num_bins
        Sampled points, points per representation call, histogram bins per code (lib defaults 10000, 16, 20).

    Returns
    -------
    dict
        ``discrete_mig`` in [0, 1] (slightly above 0 for uninformative codes, see the module notes).
    """
    random_state = as_random_state(random_state)
    mus, ys = generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    return mig_from_codes(mus, ys, num_bins)
