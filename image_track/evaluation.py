"""Scoring a trained image model: the disentanglement metrics, reconstruction, FID and, for MS-VAE, its own checks.

Used by ``synthkit image evaluate`` and ``pipelines/bench_image_methods.py``. Two parameter sets:

* ``"lib"`` — disentanglement_lib's study parameters for the disentanglement metrics (the ``compute_*`` defaults, see
  :mod:`image_track.metrics`: FactorVAE score batch 64 / 10,000 training and 5,000 evaluation votes / 10,000 images
  for the variances; MIG 10,000 points; DCI, SAP, modularity 10,000 / 5,000 points; BetaVAE score batch 64 /
  10,000 / 5,000). The lib has no reconstruction or FID evaluation; the sizes chosen here are in :data:`LIB`.
* ``"quick"`` — small samples (:data:`QUICK`) for a look within a minute on a CPU; the scores are noisier.

The representation of a model is the posterior mean of its first latent block (C for MS-VAE, as paper 001 evaluates
disentanglement on stage one's code). FID here is the Fréchet distance between stand-in features (a small classifier
trained on the dataset's own factors: :mod:`image_track.metrics.fid`) of data images and the model's
reconstructions — paper 001's use (§4, "between the dataset and each models' reconstructions") — and of samples
from the prior; it is not comparable with published FIDs.

For an MS-VAE model the ``msvae`` entry adds M1–M4 (paper 001 §4, :mod:`image_track.metrics.msvae_m`) and stage one
against the full model: FID of stage one's reconstructions Y against the full model's G(Y, Z), and MIG of C against
MIG of the concatenated (C, Z) — C itself is stage one's code, unchanged by stage two, so "MIG is kept" is asked of
the full representation: a Z that took over factor information would lower MIG's gap.

What cannot be computed is said, never filled in: on a dataset without factors or labels (an image folder, an IDX
file without labels) the disentanglement metrics and FID (whose stand-in classifier learns the factors) are left out
of ``results`` and listed under ``skipped`` with the reason; a part of a metric that cannot run (MS-VAE's M1–M4 when
no coordinate of C is active, its MIG and FID parts without factors) is None in the metric's entry and its reason is
under that entry's ``not_run``. A labelled set (the digit sets) has one factor, its label: the disentanglement
metrics there score how a code captures the class (:func:`ground_truth_note`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.linalg
import torch

from image_track.datasets.base import GroundTruthData, LabelledImages, UnlabelledImages, as_random_state
from image_track.methods.base import ImageMethod
from image_track.metrics import METRICS
from image_track.metrics.fid import FeatureExtractor, compute_fid, train_feature_classifier
from image_track.metrics.msvae_m import compute_msvae_m
from image_track.metrics.reconstruction import compute_reconstruction
from image_track.networks import to_tensor

#: Metric names ``--metrics`` takes → what they are. "modularity" is the registry's "modularity_explicitness".
METRIC_NAMES = {
    "beta_vae": "BetaVAE score (Higgins et al. 2017)",
    "factor_vae": "FactorVAE score (Kim & Mnih 2018)",
    "mig": "mutual information gap (Chen et al. 2018)",
    "dci": "DCI disentanglement, completeness, informativeness (Eastwood & Williams 2018)",
    "sap": "SAP score (Kumar et al. 2018)",
    "modularity": "modularity and explicitness (Ridgeway & Mozer 2018)",
    "reconstruction": "per-image BCE, L1, L2 of the mean reconstruction",
    "fid": "Fréchet distance of reconstructions and samples on a stand-in classifier's features",
    "msvae": "MS-VAE: M1–M4 and stage one against the full model (FID, MIG)",
}
#: What ``synthkit image evaluate`` runs without ``--metrics`` (msvae added for MS-VAE models).
DEFAULT_METRICS = ("factor_vae", "mig", "dci", "sap", "modularity", "reconstruction", "fid")
_REGISTRY_NAME = {"modularity": "modularity_explicitness"}

#: disentanglement_lib's parameters for its metrics (their functions' defaults) and this track's sizes for the rest.
LIB: dict[str, dict[str, Any]] = {
    "beta_vae": {}, "factor_vae": {}, "mig": {}, "dci": {}, "sap": {}, "modularity": {},
    # Not in the lib: images reconstructed; the stand-in classifier's training images and steps; images per FID set;
    # images for M1–M4.
    "reconstruction": {"num_images": 5000},
    "fid": {"train_images": 20000, "train_steps": 2000, "num_images": 10000},
    "msvae": {"num_images": 10000},
}
#: Small samples for ``--quick``.
QUICK: dict[str, dict[str, Any]] = {
    "beta_vae": {"batch_size": 16, "num_train": 300, "num_eval": 150},
    "factor_vae": {"batch_size": 32, "num_train": 300, "num_eval": 150, "num_variance_estimate": 1000},
    "mig": {"num_train": 1000},
    "dci": {"num_train": 1000, "num_test": 500},
    "sap": {"num_train": 1000, "num_test": 500},
    "modularity": {"num_train": 1000, "num_test": 500},
    "reconstruction": {"num_images": 500},
    "fid": {"train_images": 2000, "train_steps": 200, "num_images": 1000},
    "msvae": {"num_images": 1000},
}
PARAMETER_SETS = {"lib": LIB, "quick": QUICK}
#: A code is active when its posterior mean's standard deviation reaches this (the FactorVAE score's pruning rule).
ACTIVE_STD = 0.05
#: FID labels: each factor cut into at most this many equal runs of its values, the runs combined into one class.
FID_BINS = 4


def check_metrics(names: list[str], model: ImageMethod, data: Any) -> list[str]:
    """The metrics to run, checked: known names, ``msvae`` for MS-VAE models only, and at least one that can run on
    `data` (those that cannot are skipped by :func:`evaluate_model`, see :func:`unavailable_metrics`). A problem is a
    one-line ValueError."""
    unknown = [n for n in names if n not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}; known: {', '.join(METRIC_NAMES)}")
    if "msvae" in names and model.name != "msvae":
        raise ValueError(f"metric 'msvae' applies to MS-VAE models, not {model.name}")
    names = list(dict.fromkeys(names))
    unavailable = unavailable_metrics(names, data)
    if names and len(unavailable) == len(names):
        runs = "reconstruction" + (" and msvae" if model.name == "msvae" else "")
        raise ValueError(f"{', '.join(names)} need a dataset with ground-truth factors or labels; "
                         f"{getattr(data, 'name', 'this one')} has none (only {runs} can run on it)")
    return names


def unavailable_metrics(names: list[str], data: Any) -> dict[str, str]:
    """The metrics of `names` that cannot run on `data`, each with its reason: on a dataset without ground-truth
    factors or labels, every metric but ``reconstruction`` and ``msvae`` (whose M1–M4 need images only)."""
    if isinstance(data, GroundTruthData):
        return {}
    name = getattr(data, "name", "this dataset")
    reasons = {"fid": f"its stand-in feature classifier is trained on the dataset's factors or labels; {name} has none"}
    return {n: reasons.get(n, f"scores the code against ground-truth factors or labels; {name} has none")
            for n in names if n not in ("reconstruction", "msvae")}


def ground_truth_note(data: Any) -> str | None:
    """A line saying what the disentanglement metrics measure on `data` when its factors are only a class label
    (:class:`~image_track.datasets.base.LabelledImages`), else None."""
    if not isinstance(data, LabelledImages):
        return None
    return (f"{data.name}'s only factor is its label ({data.factors_num_values[0]} classes), not a grid of generative "
            "factors: the disentanglement scores measure how the code captures the class")


def representation_function(model: ImageMethod, block: str | None = None,
                            device: torch.device | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """(num, H, W, C) numpy images → (num, d) numpy posterior means of `block` (default the first)."""
    name = block or model.latent_names[0]
    device = device or next(model.parameters()).device

    @torch.no_grad()
    def represent(observations: np.ndarray) -> np.ndarray:
        return model.encode(to_tensor(observations).to(device))[name].cpu().numpy()

    return represent


def all_latents_function(model: ImageMethod, device: torch.device | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """Like :func:`representation_function`, with every latent block concatenated (MS-VAE: C then Z)."""
    device = device or next(model.parameters()).device

    @torch.no_grad()
    def represent(observations: np.ndarray) -> np.ndarray:
        codes = model.encode(to_tensor(observations).to(device))
        return torch.cat([codes[n] for n in model.latent_names], dim=1).cpu().numpy()

    return represent


def _nhwc(images: torch.Tensor) -> np.ndarray:
    return images.permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def reconstruct_images(model: ImageMethod, observations: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Mean reconstructions (num, H, W, C) of numpy observations."""
    device = next(model.parameters()).device
    parts = [_nhwc(model.reconstruct(to_tensor(observations[i : i + batch_size]).to(device)))
             for i in range(0, len(observations), batch_size)]
    return np.concatenate(parts)


