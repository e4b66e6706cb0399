"""2D Ising configurations as datasets (``rbm_explorer.ising.data`` makes and caches them).

* ``ising``: n configurations of an L×L torus at one β (coupling J, field h), labelled by the sign of their
  magnetization, u = sign(Σ v) (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023, Eq. 17). At even N, Σ v = 0
  happens; those ties get a label at random (seeded), and ``attributes["tie"]`` marks them.
* ``ising_phases``: a mixture of ferromagnetic (J > 0, below T_c), antiferromagnetic (J < 0, below T_c) and
  paramagnetic (above T_c) configurations, labelled by phase, as Huang, Hu and Yang train their β-VAE on.

Spins are ±1 (``spin`` encoding) or 0/1 (``binary``). Every sample carries its magnetization, staggered
magnetization and energy per spin in ``attributes``; ``info`` records τ_int, the sampling gap and the cache file.
"""

from __future__ import annotations

import numpy as np

from rbm_explorer.datasets.base import Dataset, DatasetError, Display, stratified_split, to_encoding


def _samples(L, beta, J, h, n, seed, progress=None):
    from rbm_explorer.ising.data import ising_configurations

    try:
        return ising_configurations(L, beta, J, h, n, seed, progress=progress)
    except ValueError as exc:
        raise DatasetError(str(exc)) from None


def _observables(spins: np.ndarray, L: int, J: float, h: float) -> dict[str, np.ndarray]:
    lattices = spins.reshape(-1, L, L).astype(np.int64)
    bonds = (lattices * np.roll(lattices, 1, axis=1) + lattices * np.roll(lattices, 1, axis=2)).sum(axis=(1, 2))
    y, x = np.indices((L, L))
    board = np.where((y + x) % 2 == 0, 1, -1)
    total = lattices.sum(axis=(1, 2))
    return {"magnetization": total / L**2, "staggered_magnetization": (lattices * board).sum(axis=(1, 2)) / L**2,
            "energy": (-J * bonds - h * total) / L**2}


def _encoded(spins: np.ndarray, encoding: str) -> np.ndarray:
    if encoding not in ("spin", "binary"):
        raise DatasetError(f"encoding must be 'spin' or 'binary', got {encoding!r}")
    return to_encoding((spins > 0).astype(np.uint8), encoding)


def _test_size(n: int, test_fraction: float) -> int:
    if not 0 <= test_fraction < 1:
        raise DatasetError(f"test_fraction must be in [0, 1), got {test_fraction}")
    return int(round(n * test_fraction))


def load_ising(*, L=32, beta=0.44, J=1.0, h=0.0, n=10000, seed=0, encoding="spin", test_fraction=0.2) -> Dataset:
    samples = _samples(L, beta, J, h, n, seed)
    attributes = _observables(samples.spins, L, J, h)
    total = samples.spins.sum(axis=1, dtype=np.int64)
    tie = total == 0
    rng = np.random.default_rng(np.random.SeedSequence([seed, 17]))
    labels = np.where(total > 0, 1, 0).astype(np.int64)
    labels[tie] = rng.integers(0, 2, size=int(tie.sum()))
    attributes["tie"] = tie
    n_test = _test_size(len(labels), test_fraction)
    train, test = stratified_split(labels, n_test, seed) if n_test else (np.arange(len(labels)), np.arange(0))
    return Dataset(
        name=f"ising(L={L},beta={beta:g},J={J:g}" + (f",h={h:g}" if h else "") + f",n={n})",
        data=_encoded(samples.spins, encoding),
        labels=labels,
        label_names=("m < 0", "m > 0"),
        train=train,
        test=test,
        display=Display("lattice", (L, L)),
        encoding=encoding,
        attributes=attributes,
        info={"source": "generated: Metropolis + Wolff (rbm_explorer.ising)", **samples.info},
    )


PHASES = ("ferromagnet", "antiferromagnet", "paramagnet")


def load_ising_phases(*, L=32, n=30000, beta_ordered=0.6, beta_disordered=0.25, seed=0, encoding="binary",
                      test_fraction=0.2) -> Dataset:
    """n // 3 configurations of each phase: J = +1 and J = -1 at ``beta_ordered``, J = +1 at ``beta_disordered``."""
    if L % 2:
        raise DatasetError(f"the antiferromagnet needs an even L; got L={L}")
    from rbm_explorer.ising.exact import BETA_C

    if not beta_ordered > BETA_C > beta_disordered > 0:
        raise DatasetError(f"need beta_disordered < beta_c = 0.4407 < beta_ordered; got {beta_disordered} and "
                           f"{beta_ordered}")
    per_phase = n // 3
    if per_phase < 1:
        raise DatasetError(f"n must be at least 3 (one configuration per phase), got {n}")
    parts = [_samples(L, beta_ordered, 1.0, 0.0, per_phase, seed),
             _samples(L, beta_ordered, -1.0, 0.0, per_phase, seed + 1),
             _samples(L, beta_disordered, 1.0, 0.0, per_phase, seed + 2)]
    spins = np.concatenate([p.spins for p in parts])
    labels = np.repeat(np.arange(3, dtype=np.int64), per_phase)
    attributes = _observables(spins, L, 1.0, 0.0)
    attributes["coupling"] = np.repeat(np.array([1.0, -1.0, 1.0]), per_phase)
    n_test = _test_size(len(labels), test_fraction)
    train, test = stratified_split(labels, n_test, seed) if n_test else (np.arange(len(labels)), np.arange(0))
    return Dataset(
        name=f"ising_phases(L={L},n={3 * per_phase})",
        data=_encoded(spins, encoding),
        labels=labels,
        label_names=PHASES,
        train=train,
        test=test,
        display=Display("lattice", (L, L)),
        encoding=encoding,
        attributes=attributes,
        info={"source": "generated: Metropolis + Wolff (rbm_explorer.ising)",
              "phases": {name: p.info for name, p in zip(PHASES, parts)}},
    )
