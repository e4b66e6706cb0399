"""CelebA faces from a folder the user already has (CelebA's licence forbids redistributing it, so nothing is
downloaded or bundled).

Expected layout, as distributed by the CelebA authors::

    root/img_align_celeba/000001.jpg ...      aligned and cropped JPEGs, 178 wide x 218 high
    root/list_attr_celeba.txt                 line 1: number of images; line 2: the 40 attribute names;
                                              then "000001.jpg  -1  1  1 -1 ..." (values in {-1, 1})

Pipeline, per image:

1. greyscale (PIL ``L``);
2. crop a centred square of side ``crop`` (default 178: the full width, rows 20-197 of the 218, which keeps
   the whole head and some background; 140 is a tighter crop around the face centre);
3. resize to ``size`` x ``size`` with PIL's BOX filter (a true area average: no ringing to confuse the
   threshold). For speed the JPEG decoder is first asked for a power-of-two reduction that still leaves at
   least ``size`` pixels across the crop;
4. binarize with ink = the darker pixels: ``threshold="otsu"`` picks each image's own Otsu threshold, so
   lighting and exposure differences between photos do not decide how much ink a face gets; a float in
   (0, 1) is one fixed grey level for all images (ink where grey < threshold).

Labels are one attribute (1 where the file says +1); all 40 attributes are kept as ``Dataset.attributes``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from rbm_explorer.datasets.base import Dataset, DatasetError, Display, stratified_split, to_encoding

IMAGE_FOLDER = "img_align_celeba"
ATTRIBUTE_FILE = "list_attr_celeba.txt"


def read_attribute_file(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(file names, attribute names, values (n, n_attributes) int8 in {-1, 1}) from ``list_attr_celeba.txt``.

    Every line must have a file name and one value per attribute named on line 2; any other column count,
    a value outside {-1, 1}, or a first line that disagrees with the number of image lines is an error that
    names the line.
    """
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) < 2:
        raise DatasetError(f"{path}: expected a count line and an attribute-name line, found {len(lines)} lines")
    try:
        declared = int(lines[0].strip())
    except ValueError:
        raise DatasetError(f"{path}, line 1: expected the number of images, got {lines[0].strip()!r}") from None
    names = lines[1].split()
    if not names:
        raise DatasetError(f"{path}, line 2: no attribute names")
    files, rows = [], []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if len(fields) != len(names) + 1:
            raise DatasetError(f"{path}, line {number}: {len(fields)} columns, expected {len(names) + 1} "
                               f"(a file name and {len(names)} attribute values)")
        try:
            values = [int(v) for v in fields[1:]]
        except ValueError:
            values = None
        if values is None or any(v not in (-1, 1) for v in values):
            raise DatasetError(f"{path}, line {number}: attribute values must be -1 or 1")
        files.append(fields[0])
        rows.append(values)
    if declared != len(files):
        raise DatasetError(f"{path}, line 1: says {declared} images but the file lists {len(files)}")
    return files, names, np.array(rows, dtype=np.int8).reshape(len(files), len(names))


def otsu_thresholds(images: np.ndarray) -> np.ndarray:
    """Per-image Otsu threshold t (uint8 images, (n, h, w)): dark class = values <= t, chosen to maximise the
    between-class variance. A constant image gets t = -1 (no ink)."""
    n = len(images)
    hist = np.empty((n, 256))
    for start in range(0, n, 2048):  # per-image histograms by one bincount over offset values, in chunks
        chunk = images[start:start + 2048].reshape(-1, images[0].size).astype(np.int64)
        chunk += 256 * np.arange(len(chunk))[:, None]
        hist[start:start + len(chunk)] = np.bincount(chunk.ravel(), minlength=256 * len(chunk)).reshape(-1, 256)
    levels = np.arange(256, dtype=np.float64)
    weight0 = np.cumsum(hist, axis=1)
    sum0 = np.cumsum(hist * levels, axis=1)
    total = weight0[:, -1:]
    weight1 = total - weight0
    mean0 = sum0 / np.maximum(weight0, 1)
    mean1 = (sum0[:, -1:] - sum0) / np.maximum(weight1, 1)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    thresholds = between.argmax(axis=1)
    thresholds[between.max(axis=1) <= 0] = -1
    return thresholds


