"""Disentanglement, Completeness and Informativeness (Eastwood & Williams 2018, "A Framework for the Quantitative
Evaluation of Disentangled Representations", §2), as google-research/disentanglement_lib's
``evaluation/metrics/dci.py`` (``compute_dci``) computes it.

For every factor k a scikit-learn ``GradientBoostingClassifier()`` (its defaults: 100 trees of depth 3, learning
rate 0.1) predicts factor k from all codes on ``num_train`` points. Its ``feature_importances_`` form column k of the
importance matrix R (num_codes, num_factors). Then, with logarithms in base K = num_factors for disentanglement and
base D = num_codes for completeness, and 1e-11 added to every entry before normalising (as the lib)::

    D_i = 1 − H_K(R_i· / Σ_k R_ik)          disentanglement of code i
    disentanglement = Σ_i ρ_i D_i,          ρ_i = Σ_k R_ik / Σ_ik R_ik
    C_k = 1 − H_D(R_·k / Σ_i R_ik)          completeness of factor k
    completeness = Σ_k ρ_k C_k,             ρ_k = Σ_i R_ik / Σ_ik R_ik

(an all-zero R weights codes and factors equally). Informativeness is reported as the lib reports it: the mean over
factors of the classifiers' *accuracy* on the training points (``informativeness_train``) and on ``num_test`` fresh
points (``informativeness_test``) — an accuracy, higher is better, although the paper speaks of a prediction error.

Defaults are the study config ``config/unsupervised_study_v1/metric_configs/dci.gin``: ``num_train=10000,
num_test=5000``; ``batch_size=16`` is the function's own default.

Noise level: codes independent of the factors still get importances (the trees split on noise), but spread evenly
over codes and factors, so disentanglement and completeness are near 0 (a uniform importance row or column scores
0; below 0.01 on the test toy data); informativeness_test falls to about chance, 1 / (number of values), per factor,
while informativeness_train stays high because the trees memorise the training noise.

Deliberate difference: the lib builds ``GradientBoostingClassifier()`` without a ``random_state``, so its trees'
tie-breaking between equally good splits differs from run to run; the metric's ``random_state`` is passed to it
here, so a seed reproduces the scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats
from sklearn import ensemble

from image_track.metrics.utils import RepresentationFunction, as_random_state, generate_batch_factor_code


def importance_gbt(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, float, float]:
    """Importance matrix (num_codes, num_factors) and mean train / test accuracies of one boosted-tree classifier per
    factor; inputs variables first (the lib's ``compute_importance_gbt``)."""
    num_factors, num_codes = y_train.shape[0], x_train.shape[0]
    importance = np.zeros((num_codes, num_factors))
    train_acc, test_acc = [], []
    for k in range(num_factors):
        model = ensemble.GradientBoostingClassifier(random_state=random_state)
        model.fit(x_train.T, y_train[k])
        importance[:, k] = np.abs(model.feature_importances_)
        train_acc.append(np.mean(model.predict(x_train.T) == y_train[k]))
        test_acc.append(np.mean(model.predict(x_test.T) == y_test[k]))
    return importance, float(np.mean(train_acc)), float(np.mean(test_acc))


def disentanglement(importance_matrix: np.ndarray) -> float:
    """Σ_i ρ_i (1 − H_K(P_i)), P_i code i's importance distribution over the K factors."""
    per_code = 1.0 - scipy.stats.entropy(importance_matrix.T + 1e-11, base=importance_matrix.shape[1])
    weights = importance_matrix if importance_matrix.sum() > 0 else np.ones_like(importance_matrix)
    code_importance = weights.sum(axis=1) / weights.sum()
    return float(np.sum(per_code * code_importance))


def completeness(importance_matrix: np.ndarray) -> float:
    """Σ_k ρ_k (1 − H_D(P_k)), P_k factor k's importance distribution over the D codes."""
    per_factor = 1.0 - scipy.stats.entropy(importance_matrix + 1e-11, base=importance_matrix.shape[0])
    weights = importance_matrix if importance_matrix.sum() > 0 else np.ones_like(importance_matrix)
    factor_importance = weights.sum(axis=0) / weights.sum()
    return float(np.sum(per_factor * factor_importance))


def dci_from_codes(
    mus_train: np.ndarray,
    ys_train: np.ndarray,
    mus_test: np.ndarray,
    ys_test: np.ndarray,
    random_state: np.random.RandomState,
) -> dict[str, float]:
    """DCI of variables-first codes and factors (the lib's ``_compute_dci``)."""
    importance, train_acc, test_acc = importance_gbt(mus_train, ys_train, mus_test, ys_test, random_state)
    return {
        "informativeness_train": train_acc,
        "informativeness_test": test_acc,
        "disentanglement": disentanglement(importance),
        "completeness": completeness(importance),
    }


def compute_dci(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState | int | None,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
) -> dict[str, float]:
    """The DCI scores of a representation.

    Parameters
    ----------
    ground_truth_data
        Object with the GroundTruthData API (``sample``).
    representation_function
        Maps a batch of observations to a (num, num_codes) array.
    random_state
        ``numpy.random.RandomState`` (or a seed); also seeds the boosted trees.
    num_train, num_test, batch_size
        Training points, test points, points per representation call (lib defaults 10000, 5000, 16).

    Returns
    -------
    dict
        ``disentanglement``, ``completeness`` (in [0, 1]) and ``informativeness_train`` / ``informativeness_test``
        (mean accuracies over factors).
    """
    random_state = as_random_state(random_state)
    mus_train, ys_train = generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    mus_test, ys_test = generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size
    )
    return dci_from_codes(mus_train, ys_train, mus_test, ys_test, random_state)
