"""Build the bundled hand-made model ``assets/models/ising32_single_hidden.npz``.

A spin RBM on a 32 x 32 lattice with one spin hidden unit whose weights are all w*, and zero fields. Summing
the hidden unit out gives P(v) proportional to cosh(w* sum_i v_i) (Fernandez-de-Cossio-Diaz, Cocco and
Monasson (2023), Sec. V.E, Eq. 19 with one hidden unit): a two-peaked magnetization distribution. With the
hidden unit clamped to s = +-1 the spins are independent with mean s tanh(w*), so clamping sets the sign of
the magnetization and flipping the unit flips the lattice. w* = 0.5 gives |m| = tanh(0.5) = 0.46, plainly
visible in a picture of the lattice.

Run from the repository root: ``python scripts/make_single_hidden_ising.py``.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from rbm_explorer.io import save_model
from rbm_explorer.layers import Spin
from rbm_explorer.rbm import RBM

ROOT = Path(__file__).resolve().parent.parent


def single_hidden_ising(side: int = 32, w_star: float = 0.5) -> RBM:
    n = side * side
    return RBM(Spin(np.zeros(n)), Spin(np.zeros(1)), np.full((n, 1), w_star))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=32)
    parser.add_argument("--w-star", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "models" / "ising32_single_hidden.npz")
    args = parser.parse_args(argv)
    rbm = single_hidden_ising(args.side, args.w_star)
    meta = {
        "image_shape": [args.side, args.side],
        "description": (
            f"Hand-built spin RBM: {args.side}x{args.side} spins, one spin hidden unit with uniform weights "
            f"w* = {args.w_star}, zero fields; P(v) ~ cosh(w* sum v). Clamp or flip hidden unit 0 to set the "
            "sign of the magnetization."
        ),
        "released_units": [0],
        "w_star": args.w_star,
        "provenance": {"command": " ".join(["python scripts/make_single_hidden_ising.py", *sys.argv[1:]])},
    }
    save_model(args.out, rbm, meta)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
