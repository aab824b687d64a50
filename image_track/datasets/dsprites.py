"""dSprites (Matthey et al. 2017, github.com/deepmind/dsprites-dataset): rendered here, or read from the published file.

:class:`DSprites` renders the published factor grid procedurally — shape {square, ellipse, heart} (3) × scale
linspace(0.5, 1, 6) × orientation linspace(0, 2π, 40) × posX linspace(0, 1, 32) × posY linspace(0, 1, 32) =
737,280 binary 64×64 images — lazily and deterministically from the factors (nothing is held in memory but the
heart's outline). The factors are disentanglement_lib's ``dsprites_full`` five (the constant colour dropped), in the
file's order, so :meth:`~image_track.datasets.base.GroundTruthData.factors_to_index` of a factor vector is the
image's row in the published file.

What is taken from the published data: the grid above, 64×64 binary images, one white sprite on black, the order.
What is chosen here, because the generator and the outlines were not published:

* Position: the sprite's centre is at pixel coordinate 8 + 48·pos on both axes (pixel j covers [j, j + 1)), so
  centres run from 8 to 56 in steps of 48/31 ≈ 1.55 px; posX moves right, posY moves *down* (image rows).
* Size: the square's side is 16·scale px (8 to 16 px); the ellipse has axes 16·scale × 8·scale px (long axis
  horizontal at orientation 0); the heart is the curve x = 16 sin³t, y = 13 cos t − 5 cos 2t − 2 cos 3t − cos 4t,
  lobes up, scaled so its bounding box's longer side is the square's side. Near the extreme positions a large
  rotated sprite can be clipped by the border by up to ~3 px.
* Orientation rotates counter-clockwise on screen about the sprite's centre — the square's and ellipse's centre, the
  heart's area centroid.
* Rasterisation: a pixel is on when its centre lies inside the outline (point sampling, no anti-aliasing, so the
  images are exactly binary without a threshold). The published images' edges come from a renderer that is not
  known, so they differ pixel by pixel.

Symmetry, as in the original: orientation indices 0 and 39 (0 and 2π) give identical images for every shape. The
square has 4-fold and the ellipse 2-fold symmetry, so their images nearly repeat every quarter (square) or half
(ellipse) turn — not exactly on the grid: at 2π/39 per step, index k + 10 is 2.3° past a quarter turn from index k
and k + 20 is 4.6° past a half turn — so the orientation factor of these two shapes is nearly ambiguous; only the
heart's orientation is identifiable over the whole circle.

Consequence: scores on this set are comparable with published dSprites scores in trend, not digit for digit.

Speed: about 6,200 images/s in batches of 64 on this project's 2 shared CPU cores, lightly loaded (about 3,000 at
load 5–6); best of three rounds of ``python pipelines/bench_image_datasets.py``.

:class:`DSpritesNPZ` reads the published ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` (keys ``imgs``,
``latents_classes``, ``latents_values``) behind the same API. It loads the images into memory as the lib does
(about 2.9 GB of uint8 for the full file: the file is compressed, so it cannot be memory-mapped).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from image_track.datasets.base import GroundTruthData, RandomStateLike
from image_track.datasets.errors import DatasetError

SHAPES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2.0 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)
FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTORS_NUM_VALUES = [3, 6, 40, 32, 32]
IMAGE_SIZE = 64
# Centre in pixels = _MARGIN + _SPAN · pos; half the square's side at scale 1.
_MARGIN, _SPAN, _HALF_SIDE = 8.0, 48.0, 8.0


def _heart_radius_table(num: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """The heart's outline in polar form about its area centroid: (angles, radii), angles increasing in [0, 2π).

    The curve is star-shaped about its centroid (its polar angle is monotone in t), so "inside" is simply
    ρ ≤ r(φ), one interpolation per pixel instead of a polygon test. Units: the bounding box's longer side is 2,
    as the square's [-1, 1]²."""
    t = np.linspace(0.0, 2.0 * np.pi, num, endpoint=False)
    x = 16.0 * np.sin(t) ** 3
    y = 13.0 * np.cos(t) - 5.0 * np.cos(2 * t) - 2.0 * np.cos(3 * t) - np.cos(4 * t)
    x_next, y_next = np.roll(x, -1), np.roll(y, -1)
    cross = x * y_next - x_next * y
    area = cross.sum() / 2.0
    cx, cy = ((x + x_next) * cross).sum() / (6 * area), ((y + y_next) * cross).sum() / (6 * area)
    extent = max(x.max() - x.min(), y.max() - y.min()) / 2.0
    x, y = (x - cx) / extent, (y - cy) / extent
    angle = np.mod(np.arctan2(y, x), 2.0 * np.pi)
    order = np.argsort(angle)
    return angle[order], np.hypot(x, y)[order]


