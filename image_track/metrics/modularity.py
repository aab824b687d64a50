"""Modularity and explicitness (Ridgeway & Mozer 2018, "Learning Deep Disentangled Embeddings With the F-Statistic
Loss", §3), as google-research/disentanglement_lib's ``evaluation/metrics/modularity_explicitness.py``
(``compute_modularity_explicitness``) computes them.

Modularity — does each code depend on one factor only? With m_ik = I(code_i; factor_k) (codes cut into 20
equal-width bins, plug-in MI as in MIG), θ_i = max_k m_ik and K factors::

    δ_i = Σ_{k ≠ argmax} m_ik² / (θ_i² (K − 1)),    modularity = mean_i (1 − δ_i)   (1 − δ_i := 0 when θ_i = 0)

Explicitness — can every factor be read off the codes linearly? Codes are standardised with the training points'
mean and standard deviation; per factor, a ``LogisticRegression()`` (scikit-learn defaults) on all codes; the
score is the macro-averaged one-vs-rest ROC-AUC of its class probabilities on the training points and on
``num_test`` fresh points, averaged over factors.

Defaults are the study config ``config/unsupervised_study_v1/metric_configs/modularity_explicitness.gin``:
``num_train=10000, num_test=5000``, histogram discretiser with 20 bins; ``batch_size=16`` is the function's own
default.

Noise levels: explicitness of codes independent of the factors is the chance AUC, 0.5. Modularity is *not* near 0
for noise: the MI of a noise code with each factor is a small estimation bias of similar but unequal size, so δ_i
lands between 0 and 1 (about 0.4 on the test toy data). Modularity only says each code is dominated by one
factor, not that it is informative; it is meant to be read beside explicitness.

Deliberate differences:

* The lib one-hot encodes the test labels with a ``MultiLabelBinarizer`` refitted on the test labels, which breaks
  (shape mismatch with ``predict_proba``) when a class is missing from a test sample. The labels are one-hot encoded
  against the classifier's own classes here, which is the lib's encoding whenever every class occurs, and a class
  absent from a sample (its AUC undefined) is left out of that sample's macro average.
* A code with zero standard deviation is centred but not scaled (see :func:`~image_track.metrics.utils.normalize_data`).
* Under the lib's default scikit-learn of 2019 ``LogisticRegression()`` was one-vs-rest liblinear; current
  scikit-learn fits a multinomial model with lbfgs (see :mod:`image_track.metrics.beta_vae`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import linear_model, metrics

from image_track.metrics.utils import (
    RepresentationFunction,
    as_random_state,
    discrete_mutual_info,
    discretize,
    generate_batch_factor_code,
    normalize_data,
)


def modularity(mutual_information: np.ndarray) -> float:
    """Mean over codes of 1 − δ_i from the (num_codes, num_factors) mutual information matrix."""
    squared = np.square(mutual_information)
    max_squared = np.max(squared, axis=1)
    numerator = np.sum(squared, axis=1) - max_squared
    denominator = max_squared * (squared.shape[1] - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - numerator / denominator
    score[max_squared == 0.0] = 0.0
    return float(np.mean(score))


def _macro_auc(y: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    """Macro one-vs-rest ROC-AUC over the classes that occur in ``y`` and are not all of it."""
    aucs = []
    for j, c in enumerate(classes):
        positive = y == c
        if positive.any() and not positive.all():
            aucs.append(metrics.roc_auc_score(positive, probabilities[:, j]))
    return float(np.mean(aucs))


def explicitness_per_factor(
    mus_train: np.ndarray, y_train: np.ndarray, mus_test: np.ndarray, y_test: np.ndarray
) -> tuple[float, float]:
    """Train and test macro ROC-AUC of a logistic regression predicting one factor from all (normalised,
    variables-first) codes."""
    classifier = linear_model.LogisticRegression().fit(mus_train.T, y_train)
    auc_train = _macro_auc(y_train, classifier.predict_proba(mus_train.T), classifier.classes_)
    auc_test = _macro_auc(y_test, classifier.predict_proba(mus_test.T), classifier.classes_)
    return auc_train, auc_test


def modularity_explicitness_from_codes(
    mus_train: np.ndarray, ys_train: np.ndarray, mus_test: np.ndarray, ys_test: np.ndarray, num_bins: int = 20
) -> dict[str, float]:
    """Modularity and explicitness of variables-first codes and factors."""
    mutual_information = discrete_mutual_info(discretize(mus_train, num_bins), ys_train)
    train_norm, mean, stddev = normalize_data(mus_train)
    test_norm, _, _ = normalize_data(mus_test, mean, stddev)
    scores = [explicitness_per_factor(train_norm, ys_train[k], test_norm, ys_test[k]) for k in range(ys_train.shape[0])]
    return {
        "modularity_score": modularity(mutual_information),
        "explicitness_score_train": float(np.mean([s[0] for s in scores])),
        "explicitness_score_test": float(np.mean([s[1] for s in scores])),
    }


def compute_modularity_explicitness(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState | int | None,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    num_bins: int = 20,
) -> dict[str, float]:
    """Modularity and explicitness of a representation.

    Parameters
    ----------
    ground_truth_data
        Object with the GroundTruthData API (``sample``).
    representation_function
        Maps a batch of observations to a (num, num_codes) array.
    random_state
        ``numpy.random.RandomState`` (or a seed).
    num_train, num_test, batch_size, num_bins
        Lib defaults 10000, 5000, 16, 20.

    Returns
    -------
    dict
        ``modularity_score``, ``explicitness_score_train``, ``explicitness_score_test`` (in [0, 1]; explicitness
        chance is 0.5).
    """
    random_state = as_random_state(random_state)
    mus_train, ys_train = generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size
    )
    mus_test, ys_test = generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size
    )
    return modularity_explicitness_from_codes(mus_train, ys_train, mus_test, ys_test, num_bins)