@torch.no_grad()
def sample_images(model: ImageMethod, num: int, seed: int, batch_size: int = 256) -> np.ndarray:
    """`num` mean images (num, H, W, C) decoded from the prior, drawn under `seed`."""
    generator = torch.Generator().manual_seed(seed)
    parts = [_nhwc(model.sample(min(batch_size, num - i), generator=generator)) for i in range(0, num, batch_size)]
    return np.concatenate(parts)


def fid_labels(data: GroundTruthData, factors: np.ndarray) -> np.ndarray:
    """Class labels for the stand-in FID classifier: every factor cut into at most :data:`FID_BINS` runs of values,
    combined (dSprites: shape 3 × scale 4 × orientation 4 × posX 4 × posY 4 = 768 classes); a dataset whose only
    factor is a label (a digit set) keeps that label's classes whole (10 digits, not 4 runs of them)."""
    sizes = list(data.factors_num_values)
    bins = sizes if len(sizes) == 1 else [min(FID_BINS, n) for n in sizes]
    coarse = [factors[:, k] * b // n for k, (b, n) in enumerate(zip(bins, sizes))]
    return np.ravel_multi_index(tuple(coarse), bins)


def train_extractor(data: GroundTruthData, params: dict[str, Any], seed: int) -> FeatureExtractor:
    """The stand-in FID feature extractor, trained on `params["train_images"]` images of `data`."""
    factors, images = data.sample(params["train_images"], np.random.RandomState(seed + 1))
    return train_feature_classifier(images, fid_labels(data, np.asarray(factors)), steps=params["train_steps"],
                                    seed=seed)


def _msvae_parts(model: Any, device: torch.device) -> dict[str, Callable[..., np.ndarray]]:
    """The four numpy callables compute_msvae_m takes, on an MS-VAE model."""

    @torch.no_grad()
    def encode_c(x: np.ndarray) -> np.ndarray:
        return model.stage1.encode(to_tensor(x).to(device))[model.stage1.latent_names[0]].cpu().numpy()

    @torch.no_grad()
    def decode_y(c: np.ndarray) -> np.ndarray:
        return _nhwc(model.stage_one_reconstruction(torch.as_tensor(c, device=device)))

    @torch.no_grad()
    def encode_z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return model.residual_posterior(to_tensor(x).to(device), to_tensor(y).to(device))[0].cpu().numpy()

    @torch.no_grad()
    def decode_x(y: np.ndarray, z: np.ndarray) -> np.ndarray:
        logits = model.residual_decode(to_tensor(y).to(device), torch.as_tensor(z, device=device))
        return _nhwc(torch.sigmoid(logits))

    return {"encode_c": encode_c, "decode_y": decode_y, "encode_z": encode_z, "decode_x": decode_x}


def evaluate_model(
    model: ImageMethod,
    data: GroundTruthData | UnlabelledImages,
    names: list[str],
    parameters: str | dict[str, dict[str, Any]] = "lib",
    seed: int = 0,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the metrics `names` on `model` over `data` with the parameter set `parameters` ("lib", "quick", or a dict
    of the same shape as :data:`LIB`, every metric's entry present).

    Returns ``{"results": {metric: {score: value}}, "seconds": {metric: s}, "parameters": {metric: {...}},
    "skipped": {metric: reason}}``: a metric that cannot run on `data` (:func:`unavailable_metrics`) is not in
    ``results`` but in ``skipped``. Every metric draws from its own ``RandomState(seed)``, so a score does not depend
    on which others ran."""
    params = PARAMETER_SETS[parameters] if isinstance(parameters, str) else parameters
    model.eval()
    device = next(model.parameters()).device
    represent = representation_function(model, device=device)
    skipped = unavailable_metrics(names, data)
    names = [n for n in names if n not in skipped]
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    extractor: FeatureExtractor | None = None
    for name in names:
        if on_step is not None:
            on_step(name)
        t0 = time.perf_counter()
        if name in _REGISTRY_NAME or name in METRICS:
            fn = METRICS[_REGISTRY_NAME.get(name, name)]
            results[name] = fn(data, represent, np.random.RandomState(seed), **params[name])
        elif name == "reconstruction":
            x = data.sample_observations(params[name]["num_images"], np.random.RandomState(seed))
            results[name] = compute_reconstruction(x, reconstruct_images(model, x))
        elif name in ("fid", "msvae"):
            if extractor is None and isinstance(data, GroundTruthData):
                extractor = train_extractor(data, params["fid"], seed)
            if name == "fid":
                assert isinstance(data, GroundTruthData) and extractor is not None
                results[name] = _fid(model, data, extractor, params[name], seed)
            else:
                results[name] = _msvae(model, data, extractor, params, seed, device)
        seconds[name] = time.perf_counter() - t0
    return {"results": results, "seconds": seconds, "parameters": {n: params[n] for n in names}, "skipped": skipped}


def _fid(model: ImageMethod, data: GroundTruthData, extractor: FeatureExtractor, params: dict[str, Any],
         seed: int) -> dict[str, Any]:
    """FID of reconstructions and of prior samples against data images (a set apart from the reconstructed one)."""
    state = np.random.RandomState(seed)
    reference = data.sample_observations(params["num_images"], state)
    x = data.sample_observations(params["num_images"], state)
    return {
        "fid_reconstructions": _fid_value(extractor, reference, reconstruct_images(model, x)),
        "fid_samples": _fid_value(extractor, reference, sample_images(model, params["num_images"], seed)),
        "fid_data": _fid_value(extractor, reference, x),  # two data sets: the floor at this sample size
        "extractor_train_accuracy": extractor.train_accuracy,
        "feature_extractor": extractor.description,
    }


def _fid_value(extractor: FeatureExtractor, a: np.ndarray, b: np.ndarray) -> float:
    """compute_fid's distance, without scipy's LinAlgWarning: the stand-in's ReLU features that never fire make the
    covariances singular, which metrics.fid handles (see there) and a user cannot act on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return float(compute_fid(extractor, a, b)["fid"])


def _msvae(model: Any, data: GroundTruthData | UnlabelledImages, extractor: FeatureExtractor | None,
           params: dict[str, Any], seed: int, device: torch.device) -> dict[str, Any]:
    """M1–M4 over C's active coordinates (and over all of them), and stage one against the full model.

    ``M1``…``floor`` average over the coordinates of C whose posterior mean's standard deviation reaches
    :data:`ACTIVE_STD` (listed in ``coordinates_used``; every coordinate when all are active). When none is active
    they are not computed — None, with the reason under ``not_run["M1–M4"]`` — rather than taken over all
    coordinates: a collapsed unit's near-constant mean carries only encoder noise, which the binned MI would count as
    information (see :mod:`image_track.metrics.msvae_m`). ``all_coordinates`` holds M1–M4 over every coordinate in
    either case, under that name (None, with a ``not_run`` reason, when C is exactly constant). On a dataset without
    factors or labels, ``stage_one`` and ``full`` (MIG, and FID on a classifier of the factors) are None and
    ``not_run`` says why; M1–M4 need only images."""
    state = np.random.RandomState(seed)
    num = params["msvae"]["num_images"]
    x = data.sample_observations(num, state)
    parts = _msvae_parts(model, device)
    c = parts["encode_c"](x)
    active = np.flatnonzero(c.std(axis=0) >= ACTIVE_STD)
    checks = ("M1", "M2", "M3", "M4", "floor")
    not_run: dict[str, str] = {}
    try:
        m_all: dict[str, Any] = compute_msvae_m(x, random_state=np.random.RandomState(seed), **parts)
    except ValueError as exc:  # C exactly constant: the normalised MI is undefined on every coordinate
        m_all = dict.fromkeys(checks)
        not_run["M1–M4 over all coordinates"] = str(exc)
    if len(active) == c.shape[1]:
        m_active = m_all
    elif len(active):
        m_active = compute_msvae_m(x, random_state=np.random.RandomState(seed), coordinates=active, **parts)
    else:
        m_active = dict.fromkeys(checks)
        not_run["M1–M4"] = (f"no coordinate of C is active (posterior-mean standard deviation ≥ {ACTIVE_STD} over "
                            f"{num:,} images: none of {c.shape[1]}); M1–M4 over all coordinates, collapsed ones "
                            "included, are under all_coordinates")
    result = {
        **{k: m_active[k] for k in checks},
        "active_coordinates": len(active),
        "coordinates_used": active.tolist(),
        "all_coordinates": {k: m_all[k] for k in checks},
        "stage_one": None,
        "full": None,
    }
    if isinstance(data, GroundTruthData) and extractor is not None:
        reference = data.sample_observations(params["fid"]["num_images"], state)
        y = parts["decode_y"](c)
        full = reconstruct_images(model, x)
        mig_params = params["mig"]
        mig_c = METRICS["mig"](data, representation_function(model, "c", device), np.random.RandomState(seed),
                               **mig_params)["discrete_mig"]
        mig_cz = METRICS["mig"](data, all_latents_function(model, device), np.random.RandomState(seed),
                                **mig_params)["discrete_mig"]
        result["stage_one"] = {"fid_reconstructions": _fid_value(extractor, reference, y), "mig": mig_c}
        result["full"] = {"fid_reconstructions": _fid_value(extractor, reference, full), "mig": mig_cz}
    else:
        not_run["stage one against the full model"] = (f"MIG and the stand-in FID need ground-truth factors or "
                                                        f"labels; {getattr(data, 'name', 'this dataset')} has none")
    if not_run:
        result["not_run"] = not_run
    return result


#: (metric, score key, label) rows of the printed table, in order; nested keys joined by "/".
HEADLINE = [
    ("beta_vae", "eval_accuracy", "BetaVAE score"),
    ("factor_vae", "eval_accuracy", "FactorVAE score"),
    ("factor_vae", "num_active_dims", "active dimensions"),
    ("mig", "discrete_mig", "MIG"),
    ("dci", "disentanglement", "DCI disentanglement"),
    ("dci", "completeness", "DCI completeness"),
    ("dci", "informativeness_test", "DCI informativeness (test accuracy)"),
    ("sap", "SAP_score", "SAP"),
    ("modularity", "modularity_score", "modularity"),
    ("modularity", "explicitness_score_test", "explicitness (test)"),
    ("reconstruction", "bce", "reconstruction BCE (nats / image)"),
    ("reconstruction", "l1", "reconstruction L1"),
    ("reconstruction", "l2", "reconstruction L2 (squared)"),
    ("fid", "fid_reconstructions", "FID reconstructions (stand-in features)"),
    ("fid", "fid_samples", "FID samples (stand-in features)"),
    ("fid", "fid_data", "FID data vs data (floor)"),
    ("msvae", "M1", "M1 = MI[C_R; C_Y]"),
    ("msvae", "M2", "M2 = MI[C_R; C_X]"),
    ("msvae", "M3", "M3 = MI[C_R; C_zε]"),
    ("msvae", "M4", "M4 = MI[C_R; C_Yε]"),
    ("msvae", "floor", "MI floor (unrelated codes)"),
    ("msvae", "stage_one/fid_reconstructions", "stage one FID (Y)"),
    ("msvae", "full/fid_reconstructions", "full model FID (G(Y, Z))"),
    ("msvae", "stage_one/mig", "stage one MIG (C)"),
    ("msvae", "full/mig", "full model MIG (C, Z)"),
]


def headline(results: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(metric, label, value) rows of :data:`HEADLINE` present in `results`."""
    rows = []
    for metric, key, label in HEADLINE:
        value: Any = results.get(metric)
        for part in key.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            rows.append((metric, label, float(value)))
    return rows


def seeded_observation(data: GroundTruthData | UnlabelledImages, seed: int) -> np.ndarray:
    """One observation (1, H, W, C) drawn under `seed` (the seed image of a traversal)."""
    return data.sample_observations(1, as_random_state(seed))
