"""The FactorVAE disentanglement metric (Kim & Mnih 2018, "Disentangling by Factorising", §4), as
google-research/disentanglement_lib's ``evaluation/metrics/factor_vae.py`` (``compute_factor_vae``) computes it.

1. Global scale: the variance (ddof=1) of every code over ``num_variance_estimate`` observations, computed in
   batches of 64 (the lib's ``eval_batch_size``).
2. Pruning: a code is active when its standard deviation ``sqrt(variance)`` is at least ``prune_threshold``. The
   lib's function default is 0 (nothing pruned); its study config sets ``prune_dims.threshold = 0.05``
   (``config/unsupervised_study_v1/metric_configs/factor_vae_metric.gin``), compared with the standard deviation,
   not the variance — so a code collapsed to the prior's mean (posterior means nearly constant) is dropped.
   No active code: both accuracies are 0.
3. One vote: draw a factor index k uniformly, a batch of ``batch_size`` factor vectors, set factor k of all of them
   to the first one's value, render, and take each active code's variance over the batch (ddof=1) divided by its
   global variance. The vote is (k, the code of least normalised variance).
4. Classifier: majority vote — each code predicts the factor that gave it most training votes (``argmax`` over
   factors, ties to the lowest index, as numpy's argmax). Accuracy = votes that agree with the prediction / all votes,
   on ``num_train`` training and ``num_eval`` fresh votes.

Defaults are the study config's: ``batch_size=64, num_train=10000, num_eval=5000, num_variance_estimate=10000,
prune_threshold=0.05``.

Chance level: 1 / num_factors for eval_accuracy (train_accuracy of random votes sits a little above it, since the
majority vote is fitted to those votes). With d active codes and K factors the score cannot exceed d / K when d < K.

Deliberate differences, neither changing a score:

* The lib records the vote at the argmin's position *among the active codes* but in a matrix indexed by all codes,
  so with pruned codes its columns are shifted. Votes go to the code's own index here. The accuracies are equal
  either way (a column relabelling does not change column maxima).
* The lib reports ``num_active_dims = len(active_dims)``, the length of the boolean mask, i.e. every code. The
  number of active codes is reported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from image_track.metrics.utils import (
    RepresentationFunction,
    as_random_state,
    obtain_representation,
    representations_of,
)


def prune_dims(variances: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """Mask of the codes whose standard deviation is at least ``threshold`` (the lib's ``_prune_dims``)."""
    return np.sqrt(variances) >= threshold


def _global_variances(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    num_points: int,
    random_state: np.random.RandomState,
    eval_batch_size: int = 64,
) -> np.ndarray:
    """Variance (ddof=1) of every code over ``num_points`` observations (the lib's ``_compute_variances``; its
    ``sample_observations`` is ``sample(...)[1]``, called here directly)."""
    observations = ground_truth_data.sample(num_points, random_state)[1]
    codes = obtain_representation(np.asarray(observations), representation_function, eval_batch_size)
    return np.var(codes, axis=1, ddof=1)


def _votes(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    batch_size: int,
    num_points: int,
    random_state: np.random.RandomState,
    global_variances: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """(num_factors, num_codes) vote counts of ``num_points`` votes; draws in the lib's order (index, factors,
    observations) per vote."""
    active_index = np.flatnonzero(active)
    votes = np.zeros((ground_truth_data.num_factors, len(global_variances)), dtype=np.int64)
    for _ in range(num_points):
        factor_index = random_state.randint(ground_truth_data.num_factors)
        factors = np.array(ground_truth_data.sample_factors(batch_size, random_state))
        factors[:, factor_index] = factors[0, factor_index]
        observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
        local_variances = np.var(representations_of(representation_function, observations), axis=0, ddof=1)
        ratio = local_variances[active_index] / global_variances[active_index]
        votes[factor_index, active_index[np.argmin(ratio)]] += 1
    return votes


def compute_factor_vae(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    random_state: np.random.RandomState | int | None,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.05,
) -> dict[str, float]:
    """The FactorVAE score of a representation.

    Parameters
    ----------
    ground_truth_data
        Object with the GroundTruthData API.
    representation_function
        Maps a batch of observations to a (num, num_codes) array.
    random_state
        ``numpy.random.RandomState`` (or a seed) for every draw.
    batch_size, num_train, num_eval, num_variance_estimate
        Observations per vote, training votes, evaluation votes, observations for the global variances.
    prune_threshold
        Least standard deviation of an active code (study config 0.05).

    Returns
    -------
    dict
        ``train_accuracy``, ``eval_accuracy`` (in [0, 1]; chance 1 / num_factors) and ``num_active_dims``.
    """
    random_state = as_random_state(random_state)
    global_variances = _global_variances(
        ground_truth_data, representation_function, num_variance_estimate, random_state
    )
    active = prune_dims(global_variances, prune_threshold)
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    training_votes = _votes(
        ground_truth_data, representation_function, batch_size, num_train, random_state, global_variances, active
    )
    classifier = np.argmax(training_votes, axis=0)
    columns = np.arange(training_votes.shape[1])
    train_accuracy = float(np.sum(training_votes[classifier, columns]) / np.sum(training_votes))
    eval_votes = _votes(
        ground_truth_data, representation_function, batch_size, num_eval, random_state, global_variances, active
    )
    eval_accuracy = float(np.sum(eval_votes[classifier, columns]) / np.sum(eval_votes))
    return {"train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy, "num_active_dims": int(active.sum())}
