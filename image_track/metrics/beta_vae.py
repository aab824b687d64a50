"""The BetaVAE disentanglement metric (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a
Constrained Variational Framework", §3), as google-research/disentanglement_lib's
``evaluation/metrics/beta_vae.py`` (``compute_beta_vae_sklearn``) computes it.

One training point: draw a factor index k uniformly, two batches of ``batch_size`` factor vectors, copy factor k of
the first batch into the second, render both, and take the mean over the batch of |r(x1) − r(x2)| per code. The
label is k. A code that captures factor k alone is 0 in every pair, so a linear classifier can read k off the
feature vector; that is what the score measures. The classifier is scikit-learn's ``LogisticRegression`` with its
default settings, fitted on ``num_train`` points; the scores are its accuracy on those points and on ``num_eval``
fresh ones.

Defaults are the lib's study config ``config/unsupervised_study_v1/metric_configs/beta_vae_sklearn.gin``:
``batch_size=64, num_train=10000, num_eval=5000``.

Chance level: 1 / num_factors (the label is uniform over the factors).

Deliberate difference. The lib calls ``LogisticRegression(random_state=...)`` with whatever defaults the installed
scikit-learn has; its 2019 releases (0.20/0.21) defaulted to one-vs-rest liblinear, current releases to multinomial
lbfgs (and liblinear no longer accepts more than two classes). The current defaults are used, as the lib would use
them today; accuracies of the two classifiers on these features are close but not identical.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import linear_model

from image_track.metrics.utils import RepresentationFunction, as_random_state, representations_of


def _training_sample(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    batch_size: int,
    random_state: np.random.RandomState,
) -> tuple[int, np.ndarray]:
    """One (fixed factor, mean |r(x1) − r(x2)|) pair; draws in the lib's order: index, factors1, factors2, obs1,
    obs2."""
    index = random_state.randint(ground_truth_data.num_factors)
    factors1 = np.array(ground_truth_data.sample_factors(batch_size, random_state))
    factors2 = np.array(ground_truth_data.sample_factors(batch_size, random_state))
    factors2[:, index] = factors1[:, index]
    observation1 = ground_truth_data.sample_observations_from_factors(factors1, random_state)
    observation2 = ground_truth_data.sample_observations_from_factors(factors2, random_state)
    r1 = representations_of(representation_function, observation1)
    r2 = representations_of(representation_function, observation2)
    return index, np.mean(np.abs(r1 - r2), axis=0)


def _training_batch(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    batch_size: int,
    num_points: int,
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """``num_points`` feature vectors (num_points, num_codes) and their labels (num_points,)."""
    labels = np.zeros(num_points, dtype=np.int64)
    points = []
    for i in range(num_points):
        labels[i], feature = _training_sample(ground_truth_data, representation_function, batch_size, random_state)
        points.append(feature)
    return np.stack(points), labels


def compute_beta_vae(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState | int | None,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
) -> dict[str, float]:
    """The BetaVAE score of a representation.

    Parameters
    ----------
    ground_truth_data
        Object with the GroundTruthData API (``num_factors``, ``sample_factors``,
        ``sample_observations_from_factors``).
    representation_function
        Maps a batch of observations to a (num, num_codes) array.
    random_state
        ``numpy.random.RandomState`` (or a seed) for every draw, including the classifier's.
    batch_size, num_train, num_eval
        Pairs averaged per point, training points, evaluation points (lib defaults 64, 10000, 5000).

    Returns
    -------
    dict
        ``train_accuracy`` and ``eval_accuracy`` of the classifier, in [0, 1]; chance is 1 / num_factors.
    """
    random_state = as_random_state(random_state)
    train_points, train_labels = _training_batch(
        ground_truth_data, representation_function, batch_size, num_train, random_state
    )
    model = linear_model.LogisticRegression(random_state=random_state)
    model.fit(train_points, train_labels)
    train_accuracy = float(np.mean(model.predict(train_points) == train_labels))
    eval_points, eval_labels = _training_batch(
        ground_truth_data, representation_function, batch_size, num_eval, random_state
    )
    eval_accuracy = float(model.score(eval_points, eval_labels))
    return {"train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy}
