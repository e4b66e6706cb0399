"""Monte Carlo statistics for Ising runs: means with honest error bars, integrated autocorrelation times and
jackknife errors of derived quantities.

Every function takes measurement time series from R independent replicas (chains): float arrays of shape
``(n_measurements, n_replicas)``, one measurement every ``sweeps_per_measurement`` lattice sweeps, taken after
thermalisation. Successive measurements of one replica are correlated; the integrated autocorrelation time τ_int
says by how much, and every error bar here accounts for it (Sokal 1997; Madras and Sokal 1988).

Conventions
-----------
* τ_int is emcee's τ = 1 + 2 Σ_{t≥1} ρ(t) (Goodman and Weare 2010; Foreman-Mackey et al. 2013), for which the
  variance of the mean of n correlated measurements is Var/n · τ. It is twice Sokal's τ_int = ½ + Σ_{t≥1} ρ(t)
  (Sokal 1997); we report emcee's τ and call it τ_int. It is returned in **sweeps**; the
  error formulas use it in measurements (τ_sweeps / sweeps_per_measurement).
* Primary quantities (plain means of a measured series) get the error sqrt(Var · τ / (n R)). Derived quantities
  (non-linear functions of several means: heat capacity, susceptibilities, the Binder cumulant, the correlation
  length) get a delete-one-block jackknife error over blocks longer than τ_int (Efron 1982; Young 2015).
* A run shorter than 50 τ_int (emcee's default criterion) gives a :class:`ShortRunWarning`: neither τ_int nor
  the error bar can then be trusted.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import emcee.autocorr
import numpy as np
from scipy.stats import chi2

__all__ = [
    "MIN_BLOCKS",
    "MIN_RUN_IN_TAUS",
    "WARN_BLOCKS",
    "Estimate",
    "ShortRunWarning",
    "block_means",
    "choose_block_length",
    "integrated_time",
    "ising_observables",
    "jackknife",
    "mean_estimate",
    "mean_estimate_vector",
]

MIN_RUN_IN_TAUS = 50
"""A run of fewer than this many τ_int per replica gets a :class:`ShortRunWarning` (emcee's ``tol``)."""
MIN_BLOCKS = 20
"""Blocks are shortened (down to τ_int) to keep at least this many jackknife blocks in total."""
WARN_BLOCKS = 10
"""Fewer jackknife blocks than this, after shortening, give a :class:`ShortRunWarning`."""

_EMCEE_LOGGER = "emcee.autocorr"


class ShortRunWarning(UserWarning):
    """The run is too short for its autocorrelation time: τ_int, and the error bars built on it, are unreliable.

    Issued when a replica has fewer than ``MIN_RUN_IN_TAUS`` (50) τ_int of measurements, the criterion of
    emcee (Foreman-Mackey et al. 2013) after Sokal (1997), or when fewer than ``WARN_BLOCKS`` jackknife blocks
    longer than τ_int fit in the run.
    """


# --------------------------------------------------------------------------------------------------------------
# Estimate and its printed form
# --------------------------------------------------------------------------------------------------------------


def _format_scalar(value: float, error: float, digits: int = 2) -> str:
    """``value(error)`` with ``digits`` significant digits of the error, e.g. ``0.8123(45)``."""
    value, error = float(value), float(error)
    if not math.isfinite(value) or not math.isfinite(error) or error < 0:
        return f"{value:.6g} ± {error:.2g}"
    if error == 0:
        return f"{value:.6g} ± 0"
    magnitude = max(abs(value), error)
    exponent = math.floor(math.log10(magnitude))
    scientific = exponent < -4 or exponent >= 6
    scale = 10.0**exponent if scientific else 1.0
    v, e = value / scale, error / scale
    decimals = digits - 1 - math.floor(math.log10(e))
    if round(e * 10.0**decimals) >= 10**digits:  # 0.0996 rounds to 0.100: one digit fewer
        decimals -= 1
    suffix = f"e{exponent:+03d}" if scientific else ""
    if decimals < 0:  # the error reaches past the decimal point: 1230 ± 560
        v, e = round(v, decimals), round(e, decimals)
        return f"{v:.0f}{suffix} ± {e:.0f}{suffix}"
    return f"{v:.{decimals}f}({round(e * 10.0**decimals):d}){suffix}"


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate: its value, its one-standard-deviation error and its τ_int.

    Attributes
    ----------
    value : float
        The estimate (an array of shape (k,) for :func:`mean_estimate_vector`).
    error : float
        Its standard error (same shape as ``value``), accounting for autocorrelations. ``nan`` when the data do
        not determine it (for instance a jackknife over leave-one-out estimates that are undefined), ``inf``
        when the replicas are frozen.
    tau_int : float or None
        The integrated autocorrelation time, in sweeps, in emcee's convention τ = 1 + 2 Σ ρ(t) (see the module
        notes). For a derived quantity it is the largest τ_int of the series it is computed from. ``None``
        when not known.

    Notes
    -----
    ``str(estimate)`` gives the compact form ``0.8123(45)``: the error, to two significant digits, applies to
    the last digits of the value; ``1230 ± 560`` when the error is larger than 99, and ``value ± error`` when
    the error is zero or not finite. Array-valued estimates print element by element; ``==`` on them compares
    arrays and is not meaningful.
    """

    value: float | np.ndarray
    error: float | np.ndarray
    tau_int: float | None

    def __str__(self) -> str:
        if np.ndim(self.value) == 0:
            return _format_scalar(self.value, self.error)
        values, errors = np.broadcast_arrays(np.asarray(self.value, float), np.asarray(self.error, float))
        return "[" + ", ".join(_format_scalar(v, e) for v, e in zip(values.ravel(), errors.ravel())) + "]"


# --------------------------------------------------------------------------------------------------------------
# Autocorrelation time
# --------------------------------------------------------------------------------------------------------------


class _DropRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def _emcee_logger_silenced():
    """Drop the records emcee's autocorrelation module logs (its short-chain notice) while the block runs;
    this module issues its own :class:`ShortRunWarning` instead."""
    logger = logging.getLogger(_EMCEE_LOGGER)
    dropper = _DropRecords()
    logger.addFilter(dropper)
    try:
        yield
    finally:
        logger.removeFilter(dropper)


def _as_series(series, name: str, min_ndim: int = 2, max_ndim: int = 2) -> np.ndarray:
    """``series`` as a float64 array of shape (n, R[, ...]); a 1-D series is one replica."""
    x = np.asarray(series, dtype=np.float64)
    if x.ndim == 1 and min_ndim == 2:
        x = x[:, None]
    if not min_ndim <= x.ndim <= max_ndim:
        expected = "(n_measurements, n_replicas)" if max_ndim == 2 else "(n_measurements, n_replicas, k)"
        raise ValueError(f"{name}: expected an array of shape {expected}, got shape {x.shape}")
    if x.shape[0] < 2:
        raise ValueError(f"{name}: need at least 2 measurements per replica, got {x.shape[0]}")
    if x.shape[1] < 1:
        raise ValueError(f"{name}: need at least 1 replica")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: the series has non-finite values (nan or inf)")
    return x


def _check_sweeps(sweeps_per_measurement) -> float:
    spm = float(sweeps_per_measurement)
    if not (math.isfinite(spm) and spm > 0):
        raise ValueError(f"sweeps_per_measurement must be a positive number, got {sweeps_per_measurement!r}")
    return spm


def _tau_measurements(x: np.ndarray) -> float:
    """τ (emcee's convention) in measurements of an (n, R) float series, without any warning.

    Replicas whose series is constant carry no autocorrelation information (their autocorrelation function is
    0/0) and are left out. If every replica is constant: τ = 1 when they all hold the same value (the series
    has no variance, so any τ gives a zero error), and τ = inf when they hold different values (frozen
    replicas: the measurements never decorrelate). The estimate is floored at 1/n, the value of a perfectly
    alternating series, since emcee's window sum can come out ≤ 0 for strongly anticorrelated series.
    """
    n = x.shape[0]
    live = np.ptp(x, axis=0) > 0
    if not np.any(live):
        return 1.0 if np.ptp(x) == 0 else math.inf
    with _emcee_logger_silenced():
        tau = float(emcee.autocorr.integrated_time(x[:, live, None], quiet=True)[0])
    return max(tau, 1.0 / n)


def _between_replica_ratio(x: np.ndarray, tau: float) -> float:
    """F = Var(replica means) / (Var τ / n): ≈ 1 (distributed as χ²_{R−1}/(R−1)) when the R replicas sample the
    same distribution with autocorrelation time τ; 0 when it cannot be formed (R = 1, no variance, τ = inf)."""
    n, r = x.shape[:2]
    var = x.reshape(n * r, *x.shape[2:]).var(axis=0, ddof=1)
    if r < 2 or math.isinf(tau):
        return 0.0
    between = x.mean(axis=0).var(axis=0, ddof=1)
    ratio = np.divide(between * n, var * tau, out=np.zeros_like(var), where=var > 0)
    return float(np.max(ratio))


def _replica_threshold(n_replicas: int) -> float:
    """Twice the 1 − 10⁻⁶ quantile of χ²_{R−1}/(R−1): a false alarm is rare even with a noisy τ estimate."""
    return 2.0 * float(chi2.isf(1e-6, n_replicas - 1)) / (n_replicas - 1)


def _check_run(name: str, x: np.ndarray, tau: float, spm: float, stacklevel: int = 3):
    """Warn when the run is shorter than ``MIN_RUN_IN_TAUS`` τ, or when the replica means disagree by far more
    than τ allows."""
    n, r = x.shape[:2]
    if n < MIN_RUN_IN_TAUS * tau:
        warnings.warn(
            f"{name}: {n} measurements per replica ({n * spm:g} sweeps) is less than "
            f"{MIN_RUN_IN_TAUS} τ_int, with τ_int ≈ {tau:.3g} measurements "
            f"({tau * spm:.3g} sweeps); τ_int and the error bars are unreliable, run longer",
            ShortRunWarning,
            stacklevel=stacklevel,
        )
    elif r >= 2 and (ratio := _between_replica_ratio(x, tau)) > _replica_threshold(r):
        warnings.warn(
            f"{name}: the {r} replica means differ {ratio:.3g} times more (in variance) than τ_int ≈ {tau:.3g} "
            f"measurements allows; the replicas are trapped in different states (e.g. ±m below T_c), so τ_int "
            f"and the error bar are underestimated",
            ShortRunWarning,
            stacklevel=stacklevel,
        )


def integrated_time(series, sweeps_per_measurement: float = 1, *, name: str = "series") -> float:
    """Integrated autocorrelation time τ_int of one quantity over all replicas, in sweeps.

    Computed by emcee's estimator (Goodman and Weare 2010; Foreman-Mackey et al. 2013): the normalised
    autocorrelation function ρ(t) of each replica, about its own mean, is averaged over replicas and summed
    inside Sokal's automatic window, the smallest M with M ≥ c τ(M), c = 5 (Madras and Sokal 1988; Sokal 1997).

    Parameters
    ----------
    series : array_like, shape (n_measurements, n_replicas)
        Measurements after thermalisation; a 1-D array is a single replica.
    sweeps_per_measurement : float, default 1
        Lattice sweeps between successive measurements; the result is scaled by it.
    name : str
        The quantity's name, used in the warning.

    Returns
    -------
    float
        τ_int in sweeps, in emcee's convention τ = 1 + 2 Σ_{t≥1} ρ(t), chosen so that the variance of the mean
        of n correlated measurements is Var/n · τ. This is 2 τ_int in Sokal's convention τ_int = ½ + Σ_{t≥1}
        ρ(t) (Sokal 1997); we report emcee's τ and call it τ_int. Independent measurements give ≈ 1
        measurement.

    Warns
    -----
    ShortRunWarning
        When n_measurements < 50 τ (τ in measurements, emcee's criterion): the estimate is then biased low
        and noisy, its relative variance being ≈ 2(2M + 1)/N for a window M and N measurements in all
        (Madras and Sokal 1988). emcee's own logged notice is suppressed.
        Also, with R ≥ 2 replicas, when the replica means disagree far beyond what τ allows (see Notes).

    Notes
    -----
    * A series that is constant in every replica, with one value (zero variance, e.g. |m| = 1 deep in the
      ordered phase), gives τ = 1 measurement and no warning. Constant replicas are left out of the average of
      ρ(t); if every replica is constant but they differ from each other (frozen replicas), τ = inf and a
      :class:`ShortRunWarning` is issued.
    * ρ(t) is taken about each replica's own mean, so replicas trapped in different states (the signed
      magnetization below T_c, each replica on one side) look well decorrelated while their overall mean is
      not converged. This is checked by comparing the variance of the R replica means with Var τ / n, the
      value it has when all replicas sample the same distribution (a between/within comparison in the spirit
      of Gelman and Rubin 1992): the ratio is ≈ χ²_{R−1}/(R−1), and a ratio above twice its 1 − 10⁻⁶ quantile
      gives a :class:`ShortRunWarning`. Replicas that all start on the same side cannot be caught this way;
      use symmetric observables (|m|, m²) in the ordered phase.
    * For strongly anticorrelated series the estimate is floored at 1/n_measurements.
    """
    x = _as_series(series, name)
    spm = _check_sweeps(sweeps_per_measurement)
    tau = _tau_measurements(x)
    _check_run(name, x, tau, spm)
    return tau * spm


# --------------------------------------------------------------------------------------------------------------
# Means
# --------------------------------------------------------------------------------------------------------------


def _mean_and_error(x: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean over axes (0, 1) and its error sqrt(Var τ / (n R)), with Var the variance of all n R values."""
    n, r = x.shape[:2]
    flat = x.reshape(n * r, *x.shape[2:])
    shifted = flat - flat[0]  # exact for a constant series, and less cancellation for a large offset
    mean = flat[0] + shifted.mean(axis=0)
    var = shifted.var(axis=0, ddof=1)
    if math.isinf(tau):
        error = np.where(var > 0, np.inf, 0.0)
    else:
        error = np.sqrt(var * tau / (n * r))
    return mean, error


def mean_estimate(
    series, sweeps_per_measurement: float = 1, *, name: str = "series", tau_measurements: float | None = None
) -> Estimate:
    """Mean of one quantity over all measurements and replicas, with its autocorrelation-corrected error.

    error = sqrt(Var · τ / (n R)), with Var the variance of all n R measurements and τ the integrated
    autocorrelation time in measurements (emcee's convention, see :func:`integrated_time`): the variance of
    the mean of n correlated measurements is Var/n · τ (Sokal 1997, with τ = 2 τ_int), and the R
    replicas are independent.

    Parameters
    ----------
    series : array_like, shape (n_measurements, n_replicas)
        Measurements after thermalisation; a 1-D array is a single replica.
    sweeps_per_measurement : float, default 1
        Lattice sweeps between measurements (only used to express τ_int in sweeps).
    name : str
        The quantity's name, used in warnings.
    tau_measurements : float, optional
        τ in measurements, when already known; it is then not estimated and no run-length warning is issued.

    Returns
    -------
    Estimate
        value and error as floats, tau_int in sweeps.

    Warns
    -----
    ShortRunWarning
        When τ is estimated and the run is shorter than 50 τ (see :func:`integrated_time`).
    """
    x = _as_series(series, name)
    spm = _check_sweeps(sweeps_per_measurement)
    if tau_measurements is None:
        tau = _tau_measurements(x)
        _check_run(name, x, tau, spm)
    else:
        tau = _check_tau(tau_measurements)
    mean, error = _mean_and_error(x, tau)
    return Estimate(float(mean), float(error), tau * spm)


def _check_tau(tau) -> float:
    tau = float(tau)
    if not tau > 0:  # also rejects nan
        raise ValueError(f"tau_measurements must be positive, got {tau!r}")
    return tau


def mean_estimate_vector(
    series, sweeps_per_measurement: float = 1, *, tau_measurements: float | None = None, name: str = "series"
) -> Estimate:
    """Component-wise mean of a vector quantity (e.g. a correlation function G(r)) with one shared τ.

    Parameters
    ----------
    series : array_like, shape (n_measurements, n_replicas, k)
        k components measured together.
    sweeps_per_measurement : float, default 1
        Lattice sweeps between measurements.
    tau_measurements : float, optional
        The τ (in measurements, emcee's convention) applied to every component. By default the largest τ over
        the components, so that no component's error is underestimated.
    name : str
        The quantity's name, used in the warning.

    Returns
    -------
    Estimate
        value and error are arrays of shape (k,), error_j = sqrt(Var_j τ / (n R)); tau_int is the shared τ in
        sweeps.

    Warns
    -----
    ShortRunWarning
        Once, when τ is estimated and the run is shorter than 50 τ.
    """
    x = _as_series(series, name, min_ndim=3, max_ndim=3)
    spm = _check_sweeps(sweeps_per_measurement)
    if tau_measurements is None:
        tau = max(_tau_measurements(x[:, :, j]) for j in range(x.shape[2])) if x.shape[2] else 1.0
        _check_run(name, x, tau, spm)
    else:
        tau = _check_tau(tau_measurements)
    mean, error = _mean_and_error(x, tau)
    return Estimate(mean, error, tau * spm)


# --------------------------------------------------------------------------------------------------------------
# Blocks and the jackknife
# --------------------------------------------------------------------------------------------------------------


def block_means(series_by_name: Mapping[str, np.ndarray], block_length: int) -> dict[str, np.ndarray]:
    """Means over contiguous blocks of ``block_length`` measurements inside each replica.

    Blocks never straddle two replicas; a replica's incomplete trailing block is dropped. The blocks of all
    replicas are concatenated replica by replica (replica 0's blocks in time order, then replica 1's, ...), the
    same order for every series, so that entry i of every output belongs to the same stretch of the run.

    Parameters
    ----------
    series_by_name : mapping of str to array_like, each of shape (n_measurements, n_replicas[, ...])
        Series measured together (same shape).
    block_length : int
        Measurements per block, 1 ≤ block_length ≤ n_measurements.

    Returns
    -------
    dict of str to ndarray
        Each of shape (n_blocks_total[, ...]), n_blocks_total = (n_measurements // block_length) · n_replicas.
    """
    if not series_by_name:
        raise ValueError("block_means needs at least one series")
    arrays = {key: np.asarray(value, dtype=np.float64) for key, value in series_by_name.items()}
    shapes = {key: a.shape for key, a in arrays.items()}
    first_key = next(iter(arrays))
    shape = shapes[first_key]
    if len(shape) < 2:
        raise ValueError(f"{first_key}: expected shape (n_measurements, n_replicas[, ...]), got {shape}")
    mismatched = [key for key, s in shapes.items() if s != shape]
    if mismatched:
        raise ValueError(f"all series must have the same shape; {first_key} has {shape}, "
                         + ", ".join(f"{k} has {shapes[k]}" for k in mismatched))
    if isinstance(block_length, bool) or int(block_length) != block_length or block_length < 1:
        raise ValueError(f"block_length must be a positive integer, got {block_length!r}")
    block_length = int(block_length)
    n, r = shape[:2]
    n_blocks = n // block_length
    if n_blocks < 1:
        raise ValueError(f"block_length {block_length} is longer than the {n} measurements of a replica")
    out = {}
    for key, a in arrays.items():
        blocks = a[: n_blocks * block_length].reshape(n_blocks, block_length, *a.shape[1:]).mean(axis=1)
        out[key] = np.moveaxis(blocks, 1, 0).reshape(r * n_blocks, *a.shape[2:])
    return out


def jackknife(
    block_means: Mapping[str, np.ndarray], function: Callable[[dict[str, np.ndarray]], np.ndarray]
) -> tuple[float, float]:
    """Delete-one-block jackknife estimate and error of a function of means (Efron 1982; Young 2015).

    With B blocks, θ_i is ``function`` of the means over all blocks but block i, and θ̄ their average:
    value = function(means over all blocks), error = sqrt((B − 1)/B Σ_i (θ_i − θ̄)²). For a linear function
    this is exactly the standard error of the mean of the block means; for a non-linear one it accounts for
    the correlations between the means it combines. Blocks must be longer than the autocorrelation time
    (:func:`choose_block_length`) for the block means to be nearly independent.

    Parameters
    ----------
    block_means : mapping of str to array_like, each of shape (B[, ...])
        Block means of each series, in the same block order (:func:`block_means`), B ≥ 2.
    function : callable
        ``function(means) -> value`` where ``means`` maps the same keys to arrays. It must be element-wise
        (numpy-vectorised): it is called once with 0-d values (the full means) and once with arrays of shape
        (B[, ...]) holding all B leave-one-out means at once, and must then return an array whose first axis
        has length B.

    Returns
    -------
    value, error : float
        (arrays if ``function`` returns arrays per block). ``error`` is nan when ``value`` or any leave-one-out
        estimate is not finite: the data do not then determine the function's spread.
    """
    if not block_means:
        raise ValueError("jackknife needs at least one series of block means")
    arrays = {key: np.asarray(value, dtype=np.float64) for key, value in block_means.items()}
    lengths = {key: (a.shape[0] if a.ndim else 0) for key, a in arrays.items()}
    b = next(iter(lengths.values()))
    if any(length != b for length in lengths.values()):
        raise ValueError(f"all block means must have the same number of blocks, got {lengths}")
    if b < 2:
        raise ValueError(f"the jackknife needs at least 2 blocks, got {b}")
    totals = {key: a.sum(axis=0) for key, a in arrays.items()}
    full = {key: totals[key] / b for key in arrays}
    leave_one_out = {key: (totals[key] - a) / (b - 1) for key, a in arrays.items()}
    value = np.asarray(function(full), dtype=np.float64)
    thetas = np.asarray(function(leave_one_out), dtype=np.float64)
    if thetas.ndim == 0 or thetas.shape[0] != b:
        raise ValueError(
            f"function must be element-wise (numpy-vectorised): called with arrays of {b} leave-one-out means it "
            f"returned shape {thetas.shape}"
        )
    finite = np.isfinite(value) & np.all(np.isfinite(thetas), axis=0)
    safe = np.where(finite, thetas, 0.0)
    spread = safe - safe.mean(axis=0)
    error = np.where(finite, np.sqrt((b - 1) / b * np.sum(spread * spread, axis=0)), np.nan)
    if value.ndim == 0 and error.ndim == 0:
        return float(value), float(error)
    return value, error


def choose_block_length(taus_in_measurements, n_measurements: int, n_replicas: int) -> int:
    """Jackknife block length, in measurements, for series with the given autocorrelation times.

    The rule: blocks are "longer than τ_int" so that block means are nearly independent,

    1. preferred length ceil(2 τ_max), at least 1, with τ_max the largest τ given (emcee's convention, in
       measurements);
    2. if that leaves fewer than ``MIN_BLOCKS`` (20) blocks over all replicas, the length is shortened to the
       longest that gives at least 20 blocks, but never below ceil(τ_max);
    3. it is never longer than a replica (n_measurements), so an infinite τ (frozen replicas) gives one block
       per replica;
    4. if fewer than ``WARN_BLOCKS`` (10) blocks remain, a :class:`ShortRunWarning` is issued: the jackknife
       error is then itself very uncertain.

    Parameters
    ----------
    taus_in_measurements : float or iterable of float
        τ of every series the derived quantity uses, in measurements.
    n_measurements, n_replicas : int
        The run's shape.

    Returns
    -------
    int
        The block length.
    """
    if isinstance(taus_in_measurements, Iterable) and not isinstance(taus_in_measurements, np.ndarray):
        taus_in_measurements = list(taus_in_measurements)
    taus = np.atleast_1d(np.asarray(taus_in_measurements, dtype=np.float64))
    if taus.size == 0 or np.any(np.isnan(taus)) or np.any(taus <= 0):
        raise ValueError(f"taus_in_measurements must be positive numbers, got {taus_in_measurements!r}")
    n, r = int(n_measurements), int(n_replicas)
    if n < 1 or r < 1:
        raise ValueError(f"need n_measurements ≥ 1 and n_replicas ≥ 1, got {n_measurements}, {n_replicas}")
    tau_max = float(taus.max())
    if math.isinf(tau_max):
        length = n
    else:
        shortest = max(1, math.ceil(tau_max))
        length = min(n, max(1, math.ceil(2 * tau_max)))
        if (n // length) * r < MIN_BLOCKS:
            per_replica = math.ceil(MIN_BLOCKS / r)
            length = min(length, max(shortest, n // per_replica, 1))
            length = min(length, n)
    total = (n // length) * r
    if total < WARN_BLOCKS:
        warnings.warn(
            f"only {total} jackknife blocks of {length} measurements fit in {r} replica(s) of {n} measurements "
            f"with τ_int ≈ {tau_max:.3g} measurements; the jackknife errors are unreliable, run longer",
            ShortRunWarning,
            stacklevel=2,
        )
    return int(length)


# --------------------------------------------------------------------------------------------------------------
# Ising observables
# --------------------------------------------------------------------------------------------------------------

_ISING_KEYS = ("energy", "magnetization", "staggered_magnetization", "structure_kmin")


def _safe_ratio(numerator, denominator, zero_value):
    """numerator / denominator element-wise, ``zero_value`` where the denominator is 0 (no warning)."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    out = np.full(numerator.shape, zero_value, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def ising_observables(series: Mapping[str, np.ndarray], *, beta: float, L: int, sweeps_per_measurement: float = 1
                      ) -> dict[str, Estimate]:
    """Thermodynamic observables of a 2D Ising run with error bars and τ_int.

    Parameters
    ----------
    series : mapping of str to array_like, each of shape (n_measurements, n_replicas)
        Measurements after thermalisation, every ``sweeps_per_measurement`` sweeps, with exactly these keys:

        ``energy``
            energy per spin e = E/N;
        ``magnetization``
            signed m = Σ_i s_i / N;
        ``staggered_magnetization``
            signed m_s = Σ_x (−1)^{x+y} s_x / N;
        ``structure_kmin``
            S(k_min) = |Σ_x s_x e^{i k·x}|² / N at k = (2π/L, 0), averaged with k = (0, 2π/L).
    beta : float
        Inverse temperature β = 1/T (J = k_B = 1), > 0.
    L : int
        Linear size of the L×L lattice, ≥ 2; N = L².
    sweeps_per_measurement : float, default 1
        Sweeps between measurements; every τ_int is reported in sweeps.

    Returns
    -------
    dict of str to Estimate
        Primary quantities (plain means, error sqrt(Var τ / (n R)), each with its own τ_int):

        * ``energy`` ⟨e⟩;
        * ``abs_magnetization`` ⟨|m|⟩ (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023, Eq. 14);
        * ``m2`` ⟨m²⟩, ``m4`` ⟨m⁴⟩, ``magnetization`` ⟨m⟩ (signed; ≈ 0 in a long enough run by symmetry);
        * ``staggered_magnetization`` ⟨|m_s|⟩.

        Derived quantities (jackknife errors over blocks from :func:`choose_block_length`; tau_int is the
        largest τ_int of the series they use):

        * ``heat_capacity`` C = β² N (⟨e²⟩ − ⟨e⟩²) per spin (ibid., Eq. 15);
        * ``susceptibility`` χ = β N (⟨m²⟩ − ⟨|m|⟩²) per spin (ibid., Eq. 16);
        * ``staggered_susceptibility`` χ_s = β N (⟨m_s²⟩ − ⟨|m_s|⟩²);
        * ``binder`` U₄ = 1 − ⟨m⁴⟩ / (3 ⟨m²⟩²) (Binder 1981): 2/3 in the ordered phase, → 0 in the disordered
          one for large L;
        * ``correlation_length`` the second-moment ξ = √(χ(0)/χ(k_min) − 1) / (2 sin(π/L)), with χ(0) = N⟨m²⟩
          and χ(k_min) = ⟨S(k_min)⟩ (Cooper, Freedman and Preston 1982). In the disordered phase at small L,
          χ(0)/χ(k_min) can fall below 1 by noise; ξ is then nan (no exception, no warning). ξ is inf if
          ⟨S(k_min)⟩ = 0 (every configuration uniform). Its error is nan when any leave-one-out estimate is
          undefined.

    Raises
    ------
    ValueError
        On a missing or unknown key (named in the message), arrays of different shapes or not 2-D, fewer than 2
        measurements, non-finite values, β ≤ 0, or L < 2 / not an integer.

    Warns
    -----
    ShortRunWarning
        For every series whose run is shorter than 50 τ_int or whose replica means disagree (see
        :func:`integrated_time`), and for derived quantities with fewer than 10 jackknife blocks. The signed
        magnetization warns in the ordered phase when replicas sit on both sides of ±m without tunnelling
        between them; the symmetric quantities (|m|, m², m⁴) stay reliable there.

    Notes
    -----
    The τ used for the blocks of a derived quantity is the largest among the series it is built from
    (e and e² for C; |m| and m² for χ; |m_s| and m_s² for χ_s; m² and m⁴ for U₄; m² and S(k_min) for ξ); the
    signed m, whose τ is huge below T_c, is not among them. The energy is centred on its overall mean before
    squaring, which leaves C unchanged and avoids cancellation.
    """
    missing = [key for key in _ISING_KEYS if key not in series]
    if missing:
        raise ValueError(f"ising_observables: missing series {', '.join(map(repr, missing))}; "
                         f"expected keys {', '.join(_ISING_KEYS)}")
    unknown = [key for key in series if key not in _ISING_KEYS]
    if unknown:
        raise ValueError(f"ising_observables: unknown series {', '.join(map(repr, unknown))}; "
                         f"expected keys {', '.join(_ISING_KEYS)}")
    data = {}
    for key in _ISING_KEYS:
        a = np.asarray(series[key], dtype=np.float64)
        if a.ndim != 2:
            raise ValueError(f"{key}: expected shape (n_measurements, n_replicas), got {a.shape}")
        data[key] = _as_series(a, key)
    shapes = {key: a.shape for key, a in data.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"all series must have the same shape, got {shapes}")
    if isinstance(beta, bool) or not (math.isfinite(float(beta)) and float(beta) > 0):
        raise ValueError(f"beta must be a positive finite number, got {beta!r}")
    if isinstance(L, bool) or not float(L).is_integer() or int(L) < 2:
        raise ValueError(f"L must be an integer ≥ 2, got {L!r}")
    beta, L = float(beta), int(L)
    spm = _check_sweeps(sweeps_per_measurement)
    n_spins = L * L
    n, r = shapes["energy"]

    e = data["energy"]
    m = data["magnetization"]
    ms = data["staggered_magnetization"]
    abs_m = np.abs(m)
    m2 = m * m
    e_centred = e - e.mean()
    raw = {
        "energy": e,
        "abs_magnetization": abs_m,
        "m2": m2,
        "m4": m2 * m2,
        "magnetization": m,
        "staggered_magnetization": np.abs(ms),
        # auxiliary series, used by derived quantities only
        "e_centred": e_centred,
        "e2": e_centred * e_centred,
        "ms2": ms * ms,
        "structure_kmin": data["structure_kmin"],
    }
    aux_names = {"e_centred": "energy", "e2": "energy squared", "ms2": "staggered magnetization squared"}
    taus = {}
    for key, x in raw.items():
        taus[key] = tau = taus["energy"] if key == "e_centred" else _tau_measurements(x)
        if key != "e_centred":
            _check_run(aux_names.get(key, key), x, tau, spm)

    out: dict[str, Estimate] = {}
    for key in ("energy", "abs_magnetization", "m2", "m4", "magnetization", "staggered_magnetization"):
        mean, error = _mean_and_error(raw[key], taus[key])
        out[key] = Estimate(float(mean), float(error), taus[key] * spm)

    sin_term = 2.0 * math.sin(math.pi / L)

    def xi(q):
        ratio = _safe_ratio(n_spins * q["m2"], q["structure_kmin"], np.inf)
        argument = ratio - 1.0
        return np.sqrt(np.where(argument >= 0, argument, np.nan)) / sin_term

    derived = {
        "heat_capacity": (("e_centred", "e2"), lambda q: beta**2 * n_spins * (q["e2"] - q["e_centred"] ** 2)),
        "susceptibility": (("abs_magnetization", "m2"),
                           lambda q: beta * n_spins * (q["m2"] - q["abs_magnetization"] ** 2)),
        "staggered_susceptibility": (("staggered_magnetization", "ms2"),
                                     lambda q: beta * n_spins * (q["ms2"] - q["staggered_magnetization"] ** 2)),
        "binder": (("m2", "m4"), lambda q: 1.0 - _safe_ratio(q["m4"], 3.0 * q["m2"] ** 2, np.nan)),
        "correlation_length": (("m2", "structure_kmin"), xi),
    }
    for key, (inputs, function) in derived.items():
        tau = max(taus[name] for name in inputs)
        length = choose_block_length([tau], n, r)
        blocks = block_means({name: raw[name] for name in inputs}, length)
        value, error = jackknife(blocks, function)
        out[key] = Estimate(float(value), float(error), tau * spm)
    return out
