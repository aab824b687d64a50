"""image_track.datasets.device: dSprites drawn and rendered on the training device match the CPU renderer and stream
the way the trainer needs (checked on the CPU device; the same torch code runs on CUDA)."""

from __future__ import annotations

import numpy as np
import torch

from image_track.datasets import DSprites
from image_track.datasets.device import DeviceDSprites, DeviceStream


def test_the_torch_renderer_matches_the_numpy_one() -> None:
    data, device = DSprites(), DeviceDSprites("cpu")
    factors = data.sample_factors(1000, np.random.RandomState(3))
    expected = data.sample_observations_from_factors(factors, None)[..., 0]
    got = device.render(torch.as_tensor(factors))[:, 0].numpy()
    assert got.dtype == np.float32 and set(np.unique(got)) <= {0.0, 1.0}
    assert (got != expected).sum() <= 5  # edge pixels within round-off of an outline, a few per thousand images


def test_factors_are_uniform_over_the_grid_and_seeded() -> None:
    factors = DeviceDSprites("cpu", seed=1).sample_factors(20000).numpy()
    assert factors.dtype == np.int64 and factors.shape == (20000, 5)
    assert (factors.min(axis=0) == 0).all() and (factors.max(axis=0) == np.array([2, 5, 39, 31, 31])).all()
    assert abs(np.mean(factors[:, 0] == 2) - 1 / 3) < 0.02
    assert torch.equal(DeviceDSprites("cpu", 1).sample_factors(8), DeviceDSprites("cpu", 1).sample_factors(8))
    assert not torch.equal(DeviceDSprites("cpu", 1).sample_factors(8), DeviceDSprites("cpu", 2).sample_factors(8))


def test_the_stream_restarts_for_each_stage() -> None:
    stream = DeviceStream("cpu", num_steps=3, batch_size=4, seed=0)
    first, second = list(stream), list(stream)
    assert len(stream) == 3 and len(first) == 3
    assert all(a.shape == (4, 1, 64, 64) and a.dtype == torch.float32 for a in first)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
