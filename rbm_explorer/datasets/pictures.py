"""PNG pictures of samples: a grid of images or spin lattices, with optional captions (Pillow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def to_grey(data: np.ndarray, encoding: str) -> np.ndarray:
    """Samples as greys in [0, 1] for drawing: 1 = ink (drawn black)."""
    data = np.asarray(data, dtype=np.float64)
    if encoding == "spin":
        return (data + 1) / 2
    return np.clip(data, 0, 1)


def image_grid(images: np.ndarray, columns: int = 8, scale: int = 3, gap: int = 2) -> Image.Image:
    """(n, H, W) greys in [0, 1] (1 = ink) -> a grid picture, black ink on white, grey gaps."""
    n, h, w = images.shape
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    canvas = np.full((rows * (h + gap) + gap, columns * (w + gap) + gap), 0.75)
    for k in range(n):
        r, c = divmod(k, columns)
        y, x = gap + r * (h + gap), gap + c * (w + gap)
        canvas[y : y + h, x : x + w] = 1 - images[k]
    picture = Image.fromarray(np.round(canvas * 255).astype(np.uint8), mode="L")
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)


def save_grid_png(path, images: np.ndarray, title: str = "", columns: int = 8, scale: int = 3) -> Path:
    """Write a grid of images with an optional title line above it."""
    grid = image_grid(images, columns, scale)
    if title:
        band = 16
        framed = Image.new("L", (grid.width, grid.height + band), 255)
        framed.paste(grid, (0, band))
        ImageDraw.Draw(framed).text((4, 2), title, fill=0)
        grid = framed
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    return path
