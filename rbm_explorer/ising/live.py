"""A live Ising lattice: a computation for the background runner (``rbm_explorer.live``).

``step`` is one sweep of one lattice, followed by a measurement of its energy per spin and |m| into fixed-length
traces. Commands, applied between two sweeps through ``Runner.submit`` / ``Runner.call``, change β, J, h, the
algorithm or the size, or restart the lattice; the spins are kept wherever the change allows, so a β slider
anneals the current state instead of starting over. ``snapshot`` is an immutable copy for a page or a script.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rbm_explorer.ising.model import IsingModel
from rbm_explorer.ising.samplers import ALGORITHMS, make_sampler

LIVE_ALGORITHMS = tuple(a for a in ALGORITHMS if a != "multispin")  # one lattice on screen: no 64-replica words
DEFAULT_TRACE_LENGTH = 2000


@dataclass(frozen=True)
class IsingSnapshot:
    """What a reader sees: the lattice (L × L int8, read-only), the model, and the recent traces."""

    sweeps: int
    model: IsingModel
    algorithm: str
    spins: np.ndarray
    trace_sweeps: np.ndarray
    energy: np.ndarray
    abs_magnetization: np.ndarray
    version: int = 0
    running: bool = False
    sweeps_per_second: float = 0.0
    error: str | None = None
    commands: int = 0
    info: dict = field(default_factory=dict)

    magnetization: float = 0.0
    staggered_magnetization: float = 0.0


class IsingLattice:
    """One L×L lattice sampled live by ``algorithm`` (metropolis, wolff or hybrid)."""

    def __init__(self, model: IsingModel, algorithm: str = "metropolis", seed=None,
                 trace_length: int = DEFAULT_TRACE_LENGTH, start: str = "random"):
        if algorithm not in LIVE_ALGORITHMS:
            raise ValueError(f"unknown live Ising algorithm {algorithm!r}; choose one of {', '.join(LIVE_ALGORITHMS)}")
        if trace_length < 2:
            raise ValueError(f"trace_length must be at least 2, got {trace_length}")
        self._rng = np.random.default_rng(seed)
        self.algorithm = algorithm
        self.sampler = make_sampler(algorithm, model, 1, self._rng, start=start, threads=1)
        self._length = int(trace_length)
        self._reset_traces()

    @property
    def model(self) -> IsingModel:
        return self.sampler.model

    # --- the live computation --------------------------------------------------------------------------
    def step(self) -> None:
        self.sampler.sweep(1)
        sums = self.sampler.sums()[0]
        n = self.model.n_spins
        i = self._count % self._length
        self._sweeps[i] = self.sampler.sweeps_done
        self._energy[i] = float(self.model.energy_per_spin(sums[0], sums[1]))
        self._abs_m[i] = abs(sums[1]) / n
        self._count += 1
        self._last_sums = sums

    def snapshot(self, status) -> IsingSnapshot:
        order = self._order()
        sums = self._last_sums if self._last_sums is not None else self.sampler.sums()[0]
        spins = self.sampler.spins[0]
        spins.flags.writeable = False
        return IsingSnapshot(
            sweeps=self.sampler.sweeps_done, model=self.model, algorithm=self.algorithm, spins=spins,
            trace_sweeps=self._sweeps[order].copy(), energy=self._energy[order].copy(),
            abs_magnetization=self._abs_m[order].copy(), version=status.version, running=status.running,
            sweeps_per_second=status.rate, error=status.error, commands=status.commands,
            magnetization=float(sums[1]) / self.model.n_spins,
            staggered_magnetization=float(sums[2]) / self.model.n_spins, info=self.sampler.describe())

    # --- commands ------------------------------------------------------------------------------------------
    def set_model(self, beta: float | None = None, coupling: float | None = None, field: float | None = None) -> None:
        """New β, J or h for the same lattice (the spins stay). A field with a cluster algorithm is an error."""
        m = self.model
        model = IsingModel(m.L, m.beta if beta is None else beta, m.coupling if coupling is None else coupling,
                           m.field if field is None else field)
        self.sampler.set_model(model)  # ValueError (with the model unchanged) for wolff / hybrid with h != 0

    def set_algorithm(self, algorithm: str) -> None:
        """Switch the algorithm, keeping the spins and the model."""
        if algorithm not in LIVE_ALGORITHMS:
            raise ValueError(f"unknown live Ising algorithm {algorithm!r}; choose one of {', '.join(LIVE_ALGORITHMS)}")
        if algorithm == self.algorithm:
            return
        spins = self.sampler.spins
        sampler = make_sampler(algorithm, self.model, 1, self._rng, threads=1)  # ValueError for h != 0 and Wolff
        sampler.set_spins(spins)
        sampler.sweeps_done = self.sampler.sweeps_done
        self.sampler, self.algorithm = sampler, algorithm

    def set_size(self, L: int) -> None:
        """A new lattice of size L (random spins), same β, J, h and algorithm; the traces start again."""
        m = self.model
        model = IsingModel(L, m.beta, m.coupling, m.field)
        self.sampler = make_sampler(self.algorithm, model, 1, self._rng, threads=1)
        self._reset_traces()

    def restart(self, start: str = "random") -> None:
        """New spins (``random`` or ``ordered``) for the same model; the traces start again."""
        self.sampler = make_sampler(self.algorithm, self.model, 1, self._rng, start=start, threads=1)
        self._reset_traces()

    # --- traces --------------------------------------------------------------------------------------------
    def _reset_traces(self) -> None:
        self._sweeps = np.zeros(self._length, np.int64)
        self._energy = np.zeros(self._length, np.float64)
        self._abs_m = np.zeros(self._length, np.float64)
        self._count = 0
        self._last_sums = None  # the sums of the last step; None after a new lattice (snapshot measures then)

    def _order(self) -> np.ndarray:
        """Indices of the recorded trace entries, oldest first."""
        if self._count <= self._length:
            return np.arange(self._count)
        start = self._count % self._length
        return np.concatenate([np.arange(start, self._length), np.arange(start)])
