"""Ising samplers over many independent replicas: checkerboard Metropolis, Wolff, a hybrid, and multispin.

Every sampler holds R replicas of one ``IsingModel`` with explicit state (the spins and one random counter per
replica, or per block of 64 for multispin) and answers the same calls:
- ``sweep(n)`` advances every replica n sweeps;
- ``sums()`` gives the per-replica sums that observables are made of (``_kernels.ising_measure``);
- ``spins`` is a copy of the lattices, R × L × L int8 of ±1; ``set_spins`` replaces them.

What one sweep is:
- **metropolis**: one checkerboard pass over each colour (even L; typewriter order for odd L);
- **multispin**: one typewriter pass, 64 replicas per machine word (``_kernels.ising_multispin``);
- **wolff**: a fixed number of cluster flips, chosen so that they flip N spins on average. The count is
  ``round(N / ⟨|C|⟩)`` (at least 1), with ⟨|C|⟩ the mean cluster size measured over ``calibrate()``, which
  ``thermalize`` calls. Before calibration a sweep flips clusters until N spins were flipped; that count depends
  on the state, so it is used only for thermalization, never for measurements;
- **hybrid**: ``metropolis_per_wolff`` Metropolis sweeps (k, default 1), then one Wolff sweep, as Fernandez-de-
  Cossio-Diaz, Cocco and Monasson (2023, Sec. V) generate their Ising data.

Random streams belong to replicas: the same seed gives the same lattices on any number of threads
(``threads``, by default the BLAS thread limit in force, as for the Gibbs engine).
"""

from __future__ import annotations

import math

import numpy as np

from rbm_explorer._kernels import ising_measure, ising_metropolis, ising_multispin, ising_wolff
from rbm_explorer._kernels.random import seed_chain_states
from rbm_explorer.ising.model import IsingModel
from rbm_explorer.sampling.kernel_threads import run_claimed, threads_for

ALGORITHMS = ("metropolis", "wolff", "hybrid", "multispin")
STARTS = ("random", "ordered")
REPLICAS_PER_WORD = 64


