"""The Separated Attribute Predictability score (Kumar et al. 2018, "Variational Inference of Disentangled Latent
Concepts from Unlabeled Observations", §3), as google-research/disentanglement_lib's
``evaluation/metrics/sap_score.py`` (``compute_sap``) computes it.

Score matrix S (num_codes, num_factors): how well code i *alone* predicts factor k.

* Discrete factors (``continuous_factors=False``, the study setting): a ``LinearSVC(C=0.01,
  class_weight="balanced")`` on the single code i, fitted on ``num_train`` points; S_ik is its accuracy on
  ``num_test`` fresh points.
* Continuous factors: S_ik = Cov(z_i, v_k)² / (Var z_i · Var v_k), the squared linear correlation on the
  training points (0 when Var z_i ≤ 1e-12); the test points are drawn but unused, as in the lib.

SAP = the mean over factors of the gap between the largest and second largest entry of the factor's column, so a
factor predicted by one code only scores high and a factor predicted equally well by two scores 0.

Defaults are the study config ``config/unsupervised_study_v1/metric_configs/sap_score.gin``: ``num_train=10000,
num_test=5000, continuous_factors=False``; ``batch_size=16`` is the function's own default.

Noise level: for codes independent of the factors all entries of a column are close to each other (near the
balanced classifier's accuracy on that factor, whatever it predicts) and SAP is near 0.

Ceiling with discrete factors: the runner-up code of a perfectly disentangled representation still scores the
accuracy of an uninformative classifier (about 1 / number of values, 0.5 for a binary factor), and a linear SVC on a
single code cannot isolate the middle values of a factor with more than two (one-vs-rest on a line separates only
the two ends), so even a perfect code's column maximum is below 1. Discrete SAP of an oracle is therefore well
below 1 (about 0.26 on the test's 4–5 valued factors) and only comparisons between representations are meaningful;
with ``continuous_factors=True`` an oracle scores about 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import svm

from image_track.metrics.utils import RepresentationFunction, as_random_state, generate_batch_factor_code


def score_matrix(
    mus: np.ndarray, ys: np.ndarray, mus_test: np.ndarray, ys_test: np.ndarray, continuous_factors: bool
) -> np.ndarray:
    """S (num_codes, num_factors) of variables-first codes and factors (the lib's ``compute_score_matrix``)."""
    num_codes, num_factors = mus.shape[0], ys.shape[0]
    matrix = np.zeros((num_codes, num_factors))
    for i in range(num_codes):
        for k in range(num_factors):
            if continuous_factors:
                cov = np.cov(mus[i], ys[k], ddof=1)
                matrix[i, k] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1]) if cov[0, 0] > 1e-12 else 0.0
            else:
                classifier = svm.LinearSVC(C=0.01, class_weight="balanced")
                classifier.fit(mus[i][:, None], ys[k])
                matrix[i, k] = np.mean(classifier.predict(mus_test[i][:, None]) == ys_test[k])
    return matrix


def avg_diff_top_two(matrix: np.ndarray) -> float:
    """Mean over columns of (largest − second largest) entry."""
    ordered = np.sort(matrix, axis=0)
    return float(np.mean(ordered[-1] - ordered[-2]))


def compute_sap(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState | int | None,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    continuous_factors: bool = False,
) -> dict[str, float]:
    """The SAP score of a representation.

    Parameters
    ----------
    ground_truth_data
        Object with the GroundTruthData API (``sample``).
    representation_function
        Maps a batch of observations to a (num, num_codes) array; needs at least two codes.
    random_state
        ``numpy.random.RandomState`` (or a seed).
    num_train, num_test, batch_size, continuous_factors
        Lib defaults 10000, 5000, 16, False.

    Returns
    -------
    dict
        ``SAP_score`` in [0, 1].
    """
    random_state = as_random_state(random_state)
    mus, ys = generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    mus_test, ys_test = generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size
    )
    if mus.shape[0] < 2:
        raise ValueError(f"SAP needs at least two codes, got {mus.shape[0]}")
    return {"SAP_score": avg_diff_top_two(score_matrix(mus, ys, mus_test, ys_test, continuous_factors))}
