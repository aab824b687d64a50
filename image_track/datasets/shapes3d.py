"""A procedural 3D-shapes-like set on the grid of 3dshapes (Burgess & Kim 2018, github.com/deepmind/3d-shapes).

Factors, in the published file's order (orientation fastest) and with the values of its ``labels`` array as far as
they are documented: floor hue, wall hue, object hue (10 each, 0, 0.1, …, 0.9), object scale (8,
linspace(0.75, 1.25, 8)), shape (4: cube, cylinder, sphere, capsule) and orientation (15, linspace(−30°, 30°, 15)) —
480,000 combinations, 64×64 RGB, rendered lazily and deterministically with numpy. Nothing of the published images
is reproduced: their scene and renderer are not published, so this is a stand-in with the same factor structure,
not the same pixels (scores are comparable in trend only).

The scene, all chosen here:

* Camera: orthographic, pitched 25° down, turned about the vertical axis by the orientation — as in 3dshapes the
  orientation turns the view of the whole scene, so it is visible for every shape, the rotationally symmetric
  ones included: the room's corner moves across the image and the fixed light falls on the object from another
  side.
* Room: two walls meeting in a vertical corner behind the object (the corner at column 32 + 48·sin θ), the
  floor-wall boundary rising towards the corner; walls in the wall hue (the two walls lit differently), floor in
  the floor hue with a perspective gradient (darker towards the horizon).
* Object: centred, standing on the floor, its size (half-width 7.5·scale px) set by scale; cube, vertical
  cylinder, sphere, or capsule (a cylinder with hemispherical ends, taller than wide), cast analytically per ray
  and shaded Lambertian (ambient 0.3) under a light fixed in the room; object hue only colours it.
* 2×2 supersampling, then averaging, so the object's and the walls' edges are anti-aliased. The object's hue
  therefore changes exactly the pixels its silhouette touches (:meth:`Shapes3D.object_coverage` gives them).

Speed: about 2,100 images/s in batches of 64 on this project's 2 shared CPU cores, lightly loaded (about 950 at
load 5–6); best of three rounds of ``python pipelines/bench_image_datasets.py``.
"""

from __future__ import annotations

import numpy as np

from image_track.datasets.base import GroundTruthData, RandomStateLike

HUES = np.linspace(0.0, 0.9, 10)
SCALES = np.linspace(0.75, 1.25, 8)
SHAPES = ("cube", "cylinder", "sphere", "capsule")
ORIENTATIONS_DEG = np.linspace(-30.0, 30.0, 15)
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
FACTORS_NUM_VALUES = [10, 10, 10, 8, 4, 15]
IMAGE_SIZE = 64
_SUPERSAMPLE = 2
_PITCH = np.deg2rad(25.0)
_HALF_WIDTH = 7.5  # object half-width in pixels at scale 1
_BASE_ROW = 52.0  # image row of the object's base centre
_HORIZON_ROW = 30.0  # floor-wall boundary at the corner
_LIGHT = tuple(float(c) for c in np.array([-0.45, 0.8, -0.4]) / np.linalg.norm([-0.45, 0.8, -0.4]))  # room frame, y up
_AMBIENT = 0.3
_SATURATION = 0.85


# Supersampled rows and columns that can see the object (over all shapes and turns the largest ones cover pixel
# rows 29–57 and columns 19–45); rays are cast there only.
_WINDOW_ROWS = (20 * _SUPERSAMPLE, 61 * _SUPERSAMPLE)
_WINDOW_COLS = (15 * _SUPERSAMPLE, 49 * _SUPERSAMPLE)


def _sample_grid() -> np.ndarray:
    """Centres of the supersamples along one axis, in pixel units (pixel j covers [j, j + 1))."""
    return ((np.arange(IMAGE_SIZE * _SUPERSAMPLE, dtype=np.float32) + 0.5) / _SUPERSAMPLE).astype(np.float32)


