"""Procedural binary faces with exact attributes, a stand-in for CelebA that needs no download.

Each face is a line drawing (1 = ink, drawn black on white) whose attributes ``smiling`` (upturned mouth curve
vs a straight mouth), ``eyeglasses`` (two rims, a bridge and temples), ``bangs`` (a fringe over the forehead),
``beard`` (the lower face filled, with an opening around the mouth) and ``hat`` (a brim and a crown hiding the
top of the head) are independent Bernoulli(p) draws. Everything else - face width and height, eye size,
shape and spacing, eyebrows, nose style, hair style, volume and length, mouth width, the shape of the glasses
rims, fringe, beard and hat, the position shift, a small rotation and the wobble of the pen - is drawn from a
separate random stream that never looks at the attributes, so nuisances are independent of every label and a
model can only find an attribute through the pixels that attribute changes.

The parameters are sampled here with numpy; ``rbm_explorer._kernels.faces`` rasterises them.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rbm_explorer._kernels import faces as k
from rbm_explorer.datasets.base import Dataset, DatasetError, Display, stratified_split, to_encoding

ATTRIBUTES = ("smiling", "eyeglasses", "bangs", "beard", "hat")
SIZES = (64, 48, 32)
DESCRIPTION = ("Procedural line-drawn faces (64x64, 48x48 or 32x32, binary) with exact independent attributes "
               "smiling, eyeglasses, bangs, beard, hat; face shape, features, hair, pose and pen noise vary "
               "independently of the attributes.")
_STROKE_PX = {64: (1.7, 2.4), 48: (1.4, 1.9), 32: (1.15, 1.4)}  # full stroke width in pixels: thin but never broken


def _check_size(size) -> int:
    if size not in SIZES:
        raise DatasetError(f"faces size must be one of {', '.join(map(str, SIZES))}, got {size!r}")
    return int(size)


def sample_parameters(n: int, size: int, nuisance_rng: np.random.Generator,
                      attributes: dict[str, np.ndarray]) -> np.ndarray:
    """The (n, N_PARAMS) table the kernel draws from. Nuisances come only from ``nuisance_rng``, drawn for
    every face whatever its attributes (the glasses shape too when it wears none), so the same seed gives the
    same people and switching one attribute changes only that attribute's shapes."""
    rng = nuisance_rng
    uni = rng.uniform
    p = np.zeros((n, k.N_PARAMS))
    stroke = uni(*_STROKE_PX[size], n) / size
    p[:, k.STROKE] = stroke
    p[:, k.SHIFT_X] = uni(-0.035, 0.035, n)
    p[:, k.SHIFT_Y] = uni(-0.025, 0.025, n)
    p[:, k.ROTATION] = uni(-0.12, 0.12, n)  # about +-7 degrees
    p[:, k.WARP_AMP] = uni(0.1, 0.45, n) / size
    for kx, ky, ph in ((k.WARP_K1X, k.WARP_K1Y, k.WARP_P1), (k.WARP_K2X, k.WARP_K2Y, k.WARP_P2)):
        p[:, kx] = uni(-14, 14, n)
        p[:, ky] = uni(-14, 14, n)
        p[:, ph] = uni(0, 2 * np.pi, n)
    p[:, k.THICK_AMP] = uni(0.0, 0.2, n) * stroke
    p[:, k.THICK_P] = uni(0, 2 * np.pi, n)

    face_y = 0.06
    a = uni(0.23, 0.29, n)
    b = uni(0.3, 0.36, n)
    p[:, k.FACE_Y] = face_y
    p[:, k.FACE_A] = a
    p[:, k.FACE_B] = b

    eye_y = face_y - b * uni(0.02, 0.17, n)
    eye_ry = uni(0.018, 0.032, n)
    p[:, k.EYE_Y] = eye_y
    p[:, k.EYE_DX] = a * uni(0.4, 0.5, n)
    p[:, k.EYE_RY] = eye_ry
    p[:, k.EYE_RX] = eye_ry * uni(0.8, 1.5, n)
    p[:, k.BROW_GAP] = uni(0.04, 0.065, n)
    p[:, k.BROW_LEN] = uni(0.035, 0.06, n)
    p[:, k.BROW_TILT] = uni(-0.35, 0.35, n)
    p[:, k.BROW_BEND] = uni(0.0, 0.018, n)
    p[:, k.BROW_THICK] = uni(0.8, {64: 1.6, 48: 1.4, 32: 1.2}[size], n)

    nose_bottom = face_y + b * uni(0.12, 0.26, n)
    p[:, k.NOSE_STYLE] = rng.integers(0, 3, n)
    p[:, k.NOSE_X] = uni(-0.012, 0.012, n)
    p[:, k.NOSE_TOP] = eye_y + uni(0.01, 0.04, n)
    p[:, k.NOSE_BOTTOM] = nose_bottom
    p[:, k.NOSE_WIDTH] = uni(0.025, 0.045, n)

    mouth_y = face_y + b * uni(0.5, 0.62, n)
    smile_rise = uni(0.045, 0.07, n)
    neutral_rise = uni(-0.006, 0.006, n)
    p[:, k.MOUTH_Y] = mouth_y
    p[:, k.MOUTH_HW] = a * uni(0.3, 0.48, n)
    p[:, k.MOUTH_RISE] = np.where(attributes["smiling"] == 1, smile_rise, neutral_rise)

    length = rng.integers(0, 3, n)  # short, medium, long
    p[:, k.HAIR_TOP] = uni(0.03, 0.1, n)
    p[:, k.HAIR_SIDE] = uni(0.015, 0.055, n)
    p[:, k.HAIR_BOTTOM] = face_y + b * np.choose(length, [uni(-0.45, -0.15, n), uni(0.1, 0.45, n),
                                                          uni(1.0, 1.5, n)])
    p[:, k.HAIR_STYLE] = rng.integers(0, 3, n)
    p[:, k.HAIR_FREQ] = uni(70, 110, n) * (size / 64) ** 0.6  # >= 3 px per period
    p[:, k.HAIR_ANGLE] = uni(-0.5, 0.5, n)  # strands near vertical
    p[:, k.HAIR_PART_X] = uni(-0.1, 0.1, n)
    p[:, k.HAIR_PART_W] = np.where(rng.random(n) < 0.4, 0.6 * stroke, 0.0)

    rim_rx = np.minimum(uni(0.065, 0.085, n), p[:, k.EYE_DX] - 0.016)
    p[:, k.GLASSES] = attributes["eyeglasses"]
    p[:, k.RIM_RX] = rim_rx
    p[:, k.RIM_RY] = rim_rx * uni(0.6, 0.9, n)
    p[:, k.RIM_POWER] = np.where(rng.random(n) < 0.5, 2.0, 4.0)

    brow_top = eye_y - eye_ry - p[:, k.BROW_GAP] - 0.02
    p[:, k.BANGS] = attributes["bangs"]
    p[:, k.FRINGE_Y] = brow_top - uni(0.015, 0.04, n)
    p[:, k.FRINGE_TILT] = uni(-0.15, 0.15, n)
    p[:, k.FRINGE_JAG] = uni(0.0, 0.025, n)
    p[:, k.FRINGE_FREQ] = uni(30, 60, n)

    p[:, k.BEARD] = attributes["beard"]
    p[:, k.BEARD_TOP] = nose_bottom + uni(0.015, 0.035, n)
    p[:, k.BEARD_STYLE] = rng.integers(0, 2, n)

    p[:, k.HAT] = attributes["hat"]
    p[:, k.HAT_BRIM_Y] = face_y - b * uni(0.62, 0.78, n)
    p[:, k.HAT_BRIM_HW] = a + uni(0.03, 0.09, n)
    p[:, k.HAT_CROWN_HW] = a * uni(0.75, 0.95, n)
    p[:, k.HAT_CROWN_H] = uni(0.13, 0.18, n)
    p[:, k.HAT_STYLE] = rng.integers(0, 2, n)
    return p


