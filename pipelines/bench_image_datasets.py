"""Benchmark: rendering speed of the procedural image datasets (images per second, batches of 64).

Run:  python pipelines/bench_image_datasets.py [--batches 50] [--batch-size 64]

Each dataset renders ``--batches`` batches of random factors (drawn before the clock starts, so only
``sample_observations_from_factors`` is timed); best of three rounds, since this project's shared VM drifts.
The figures in image_track/README.md ("Datasets") come from this script.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from image_track.datasets import DSprites, GroundTruthData, Shapes3D


def images_per_second(data: GroundTruthData, batches: int, batch_size: int, rounds: int = 3) -> float:
    """Best-of-``rounds`` rendering rate of ``batches`` random batches of ``batch_size`` factor vectors."""
    random_state = np.random.RandomState(0)
    factors = [data.sample_factors(batch_size, random_state) for _ in range(batches)]
    data.sample_observations_from_factors(factors[0], random_state)  # warm caches (the 3D room maps)
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for batch in factors:
            data.sample_observations_from_factors(batch, random_state)
        best = max(best, batches * batch_size / (time.perf_counter() - start))
    return best


def main() -> None:
    """Print images/s of each procedural dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    for data in (DSprites(), Shapes3D()):
        rate = images_per_second(data, args.batches, args.batch_size)
        print(f"{data.name}: {rate:,.0f} images/s (batches of {args.batch_size})")


if __name__ == "__main__":
    main()