def _pool(maps: np.ndarray) -> np.ndarray:
    """Average (num, S, S) supersampled maps down to (num, 64, 64): a sum of strided views (numpy's mean over the
    two inner axes of a reshape is several times slower)."""
    step = _SUPERSAMPLE
    total = sum(maps[:, i::step, j::step] for i in range(step) for j in range(step))
    return total / np.float32(step * step)


def hsv_to_rgb(hue: np.ndarray, saturation: float, value: np.ndarray) -> np.ndarray:
    """RGB (…, 3) in [0, 1] of broadcastable hue in [0, 1), a saturation and value arrays (the usual hexcone)."""
    hue = np.asarray(hue, dtype=np.float32)[..., None]
    value = np.asarray(value, dtype=np.float32)[..., None]
    k = np.mod(np.array([5.0, 3.0, 1.0], dtype=np.float32) + 6.0 * hue, 6.0)
    return value - value * saturation * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _camera(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right, up and forward unit vectors (num, 3) in the room frame (y up) of the camera turned by ``theta``."""
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    cos_p, sin_p = float(np.cos(_PITCH)), float(np.sin(_PITCH))
    zeros = np.zeros_like(theta)
    right = np.stack([cos_t, zeros, -sin_t], axis=1)
    up = np.stack([sin_t * sin_p, np.full_like(theta, cos_p), cos_t * sin_p], axis=1)
    forward = np.stack([sin_t * cos_p, np.full_like(theta, -sin_p), cos_t * cos_p], axis=1)
    return right, up, forward


# Rays as components, (ox, oy, oz, dx, dy, dz): origins (num, rows, cols), directions (num, 1, 1) — one direction
# per image (orthographic), so it is never materialised per ray. Each shape returns the entry distance (inf on a
# miss) and the Lambert term max(0, n · light) there, all a renderer needs of the surface.
Rays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _lambert(nx: np.ndarray, ny: np.ndarray, nz: np.ndarray) -> np.ndarray:
    """max(0, n · light) of unit normals given as components."""
    return np.maximum(nx * _LIGHT[0] + ny * _LIGHT[1] + nz * _LIGHT[2], 0.0)


def _box(rays: Rays, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rays against the cube [−h, h] × [0, 2h] × [−h, h] (slab method)."""
    ox, oy, oz, dx, dy, dz = rays
    nears, fars = [], []
    for o, d, low, high in ((ox, dx, -half, half), (oy, dy, 0.0 * half, 2.0 * half), (oz, dz, -half, half)):
        # A ray parallel to a slab would give 0/0 on its boundary; a tiny component keeps the comparison meaningful.
        d = np.where(np.abs(d) < 1e-12, np.float32(1e-12), d)
        t1, t2 = (low - o) / d, (high - o) / d
        nears.append(np.minimum(t1, t2))
        fars.append(np.maximum(t1, t2))
    entry = np.maximum(np.maximum(nears[0], nears[1]), nears[2])
    leave = np.minimum(np.minimum(fars[0], fars[1]), fars[2])
    zero = np.zeros_like(dx)
    # The face entered is the slab entered last; its outward normal points against the ray along that axis.
    light = np.select(
        [entry == nears[0], entry == nears[1]],
        [_lambert(-np.sign(dx), zero, zero), _lambert(zero, -np.sign(dy), zero)],
        _lambert(zero, zero, -np.sign(dz)),
    )
    hit = entry <= leave
    return np.where(hit, entry, np.inf), np.where(hit, light, 0.0)


def _sphere(rays: Rays, centre_y: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rays (unit directions) against spheres of the given radius centred on (0, centre_y, 0)."""
    ox, oy, oz, dx, dy, dz = rays
    oy = oy - centre_y
    b = ox * dx + oy * dy + oz * dz
    disc = b**2 - (ox**2 + oy**2 + oz**2 - radius**2)
    hit = disc >= 0
    entry = np.where(hit, -b - np.sqrt(np.maximum(disc, 0.0)), np.inf)
    t = np.where(hit, entry, 0.0)
    light = _lambert((ox + t * dx) / radius, (oy + t * dy) / radius, (oz + t * dz) / radius)
    return entry, np.where(hit, light, 0.0)


def _cylinder(rays: Rays, radius: np.ndarray, low: np.ndarray, high: np.ndarray,
              caps: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rays against vertical cylinders x² + z² ≤ r², low ≤ y ≤ high, with or without their flat caps (a
    capsule's cylinder is capped by spheres instead)."""
    ox, oy, oz, dx, dy, dz = rays
    a = dx**2 + dz**2  # > 0: the camera is never vertical
    b = ox * dx + oz * dz
    disc = b**2 - a * (ox**2 + oz**2 - radius**2)
    root = np.sqrt(np.maximum(disc, 0.0))
    side_in, side_out = (-b - root) / a, (-b + root) / a
    ty1, ty2 = (low - oy) / dy, (high - oy) / dy
    slab_in, slab_out = np.minimum(ty1, ty2), np.maximum(ty1, ty2)
    if caps:
        entry = np.maximum(side_in, slab_in)
        hit = (disc >= 0) & (entry <= np.minimum(side_out, slab_out))
        on_side = side_in >= slab_in
    else:
        entry = side_in
        y = oy + side_in * dy
        hit = (disc >= 0) & (y >= low) & (y <= high)
        on_side = True
    t = np.where(hit, entry, 0.0)
    zero = np.zeros_like(dx)
    side = _lambert((ox + t * dx) / radius, zero, (oz + t * dz) / radius)
    light = np.where(on_side, side, _lambert(zero, -np.sign(dy), zero))
    return np.where(hit, entry, np.inf), np.where(hit, light, 0.0)


class Shapes3D(GroundTruthData):
    """3D-shapes-like scenes on the 3dshapes grid: 6 factors (10, 10, 10, 8, 4, 15), 64×64×3 float32 images.
    See the module notes for the scene and for what is not the published data."""

    name = "shapes3d"
    factor_names = FACTOR_NAMES
    observation_shape = (IMAGE_SIZE, IMAGE_SIZE, 3)

    def __init__(self) -> None:
        self.factors_num_values = list(FACTORS_NUM_VALUES)
        self._room: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: RandomStateLike) -> np.ndarray:
        """Render the factors (the state is not used: the images are a function of the factors)."""
        return self._render(self.check_factors(factors))[0]

    def object_coverage(self, factors: np.ndarray) -> np.ndarray:
        """(num, 64, 64) fraction of each pixel's samples that see the object: the pixels object hue can change."""
        return self._render(self.check_factors(factors))[1]

    def _render(self, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Images (num, 64, 64, 3) and object coverage (num, 64, 64) of checked factor indices.

        RGB is linear in the value channel (hsv_to_rgb(h, s, v) = v · hsv_to_rgb(h, s, 1)), so each image is three
        pooled intensity maps — lit floor, lit wall, shaded object — times the three hues' colours: the hues cost
        nothing per pixel, and the room's maps depend on the orientation alone and are computed once per value."""
        orientation = factors[:, 5]
        hit, shade = self._object(factors)
        free = 1.0 - hit
        # Away from the object the pooled room maps are used as cached; in its window they are pooled again with
        # the samples the object hides taken out.
        rows, cols = (slice(a // _SUPERSAMPLE, b // _SUPERSAMPLE) for a, b in (_WINDOW_ROWS, _WINDOW_COLS))
        pooled = []
        for fine, coarse in zip(*self._room_maps()):
            room = coarse[orientation]
            room[:, rows, cols] = _pool(fine[:, slice(*_WINDOW_ROWS), slice(*_WINDOW_COLS)][orientation] * free)
            pooled.append(room)
        lit_object = np.zeros_like(pooled[0])
        lit_object[:, rows, cols] = _pool(shade)
        coverage = np.zeros_like(pooled[0])
        coverage[:, rows, cols] = _pool(hit)
        ones = np.ones(len(factors), dtype=np.float32)
        colours = [hsv_to_rgb(HUES[factors[:, k]], _SATURATION, ones)[:, None, None, :] for k in range(3)]
        image = sum(m[..., None] * c for m, c in zip((*pooled, lit_object), colours))
        return np.clip(image, 0.0, 1.0).astype(np.float32), coverage

    def _room_maps(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Intensity maps of the floor and of the walls, one per orientation value, supersampled (15, S, S) and pooled
        (15, 64, 64): (fine floor, fine wall), (pooled floor, pooled wall). Cached: the room depends on the
        orientation alone."""
        if self._room is None:
            theta = np.deg2rad(ORIENTATIONS_DEG).astype(np.float32)
            grid = _sample_grid()
            corner = IMAGE_SIZE / 2.0 + 48.0 * np.sin(theta)
            rows, cols = grid[None, :, None], grid[None, None, :]
            on_floor = rows >= _HORIZON_ROW + 0.25 * np.abs(cols - corner[:, None, None])
            depth = np.clip((rows - _HORIZON_ROW) / (IMAGE_SIZE - _HORIZON_ROW), 0.0, 1.0)
            wall_value = np.where(cols < corner[:, None, None], 0.9, 0.68) - 0.12 * rows / IMAGE_SIZE
            fine = (
                np.where(on_floor, 0.45 + 0.55 * depth, 0.0).astype(np.float32),
                np.where(on_floor, 0.0, wall_value).astype(np.float32),
            )
            self._room = fine, (_pool(fine[0]), _pool(fine[1]))
        return self._room

    def _object(self, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hit mask and shading (num, window rows, window cols) of the object, one orthographic ray per sample of
        the window that can contain it, cast in the room frame from well in front of the scene."""
        theta = np.deg2rad(ORIENTATIONS_DEG[factors[:, 5]]).astype(np.float32)
        grid = _sample_grid()
        xs = grid[slice(*_WINDOW_COLS)] - IMAGE_SIZE / 2.0
        ys = _BASE_ROW - grid[slice(*_WINDOW_ROWS)]
        right, up, forward = (v[:, :, None, None] for v in _camera(theta))
        half = (_HALF_WIDTH * SCALES[factors[:, 3]]).astype(np.float32)[:, None, None]
        entry = np.full((len(factors), len(ys), len(xs)), np.inf, dtype=np.float32)
        light = np.zeros_like(entry)
        for index in range(len(SHAPES)):
            chosen = np.flatnonzero(factors[:, 4] == index)
            if len(chosen):
                r, u, f = right[chosen], up[chosen], forward[chosen]
                origin = [xs[None, None, :] * r[:, k] + ys[None, :, None] * u[:, k] - 100.0 * f[:, k] for k in range(3)]
                rays = (*origin, f[:, 0], f[:, 1], f[:, 2])
                entry[chosen], light[chosen] = self._cast(index, rays, half[chosen])
        hit = np.isfinite(entry)
        return hit.astype(np.float32), np.where(hit, _AMBIENT + (1.0 - _AMBIENT) * light, 0.0).astype(np.float32)

    @staticmethod
    def _cast(shape: int, rays: Rays, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Entry distance and Lambert term of the rays against one shape of half-width ``half`` standing on y = 0."""
        if shape == 0:
            return _box(rays, half)
        if shape == 1:
            return _cylinder(rays, half, 0.0 * half, 2.0 * half, caps=True)
        if shape == 2:
            return _sphere(rays, half, half)
        # Capsule: radius 0.8·half, 2.6·half tall; the first surface met is the nearest of its three parts.
        radius, top = 0.8 * half, 2.6 * half
        parts = [
            _cylinder(rays, radius, radius, top - radius, caps=False),
            _sphere(rays, radius, radius),
            _sphere(rays, top - radius, radius),
        ]
        entries = np.stack([p[0] for p in parts])
        nearest = entries.argmin(axis=0)[None]
        lights = np.stack([p[1] for p in parts])
        return entries.min(axis=0), np.take_along_axis(lights, nearest, 0)[0]
