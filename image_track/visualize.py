"""Pictures of a trained image model: latent traversal grids (paper 001 Fig. 13 style) and sample grids, as PNG.

A traversal starts from one image's posterior means (every latent block) and, for each shown dimension of one block,
decodes the code with that dimension set to each of `steps` values evenly spaced from −limit to +limit — values on
the prior's N(0, 1) scale, as disentanglement_lib's traversals — while every other coordinate keeps the image's mean.
Rows are the dimensions with the largest spread of posterior means over a batch of data (the active ones first;
a collapsed dimension's row repeats one image), each labelled with that standard deviation.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot, no global backend), written to a
temporary file beside the target and renamed, so an interrupted write leaves no half a PNG.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from image_track.methods.base import ImageMethod
from image_track.networks import to_tensor

#: Colour of the lines between tiles: blue, so that it is no grey level an image could have.
_SEPARATOR = (0.3, 0.5, 0.85)


def mosaic(tiles: np.ndarray, gap: int = 2) -> np.ndarray:
    """(rows, cols, H, W, C) images → one RGB (rows·(H + gap) − gap, cols·(W + gap) − gap, 3) image with blue lines
    between the tiles (grey-level images are repeated over the three channels)."""
    rows, cols, h, w, c = tiles.shape
    rgb = np.clip(np.repeat(tiles, 3, axis=-1) if c == 1 else tiles[..., :3], 0.0, 1.0)
    out = np.empty((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), dtype=np.float32)
    out[:] = _SEPARATOR
    for r in range(rows):
        for k in range(cols):
            out[r * (h + gap) : r * (h + gap) + h, k * (w + gap) : k * (w + gap) + w] = rgb[r, k]
    return out


@torch.no_grad()
def traversal(
    model: ImageMethod,
    image: np.ndarray,
    reference: np.ndarray,
    block: str | None = None,
    rows: int = 10,
    steps: int = 8,
    limit: float = 2.5,
) -> tuple[np.ndarray, list[int], np.ndarray, np.ndarray]:
    """A traversal of `image` (1, H, W, C).

    `reference` (num, H, W, C) ranks the dimensions of `block` (default the first) by the standard deviation of their
    posterior means. Returns the tiles (rows, steps, H, W, C), the dimensions shown (0-based, most active first), their
    standard deviations and the traversed values."""
    name = block or model.latent_names[0]
    device = next(model.parameters()).device
    spread = model.encode(to_tensor(reference).to(device))[name].std(dim=0).cpu().numpy()
    order = [int(d) for d in np.argsort(-spread, kind="stable")[:rows]]
    base = model.encode(to_tensor(image).to(device))
    values = np.linspace(-limit, limit, steps, dtype=np.float32)
    tiles = []
    for d in order:
        codes = {k: v.repeat(steps, 1) for k, v in base.items()}
        codes[name][:, d] = torch.as_tensor(values, device=device)
        tiles.append(model.decode(codes).permute(0, 2, 3, 1).cpu().numpy())
    return np.stack(tiles), order, spread[order], values


def _figure_to_png(figure: object, path: Path, dpi: int) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)  # attaches itself to the figure
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        figure.savefig(tmp, format="png", dpi=dpi)  # type: ignore[attr-defined]
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _show(axes: object, image: np.ndarray) -> None:
    if image.shape[-1] == 1:
        axes.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")  # type: ignore[attr-defined]
    else:
        axes.imshow(np.clip(image, 0.0, 1.0), interpolation="nearest")  # type: ignore[attr-defined]


def write_traversal_png(path: Path, tiles: np.ndarray, labels: list[str], values: np.ndarray, title: str,
                        seed_image: np.ndarray | None = None) -> None:
    """A labelled traversal grid: one row per dimension (`labels`), one column per traversed value; the seed image
    and its reconstruction, when given as (2, H, W, C), head the grid as its first row."""
    from matplotlib.figure import Figure

    rows, cols, h, w, _ = tiles.shape
    grid = mosaic(tiles)
    extra = 1 if seed_image is not None else 0
    tile = 0.6  # inches per tile, whatever the image size
    figure = Figure(figsize=(1.6 + cols * tile, 0.7 + (rows + extra) * tile), layout="constrained")
    if seed_image is not None:
        top, bottom = figure.subfigures(2, 1, height_ratios=[1, rows])
        head = top.subplots(1, 2)
        for ax, img, text in zip(head, seed_image, ("seed image", "reconstruction")):
            _show(ax, img)
            ax.set_title(text, fontsize=8)
            ax.axis("off")
        axes = bottom.subplots()
    else:
        axes = figure.subplots()
    _show(axes, grid)
    axes.set_yticks([r * (h + 2) + h / 2 for r in range(rows)], labels, fontsize=8)
    axes.set_xticks([k * (w + 2) + w / 2 for k in range(cols)], [f"{v:+.2g}" for v in values], fontsize=8)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_title(title, fontsize=9)
    _figure_to_png(figure, path, dpi=110)


def write_grid_png(path: Path, images: np.ndarray, columns: int | None = None) -> None:
    """(num, H, W, C) images as a plain grid PNG (`columns` per row, default ⌈√num⌉; no axes, no labels)."""
    from matplotlib.image import imsave

    num = len(images)
    cols = columns or int(np.ceil(np.sqrt(num)))
    rows = int(np.ceil(num / cols))
    padded = np.zeros((rows * cols, *images.shape[1:]), dtype=np.float32)  # empty places at the end: black
    padded[:num] = images
    grid = mosaic(padded.reshape(rows, cols, *images.shape[1:]))
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        imsave(tmp, grid, format="png")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
