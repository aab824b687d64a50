"""The ground-truth dataset API of the image track, after google-research/disentanglement_lib's
``data/ground_truth/ground_truth_data.py``.

A :class:`GroundTruthData` has discrete factors of variation: ``num_factors`` of them, factor k taking the values
0 … ``factors_num_values[k]`` − 1 (indices into the factor's value grid, e.g. dSprites' 6 scales). The metrics in
:mod:`image_track.metrics` call exactly ``num_factors``, ``sample_factors``, ``sample_observations_from_factors`` and
``sample``; the rest is for training and tests.

Layout. Observations are float32 numpy arrays (num, H, W, C) with values in [0, 1], and ``observation_shape`` is
(H, W, C): channels last, the layout of disentanglement_lib's datasets and of the image files, and what
:func:`image_track.networks.image_spec` and :func:`image_track.networks.to_tensor` take. The one transpose to
torch's (N, C, H, W) is ``to_tensor``; :meth:`GroundTruthData.as_torch` applies it as the batches enter torch, so
the training stream is channels first and nothing else here permutes axes.

Randomness. Every sampling method takes a ``numpy.random.RandomState`` (or a seed, or None for 0) and draws from it
in the lib's order: factors column by column with ``randint``, then whatever the observations need. Rendered
datasets draw nothing for the observations, so the same factors give the same images whatever the state.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from image_track.datasets.errors import DatasetError
from image_track.networks import to_tensor

RandomStateLike = np.random.RandomState | int | None


def as_random_state(random_state: RandomStateLike) -> np.random.RandomState:
    """A ``RandomState`` as given (so the caller's stream is the one consumed), or a new one from a seed (None: 0)."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    return np.random.RandomState(0 if random_state is None else int(random_state))


class ObservationStream(IterableDataset):
    """``num_steps`` batches of ``batch_size`` observations, drawn lazily as (N, C, H, W) float32 tensors.

    One process: the batches are those of ``sample(batch_size, RandomState(seed))`` called ``num_steps`` times, so a
    seed gives the same stream every time it is iterated. Under a ``DataLoader`` with workers (``batch_size=None``
    there: the batches are already made), worker w of W yields steps w, w + W, … from ``RandomState([seed, w])``:
    still deterministic for a given worker count, but a different stream from the single-process one.
    """

    def __init__(self, data: GroundTruthData | UnlabelledImages, num_steps: int, batch_size: int, seed: int,
                 with_factors: bool = False) -> None:
        if num_steps < 0 or batch_size < 1:
            raise DatasetError(f"need num_steps >= 0 and batch_size >= 1, got {num_steps} and {batch_size}")
        if with_factors and not isinstance(data, GroundTruthData):
            raise DatasetError(f"{type(data).__name__} has no factors; use with_factors=False")
        self.data, self.num_steps, self.batch_size, self.seed = data, num_steps, batch_size, seed
        self.with_factors = with_factors

    def __len__(self) -> int:
        return self.num_steps

    def __iter__(self) -> Iterator[torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        worker = get_worker_info()
        if worker is None:
            steps, random_state = range(self.num_steps), np.random.RandomState(self.seed)
        else:
            steps = range(worker.id, self.num_steps, worker.num_workers)
            random_state = np.random.RandomState([self.seed, worker.id])
        for _ in steps:
            if self.with_factors:
                factors, observations = self.data.sample(self.batch_size, random_state)
                yield torch.as_tensor(factors, dtype=torch.long), to_tensor(observations)
            else:
                yield to_tensor(self.data.sample_observations(self.batch_size, random_state))


class GroundTruthData:
    """Discrete factors of variation and a way to render them (the lib's GroundTruthData).

    Subclasses set ``name``, ``factor_names``, ``factors_num_values`` and ``observation_shape`` (H, W, C) and
    implement :meth:`sample_observations_from_factors`.
    """

    name: str = "ground_truth"
    factor_names: tuple[str, ...] = ()
    factors_num_values: list[int]
    observation_shape: tuple[int, int, int] = (0, 0, 0)

    @property
    def num_factors(self) -> int:
        """Number of factors of variation."""
        return len(self.factors_num_values)

    @property
    def num_combinations(self) -> int:
        """Number of points of the factor grid (737,280 for dSprites)."""
        return math.prod(self.factors_num_values)

    def sample_factors(self, num: int, random_state: RandomStateLike) -> np.ndarray:
        """(num, num_factors) int64 factor indices, uniform and independent, one ``randint`` per factor in order
        (the lib's ``SplitDiscreteStateSpace.sample_latent_factors``)."""
        random_state = as_random_state(random_state)
        factors = np.zeros((num, self.num_factors), dtype=np.int64)
        for k, size in enumerate(self.factors_num_values):
            factors[:, k] = random_state.randint(size, size=num)
        return factors

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: RandomStateLike) -> np.ndarray:
        """(num, H, W, C) float32 observations in [0, 1] of the given (num, num_factors) factor indices."""
        raise NotImplementedError

    def sample(self, num: int, random_state: RandomStateLike) -> tuple[np.ndarray, np.ndarray]:
        """``num`` random factors and their observations, factors drawn first (the lib's order)."""
        random_state = as_random_state(random_state)
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num: int, random_state: RandomStateLike) -> np.ndarray:
        """``sample(num, random_state)[1]``, as the lib defines it (the same draws)."""
        return self.sample(num, random_state)[1]

    def fixed_factor_batch(
        self, factor_index: int, batch_size: int, random_state: RandomStateLike, value: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """A batch with factor ``factor_index`` fixed and the others random: what the BetaVAE and FactorVAE scores
        draw for one vote.

        Draws as the FactorVAE metric does (``batch_size`` random factor vectors, then factor k of all of them set to
        the first one's value), so the same state gives the metric's batch; ``value`` fixes the factor to a given
        index instead (drawn the same way and then overwritten, so the stream advances identically)."""
        if not 0 <= factor_index < self.num_factors:
            raise DatasetError(f"factor_index {factor_index} out of range: {self.name} has {self.num_factors} factors")
        random_state = as_random_state(random_state)
        factors = self.sample_factors(batch_size, random_state)
        if value is None:
            factors[:, factor_index] = factors[0, factor_index]
        else:
            if not 0 <= value < self.factors_num_values[factor_index]:
                raise DatasetError(
                    f"value {value} out of range for factor {self.factor_names[factor_index]!r} "
                    f"(0..{self.factors_num_values[factor_index] - 1})"
                )
            factors[:, factor_index] = value
        return factors, self.sample_observations_from_factors(factors, random_state)

    def factors_to_index(self, factors: np.ndarray) -> np.ndarray:
        """Row-major position of each (num, num_factors) factor vector on the grid, the last factor fastest — the
        order of the published dSprites and 3dshapes files ("varied posY first, then posX, …")."""
        factors = self.check_factors(factors)
        return np.ravel_multi_index(tuple(factors.T), self.factors_num_values).astype(np.int64)

    def index_to_factors(self, index: np.ndarray | int) -> np.ndarray:
        """(num, num_factors) factor vectors of grid positions (the inverse of :meth:`factors_to_index`)."""
        index = np.atleast_1d(np.asarray(index, dtype=np.int64))
        if index.size and (index.min() < 0 or index.max() >= self.num_combinations):
            raise DatasetError(f"grid index out of range 0..{self.num_combinations - 1} for {self.name}")
        return np.stack(np.unravel_index(index, self.factors_num_values), axis=1).astype(np.int64)

    def check_factors(self, factors: np.ndarray) -> np.ndarray:
        """``factors`` as a (num, num_factors) int64 array, or a one-line error naming what is wrong."""
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise DatasetError(f"{self.name} takes factors of shape (num, {self.num_factors}), got {factors.shape}")
        integral = np.issubdtype(factors.dtype, np.integer) or np.array_equal(factors, np.round(factors))
        if factors.size and not integral:
            raise DatasetError(f"{self.name} takes integer factor indices, got {factors.dtype} values")
        factors = factors.astype(np.int64)
        if factors.size:
            low, high = factors.min(axis=0), factors.max(axis=0)
            bad = [k for k in range(self.num_factors) if low[k] < 0 or high[k] >= self.factors_num_values[k]]
            if bad:
                k = bad[0]
                raise DatasetError(
                    f"factor {self.factor_names[k]!r} of {self.name} takes indices 0..{self.factors_num_values[k] - 1}"
                )
        return factors

    def as_torch(self, num_steps: int, batch_size: int, seed: int = 0, with_factors: bool = False) -> ObservationStream:
        """A lazy training stream: ``num_steps`` batches of (N, C, H, W) float32 tensors (with the (N, num_factors)
        long factors first when ``with_factors``); see :class:`ObservationStream`."""
        return ObservationStream(self, num_steps, batch_size, seed, with_factors)


class LabelledImages(GroundTruthData):
    """Images with one class label each, as a GroundTruthData whose single factor is the label.

    One factor does not make a full ground-truth grid: everything else about a digit (slant, width, stroke) varies
    inside a label, so sampling an observation from a factor picks a random image of that label (drawn from the
    state: these observations do consume it). ``sample_factors`` is uniform over the labels, as for every
    GroundTruthData, which is not the empirical frequency of a set whose classes are not balanced.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, name: str = "labelled", num_classes: int | None = None,
                 factor_name: str = "label") -> None:
        images = np.asarray(images, dtype=np.float32)
        labels = np.asarray(labels).astype(np.int64)
        if images.ndim != 4 or len(images) != len(labels) or labels.ndim != 1 or not len(labels):
            raise DatasetError(
                f"{name}: need images (N, H, W, C) and N labels, got shapes {images.shape} and {labels.shape}"
            )
        if labels.min() < 0:
            raise DatasetError(f"{name}: labels must be non-negative, found {labels.min()}")
        num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
        counts = np.bincount(labels, minlength=num_classes)
        if len(counts) > num_classes or (counts == 0).any():
            missing = np.flatnonzero(counts[:num_classes] == 0).tolist()
            raise DatasetError(
                f"{name}: labels must cover 0..{num_classes - 1} (missing {missing}, max {labels.max()})"
            )
        self.name = name
        self.images, self.labels = images, labels
        self.factor_names = (factor_name,)
        self.factors_num_values = [num_classes]
        self.observation_shape = tuple(int(s) for s in images.shape[1:])
        # Images grouped by label: those of label c are _by_label[_offsets[c] : _offsets[c] + _counts[c]].
        self._by_label = np.argsort(labels, kind="stable")
        self._counts = counts
        self._offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])

    def __len__(self) -> int:
        return len(self.images)

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: RandomStateLike) -> np.ndarray:
        """A random image of each row's label (one ``random_sample`` draw per row)."""
        labels = self.check_factors(factors)[:, 0]
        random_state = as_random_state(random_state)
        position = np.minimum(
            (random_state.random_sample(len(labels)) * self._counts[labels]).astype(np.int64), self._counts[labels] - 1
        )
        return self.images[self._by_label[self._offsets[labels] + position]]


class UnlabelledImages:
    """Images with no factors (a folder of photos, an IDX file without labels): observations and a training stream,
    and nothing a disentanglement metric could use."""

    name: str = "unlabelled"

    def __init__(self, images: np.ndarray, name: str = "unlabelled") -> None:
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or not len(images):
            raise DatasetError(f"{name}: need a non-empty (N, H, W, C) image array, got shape {images.shape}")
        self.name = name
        self._images = images
        self.observation_shape: tuple[int, int, int] = tuple(int(s) for s in images.shape[1:])

    def __len__(self) -> int:
        return len(self._images)

    def observations(self, indices: np.ndarray) -> np.ndarray:
        """(len(indices), H, W, C) float32 images in [0, 1] at the given positions."""
        return self._images[np.asarray(indices, dtype=np.int64)]

    def sample_observations(self, num: int, random_state: RandomStateLike) -> np.ndarray:
        """``num`` images drawn uniformly with replacement (one ``randint`` call)."""
        return self.observations(as_random_state(random_state).randint(len(self), size=num))

    def as_torch(self, num_steps: int, batch_size: int, seed: int = 0) -> ObservationStream:
        """A lazy training stream of ``num_steps`` (N, C, H, W) float32 batches (see :class:`ObservationStream`)."""
        return ObservationStream(self, num_steps, batch_size, seed)
