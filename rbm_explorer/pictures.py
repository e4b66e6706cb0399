"""Pictures of chains and weights as arrays and PNG files, with no GUI: the app's pages, the CLI and the
scripts draw from here.

A *mosaic* is a float32 array that tiles many pictures with a one-pixel gap (NaN) between them; the pages
show it with a colour map; ``grey_mosaic`` turns it into one byte of grey level per pixel (what the Morph
page sends to the browser) and ``mosaic_png`` into a PNG.
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


GREY_LEVELS = 255  # grey levels 0 (black, ``low``) to 254 (white, ``high``) of a grey mosaic
GAP_LEVEL = 255  # the gap's value in a grey mosaic


def grey_mosaic(mosaic: np.ndarray, low: float, high: float) -> np.ndarray:
    """A mosaic as one byte per pixel: grey level 0 (``low``) to 254 (``high``), ``GAP_LEVEL`` in the gaps
    (NaN). A quarter of the float32 mosaic's size: the Morph page sends one to the browser in every frame."""
    grey = (np.nan_to_num(mosaic, nan=low) - low) * ((GREY_LEVELS - 1) / max(high - low, 1e-12))
    grey = np.clip(grey + 0.5, 0, GREY_LEVELS - 1).astype(np.uint8)
    grey[np.isnan(mosaic)] = GAP_LEVEL
    return grey


def _grey_values() -> np.ndarray:
    """The 8-bit grey of each grey level, 0 (black) to 255 (white)."""
    return np.round(np.arange(GREY_LEVELS) * 255 / (GREY_LEVELS - 1)).astype(np.uint8)


def grey_palette() -> list[str]:
    """The colour of each value of a grey mosaic: ``GREY_LEVELS`` greys from black to white, then the gap."""
    return [f"#{g:02x}{g:02x}{g:02x}" for g in _grey_values()] + ["#%02x%02x%02x" % GAP_RGB]


def grey_chains(v: np.ndarray, image_shape: tuple[int, int], columns: int, low: float, high: float) -> np.ndarray:
    """``grey_mosaic(tile_chains(v, image_shape, columns), low, high)`` in one pass, without the float
    mosaic (a numba kernel, ``_kernels.pictures``): the Morph page makes one for every frame."""
    from rbm_explorer._kernels.pictures import grey_tiles_into

    h, w = image_shape
    n = v.shape[0]
    rows = -(-n // columns)
    out = np.empty((rows * (h + 1) - 1, columns * (w + 1) - 1), dtype=np.uint8)
    grey_tiles_into(np.ascontiguousarray(v).reshape(n, h * w), h, w, columns, float(low),
                    (GREY_LEVELS - 1) / max(high - low, 1e-12), GREY_LEVELS - 1, GAP_LEVEL, out)
    return out


def _png_palette() -> bytes:
    """The RGB palette of an indexed PNG of a grey mosaic: each grey level, then the gap's colour."""
    palette = np.empty((GAP_LEVEL + 1, 3), dtype=np.uint8)
    palette[:GREY_LEVELS] = _grey_values()[:, None]
    palette[GAP_LEVEL] = GAP_RGB
    return palette.tobytes()


def grey_png(grey: np.ndarray, scale: int = 1) -> bytes:
    """A grey mosaic (``grey_mosaic``) as an indexed PNG (one byte per pixel, the grey levels and the gap's
    colour as its palette), each state pixel ``scale`` pixels wide. With scale 1 a 231 x 231 mosaic takes
    about half a millisecond and 8 kB for MNIST chains, which is why the Morph page sends its frames this way
    and enlarges them in the browser with pixelated scaling."""
    from PIL import Image

    grey = np.ascontiguousarray(grey, dtype=np.uint8)
    image = Image.frombuffer("P", (grey.shape[1], grey.shape[0]), grey, "raw", "P", 0, 1)
    image.putpalette(_png_palette())
    if scale > 1:
        image = image.resize((grey.shape[1] * scale, grey.shape[0] * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def mosaic_png(mosaic: np.ndarray, low: float, high: float, scale: int = 1) -> bytes:
    """A mosaic as a PNG: grey levels from ``low`` (black) to ``high`` (white), gaps (NaN) in ``GAP_RGB``."""
    return grey_png(grey_mosaic(mosaic, low, high), scale)


# --- weight mosaics -----------------------------------------------------------------------------------------
MOSAIC_COLUMNS = 8
WEIGHT_SCALES = ("per unit", "shared")


def mosaic_order(model, max_units: int) -> list[int]:
    """Hidden units to draw: the released ones first, in metadata order, then the others by decreasing |w_μ|."""
    from rbm_explorer.io.summary import released_of, weight_norms

    released, _ = released_of(model)
    norms = weight_norms(model)
    rest = [int(u) for u in np.argsort(-norms, kind="stable") if int(u) not in set(released)]
    return (released + rest)[:max_units]


def weight_mosaic(model, max_units: int = 48, scale: str = "per unit", columns: int = MOSAIC_COLUMNS) -> dict:
    """The weight columns ``W[:, μ]`` of up to ``max_units`` hidden units of a ``ModelFile`` as pictures of its
    ``image_shape``, released units first (``mosaic_order``).

    Returns ``mosaic`` (float32 grid, NaN gaps; row 0 at the top), ``units`` (unit of each tile in reading
    order), ``columns``, ``clim`` (symmetric colour limit) and ``tiles`` (one dict per tile: unit, role,
    norm and its box ``x0, y0, x1, y1`` in mosaic pixels with the origin at the bottom left, as plotted).
    With ``scale="per unit"`` each picture is divided by its own largest |w| so that weak units stay visible.
    Raises ValueError when the visible layer is not a picture."""
    from rbm_explorer.io.summary import released_of, weight_norms

    shape = model.image_shape
    w = model.rbm.weight_matrix
    if not shape or len(shape) != 2:
        raise ValueError("the model has no 2-d 'image_shape' in its metadata: its weights are not pictures")
    if shape[0] * shape[1] != w.shape[0]:
        raise ValueError(f"weights have {w.shape[0]} visible features, not an image of {shape[0]} × {shape[1]} "
                         f"(Potts visibles have q features per site)")
    if scale not in WEIGHT_SCALES:
        raise ValueError(f"scale must be one of {WEIGHT_SCALES}, got {scale!r}")
    units = mosaic_order(model, max(1, int(max_units)))
    released = set(released_of(model)[0])
    norms = weight_norms(model)
    pictures = w[:, units].T.astype(np.float64)
    if scale == "per unit":
        peak = np.abs(pictures).max(axis=1, keepdims=True)
        pictures = pictures / np.where(peak > 0, peak, 1.0)
        clim = 1.0
    else:
        clim = float(np.abs(pictures).max()) or 1.0
    columns = max(1, min(int(columns), len(units)))
    mosaic = tile_chains(pictures.astype(np.float32), tuple(shape), columns)
    h, wd = shape
    tiles = []
    for k, unit in enumerate(units):
        r, c = divmod(k, columns)
        x0, top = c * (wd + 1), r * (h + 1)
        y0 = mosaic.shape[0] - top - h  # plotted with the origin at the bottom left
        tiles.append({"x0": x0, "y0": y0, "x1": x0 + wd, "y1": y0 + h, "unit": int(unit),
                      "role": "released" if unit in released else "constrained or free",
                      "norm": float(norms[unit])})
    return {"mosaic": mosaic, "units": units, "columns": columns, "clim": clim, "tiles": tiles}
