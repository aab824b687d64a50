"""MS-VAE's conditioning checks M1–M4 (paper 001, Srivastava et al., "Improving the Reconstruction of Disentangled
Representation Learners via Multi-Stage Modeling", §4 "Measuring the Conditioning on C"; results in §5 and Fig. 4).

The paper, §4: "Let the mean parameter of the encoder of the subgraph C → Y be E_ϕ. Further, let C_R = E_ϕ(X),
C_Y = E_ϕ(Y), C_X = E_ϕ(G_Θ(Y, Z)), C_zε = E_ϕ(G_Θ(Y, ε)), and C_Yε = E_ϕ(G_Θ(ε, Z)) where X is an input image,
ε ∼ N(0, I), and G_Θ is the decoder of the second stage of MS-VAE. We report the following mutual information
terms: M1 = MI[C_R; C_Y], M2 = MI[C_R; C_X], M3 = MI[C_R; C_zε], and M4 = MI[C_R; C_Yε]."

Here, for images X:

* C_R = E_ϕ(X), the stage-one encoder's posterior mean (``encode_c``);
* Y = stage one's reconstruction of X, the decoder's mean at C_R (``decode_y(C_R)``);
* Z = the stage-two encoder's posterior mean given X and Y (``encode_z(X, Y)``);
* G_Θ(Y, Z) = the stage-two decoder's mean (``decode_x(Y, Z)``);
* ε ∼ N(0, I) is drawn in Z's shape for C_zε and in Y's shape (an image of standard normal pixels) for C_Yε, as the
  paper writes it.

MI estimator. §4 does not name one; the paper's only definition of a mutual information between two codes is
App. H, Eq. 5, the normalised MI it reports for its Fig. 42::

    MI[C_R, C] = (1/n) Σ_{i=1}^{n} I(c^i; c_R^i) / H(c_R^i)

over the n coordinates of C. That is what is computed, with each coordinate cut into 20 equal-width bins and the
plug-in MI of disentanglement_lib (:func:`~image_track.metrics.utils.discretize`,
:func:`~image_track.metrics.utils.discrete_mutual_info`), as MIG — the estimator of the lib the paper evaluates
with. It lies in [0, 1]; a coordinate identical to the reference scores 1. A coordinate whose binned reference has
zero entropy (exactly constant) has no defined ratio and is left out of the mean; ``coordinates`` restricts the mean
further, e.g. to stage one's active units (a collapsed unit's posterior mean is near-constant, and its encoder
noise, spread over 20 bins by the range-relative histogram, would count as information otherwise). An empty
``coordinates`` is an error, never a fall-back to all of them: :func:`image_track.evaluation.evaluate_model`
reports M1–M4 as not run when stage one has no active unit.

Reading (§4–5): the paper expects M2 > M1 > M3 ≫ M4 — Z improves the reconstruction (M2 > M1); replacing Z by noise
keeps the conditioning on C (M3 close to M1); replacing Y by noise destroys it (M4 near the floor). "If G_Θ was only
using Z for the final reconstruction, M3 would be close to zero and M4 would be high." Beside M1–M4, ``floor`` is
MI[C_R; C_R of a random other image] (a derangement of the rows): the value of two unrelated codes under the same
estimator, which is small but positive (plug-in bias), and the reference for "≫". The floor is an addition of this
module, not of the paper.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from image_track.metrics.utils import as_random_state, discrete_entropy, discrete_mutual_info, discretize

Array = np.ndarray


def normalized_mutual_information(
    reference: np.ndarray,
    other: np.ndarray,
    num_bins: int = 20,
    coordinates: Sequence[int] | None = None,
) -> float:
    """Paper 001 App. H, Eq. 5: mean over coordinates i of I(c^i; c_R^i) / H(c_R^i).

    Parameters
    ----------
    reference, other
        Codes (num_points, n) — C_R and the code compared with it, row for row.
    num_bins
        Equal-width bins per coordinate.
    coordinates
        Coordinates to average over (None: all); those whose binned reference has zero entropy are skipped. An
        empty selection is an error, not a silent "all": there is nothing to average over.
    """
    reference, other = np.asarray(reference, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if reference.shape != other.shape or reference.ndim != 2:
        raise ValueError(f"codes must be (num_points, n) of one shape, got {reference.shape} and {other.shape}")
    index = np.arange(reference.shape[1]) if coordinates is None else np.asarray(coordinates, dtype=np.int64)
    if not index.size:
        raise ValueError("coordinates is empty: no coordinate to average the normalised MI over")
    ref_bins = discretize(reference[:, index].T, num_bins)
    other_bins = discretize(other[:, index].T, num_bins)
    entropy = discrete_entropy(ref_bins)
    ratios = [
        discrete_mutual_info(other_bins[[i]], ref_bins[[i]])[0, 0] / entropy[i]
        for i in range(len(index))
        if entropy[i] > 0
    ]
    if not ratios:
        raise ValueError("no coordinate of the reference code varies: the normalised MI is undefined")
    return float(np.mean(ratios))


def _batched(fn: Callable[..., Array], *arrays: Array, batch_size: int) -> Array:
    """``fn`` applied to row batches of ``arrays`` (all of the same length), outputs concatenated."""
    parts = [np.asarray(fn(*(a[i : i + batch_size] for a in arrays))) for i in range(0, len(arrays[0]), batch_size)]
    return np.concatenate(parts)


def compute_msvae_m(
    observations: np.ndarray,
    encode_c: Callable[[Array], Array],
    decode_y: Callable[[Array], Array],
    encode_z: Callable[[Array, Array], Array],
    decode_x: Callable[[Array, Array], Array],
    random_state: np.random.RandomState | int | None,
    num_bins: int = 20,
    coordinates: Sequence[int] | None = None,
    batch_size: int = 64,
) -> dict[str, float]:
    """M1–M4 of paper 001 §4 for a trained two-stage model, given as four callables on numpy batches.

    Parameters
    ----------
    observations
        Images X, (num, H, W, C) (any (num, ...) array the callables accept).
    encode_c
        E_ϕ: X → C, stage one's posterior mean, (num, n).
    decode_y
        Stage one's decoder mean: C → Y, an array of X's shape.
    encode_z
        Stage two's posterior mean: (X, Y) → Z, (num, z_dim).
    decode_x
        G_Θ's mean: (Y, Z) → reconstruction of X's shape.
    random_state
        ``numpy.random.RandomState`` (or a seed) for ε (Z-shaped, then Y-shaped; in Z's and Y's float dtype, so a
        float32 network receives float32) and the floor's derangement.
    num_bins, coordinates
        Bins per coordinate and coordinates averaged over in Eq. 5 (see :func:`normalized_mutual_information`).
    batch_size
        Rows per call of a callable.

    Returns
    -------
    dict
        ``M1``…``M4`` (normalised MI in [0, 1]) and ``floor`` (two unrelated codes).
    """
    random_state = as_random_state(random_state)
    x = np.asarray(observations)
    if len(x) < 2:
        raise ValueError("need at least two observations")
    c_r = _batched(encode_c, x, batch_size=batch_size)
    y = _batched(decode_y, c_r, batch_size=batch_size)
    z = _batched(encode_z, x, y, batch_size=batch_size)
    eps_z = random_state.standard_normal(z.shape).astype(z.dtype if np.issubdtype(z.dtype, np.floating) else float)
    eps_y = random_state.standard_normal(y.shape).astype(y.dtype if np.issubdtype(y.dtype, np.floating) else float)
    codes = {
        "M1": _batched(encode_c, y, batch_size=batch_size),
        "M2": _batched(encode_c, _batched(decode_x, y, z, batch_size=batch_size), batch_size=batch_size),
        "M3": _batched(encode_c, _batched(decode_x, y, eps_z, batch_size=batch_size), batch_size=batch_size),
        "M4": _batched(encode_c, _batched(decode_x, eps_y, z, batch_size=batch_size), batch_size=batch_size),
    }
    order = random_state.permutation(len(x))
    other = np.empty(len(x), dtype=np.int64)
    other[order] = np.roll(order, 1)
    codes["floor"] = c_r[other]
    return {name: normalized_mutual_information(c_r, code, num_bins, coordinates) for name, code in codes.items()}
