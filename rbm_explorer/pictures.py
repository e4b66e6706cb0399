"""Pictures of chains and weights as arrays and PNG files, with no GUI: the app's pages, the CLI and the
scripts draw from here.

A *mosaic* is a float32 array that tiles many pictures with a one-pixel gap (NaN) between them; the pages
show it with a colour map and ``mosaic_png`` turns it into grey levels.
"""

from __future__ import annotations

import io

import numpy as np

GAP_RGB = (157, 180, 208)  # the colour of the gaps between pictures in a PNG


def tile_chains(v: np.ndarray, image_shape: tuple[int, int], columns: int, pad: float = np.nan) -> np.ndarray:
    """Arrange chains (chains x N) as a grid of images with a one-pixel gap (``pad``, NaN) between them."""
    h, w = image_shape
    n = v.shape[0]
    rows = -(-n // columns)
    grid = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), pad, dtype=np.float32)
    for k in range(n):
        r, c = divmod(k, columns)
        grid[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = v[k].reshape(h, w)
    return grid


def image_shape_of(model) -> tuple[int, int]:
    """The 2-d picture shape of a model's visible configuration: its metadata ``image_shape``, else a square,
    else a row."""
    shape = model.image_shape
    if shape and len(shape) == 2:
        return tuple(shape)
    n = model.rbm.n_visible
    side = int(round(np.sqrt(n)))
    return (side, side) if side * side == n else (1, n)


def mosaic_png(mosaic: np.ndarray, low: float, high: float, scale: int = 1) -> bytes:
    """A mosaic as a PNG: grey levels from ``low`` (black) to ``high`` (white), gaps (NaN) in ``GAP_RGB``,
    each state pixel ``scale`` pixels wide. With scale 1 this takes about a millisecond; the pages enlarge
    the picture with pixelated scaling instead."""
    from PIL import Image

    grey = np.clip((np.nan_to_num(mosaic, nan=low) - low) / max(high - low, 1e-12), 0, 1)
    rgb = np.repeat((grey * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=2)
    rgb[np.isnan(mosaic)] = GAP_RGB
    image = Image.fromarray(rgb)
    if scale > 1:
        image = image.resize((mosaic.shape[1] * scale, mosaic.shape[0] * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
