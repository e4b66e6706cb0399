"""One Ising run: thermalize R replicas, then record the time series that observables are estimated from.

``sample_series`` returns an ``IsingSeries``: per measurement and replica, the energy per spin, the magnetization
m = Σs/N, the staggered magnetization m_s = Σ(−1)^{x+y}s/N and the structure factor S(k_min), plus optionally the
correlation function G(r). ``ising.statistics.ising_observables`` turns them into estimates with error bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rbm_explorer.ising.exact import BETA_C
from rbm_explorer.ising.model import IsingModel
from rbm_explorer.ising.samplers import make_sampler

SERIES_KEYS = ("energy", "magnetization", "staggered_magnetization", "structure_kmin")


@dataclass
class IsingSeries:
    """Measurement series of one run, each (n_measurements, R) float64, taken every ``measure_every`` sweeps."""

    model: IsingModel
    algorithm: str
    series: dict[str, np.ndarray]
    measure_every: int
    thermalization: int
    sampler_info: dict = field(default_factory=dict)
    correlation: np.ndarray | None = None  # (n_correlation, R, L//2 + 1)

    @property
    def n_measurements(self) -> int:
        return len(self.series["energy"])

    @property
    def replicas(self) -> int:
        return self.series["energy"].shape[1]

    def concatenate(self, other: "IsingSeries") -> "IsingSeries":
        """The replicas of both runs side by side (same model, algorithm and lengths): replica blocks of a sweep."""
        if other.n_measurements != self.n_measurements or other.model != self.model:
            raise ValueError("only runs of the same model and length can be joined")
        series = {k: np.concatenate([self.series[k], other.series[k]], axis=1) for k in self.series}
        correlation = None
        if self.correlation is not None and other.correlation is not None:
            correlation = np.concatenate([self.correlation, other.correlation], axis=1)
        return IsingSeries(self.model, self.algorithm, series, self.measure_every, self.thermalization,
                           self.sampler_info, correlation)


def series_from_sums(model: IsingModel, sums: np.ndarray) -> dict[str, np.ndarray]:
    """Per-spin quantities from the sums of ``_kernels.ising_measure`` (... × 4)."""
    n = model.n_spins
    return {
        "energy": model.energy_per_spin(sums[..., 0], sums[..., 1]),
        "magnetization": sums[..., 1] / n,
        "staggered_magnetization": sums[..., 2] / n,
        "structure_kmin": sums[..., 3].copy(),
    }


def configuration_series(model: IsingModel, spins) -> dict[str, np.ndarray]:
    """The series of ``ising_observables`` measured on given configurations, e.g. an RBM's samples.

    ``spins``: ±1 values of shape (n_measurements, replicas, N) or (n_measurements, replicas, L, L); each
    series comes back with shape (n_measurements, replicas).
    """
    from rbm_explorer._kernels import ising_measure

    values = np.asarray(spins)
    L = model.L
    if values.ndim == 3 and values.shape[-1] == model.n_spins:
        values = values.reshape(values.shape[:2] + (L, L))
    if values.ndim != 4 or values.shape[2:] != (L, L):
        raise ValueError(f"configurations of the {L}x{L} lattice must have shape (measurements, replicas, "
                         f"{model.n_spins}) or (measurements, replicas, {L}, {L}), got {np.shape(spins)}")
    lattices = np.ascontiguousarray(values.reshape((-1, L, L)), dtype=np.int8)
    if not np.all(np.abs(lattices) == 1):
        raise ValueError("configurations must hold only the spin values -1 and +1")
    angles = 2 * np.pi * np.arange(L) / L
    sums = np.empty((lattices.shape[0], 4), np.float64)
    ising_measure.lattice_sums_into(lattices, np.cos(angles), np.sin(angles), sums)
    return series_from_sums(model, sums.reshape(values.shape[:2] + (4,)))


def default_start(model: IsingModel) -> str:
    """The ordered state below the critical temperature (β|J| > β_c), else random spins: each is nearer
    equilibrium there, so thermalization is shorter."""
    return "ordered" if model.beta * abs(model.coupling) > BETA_C else "random"


def sample_series(model: IsingModel, algorithm: str = "hybrid", replicas: int | None = None, sweeps: int = 4000,
                  thermalization: int | None = None, seed=None, measure_every: int = 1,
                  correlation_every: int | None = None, start: str | None = None, progress=None,
                  **sampler_options) -> IsingSeries:
    """Run ``algorithm`` on ``replicas`` replicas: ``thermalization`` sweeps (default sweeps // 4), then ``sweeps``
    sweeps with a measurement every ``measure_every``, and G(r) every ``correlation_every`` measurements.

    ``start`` defaults to the ordered state below the critical temperature (β|J| above 0.44), else random.
    ``progress``, if given, is called with the number of sweeps done after each chunk.
    """
    sweeps, measure_every = int(sweeps), int(measure_every)
    if sweeps < 1 or measure_every < 1 or sweeps < 2 * measure_every:
        raise ValueError(f"need at least two measurements: sweeps={sweeps}, measure_every={measure_every}")
    thermalization = sweeps // 4 if thermalization is None else int(thermalization)
    if thermalization < 0:
        raise ValueError(f"thermalization must be >= 0, got {thermalization}")
    if start is None:
        start = default_start(model)
    sampler = make_sampler(algorithm, model, replicas, seed, start=start, **sampler_options)
    sampler.thermalize(thermalization)
    if progress is not None:
        progress(thermalization)
    n = sweeps // measure_every
    sums = np.empty((n, sampler.replicas, 4), np.float64)
    corr = [] if correlation_every else None
    chunk = max(1, n // 100)
    for i in range(n):
        sampler.sweep(measure_every)
        sums[i] = sampler.sums()
        if corr is not None and i % correlation_every == 0:
            corr.append(sampler.correlation())
        if progress is not None and (i + 1) % chunk == 0:
            progress(thermalization + (i + 1) * measure_every)
    return IsingSeries(model, algorithm, series_from_sums(model, sums), measure_every, thermalization,
                       sampler.describe(), None if corr is None else np.array(corr))
