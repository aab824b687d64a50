"""image_track.metrics on toy data whose answers are known.

The toy GroundTruthData renders three discrete factors (5, 5 and 4 values) as tanh of a fixed random linear map into
a 4×4×1 "image", so the true factors can be read back exactly. Representations scored:

* oracle — the true factors, permuted and rescaled per code: every disentanglement score near its maximum;
* noise — fresh N(0, 1) codes that ignore the observation: chance levels (1/3 for the classifier scores with three
  factors, 0.5 for the explicitness AUC, about 0 for MIG, DCI and SAP);
* rot45 — factors 0 and 1 rotated by 45° into each other, factor 2 left alone: in between. A 45° rotation rather
  than a generic random one because BetaVAE and FactorVAE are invariant to generic rotations (a linear classifier
  undoes any invertible linear map; the argmin vote of FactorVAE stays a bijection), which ``test_rotation`` shows.
  Factors 0 and 1 have the same number of values, so after the rotation fixing either one leaves the two mixed
  codes equally varied, and both classifier scores fall to 1/3 · 1 + 2/3 · 1/2 = 2/3.

Sample sizes are far below the lib's defaults to keep the file fast; the tolerances are set for them.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from image_track.metrics import METRICS, evaluate_all
from image_track.metrics.beta_vae import compute_beta_vae
from image_track.metrics.dci import compute_dci, completeness, disentanglement
from image_track.metrics.factor_vae import compute_factor_vae
from image_track.metrics.fid import (
    FEATURE_EXTRACTOR,
    compute_fid,
    compute_inception_score,
    frechet_distance,
    inception_score,
    train_feature_classifier,
)
from image_track.metrics.mig import compute_mig
from image_track.metrics.modularity import compute_modularity_explicitness, modularity
from image_track.metrics.msvae_m import compute_msvae_m, normalized_mutual_information
from image_track.metrics.reconstruction import compute_reconstruction, per_image_errors
from image_track.metrics.sap import compute_sap
from image_track.metrics.utils import discrete_entropy, discrete_mutual_info, discretize, generate_batch_factor_code

torch.set_num_threads(1)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class ToyData:
    """Three discrete factors rendered as tanh(scaled factors @ W) into 4×4×1 images (the GroundTruthData API)."""

    def __init__(self, values: tuple[int, ...] = (5, 5, 4), seed: int = 0) -> None:
        self.factors_num_values = list(values)
        self.num_factors = len(values)
        self.observation_shape = (4, 4, 1)
        self.embedding = np.random.RandomState(seed).randn(self.num_factors, 16)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return np.stack([random_state.randint(n, size=num) for n in self.factors_num_values], axis=1)

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        scaled = factors / (np.array(self.factors_num_values) - 1.0) * 2.0 - 1.0
        return np.tanh(scaled @ self.embedding).reshape(len(factors), *self.observation_shape)

    def sample(self, num: int, random_state: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)


DATA = ToyData()
_PINV = np.linalg.pinv(DATA.embedding)
_C = np.sqrt(0.5)
ROT45 = np.array([[_C, -_C, 0.0], [_C, _C, 0.0], [0.0, 0.0, 1.0]])
RANDOM_ROTATION = np.linalg.qr(np.random.RandomState(5).randn(3, 3))[0]


def true_factors(x: np.ndarray) -> np.ndarray:
    """The scaled factors read back from the images. Rounded to 6 decimals: values of a factor that sit exactly on a
    histogram bin edge would otherwise fall either side of it by round-off that depends on the other factors, which
    leaks spurious MI into MIG and modularity."""
    return np.round(np.arctanh(x.reshape(len(x), -1)) @ _PINV, 6)


def oracle(x: np.ndarray) -> np.ndarray:
    return true_factors(x)[:, [2, 0, 1]] * np.array([3.0, 0.5, 1.0])


def rot45(x: np.ndarray) -> np.ndarray:
    return true_factors(x) @ ROT45


def random_rotation(x: np.ndarray) -> np.ndarray:
    return true_factors(x) @ RANDOM_ROTATION


def make_noise():
    rng = np.random.RandomState(123)
    return lambda x: rng.randn(len(x), 3)


def rs(seed: int = 0) -> np.random.RandomState:
    return np.random.RandomState(seed)


CHANCE = 1.0 / DATA.num_factors


# --- utils -----------------------------------------------------------------------------------------------------------


def test_utils_layout_and_discretisation():
    mus, ys = generate_batch_factor_code(DATA, oracle, 50, rs(), 16)
    assert mus.shape == (3, 50) and ys.shape == (3, 50)
    np.testing.assert_allclose(mus[1], 0.5 * (ys[0] / 2.0 - 1.0), atol=1e-5)  # code 1 = 0.5 × factor 0 in [-1, 1]
    x = np.array([[0.0, 0.49, 0.51, 1.0], [5.0, 5.0, 5.0, 6.0]])
    np.testing.assert_array_equal(discretize(x, num_bins=2), [[1, 1, 2, 2], [1, 1, 1, 2]])
    labels = np.array([[0, 0, 1, 1, 2, 2]])
    np.testing.assert_allclose(discrete_entropy(labels), [np.log(3)])
    np.testing.assert_allclose(discrete_mutual_info(labels, labels), [[np.log(3)]])


# --- BetaVAE and FactorVAE -------------------------------------------------------------------------------------------


def test_beta_vae():
    kw = dict(batch_size=64, num_train=200, num_eval=100)
    good = compute_beta_vae(DATA, oracle, rs(), **kw)
    bad = compute_beta_vae(DATA, make_noise(), rs(), **kw)
    mixed = compute_beta_vae(DATA, rot45, rs(), **kw)
    assert good["train_accuracy"] == 1.0 and good["eval_accuracy"] >= 0.98
    assert abs(bad["eval_accuracy"] - CHANCE) < 0.15  # chance 1/3
    assert abs(mixed["eval_accuracy"] - 2.0 / 3.0) < 0.12
    assert compute_beta_vae(DATA, oracle, rs(), **kw) == good  # reproducible from the seed


def test_factor_vae():
    kw = dict(batch_size=64, num_train=200, num_eval=100, num_variance_estimate=1000)
    good = compute_factor_vae(DATA, oracle, rs(), **kw)
    bad = compute_factor_vae(DATA, make_noise(), rs(), **kw)
    mixed = compute_factor_vae(DATA, rot45, rs(), **kw)
    assert good["eval_accuracy"] >= 0.98 and good["num_active_dims"] == 3
    assert abs(bad["eval_accuracy"] - CHANCE) < 0.15  # chance 1/3
    assert abs(mixed["eval_accuracy"] - 2.0 / 3.0) < 0.12


def test_factor_vae_prunes_collapsed_codes():
    """A code with standard deviation below 0.05 is pruned; the remaining three still score perfectly, and the votes
    land on their own indices. With every code collapsed both accuracies are 0."""
    kw = dict(batch_size=32, num_train=60, num_eval=30, num_variance_estimate=200)
    padded = compute_factor_vae(DATA, lambda x: np.c_[oracle(x), 7.0 + 0.01 * oracle(x)[:, 0]], rs(), **kw)
    assert padded["num_active_dims"] == 3 and padded["eval_accuracy"] == 1.0
    dead = compute_factor_vae(DATA, lambda x: 0.001 * oracle(x), rs(), **kw)
    assert dead == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}


def test_rotation():
    """Known property of the classifier scores: a generic rotation of the factors keeps BetaVAE and FactorVAE at 1,
    while MIG, which asks for one code per factor, drops."""
    assert compute_beta_vae(DATA, random_rotation, rs(), num_train=150, num_eval=80)["eval_accuracy"] >= 0.95
    assert compute_mig(DATA, random_rotation, rs(), num_train=1000)["discrete_mig"] < 0.5


# --- MIG, DCI, SAP, modularity ---------------------------------------------------------------------------------------


def test_mig():
    good = compute_mig(DATA, oracle, rs(), num_train=1000)["discrete_mig"]
    bad = compute_mig(DATA, make_noise(), rs(), num_train=1000)["discrete_mig"]
    mixed = compute_mig(DATA, rot45, rs(), num_train=1000)["discrete_mig"]
    assert good > 0.97
    assert bad < 0.03
    # factors 0 and 1 share two codes equally (gap ≈ 0), factor 2 keeps its own (gap ≈ 1): MIG ≈ 1/3
    assert abs(mixed - 1.0 / 3.0) < 0.1


def test_dci():
    kw = dict(num_train=200, num_test=200)
    good = compute_dci(DATA, oracle, rs(), **kw)
    bad = compute_dci(DATA, make_noise(), rs(), **kw)
    mixed = compute_dci(DATA, rot45, rs(), **kw)
    assert good["disentanglement"] > 0.95 and good["completeness"] > 0.95 and good["informativeness_test"] > 0.95
    assert bad["disentanglement"] < 0.1 and bad["completeness"] < 0.1
    assert bad["informativeness_test"] < 0.35  # chance ≈ 1/4–1/5 per factor
    assert 0.3 < mixed["disentanglement"] < 0.8 and 0.3 < mixed["completeness"] < 0.8
    assert mixed["informativeness_test"] > 0.95  # the rotation loses no information


def test_dci_formulas():
    """Against hand values: a diagonal importance matrix is fully disentangled and complete; a code that splits its
    importance evenly over two of K = 2 factors scores 1 − log_2(2) = 0."""
    assert disentanglement(np.eye(3)) == pytest.approx(1.0, abs=1e-8)
    assert completeness(np.eye(3)) == pytest.approx(1.0, abs=1e-8)
    assert disentanglement(np.ones((2, 2))) == pytest.approx(0.0, abs=1e-8)
    assert disentanglement(np.zeros((2, 2))) == pytest.approx(0.0, abs=1e-8)
    # one code for both factors, one unused: D = 0 (weighted by code importance), C = 1
    r = np.array([[1.0, 1.0], [0.0, 0.0]])
    assert disentanglement(r) == pytest.approx(0.0, abs=1e-6) and completeness(r) == pytest.approx(1.0, abs=1e-6)


def test_sap():
    kw = dict(num_train=500, num_test=300)
    good = compute_sap(DATA, oracle, rs(), continuous_factors=True, **kw)["SAP_score"]
    bad = compute_sap(DATA, make_noise(), rs(), continuous_factors=True, **kw)["SAP_score"]
    mixed = compute_sap(DATA, rot45, rs(), continuous_factors=True, **kw)["SAP_score"]
    assert good > 0.95 and bad < 0.05 and 0.2 < mixed < 0.5  # rot45: two factors with gap 0, one with gap 1
    # discrete factors (the study setting): a linear SVC on one code cannot isolate the middle values of a 4–5 valued
    # factor, so even the oracle stays well below 1; it still ranks the representations
    discrete = {r: compute_sap(DATA, f, rs(), **kw)["SAP_score"] for r, f in [("good", oracle), ("bad", make_noise())]}
    assert discrete["good"] > 0.15 and discrete["bad"] < 0.05


def test_modularity_explicitness():
    kw = dict(num_train=1000, num_test=500)
    good = compute_modularity_explicitness(DATA, oracle, rs(), **kw)
    bad = compute_modularity_explicitness(DATA, make_noise(), rs(), **kw)
    mixed = compute_modularity_explicitness(DATA, rot45, rs(), **kw)
    assert good["modularity_score"] > 0.97 and good["explicitness_score_test"] > 0.97
    assert abs(bad["explicitness_score_test"] - 0.5) < 0.05  # chance AUC
    assert bad["modularity_score"] < good["modularity_score"] - 0.3  # noise is not 0 here (see the module notes)
    # rot45: two codes with equal MI to two factors (1 − δ = 1/2), one clean code (1): (1/2 + 1/2 + 1) / 3
    assert abs(mixed["modularity_score"] - 2.0 / 3.0) < 0.07
    assert mixed["explicitness_score_test"] > 0.97  # linear information survives a rotation


def test_modularity_formula():
    assert modularity(np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])) == pytest.approx(1.0)
    assert modularity(np.array([[1.0, 1.0, 1.0]])) == pytest.approx(0.0)
    assert modularity(np.zeros((1, 3))) == 0.0


# --- registry --------------------------------------------------------------------------------------------------------


SMALL = dict(
    beta_vae=dict(num_train=40, num_eval=20, batch_size=16),
    factor_vae=dict(num_train=40, num_eval=20, batch_size=16, num_variance_estimate=200),
    dci=dict(num_train=100, num_test=50),
    sap=dict(num_test=100),
    modularity_explicitness=dict(num_test=100),
)


def test_registry_signatures_and_defaults():
    expected = {
        "beta_vae": dict(batch_size=64, num_train=10000, num_eval=5000),
        "factor_vae": dict(
            batch_size=64, num_train=10000, num_eval=5000, num_variance_estimate=10000, prune_threshold=0.05
        ),
        "mig": dict(num_train=10000, batch_size=16, num_bins=20),
        "dci": dict(num_train=10000, num_test=5000, batch_size=16),
        "sap": dict(num_train=10000, num_test=5000, batch_size=16, continuous_factors=False),
        "modularity_explicitness": dict(num_train=10000, num_test=5000, batch_size=16, num_bins=20),
    }
    assert list(METRICS) == list(expected)
    for name, fn in METRICS.items():
        params = list(inspect.signature(fn).parameters.values())
        assert [p.name for p in params[:3]] == ["ground_truth_data", "representation_function", "random_state"]
        assert {p.name: p.default for p in params[3:]} == expected[name]


def test_evaluate_all():
    out = evaluate_all(DATA, oracle, 0, num_train=300, **SMALL)
    assert list(out) == list(METRICS)
    assert out["mig"]["discrete_mig"] > 0.9 and out["dci"]["disentanglement"] > 0.9
    assert out["beta_vae"]["eval_accuracy"] > 0.9 and out["factor_vae"]["eval_accuracy"] > 0.9
    # an int seed gives every metric RandomState(seed), as a separate lib run would
    assert out["mig"] == compute_mig(DATA, oracle, rs(0), num_train=300)
    # with a RandomState, a metric's seed does not depend on which other metrics run
    alone = evaluate_all(DATA, oracle, rs(7), names=["mig"], num_train=300)
    both = evaluate_all(DATA, oracle, rs(7), names=["sap", "mig"], num_train=300, sap=dict(num_test=100))
    assert alone["mig"] == both["mig"] and list(both) == ["sap", "mig"]
    with pytest.raises(TypeError):
        evaluate_all(DATA, oracle, 0, names=["mig"], num_tset=10)
    with pytest.raises(TypeError):
        evaluate_all(DATA, oracle, 0, names=["mig"], mig=dict(num_test=10))
    with pytest.raises(KeyError):
        evaluate_all(DATA, oracle, 0, names=["fid"])


# --- reconstruction --------------------------------------------------------------------------------------------------


def test_reconstruction():
    x = np.array([[[[0.0], [1.0]], [[1.0], [0.0]]], [[[0.5], [0.5]], [[0.5], [0.5]]]])  # two 2×2×1 images
    half = np.full_like(x, 0.5)
    per = per_image_errors(x, half)
    np.testing.assert_allclose(per["bce"], [4 * np.log(2.0)] * 2)
    np.testing.assert_allclose(per["l1"], [2.0, 0.0])
    np.testing.assert_allclose(per["l2"], [1.0, 0.0])
    assert compute_reconstruction(x, half) == pytest.approx({"bce": 4 * np.log(2.0), "l1": 1.0, "l2": 0.5})
    # logits give the same numbers as their sigmoids, and stay finite where the sigmoid saturates
    p = np.random.RandomState(0).uniform(0.05, 0.95, size=x.shape)
    from_logits = compute_reconstruction(x, np.log(p / (1 - p)), activation="logits")
    assert from_logits == pytest.approx(compute_reconstruction(x, p))
    assert np.isfinite(compute_reconstruction(x, np.full_like(x, 80.0), activation="logits")["bce"])
    with pytest.raises(ValueError):
        per_image_errors(x, half[:1])


# --- FID and inception score -----------------------------------------------------------------------------------------


def test_frechet_distance_exact():
    """Feature sets with exactly known sample moments: FD = ‖Δμ‖² + Σ (√a − √b)² for diagonal covariances a, b."""
    z = np.random.RandomState(0).randn(400, 4)
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # sample covariance exactly I
    a, b = np.array([1.0, 2.0, 0.5, 3.0]), np.array([1.0, 0.5, 0.5, 1.0])
    shift = np.array([1.0, -2.0, 0.0, 0.5])
    fa, fb = z * np.sqrt(a), z * np.sqrt(b) + shift
    assert frechet_distance(fa, fa) == pytest.approx(0.0, abs=1e-8)
    expected = shift @ shift + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(fa, fb) == pytest.approx(expected, rel=1e-8)
    # fewer samples than dimensions: singular covariances still give a finite, non-negative distance
    few = np.random.RandomState(1).randn(5, 20)
    assert 0.0 <= frechet_distance(few, few + 1.0) < np.inf


def test_inception_score():
    one_hot = np.eye(10)[np.arange(1000) % 10]  # confident, every class equally often in each split
    mean, std = inception_score(one_hot, splits=10)
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-12)
    soft = np.full((1000, 10), 0.1)
    assert inception_score(soft)[0] == pytest.approx(1.0)  # identical predictions
    constant = np.tile(np.eye(10)[3], (1000, 1))
    assert inception_score(constant)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        inception_score(one_hot[:5], splits=10)


def _blob_images(n: int, size: int, channels: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images with a bright square in one of four quadrants (the label) on faint noise."""
    r = np.random.RandomState(seed)
    labels = r.randint(4, size=n)
    images = 0.1 * r.rand(n, size, size, channels)
    half = size // 2
    for i, lab in enumerate(labels):
        top, left = (lab // 2) * half, (lab % 2) * half
        images[i, top : top + half, left : left + half] += 0.8
    return images.astype(np.float32), labels


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_feature_classifier_fid_and_is():
    images, labels = _blob_images(256, 28, 1, seed=0)
    extractor = train_feature_classifier(images, labels, steps=60, seed=0)
    assert extractor.train_accuracy > 0.95
    feats, probs = extractor.embed(images)
    assert feats.shape == (256, 128) and probs.shape == (256, 4)
    same = compute_fid(extractor, images, images)
    assert abs(same["fid"]) < 1e-3  # round-off of sqrtm on a trace of about 4e3 (dead ReLU units: singular Σ)
    assert same["feature_extractor"] == FEATURE_EXTRACTOR and "not ImageNet Inception-v3" in FEATURE_EXTRACTOR
    other, _ = _blob_images(256, 28, 1, seed=1)
    shifted = compute_fid(extractor, images, np.clip(images + 0.3, 0.0, 1.0))["fid"]
    assert shifted > 10 * compute_fid(extractor, images, other)["fid"] > 0.0  # a shift is farther than a resample
    score = compute_inception_score(extractor, images, splits=4)
    assert 3.0 < score["inception_score_mean"] <= 4.0 + 1e-9 and score["feature_extractor"] == FEATURE_EXTRACTOR
    # the same seed gives the same network
    again = train_feature_classifier(images, labels, steps=60, seed=0)
    np.testing.assert_array_equal(again.embed(images[:8])[0], extractor.embed(images[:8])[0])


def test_feature_classifier_64x64_rgb():
    images, labels = _blob_images(32, 64, 3, seed=0)
    extractor = train_feature_classifier(images, labels, steps=3, seed=0)
    feats, probs = extractor.embed(images)
    assert feats.shape == (32, 128) and probs.shape == (32, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


# --- MS-VAE M1–M4 ----------------------------------------------------------------------------------------------------


def test_normalized_mutual_information():
    c = np.random.RandomState(0).randn(2000, 3)
    assert normalized_mutual_information(c, c) == pytest.approx(1.0)
    assert normalized_mutual_information(c, 2.0 * c + 1.0) == pytest.approx(1.0)  # equal-width bins move along
    assert normalized_mutual_information(c, np.random.RandomState(1).randn(2000, 3)) < 0.05
    assert normalized_mutual_information(c, c, coordinates=[1]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        normalized_mutual_information(np.ones((10, 2)), c[:10, :2])


def _two_stage_toy(n: int = 2000):
    """X = [C, R]: C (2-d, std 3) is what stage one encodes, R (3-d) the residual detail. Stage one's decoder rounds
    C (a coarse Y); stage two's encoder takes the residual Z = X − Y and its decoder adds it back."""
    r = np.random.RandomState(0)
    x = np.c_[3.0 * r.randn(n, 2), r.randn(n, 3)]

    def encode_c(x):
        return x[:, :2]

    def decode_y(c):
        return np.c_[np.round(c), np.zeros((len(c), 3))]

    return x, encode_c, decode_y


def test_msvae_m_conditioning_kept():
    """An MS-VAE that keeps the conditioning: G(Y, Z) = Y + Z recovers X exactly (M2 = 1), stage one's coarse Y keeps
    most of C (M1 < 1), noise in place of Z blurs it (M3 < M1) and noise in place of Y destroys it (M4 at the floor):
    the paper's M2 > M1 > M3 ≫ M4."""
    x, encode_c, decode_y = _two_stage_toy()
    m = compute_msvae_m(x, encode_c, decode_y, lambda x, y: x - y, lambda y, z: y + z, rs())
    assert m["M2"] == pytest.approx(1.0)
    assert m["M2"] > m["M1"] > m["M3"] > 3 * m["M4"]
    assert m["M1"] > 0.5 and m["M4"] < 2 * m["floor"] + 0.02 and m["floor"] < 0.05


def test_msvae_m_decoder_ignores_y():
    """§4: "if G_Θ was only using Z for the final reconstruction, M3 would be close to zero and M4 would be high"."""
    x, encode_c, decode_y = _two_stage_toy()
    m = compute_msvae_m(x, encode_c, decode_y, lambda x, y: x, lambda y, z: z, rs())
    assert m["M2"] == pytest.approx(1.0) and m["M4"] == pytest.approx(1.0)
    assert m["M3"] < 0.05


def test_msvae_m_images_and_batches():
    """Image-shaped X and Y through callables that only accept small batches; ε keeps the images' float32."""
    x, encode_c, decode_y = _two_stage_toy(300)
    images = x.reshape(300, 5, 1, 1).astype(np.float32)
    seen = []

    def decode_x(y, z):
        seen.append((len(y), y.dtype, z.dtype))
        return y + z

    m = compute_msvae_m(
        images,
        lambda im: encode_c(im.reshape(len(im), 5)),
        lambda c: decode_y(c).reshape(len(c), 5, 1, 1).astype(np.float32),
        lambda im, y: (im - y).reshape(len(im), 5),
        lambda y, z: decode_x(y, z.reshape(y.shape)),
        rs(),
        batch_size=64,
    )
    assert max(s[0] for s in seen) == 64 and all(s[1] == np.float32 and s[2] == np.float32 for s in seen)
    assert m["M2"] == pytest.approx(1.0) and set(m) == {"M1", "M2", "M3", "M4", "floor"}
