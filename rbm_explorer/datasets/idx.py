"""Reader for the IDX files of the standard MNIST distribution (optionally gzipped).

Format: a 4-byte magic number ``0x0000 TT DD`` (TT = 0x08 for unsigned bytes, DD = number of dimensions),
then DD big-endian uint32 sizes, then the data. Truncated or malformed files raise ``DatasetError``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from rbm_explorer.datasets.base import DatasetError

UBYTE = 0x08


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (``.gz`` is decompressed transparently)."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != UBYTE:
        raise DatasetError(f"{path}: IDX data type 0x{raw[2]:02x} is not supported (only unsigned bytes, 0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path}: IDX header says {shape} = {expected} bytes of data but the file holds {len(raw) - header}"
            + (" (truncated)" if len(raw) - header < expected else "")
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def find_idx(folder: Path, stem: str) -> Path:
    """``folder/stem`` or ``folder/stem.gz`` (also the common ``stem`` with '.' instead of '-')."""
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DatasetError(f"{folder}: no {stem} or {stem}.gz")
