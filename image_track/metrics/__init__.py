"""Evaluation metrics of the image track.

Disentanglement against ground-truth factors, each as google-research/disentanglement_lib computes it, with the
defaults of its study configs (``config/unsupervised_study_v1/metric_configs/*.gin``):

* ``beta_vae`` — :func:`~.beta_vae.compute_beta_vae`: train_accuracy, eval_accuracy;
* ``factor_vae`` — :func:`~.factor_vae.compute_factor_vae`: train_accuracy, eval_accuracy, num_active_dims;
* ``mig`` — :func:`~.mig.compute_mig`: discrete_mig;
* ``dci`` — :func:`~.dci.compute_dci`: disentanglement, completeness, informativeness_train, informativeness_test;
* ``sap`` — :func:`~.sap.compute_sap`: SAP_score;
* ``modularity_explicitness`` — :func:`~.modularity.compute_modularity_explicitness`: modularity_score,
  explicitness_score_train, explicitness_score_test.

All share the signature ``compute_<name>(ground_truth_data, representation_function, random_state, **params)``.
Image-quality and model checks take other inputs and are not in :data:`METRICS`: :mod:`.reconstruction` (BCE, L1,
L2), :mod:`.fid` (Fréchet distance and inception-style score on a stand-in classifier trained here) and
:mod:`.msvae_m` (MS-VAE's M1–M4).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable

import numpy as np

from image_track.metrics.beta_vae import compute_beta_vae
from image_track.metrics.dci import compute_dci
from image_track.metrics.factor_vae import compute_factor_vae
from image_track.metrics.mig import compute_mig
from image_track.metrics.modularity import compute_modularity_explicitness
from image_track.metrics.sap import compute_sap

MetricFunction = Callable[..., dict[str, float]]

METRICS: dict[str, MetricFunction] = {
    "beta_vae": compute_beta_vae,
    "factor_vae": compute_factor_vae,
    "mig": compute_mig,
    "dci": compute_dci,
    "sap": compute_sap,
    "modularity_explicitness": compute_modularity_explicitness,
}


def _parameters(fn: MetricFunction) -> set[str]:
    """Names of a metric's tunable parameters (those after the three shared arguments)."""
    return set(list(inspect.signature(fn).parameters)[3:])


def evaluate_all(
    ground_truth_data: Any,
    representation_function: Callable[[np.ndarray], np.ndarray],
    random_state: np.random.RandomState | int | None,
    names: Iterable[str] | None = None,
    **overrides: Any,
) -> dict[str, dict[str, float]]:
    """Run several registered metrics on one representation.

    Parameters
    ----------
    ground_truth_data, representation_function
        As for every ``compute_*`` function.
    random_state
        A seed (or None for 0): every metric gets a fresh ``RandomState(seed)``, as the lib evaluates each metric in
        its own run with ``evaluation.random_seed``. A ``RandomState``: one seed per registry entry is drawn from it
        up front, in registry order, so a metric's result does not depend on which other metrics are selected.
    names
        Registry names to run (default all, in registry order).
    **overrides
        ``<metric name>={"param": value, ...}`` sets parameters of one metric; ``param=value`` sets a parameter of
        every selected metric that has it (e.g. ``num_train=1000``). Per-metric settings win. A parameter no
        selected metric has is an error, so a typo cannot silently leave a default in place.

    Returns
    -------
    dict
        Registry name → that metric's score dict.
    """
    selected = list(METRICS) if names is None else list(names)
    unknown = [n for n in selected if n not in METRICS]
    if unknown:
        raise KeyError(f"unknown metrics {unknown}; registered: {list(METRICS)}")
    per_metric = {n: dict(overrides.pop(n)) for n in list(overrides) if n in METRICS}
    shared = overrides
    accepted = set().union(*(_parameters(METRICS[n]) for n in selected)) if selected else set()
    unused = sorted(set(shared) - accepted)
    if unused:
        raise TypeError(f"no selected metric takes the parameters {unused}")
    for name, params in per_metric.items():
        bad = sorted(set(params) - _parameters(METRICS[name]))
        if bad:
            raise TypeError(f"{name} takes no parameters {bad}")
    if isinstance(random_state, np.random.RandomState):
        seeds = dict(zip(METRICS, random_state.randint(2**31 - 1, size=len(METRICS))))
    else:
        seeds = dict.fromkeys(METRICS, 0 if random_state is None else int(random_state))
    results = {}
    for name in selected:
        fn = METRICS[name]
        params = {k: v for k, v in shared.items() if k in _parameters(fn)}
        params.update(per_metric.get(name, {}))
        results[name] = fn(ground_truth_data, representation_function, np.random.RandomState(seeds[name]), **params)
    return results