def _generator(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def initial_spins(model: IsingModel, replicas: int, start: str, rng: np.random.Generator) -> np.ndarray:
    """R × L × L int8 spins: independent coin flips (``random``), or the ground state (``ordered``: all +1 for
    the ferromagnet, the checkerboard for the antiferromagnet)."""
    if start not in STARTS:
        raise ValueError(f"unknown start {start!r}; choose one of {', '.join(STARTS)}")
    L = model.L
    if start == "random":
        return (2 * rng.integers(0, 2, size=(replicas, L, L), dtype=np.int8) - 1).astype(np.int8)
    if model.coupling > 0:
        return np.ones((replicas, L, L), np.int8)
    y, x = np.indices((L, L))
    board = np.where((y + x) % 2 == 0, 1, -1).astype(np.int8)
    return np.broadcast_to(board, (replicas, L, L)).copy()


class IsingSampler:
    """What every sampler shares: the model, the replica count, the thread count and the trigonometric tables."""

    algorithm = ""

    def __init__(self, model: IsingModel, replicas: int = 1, seed=None, start: str = "random",
                 threads: int | None = None):
        if not isinstance(model, IsingModel):
            raise TypeError(f"model must be an IsingModel, got {type(model).__name__}")
        if isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or replicas < 1:
            raise ValueError(f"replicas must be a positive integer, got {replicas!r}")
        self.model = model
        self.replicas = int(replicas)
        self.threads = threads
        self.sweeps_done = 0
        angles = 2 * np.pi * np.arange(model.L) / model.L
        self._cos, self._sin = np.cos(angles), np.sin(angles)
        rng = _generator(seed)
        self._setup(initial_spins(model, self.replicas, start, rng), rng)

    # subclasses: _setup(spins, rng), _sweep(n), spins, set_spins, sums()
    def _run(self, kernel, args, rows: int, units: int) -> None:
        run_claimed(kernel, args, rows, units, threads_for(self.threads))

    def sweep(self, n: int = 1) -> None:
        """Advance every replica ``n`` sweeps."""
        n = int(n)
        if n < 0:
            raise ValueError(f"the number of sweeps must be >= 0, got {n}")
        if n:
            self._sweep(n)
            self.sweeps_done += n

    def thermalize(self, n: int) -> None:
        """Sweeps whose states are thrown away; cluster samplers calibrate their sweep on them."""
        self.sweep(n)

    def sums(self) -> np.ndarray:
        """R × 4 float64: bond sum, spin sum, staggered sum and S(k_min) of every replica."""
        out = np.empty((self.replicas, 4), np.float64)
        ising_measure.lattice_sums_into(self.spins, self._cos, self._sin, out)
        return out

    def correlation(self) -> np.ndarray:
        """R × (L//2 + 1): the spin–spin correlation G(r) along the lattice axes of each replica."""
        out = np.empty((self.replicas, self.model.L // 2 + 1), np.float64)
        ising_measure.correlation_into(self.spins, out)
        return out

    def set_model(self, model: IsingModel) -> None:
        """Change β, J or h, keeping the spins (the size must stay)."""
        if model.L != self.model.L:
            raise ValueError(f"the lattice size cannot change from {self.model.L} to {model.L}")
        self.model = model
        self._tables()

    def _tables(self) -> None:
        pass

    def describe(self) -> dict:
        return {"algorithm": self.algorithm, "replicas": self.replicas}


class MetropolisSampler(IsingSampler):
    """Checkerboard Metropolis on int8 sublattices (``_kernels.ising_metropolis``); typewriter order for odd L."""

    algorithm = "metropolis"

    def _setup(self, spins, rng):
        L = self.model.L
        self._counters = seed_chain_states(self.replicas, rng)
        if L % 2 == 0:
            self._sub = np.empty((self.replicas, 2, L, L // 2), np.int8)
            ising_metropolis.to_sublattices(spins, self._sub)
            self._natural = None
        else:
            self._sub = None
            self._natural = np.ascontiguousarray(spins)
        self._tables()

    def _tables(self):
        m = self.model
        zero_move = 1.0 if m.L % 2 == 0 else 0.5  # odd L: typewriter order (see sequential_sweeps)
        self._thresholds = ising_metropolis.acceptance_thresholds(m.beta, m.coupling, m.field, zero_move)

    def _sweep(self, n):
        if self._sub is None:
            ising_metropolis.sequential_sweeps(self._natural, self._thresholds, self._counters, n)
            return
        L = self.model.L
        self._run(ising_metropolis.metropolis_sweeps_claimed, (self._sub, self._thresholds, self._counters, n),
                  self.replicas, n * L * L)

    @property
    def spins(self) -> np.ndarray:
        if self._sub is None:
            return self._natural.copy()
        out = np.empty((self.replicas, self.model.L, self.model.L), np.int8)
        ising_metropolis.from_sublattices(self._sub, out)
        return out

    def set_spins(self, spins) -> None:
        spins = _checked_spins(spins, self.replicas, self.model.L)
        if self._sub is None:
            self._natural[...] = spins
        else:
            ising_metropolis.to_sublattices(spins, self._sub)

    def sums(self):
        if self._sub is None:
            return super().sums()
        out = np.empty((self.replicas, 4), np.float64)
        ising_measure.sublattice_sums_into(self._sub, self._cos, self._sin, out)
        return out


class WolffSampler(IsingSampler):
    """Wolff cluster flips (``_kernels.ising_wolff``); h must be 0."""

    algorithm = "wolff"

    def __init__(self, model: IsingModel, replicas: int = 1, seed=None, start: str = "random",
                 threads: int | None = None, flips_per_sweep: int | None = None):
        _refuse_field(model, "wolff")
        self.flips_per_sweep = None if flips_per_sweep is None else _positive(flips_per_sweep, "flips_per_sweep")
        super().__init__(model, replicas, seed, start, threads)

    def _setup(self, spins, rng):
        self._spins = np.ascontiguousarray(spins)
        self._counters = seed_chain_states(self.replicas, rng)
        self._sizes = np.zeros((self.replicas, 2), np.int64)
        self._tables()

    def _tables(self):
        m = self.model
        _refuse_field(m, "wolff")
        p = -math.expm1(-2.0 * m.beta * abs(m.coupling))
        self._p_join = np.uint64(min(int(math.ldexp(p, 64)), 2**64 - 1))
        self._sign = np.int8(1 if m.coupling > 0 else -1)

    def _flips(self, n_flips: int, min_spins: int) -> np.ndarray:
        """Flip clusters on every replica; returns R × 2: spins flipped and clusters grown per replica."""
        L = self.model.L
        self._run(ising_wolff.wolff_flips_claimed,
                  (self._spins, self._sign, self._p_join, self._counters, n_flips, min_spins, self._sizes),
                  self.replicas, L * L)
        return self._sizes

    def _sweep(self, n):
        N = self.model.n_spins
        for _ in range(n):
            if self.flips_per_sweep is None:
                self._flips(0, N)
            else:
                self._flips(self.flips_per_sweep, 0)

    def calibrate(self, sweeps: int) -> int:
        """Measure the mean cluster size over ``sweeps`` adaptive sweeps and fix ``flips_per_sweep``."""
        N = self.model.n_spins
        flipped, clusters = 0, 0
        for _ in range(max(1, int(sweeps))):
            sizes = self._flips(0, N)
            flipped += int(sizes[:, 0].sum())
            clusters += int(sizes[:, 1].sum())
            self.sweeps_done += 1
        mean_size = flipped / max(1, clusters)
        self.flips_per_sweep = max(1, int(round(N / mean_size)))
        self.mean_cluster_size = mean_size
        return self.flips_per_sweep

    def thermalize(self, n: int) -> None:
        n = int(n)
        if self.flips_per_sweep is None:
            calibration = max(1, n // 2)
            self.sweep(n - calibration)
            self.calibrate(calibration)
        else:
            self.sweep(n)

    @property
    def spins(self):
        return self._spins.copy()

    def set_spins(self, spins) -> None:
        self._spins[...] = _checked_spins(spins, self.replicas, self.model.L)

    def set_model(self, model: IsingModel) -> None:
        _refuse_field(model, self.algorithm)  # before anything changes: a refused model leaves the sampler as it was
        super().set_model(model)

    def describe(self):
        return {**super().describe(), "flips_per_sweep": self.flips_per_sweep}


class HybridSampler(WolffSampler):
    """``metropolis_per_wolff`` checkerboard Metropolis sweeps, then one Wolff sweep; h must be 0."""

    algorithm = "hybrid"

    def __init__(self, model: IsingModel, replicas: int = 1, seed=None, start: str = "random",
                 threads: int | None = None, flips_per_sweep: int | None = None, metropolis_per_wolff: int = 1):
        self.metropolis_per_wolff = _positive(metropolis_per_wolff, "metropolis_per_wolff")
        super().__init__(model, replicas, seed, start, threads, flips_per_sweep)

    def _setup(self, spins, rng):
        super()._setup(spins, rng)
        self._metropolis = MetropolisSampler(self.model, self.replicas, rng, threads=self.threads)
        self._metropolis.set_spins(self._spins)

    def set_model(self, model):
        super().set_model(model)
        self._metropolis.set_model(model)

    def _wolff_sweeps(self, n):
        super()._sweep(n)

    def _sweep(self, n):
        # one hybrid sweep = k Metropolis sweeps and one Wolff sweep; n hybrid sweeps run in one call each
        for _ in range(n):
            self._metropolis.sweep(self.metropolis_per_wolff)
            self._spins[...] = self._metropolis.spins
            self._wolff_sweeps(1)
            self._metropolis.set_spins(self._spins)

    def calibrate(self, sweeps):
        self._spins[...] = self._metropolis.spins
        count = super().calibrate(sweeps)
        self._metropolis.set_spins(self._spins)
        return count

    def sums(self):
        return self._metropolis.sums()

    @property
    def spins(self):
        return self._metropolis.spins

    def set_spins(self, spins):
        super().set_spins(spins)
        self._metropolis.set_spins(self._spins)

    def describe(self):
        return {**super().describe(), "metropolis_per_wolff": self.metropolis_per_wolff}


class MultispinSampler(IsingSampler):
    """64 replicas per uint64 word with independent acceptance bits (``_kernels.ising_multispin``).

    ``replicas`` must be a multiple of 64; replica 64 b + i is bit i of block b.
    """

    algorithm = "multispin"

    def __init__(self, model: IsingModel, replicas: int = REPLICAS_PER_WORD, seed=None, start: str = "random",
                 threads: int | None = None):
        if isinstance(replicas, (int, np.integer)) and not isinstance(replicas, bool) and (
                replicas < 1 or replicas % REPLICAS_PER_WORD):
            raise ValueError(f"multispin runs replicas in blocks of {REPLICAS_PER_WORD}; "
                             f"replicas must be a multiple of {REPLICAS_PER_WORD}, got {replicas}")
        super().__init__(model, replicas, seed, start, threads)

    def _setup(self, spins, rng):
        L = self.model.L
        self._words = np.empty((self.replicas // REPLICAS_PER_WORD, L, L), np.uint64)
        ising_multispin.pack_replicas(np.ascontiguousarray(spins), self._words)
        self._counters = seed_chain_states(len(self._words), rng)
        self._tables()

    def _tables(self):
        m = self.model
        zero_move = 1.0 if m.L % 2 == 0 else 0.5  # odd L (see _kernels.ising_multispin)
        self._class_group, self._group_p = ising_multispin.acceptance_groups(m.beta, m.coupling, m.field, zero_move)

    def _sweep(self, n):
        L = self.model.L
        self._run(ising_multispin.multispin_sweeps_claimed,
                  (self._words, self._class_group, self._group_p, self._counters, n),
                  len(self._words), n * L * L * REPLICAS_PER_WORD)

    @property
    def spins(self):
        out = np.empty((self.replicas, self.model.L, self.model.L), np.int8)
        ising_multispin.unpack_replicas(self._words, out)
        return out

    def set_spins(self, spins):
        ising_multispin.pack_replicas(_checked_spins(spins, self.replicas, self.model.L), self._words)


SAMPLERS = {cls.algorithm: cls for cls in (MetropolisSampler, WolffSampler, HybridSampler, MultispinSampler)}


def make_sampler(algorithm: str, model: IsingModel, replicas: int | None = None, seed=None, **options):
    """The sampler of ``algorithm`` (one of ``ALGORITHMS``); ``replicas`` defaults to 64 for multispin, else 1."""
    try:
        cls = SAMPLERS[algorithm]
    except KeyError:
        raise ValueError(f"unknown Ising algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}") from None
    if replicas is None:
        replicas = REPLICAS_PER_WORD if cls is MultispinSampler else 1
    return cls(model, replicas, seed, **options)


def _refuse_field(model: IsingModel, algorithm: str) -> None:
    if model.field != 0:
        raise ValueError(f"the {algorithm} algorithm needs h = 0 (Wolff clusters ignore a field; the ghost-spin "
                         f"construction is not implemented): use metropolis or multispin for h = {model.field:g}")


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _checked_spins(spins, replicas: int, L: int) -> np.ndarray:
    spins = np.asarray(spins)
    if spins.shape != (replicas, L, L):
        raise ValueError(f"spins must have shape {(replicas, L, L)}, got {spins.shape}")
    if not np.isin(spins, (-1, 1)).all():
        raise ValueError("spins must be -1 or +1")
    return spins.astype(np.int8)