_HEART_ANGLES, _HEART_RADII = _heart_radius_table()


def render_sprites(shape: np.ndarray, scale: np.ndarray, orientation: np.ndarray, pos_x: np.ndarray,
                   pos_y: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """(num, size, size) bool images of sprites given by factor *values* (shape as an index into
    :data:`SHAPES`, scale, orientation in radians, positions in [0, 1]), by point sampling at pixel centres.

    Public so that values off the grid (a finer orientation, say) can be rendered too; the grid is
    :class:`DSprites`."""
    shape = np.asarray(shape, dtype=np.int64)
    k = (size / IMAGE_SIZE) * _HALF_SIDE * np.asarray(scale, dtype=np.float32)
    margin, span = (size / IMAGE_SIZE) * _MARGIN, (size / IMAGE_SIZE) * _SPAN
    centre_x = (margin + span * np.asarray(pos_x, dtype=np.float32))[:, None, None]
    centre_y = (margin + span * np.asarray(pos_y, dtype=np.float32))[:, None, None]
    pixels = np.arange(size, dtype=np.float32) + 0.5
    # Screen coordinates with y up, so that a positive angle turns the sprite counter-clockwise as displayed.
    dx = (pixels[None, None, :] - centre_x) / k[:, None, None]
    dy = (centre_y - pixels[None, :, None]) / k[:, None, None]
    cos = np.cos(orientation).astype(np.float32)[:, None, None]
    sin = np.sin(orientation).astype(np.float32)[:, None, None]
    u = cos * dx + sin * dy  # rotate the pixel grid by −θ into the sprite's own frame
    v = cos * dy - sin * dx
    out = np.zeros((len(shape), size, size), dtype=bool)
    square, ellipse, heart = (shape == 0), (shape == 1), (shape == 2)
    if square.any():
        out[square] = np.maximum(np.abs(u[square]), np.abs(v[square])) <= 1.0
    if ellipse.any():
        out[ellipse] = u[ellipse] ** 2 + (2.0 * v[ellipse]) ** 2 <= 1.0
    if heart.any():
        uh, vh = u[heart], v[heart]
        angle = np.mod(np.arctan2(vh, uh), 2.0 * np.pi)
        radius = np.interp(angle, _HEART_ANGLES, _HEART_RADII, period=2.0 * np.pi)
        out[heart] = uh**2 + vh**2 <= radius**2
    return out


class DSprites(GroundTruthData):
    """Procedural dSprites on the published grid: 5 factors (shape 3, scale 6, orientation 40, posX 32, posY 32),
    64×64×1 binary float32 images. See the module notes for what differs from the published file."""

    name = "dsprites"
    factor_names = FACTOR_NAMES
    observation_shape = (IMAGE_SIZE, IMAGE_SIZE, 1)

    def __init__(self) -> None:
        self.factors_num_values = list(FACTORS_NUM_VALUES)

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: RandomStateLike) -> np.ndarray:
        """Render the factors (the state is not used: the images are a function of the factors)."""
        factors = self.check_factors(factors)
        images = render_sprites(
            factors[:, 0], SCALES[factors[:, 1]], ORIENTATIONS[factors[:, 2]], POSITIONS[factors[:, 3]],
            POSITIONS[factors[:, 4]],
        )
        return images[..., None].astype(np.float32)

    def factor_values(self, factors: np.ndarray) -> np.ndarray:
        """(num, 5) float values of factor indices, as the file's ``latents_values`` less colour (shape 1, 2, 3)."""
        factors = self.check_factors(factors)
        return np.stack(
            [factors[:, 0] + 1.0, SCALES[factors[:, 1]], ORIENTATIONS[factors[:, 2]], POSITIONS[factors[:, 3]],
             POSITIONS[factors[:, 4]]], axis=1,
        )