def render(params: np.ndarray, size: int) -> np.ndarray:
    """Rasterise a parameter table into (n, size, size) uint8, splitting large batches over the cores (the
    kernel releases the GIL)."""
    params = np.ascontiguousarray(params, dtype=np.float64)
    out = np.empty((len(params), size, size), dtype=np.uint8)
    workers = min(os.cpu_count() or 1, 8, max(1, len(params) // 500))
    if workers == 1:
        k.render_faces_into(params, out)
        return out
    bounds = np.linspace(0, len(params), workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda i: k.render_faces_into(params[bounds[i]:bounds[i + 1]], out[bounds[i]:bounds[i + 1]]),
                      range(workers)))
    return out


def generate_faces(n: int, size: int = 64, seed: int = 0,
                   attribute_probability: float = 0.5) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``n`` faces as (n, size, size) uint8 (1 = ink) and their attributes, name -> (n,) uint8.

    Deterministic per ``seed``. Attributes are independent Bernoulli(``attribute_probability``); nuisances are
    drawn from a separate stream of the same seed.
    """
    size = _check_size(size)
    if not 0.0 <= attribute_probability <= 1.0:
        raise DatasetError(f"attribute_probability must be in [0, 1], got {attribute_probability!r}")
    n = int(n)
    if n < 0:
        raise DatasetError(f"number of faces must be >= 0, got {n}")
    attribute_seq, nuisance_seq = np.random.SeedSequence(seed).spawn(2)
    attribute_rng = np.random.default_rng(attribute_seq)
    attributes = {name: (attribute_rng.random(n) < attribute_probability).astype(np.uint8) for name in ATTRIBUTES}
    params = sample_parameters(n, size, np.random.default_rng(nuisance_seq), attributes)
    return render(params, size), attributes


def load_faces(*, attribute: str = "smiling", size: int = 64, n_samples: int = 10000, seed: int = 0,
               encoding: str = "binary", n_test: int = 2000) -> Dataset:
    """Procedural faces labelled by one ``attribute``; all attributes are kept in ``Dataset.attributes``."""
    if attribute not in ATTRIBUTES:
        raise DatasetError(f"unknown faces attribute {attribute!r}; valid attributes: {', '.join(ATTRIBUTES)}")
    size = _check_size(size)
    if encoding not in ("binary", "spin"):
        raise DatasetError(f"encoding must be 'binary' or 'spin', got {encoding!r}")
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
        raise DatasetError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    if not isinstance(n_test, (int, np.integer)) or not 0 <= n_test < n_samples:
        raise DatasetError(f"n_test must be an integer in [0, n_samples), got {n_test!r}")
    images, attributes = generate_faces(n_samples, size=size, seed=seed)
    labels = attributes[attribute].astype(np.int64)
    train, test = stratified_split(labels, n_test, seed=seed)
    options = dict(attribute=attribute, size=size, n_samples=n_samples, seed=seed, encoding=encoding,
                   n_test=n_test)
    return Dataset(
        name=f"faces(attribute={attribute},size={size},n_samples={n_samples},seed={seed})",
        data=to_encoding(images.reshape(n_samples, size * size), encoding),
        labels=labels,
        label_names=("not smiling" if attribute == "smiling" else f"no {attribute}", attribute),
        train=train,
        test=test,
        display=Display("image", (size, size)),
        encoding=encoding,
        attributes=attributes,
        info={"source": "procedural, generated by rbm_explorer.datasets.faces", "licence": "none needed",
              "generator": DESCRIPTION, "ink": "1 = ink (draw as black on white)", "options": options},
    )
