"""Loaders for image files the user provides (nothing is downloaded).

* :func:`load_idx` — MNIST / Fashion-MNIST IDX files: an ``idx3-ubyte`` image file and optionally its
  ``idx1-ubyte`` label file, gzipped or not (detected from the content, not the name). With labels it is a
  :class:`~image_track.datasets.base.LabelledImages` (the label as the one factor), without them
  :class:`~image_track.datasets.base.UnlabelledImages`.
* :class:`ImageFolder` — every PNG/JPEG under a folder (recursively), centre-cropped and resized to ``size``×``size``
  with Pillow, read lazily (or all at once with ``preload``). Folders have no factors, so it is
  :class:`~image_track.datasets.base.UnlabelledImages`: observations and a training stream, no metrics. For CelebA
  (178×218 photos), ``ImageFolder(path, size=64, crop=148)`` crops the central 148×148 face region first, as several
  VAE code bases do; the default crop is the largest central square.

Every failure a user can cause — a missing path, a wrong magic number, a truncated file, no images, an unreadable
image — is a one-line :class:`~image_track.datasets.errors.DatasetError` naming the path.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from image_track.datasets.base import LabelledImages, UnlabelledImages
from image_track.datasets.errors import DatasetError

IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (count, rows, columns)
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (count)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path, expected_magic: int) -> np.ndarray:
    """The array in an IDX file of unsigned bytes whose magic number must be ``expected_magic``
    (:data:`IDX_IMAGES_MAGIC` or :data:`IDX_LABELS_MAGIC`); gzip is detected from the first two bytes."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DatasetError(f"{path}: gzip data is corrupt ({error})") from None
    kind = "images" if expected_magic == IDX_IMAGES_MAGIC else "labels"
    if len(raw) < 4:
        raise DatasetError(f"{path}: too short for an IDX file ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise DatasetError(
            f"{path}: magic number 0x{magic:08x}, expected 0x{expected_magic:08x} (IDX ubyte {kind})"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - header != expected:
        dims = " x ".join(map(str, shape))
        raise DatasetError(f"{path}: header says {dims} = {expected} bytes of data, file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_idx(images: str | Path, labels: str | Path | None = None,
             name: str = "idx") -> LabelledImages | UnlabelledImages:
    """MNIST-format images (count, rows, cols) scaled to [0, 1] as (count, rows, cols, 1) float32, labelled when a
    label file is given (its count must match)."""
    pixels = read_idx(images, IDX_IMAGES_MAGIC)
    if not len(pixels):
        raise DatasetError(f"{images}: the IDX file holds no images")
    array = (pixels.astype(np.float32) / 255.0)[..., None]
    if labels is None:
        return UnlabelledImages(array, name=name)
    classes = read_idx(labels, IDX_LABELS_MAGIC)
    if len(classes) != len(array):
        raise DatasetError(f"{labels}: {len(classes)} labels for the {len(array)} images of {images}")
    return LabelledImages(array, classes, name=name)


class ImageFolder(UnlabelledImages):
    """PNG/JPEG files under ``root`` as (size, size, channels) float32 images in [0, 1], read with Pillow.

    Each image is centre-cropped — to ``crop``×``crop`` when given, else to its largest central square — and
    resized to ``size``×``size`` (Pillow's bilinear filter, which widens its support when shrinking, so
    downsampling is area-weighted, not aliased). ``channels`` 3 converts to RGB, 1 to greyscale. Files are read
    when sampled unless ``preload``; the first one is read at once, so a folder of unreadable files fails here.
    """

    def __init__(self, root: str | Path, size: int = 64, crop: int | None = None, channels: int = 3,
                 preload: bool = False, name: str = "image_folder") -> None:
        try:
            import PIL.Image  # noqa: F401  (checked here, imported again where used: the object stays picklable)
        except ImportError:
            raise DatasetError("image folders need Pillow (pip install pillow)") from None
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{root}: no such folder")
        if channels not in (1, 3):
            raise DatasetError(f"channels must be 1 or 3, got {channels}")
        if size < 1 or (crop is not None and crop < 1):
            raise DatasetError(f"size and crop must be positive, got size={size}, crop={crop}")
        self.files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        if not self.files:
            raise DatasetError(f"{root}: no PNG or JPEG images found (searched recursively)")
        self.name, self.root, self.size, self.crop, self.channels = name, root, size, crop, channels
        self.observation_shape = (size, size, channels)
        self._read(self.files[0])
        self._images = np.stack([self._read(p) for p in self.files]) if preload else None

    def __len__(self) -> int:
        return len(self.files)

    def observations(self, indices: np.ndarray) -> np.ndarray:
        """(len(indices), size, size, channels) float32 images, from memory when preloaded, else read now."""
        indices = np.asarray(indices, dtype=np.int64)
        if self._images is not None:
            return self._images[indices]
        return np.stack([self._read(self.files[i]) for i in indices]).reshape(len(indices), *self.observation_shape)

    def _read(self, path: Path) -> np.ndarray:
        """One file as a (size, size, channels) float32 array in [0, 1]."""
        from PIL import Image

        try:
            with Image.open(path) as image:
                image = image.convert("RGB" if self.channels == 3 else "L")
        except (OSError, ValueError, SyntaxError) as error:  # PIL raises all three for damaged files
            raise DatasetError(f"{path}: cannot read as an image ({type(error).__name__}: {error})") from None
        width, height = image.size
        side = min(width, height) if self.crop is None else self.crop
        if side > min(width, height):
            raise DatasetError(f"{path}: {width}x{height} image is smaller than crop={self.crop}")
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        if side != self.size:
            image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.float32) / 255.0
        return array.reshape(self.size, self.size, self.channels)