def load_image(path: Path, size: int, crop: int) -> np.ndarray:
    """One image: greyscale, centred square crop of side ``crop`` (in original pixels), BOX-resized."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            side = min(crop, width, height)
            img.draft("L", (max(1, -(-width * size // side)), max(1, -(-height * size // side))))
            grey = img.convert("L")
    except FileNotFoundError:
        raise DatasetError(f"image {path} is listed in {ATTRIBUTE_FILE} but missing") from None
    except (OSError, ValueError) as error:
        raise DatasetError(f"image {path} cannot be read: {error}") from None
    # the decoder's reduction (1, 1/2, 1/4 or 1/8, rounded up per axis) maps the crop to this box
    box_w = min(grey.width, side * grey.width / width)
    box_h = min(grey.height, side * grey.height / height)
    left = max(0.0, (grey.width - box_w) / 2)
    top = max(0.0, (grey.height - box_h) / 2)
    return np.asarray(grey.resize((size, size), Image.BOX, box=(left, top, left + box_w, top + box_h)))


def _positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DatasetError(f"{name} must be a positive integer{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def load_celeba(*, root=None, attribute: str = "Smiling", size: int = 64, limit=None, threshold="otsu",
                crop: int = 178, encoding: str = "binary", n_test=None) -> Dataset:
    """CelebA images under ``root`` labelled by ``attribute``: the first ``limit`` images (all if None),
    ``size`` x ``size``, binarized by ``threshold`` ('otsu' or a grey level in (0, 1)), ``n_test`` test
    images (default 20 % of those loaded) in a deterministic stratified split."""
    if root is None:
        raise DatasetError("celeba needs root=<folder holding img_align_celeba/ and list_attr_celeba.txt>")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"CelebA root folder {root} does not exist")
    image_dir = root / IMAGE_FOLDER
    if not image_dir.is_dir():
        raise DatasetError(f"CelebA image folder {image_dir} does not exist")
    attribute_path = root / ATTRIBUTE_FILE
    if not attribute_path.is_file():
        raise DatasetError(f"CelebA attribute file {attribute_path} does not exist")
    size = _positive_int("size", size)
    crop = _positive_int("crop", crop)
    limit = _positive_int("limit", limit, allow_none=True)
    if encoding not in ("binary", "spin"):
        raise DatasetError(f"encoding must be 'binary' or 'spin', got {encoding!r}")
    if threshold != "otsu":
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
            raise DatasetError(f"threshold must be 'otsu' or a number in (0, 1), got {threshold!r}")

    files, names, values = read_attribute_file(attribute_path)
    if attribute not in names:
        raise DatasetError(f"unknown CelebA attribute {attribute!r}; valid attributes: {' '.join(names)}")
    if limit is not None:
        files, values = files[:limit], values[:limit]
    n = len(files)
    if n == 0:
        raise DatasetError(f"{attribute_path} lists no images")
    n_test = round(0.2 * n) if n_test is None else n_test
    if isinstance(n_test, bool) or not isinstance(n_test, (int, np.integer)) or not 0 <= n_test < n:
        raise DatasetError(f"n_test must be an integer in [0, {n}), got {n_test!r}")

    grey = np.empty((n, size, size), dtype=np.uint8)
    with ThreadPoolExecutor(4) as pool:  # PIL decodes JPEGs with the GIL released
        for i, image in enumerate(pool.map(lambda f: load_image(image_dir / f, size, crop), files)):
            grey[i] = image
    if threshold == "otsu":
        ink = grey <= otsu_thresholds(grey)[:, None, None]
    else:
        ink = grey < threshold * 255.0

    attributes = {name: (values[:, j] == 1).astype(np.uint8) for j, name in enumerate(names)}
    labels = attributes[attribute].astype(np.int64)
    train, test = stratified_split(labels, int(n_test), seed=0)
    options = dict(root=str(root), attribute=attribute, size=size, limit=limit, threshold=threshold, crop=crop,
                   encoding=encoding, n_test=int(n_test))
    return Dataset(
        name=f"celeba(attribute={attribute},size={size},limit={limit},threshold={threshold})",
        data=to_encoding(ink.reshape(n, size * size), encoding),
        labels=labels,
        label_names=(f"not {attribute}", attribute),
        train=train,
        test=test,
        display=Display("image", (size, size)),
        encoding=encoding,
        attributes=attributes,
        info={"source": f"CelebA (Liu, Luo, Wang, Tang 2015), local copy at {root}",
              "licence": "CelebA: non-commercial research purposes only; see the CelebA agreement",
              "preprocessing": (f"greyscale; centred square crop of side min({crop}, width, height); BOX resize "
                                f"to {size}x{size}; ink = darker pixels, threshold {threshold}"),
              "ink": "1 = ink (dark pixel)", "files": (files[0], files[-1]), "options": options},
    )
