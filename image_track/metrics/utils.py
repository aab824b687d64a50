"""Shared pieces of the disentanglement metrics, as google-research/disentanglement_lib's
``evaluation/metrics/utils.py`` has them.

Layout. disentanglement_lib passes codes and factors around *variables first*: ``mus`` is (num_codes, num_points)
and ``ys`` is (num_factors, num_points). The functions here keep that layout, so each formula in the metric modules
can be checked line by line against the lib's; only the public ``compute_*`` functions take and return the usual
points-first arrays (observations (num, H, W, C), representations (num, num_codes)).

Randomness. Every function that samples draws from the ``numpy.random.RandomState`` it is given, in the order the
lib draws (factors, then observations, batch after batch), so a dataset that samples as the lib's datasets do gives
the lib's numbers for the same seed. ``RandomState`` rather than ``numpy.random.Generator`` because the
GroundTruthData API is ``random_state.randint``-based (the lib's datasets call ``randint`` and ``choice``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import sklearn.metrics

RepresentationFunction = Callable[[np.ndarray], np.ndarray]


def as_random_state(random_state: np.random.RandomState | int | None) -> np.random.RandomState:
    """A ``RandomState`` from a ``RandomState`` (returned as is, so the caller's stream is the one consumed), a seed
    or None (seed 0, as the lib's ``evaluation.random_seed = 0`` in every study metric config)."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    return np.random.RandomState(0 if random_state is None else int(random_state))


def representations_of(representation_function: RepresentationFunction, observations: np.ndarray) -> np.ndarray:
    """``representation_function(observations)`` as a 2-D float array (num, num_codes).

    A representation function that returns a 1-D array for one code, or a torch-like array type, would otherwise make
    the variance and MI formulas below silently broadcast; this is the one place that checks the shape."""
    codes = np.asarray(representation_function(observations), dtype=np.float64)
    if codes.ndim == 1:
        codes = codes[:, None]
    if codes.ndim != 2 or codes.shape[0] != len(observations):
        raise ValueError(
            f"representation_function must map {len(observations)} observations to a (num, num_codes) array, "
            f"got shape {codes.shape}"
        )
    return codes


def generate_batch_factor_code(
    ground_truth_data: Any,
    representation_function: RepresentationFunction,
    num_points: int,
    random_state: np.random.RandomState,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``num_points`` (factors, code) pairs, ``batch_size`` observations per call of the representation.

    As the lib's ``generate_batch_factor_code``: ``ground_truth_data.sample(n, random_state)`` per batch, the last
    batch shorter when ``batch_size`` does not divide ``num_points``.

    Returns
    -------
    representations : (num_codes, num_points) array
    factors : (num_factors, num_points) int array
        Variables first, the lib's layout (see the module notes).
    """
    codes, factors = [], []
    done = 0
    while done < num_points:
        n = min(num_points - done, batch_size)
        current_factors, current_observations = ground_truth_data.sample(n, random_state)
        factors.append(np.asarray(current_factors))
        codes.append(representations_of(representation_function, np.asarray(current_observations)))
        done += n
    return np.vstack(codes).T, np.vstack(factors).T


def obtain_representation(
    observations: np.ndarray, representation_function: RepresentationFunction, batch_size: int
) -> np.ndarray:
    """Codes of given observations, ``batch_size`` at a time: (num_codes, num_points), as the lib's function of the
    same name."""
    parts = [
        representations_of(representation_function, observations[i : i + batch_size])
        for i in range(0, len(observations), batch_size)
    ]
    return np.vstack(parts).T


def discretize(target: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Equal-width histogram discretisation of each row of ``target`` (num_variables, num_points).

    The lib's ``_histogram_discretize``: ``np.digitize(x, np.histogram(x, num_bins)[1][:-1])`` per variable, so bin
    indices run from 1 to ``num_bins`` over the variable's own range (the range of the sample, not of any prior). The
    lib keeps the indices in an array of ``target``'s float dtype; they are returned as ints here, which changes no MI
    value (``mutual_info_score`` compares labels for equality). The study configs use 20 bins (metric_configs/mig.gin,
    modularity_explicitness.gin: ``discretizer.num_bins = 20``).
    """
    target = np.asarray(target, dtype=np.float64)
    if target.ndim != 2:
        raise ValueError(f"discretize expects (num_variables, num_points), got shape {target.shape}")
    out = np.zeros(target.shape, dtype=np.int64)
    for i, row in enumerate(target):
        edges = np.histogram(row, num_bins)[1][:-1]
        out[i] = np.digitize(row, edges)
    return out


def discrete_mutual_info(mus: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """I(mus_i; ys_j) in nats for every pair of rows: (num_codes, num_factors).

    ``sklearn.metrics.mutual_info_score(ys[j], mus[i])``, the plug-in estimate from the joint histogram of the two
    label sequences, as the lib. It is biased upwards for independent variables by about (a − 1)(b − 1) / (2N) nats
    for a and b distinct values, which is why "no information" reads as a small positive number in the tests."""
    m = np.zeros((mus.shape[0], ys.shape[0]))
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            m[i, j] = sklearn.metrics.mutual_info_score(ys[j], mus[i])
    return m


def discrete_entropy(ys: np.ndarray) -> np.ndarray:
    """H(ys_j) in nats for each row, as the lib: the mutual information of a variable with itself."""
    return np.array([sklearn.metrics.mutual_info_score(y, y) for y in ys])


def normalize_data(
    data: np.ndarray, mean: np.ndarray | None = None, stddev: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardise each row of ``data`` (num_variables, num_points) by the given or its own mean and (population)
    standard deviation, as the lib's ``normalize_data``; returns (normalised, mean, stddev) so a test set can be
    scaled with the training set's statistics.

    Deliberate difference: a row with zero standard deviation (a code that is exactly constant, e.g. a pruned unit)
    is divided by 1 instead of 0. The lib would produce NaNs there and the logistic regression of explicitness would
    fail; a constant row carries no information either way, and centring it to 0 keeps it so."""
    if mean is None:
        mean = np.mean(data, axis=1)
    if stddev is None:
        stddev = np.std(data, axis=1)
        stddev = np.where(stddev > 0, stddev, 1.0)
    return (data - mean[:, None]) / stddev[:, None], mean, stddev