_NPZ_KEYS = ("imgs", "latents_classes", "latents_values")


class DSpritesNPZ(GroundTruthData):
    """The published dSprites file (or any npz of the same layout) behind the GroundTruthData API.

    Factors are the columns of ``latents_classes`` that take more than one value (the published file's colour
    column is constant and dropped, as the lib's ``dsprites_full`` does), with sizes ``max + 1``. The classes must
    cover that grid exactly once; rows may come in any order (the published file is in grid order, which is
    checked once and then used directly)."""

    name = "dsprites_npz"

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise DatasetError(f"{path}: no such file (expected dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz)")
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [key for key in _NPZ_KEYS if key not in data.files]
                if missing:
                    raise DatasetError(f"{path}: not a dSprites npz, lacks key(s) {missing} (has {data.files})")
                images, classes, values = data["imgs"], data["latents_classes"], data["latents_values"]
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            if isinstance(error, DatasetError):
                raise
            raise DatasetError(f"{path}: cannot read as npz ({type(error).__name__}: {error})") from None
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        if images.ndim != 3 or classes.ndim != 2 or len(classes) != len(images) or values.shape != classes.shape:
            raise DatasetError(
                f"{path}: need imgs (N, H, W) and latents_classes/latents_values (N, K), got {images.shape}, "
                f"{classes.shape}, {values.shape}"
            )
        classes = classes.astype(np.int64)
        sizes = classes.max(axis=0) + 1
        keep = np.flatnonzero(sizes > 1)
        if classes.min() < 0 or not len(keep):
            raise DatasetError(f"{path}: latents_classes must be non-negative and vary in at least one column")
        self.factor_indices = keep.tolist()
        self.factors_num_values = sizes[keep].astype(int).tolist()
        self.factor_names = (
            FACTOR_NAMES if self.factors_num_values == FACTORS_NUM_VALUES else tuple(f"factor_{k}" for k in keep)
        )
        if len(images) != self.num_combinations:
            raise DatasetError(
                f"{path}: {len(images)} images for a factor grid of {self.num_combinations} "
                f"({' x '.join(map(str, self.factors_num_values))}); each combination must appear once"
            )
        flat = np.ravel_multi_index(tuple(classes[:, keep].T), self.factors_num_values)
        if not np.array_equal(np.bincount(flat, minlength=len(flat)), np.ones(len(flat), dtype=np.int64)):
            raise DatasetError(f"{path}: latents_classes repeat some factor combinations and miss others")
        # Row of each grid position; None when the file is in grid order already (the published one is).
        self._row = None if np.array_equal(flat, np.arange(len(flat))) else np.argsort(flat)
        self.images = images
        self.latents_values = values
        self.observation_shape = (int(images.shape[1]), int(images.shape[2]), 1)
        # Published images are 0/1; an npz of 0–255 images is scaled to [0, 1] too.
        self._divisor = np.float32(255.0 if images.max() > 1 else 1.0)

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: RandomStateLike) -> np.ndarray:
        """The stored images of the factors (the state is not used)."""
        index = self.factors_to_index(factors)
        rows = index if self._row is None else self._row[index]
        return (self.images[rows].astype(np.float32) / self._divisor)[..., None]
