"""Sequence logos: per-column weighted letter frequencies, information content, and a PNG drawing.

A logo column stacks the letters of one alignment column, each as tall as its frequency times the column's
information content, log2(q) - entropy in bits: a fully conserved column is log2(21) = 4.39 bits tall, a uniform
one vanishes. The computation is numpy only; the drawing uses PIL, so logos work without the app's plotting stack.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from rbm_explorer.datasets.alignment import ALPHABET

# Letter colours by side-chain chemistry; the gap is grey.
CHEMISTRY_CLASSES = {
    "acidic": ("DE", (200, 30, 30)),
    "basic": ("KRH", (30, 80, 200)),
    "polar": ("STNQ", (30, 150, 60)),
    "aromatic": ("FWY", (130, 50, 170)),
    "special": ("GP", (230, 140, 0)),
    "hydrophobic": ("AVLIMC", (30, 30, 30)),
    "gap": ("-", (160, 160, 160)),
}
_COLOUR = {letter: colour for letters, colour in CHEMISTRY_CLASSES.values() for letter in letters}


# ---------------------------------------------------------------- computation


def column_frequencies(states: np.ndarray, weights: np.ndarray | None = None, q: int = len(ALPHABET),
                       pseudocount: float = 0.0) -> np.ndarray:
    """(L, q) weighted frequency of each state per column, mixed with the uniform: (1 - p) f + p / q."""
    states = np.asarray(states)
    n, length = states.shape
    if not 0.0 <= pseudocount <= 1.0:
        raise ValueError(f"pseudocount must be in [0, 1], got {pseudocount!r}")
    if states.size and (states.min() < 0 or states.max() >= q):
        raise ValueError(f"states must be in 0..{q - 1}")
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    index = (np.arange(length) * q + states).ravel()
    counts = np.bincount(index, weights=np.repeat(weights, length), minlength=length * q).reshape(length, q)
    freqs = counts / weights.sum()
    return (1.0 - pseudocount) * freqs + pseudocount / q


def information_content(freqs: np.ndarray) -> np.ndarray:
    """(L,) bits: log2(q) minus the column entropy (0 log 0 = 0), clipped at 0."""
    freqs = np.asarray(freqs, dtype=np.float64)
    safe = np.where(freqs > 0, freqs, 1.0)
    entropy = -(freqs * np.log2(safe)).sum(axis=1)
    return np.maximum(np.log2(freqs.shape[1]) - entropy, 0.0)


def logo_heights(states: np.ndarray, weights: np.ndarray | None = None, q: int = len(ALPHABET),
                 pseudocount: float = 0.0) -> np.ndarray:
    """(L, q) letter heights in bits: frequency times the column's information content."""
    freqs = column_frequencies(states, weights, q, pseudocount)
    return freqs * information_content(freqs)[:, None]


# ---------------------------------------------------------------- drawing


def render_logo_png(heights: np.ndarray, path, alphabet: str = ALPHABET, *, column_width: int = 28,
                    plot_height: int = 220, skip: str = "-", column_labels=None, title: str | None = None) -> Path:
    """Draw ``heights`` (L x len(alphabet), bits) as a sequence logo PNG at ``path``; returns the path.

    Letters are stacked smallest at the bottom, each glyph stretched to its box; the y axis spans log2(q) bits.
    Letters in ``skip`` (the gap by default) are left out, so a gappy column is shorter. ``column_labels``
    numbers the columns (default 1..L).
    """
    heights = np.asarray(heights, dtype=np.float64)
    length, q = heights.shape
    if q != len(alphabet):
        raise ValueError(f"heights has {q} letters per column, the alphabet {len(alphabet)}")
    labels = [str(c) for c in (range(1, length + 1) if column_labels is None else column_labels)]
    small = _font(12)
    left, right, top, bottom = 52, 12, 14 + (20 if title else 0), 30
    width = left + length * column_width + right
    image = Image.new("RGB", (width, top + plot_height + bottom), "white")
    draw = ImageDraw.Draw(image)
    base = top + plot_height
    scale = plot_height / np.log2(q)
    glyphs = _glyphs(alphabet)
    for column in range(length):
        x = left + column * column_width
        y = float(base)
        for a in np.argsort(heights[column], kind="stable"):
            letter = alphabet[a]
            if letter in skip:
                continue
            h = heights[column, a] * scale
            top_edge = y - h
            box = int(round(y)) - int(round(top_edge))
            if box >= 1 and column_width > 2:
                mask = glyphs[letter].resize((column_width - 2, box), Image.BILINEAR)
                image.paste(_COLOUR.get(letter.upper(), (90, 90, 90)), (x + 1, int(round(top_edge))), mask)
            y = top_edge
    _axes(draw, left, base, plot_height, length * column_width, column_width, labels, q, small)
    if title:
        draw.text((left, 4), title, fill="black", font=_font(14))
    path = Path(path)
    image.save(path, format="PNG")
    return path


def _axes(draw, left, base, plot_height, plot_width, column_width, labels, q, font):
    """The bits axis on the left, a baseline, and column numbers (thinned so they do not overlap)."""
    draw.line([(left - 4, base - plot_height), (left - 4, base)], fill="black")
    draw.line([(left - 4, base), (left + plot_width, base)], fill="black")
    scale = plot_height / np.log2(q)
    for bits in range(int(np.log2(q)) + 1):
        y = base - bits * scale
        draw.line([(left - 8, y), (left - 4, y)], fill="black")
        _text(draw, (left - 11, y), str(bits), font, "rm")
    axis = Image.new("L", (40, 14), 255)
    _text(ImageDraw.Draw(axis), (20, 7), "bits", font, "mm", fill=0)
    draw.bitmap((2, base - plot_height // 2 - 20), axis.rotate(90, expand=True).point(lambda v: 255 - v),
                fill="black")
    step = max(1, int(np.ceil(24 / column_width)))
    for column, label in enumerate(labels):
        if column % step == 0:
            _text(draw, (left + column * column_width + column_width / 2, base + 5), label, font, "mt")


def _text(draw, xy, text, font, anchor, fill="black"):
    """Text placed by a two-letter anchor (l/m/r, t/m), done by hand so bitmap fonts work too."""
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    x = xy[0] - {"l": x0, "m": (x0 + x1) / 2, "r": x1}[anchor[0]]
    y = xy[1] - {"t": y0, "m": (y0 + y1) / 2}[anchor[1]]
    draw.text((x, y), text, fill=fill, font=font)


def _font(size: int):
    """PIL's default font at ``size`` (FreeType, Pillow >= 10.1), else the fixed bitmap default."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError, AttributeError):
        return ImageFont.load_default()


@lru_cache(maxsize=8)
def _glyphs(alphabet: str, size: int = 160) -> dict[str, Image.Image]:
    """Per letter, an ``L`` mask of its ink, emboldened and cropped to the ink so it can fill any box."""
    font = _font(size)
    glyphs = {}
    for letter in alphabet:
        canvas = Image.new("L", (2 * size, 2 * size), 0)
        ImageDraw.Draw(canvas).text((size // 2, size // 4), letter, fill=255, font=font)
        if canvas.getbbox() and canvas.getbbox()[3] - canvas.getbbox()[1] > 40:
            canvas = canvas.filter(ImageFilter.MaxFilter(9))  # large FreeType glyph: thicken strokes
        glyphs[letter] = canvas.crop(canvas.getbbox() or (0, 0, 1, 1))
    return glyphs
