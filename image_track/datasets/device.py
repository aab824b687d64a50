"""dSprites rendered on the training device: batches drawn and rasterised where the model runs, so a GPU never waits
on the host for data.

:func:`render_sprites_torch` is :func:`image_track.datasets.dsprites.render_sprites` in torch — the same outlines,
positions, rotation and point sampling at pixel centres — on any device. Two differences, both at the edge pixels
whose centre lies within round-off of an outline: the arithmetic is float32 on the device rather than numpy's float32
on the CPU, and the heart's polar outline is read from a table on a uniform angle grid (4,096 angles, linear
interpolation) instead of ``np.interp`` on the curve's own angles. On 2,000 random factor vectors the two renderers
differ in 1 pixel of 8.2 million (``tests/image_track/test_device_data.py`` allows a few per thousand images).

:class:`DeviceDSprites` draws factors with a generator on the device (uniform and independent, as
:meth:`~image_track.datasets.base.GroundTruthData.sample_factors`) and renders them there. Every operation is
elementwise or a fixed-size gather — no boolean indexing, nothing whose size depends on the data — so a step reads
nothing back to the host. Its stream is deterministic for a seed and device, but it is not the CPU stream of
``DSprites().as_torch`` (different generators): use it for speed, the CPU stream for runs compared across machines.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from image_track.datasets.dsprites import (
    _HALF_SIDE,
    _HEART_ANGLES,
    _HEART_RADII,
    _MARGIN,
    _SPAN,
    FACTORS_NUM_VALUES,
    IMAGE_SIZE,
    ORIENTATIONS,
    POSITIONS,
    SCALES,
)

#: Angles of the heart's radius table on the device (uniform over [0, 2π)).
HEART_TABLE_SIZE = 4096


def _heart_table(device: torch.device) -> torch.Tensor:
    """The heart's radius at HEART_TABLE_SIZE uniform angles, interpolated from the CPU renderer's table."""
    angles = np.arange(HEART_TABLE_SIZE) * (2.0 * np.pi / HEART_TABLE_SIZE)
    radii = np.interp(angles, _HEART_ANGLES, _HEART_RADII, period=2.0 * np.pi)
    return torch.as_tensor(radii, dtype=torch.float32, device=device)


def render_sprites_torch(
    shape: torch.Tensor,
    scale: torch.Tensor,
    orientation: torch.Tensor,
    pos_x: torch.Tensor,
    pos_y: torch.Tensor,
    heart_table: torch.Tensor | None = None,
    size: int = IMAGE_SIZE,
) -> torch.Tensor:
    """(num, size, size) float32 images in {0, 1} of sprites given by factor *values* on one device (shape as an
    index into ``dsprites.SHAPES``; see :func:`image_track.datasets.dsprites.render_sprites`)."""
    device = scale.device
    table = _heart_table(device) if heart_table is None else heart_table
    k = (size / IMAGE_SIZE) * _HALF_SIDE * scale.float()
    margin, span = (size / IMAGE_SIZE) * _MARGIN, (size / IMAGE_SIZE) * _SPAN
    centre_x = (margin + span * pos_x.float())[:, None, None]
    centre_y = (margin + span * pos_y.float())[:, None, None]
    pixels = torch.arange(size, dtype=torch.float32, device=device) + 0.5
    # Screen coordinates with y up, as the CPU renderer: a positive angle turns the sprite counter-clockwise.
    dx = (pixels[None, None, :] - centre_x) / k[:, None, None]
    dy = (centre_y - pixels[None, :, None]) / k[:, None, None]
    cos = torch.cos(orientation.float())[:, None, None]
    sin = torch.sin(orientation.float())[:, None, None]
    u = cos * dx + sin * dy
    v = cos * dy - sin * dx
    square = torch.maximum(u.abs(), v.abs()) <= 1.0
    ellipse = u**2 + (2.0 * v) ** 2 <= 1.0
    position = torch.remainder(torch.atan2(v, u), 2.0 * math.pi) * (len(table) / (2.0 * math.pi))
    low = position.floor()
    frac = position - low
    index = low.long() % len(table)
    radius = torch.lerp(table[index], table[(index + 1) % len(table)], frac)
    heart = u**2 + v**2 <= radius**2
    shape = shape.long()[:, None, None]
    # Every shape is computed and one selected per image: no data-dependent indexing, so no host synchronisation.
    out = torch.where(shape == 0, square, torch.where(shape == 1, ellipse, heart))
    return out.float()


class DeviceDSprites:
    """Procedural dSprites sampled and rendered on `device`: (N, 1, 64, 64) float32 batches that never leave it."""

    def __init__(self, device: str | torch.device = "cpu", seed: int = 0) -> None:
        self.factors_num_values = list(FACTORS_NUM_VALUES)
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.heart_table = _heart_table(self.device)
        self.values = [torch.as_tensor(v, dtype=torch.float32, device=self.device)
                       for v in (SCALES, ORIENTATIONS, POSITIONS)]

    def sample_factors(self, num: int) -> torch.Tensor:
        """(num, 5) long factor indices on the device, uniform and independent."""
        return torch.stack([
            torch.randint(size, (num,), generator=self.generator, device=self.device)
            for size in self.factors_num_values
        ], dim=1)

    def render(self, factors: torch.Tensor) -> torch.Tensor:
        """(num, 1, 64, 64) images of (num, 5) factor indices on the device."""
        scales, orientations, positions = self.values
        images = render_sprites_torch(
            factors[:, 0], scales[factors[:, 1]], orientations[factors[:, 2]], positions[factors[:, 3]],
            positions[factors[:, 4]], heart_table=self.heart_table,
        )
        return images[:, None]

    def stream(self, num_steps: int, batch_size: int) -> Iterator[torch.Tensor]:
        """`num_steps` training batches, each drawn and rendered on the device when asked for."""
        for _ in range(num_steps):
            yield self.render(self.sample_factors(batch_size))


class DeviceStream:
    """A re-iterable training stream of :class:`DeviceDSprites` batches: each iteration starts again from `seed`, so
    every stage of a fit (MS-VAE trains two) sees the same batches, as with a dataset's ``as_torch`` stream."""

    def __init__(self, device: str | torch.device, num_steps: int, batch_size: int, seed: int = 0) -> None:
        self.device, self.num_steps, self.batch_size, self.seed = torch.device(device), num_steps, batch_size, seed

    def __len__(self) -> int:
        return self.num_steps

    def __iter__(self) -> Iterator[torch.Tensor]:
        return DeviceDSprites(self.device, self.seed).stream(self.num_steps, self.batch_size)
