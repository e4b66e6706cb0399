"""Equilibrium Ising configurations for training, decorrelated by their measured τ_int, cached bit-packed.

``ising_configurations(L, beta, J, h, n, seed)`` returns n configurations (n × L² int8 of ±1) drawn from R
replicas of the hybrid sampler (Metropolis then Wolff, as Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023,
Sec. V, generate theirs; Metropolis alone when h ≠ 0). A pilot run measures τ_int of the energy and of |m| (emcee's
τ, in sweeps); configurations of one replica are then taken ``gap = ceil(max τ)`` sweeps apart, so successive ones
are about as independent as the run allows. τ, the gap and the rest are recorded with the data.

The cache is ``$RBM_EXPLORER_HOME/cache/ising/``: one ``.npz`` per request, keyed by every parameter and by
``GENERATOR_VERSION``, holding ``np.packbits`` of the spins (1 bit per spin: 10,000 configurations of 32×32 take
1.3 MB, 100,000 of 64×64 take 51 MB) and a JSON metadata entry. It is read with ``allow_pickle=False``, checked
against its key, and regenerated when missing or unreadable; writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rbm_explorer.ising.model import IsingModel
from rbm_explorer.ising.run import default_start, series_from_sums
from rbm_explorer.ising.samplers import make_sampler
from rbm_explorer.ising.statistics import ShortRunWarning, integrated_time

GENERATOR_VERSION = 1
PILOT_SWEEPS = 1000
MAX_PILOT_SWEEPS = 64000
DEFAULT_REPLICAS = 16
MAX_SAMPLES = 2_000_000


@dataclass(frozen=True)
class IsingSamples:
    """Configurations (n × N int8, ±1) with how they were made."""

    spins: np.ndarray
    info: dict

    @property
    def magnetization(self) -> np.ndarray:
        return self.spins.sum(axis=1, dtype=np.int64) / self.spins.shape[1]


def cache_dir() -> Path:
    from rbm_explorer.catalog import home_dir

    return home_dir() / "cache" / "ising"


def _request(L, beta, coupling, field, n, seed, replicas) -> dict:
    model = IsingModel(L, beta, coupling, field)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_SAMPLES:
        raise ValueError(f"n (the number of configurations) must be an integer from 1 to {MAX_SAMPLES}, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or replicas < 1:
        raise ValueError(f"replicas must be a positive integer, got {replicas!r}")
    return {"L": model.L, "beta": model.beta, "J": model.coupling, "h": model.field, "n": int(n), "seed": int(seed),
            "replicas": int(min(replicas, n)), "version": GENERATOR_VERSION}


def cache_path(request: dict) -> Path:
    digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / (f"ising-L{request['L']}-beta{request['beta']:.6g}-J{request['J']:g}-h{request['h']:g}-"
                          f"n{request['n']}-seed{request['seed']}-{digest}.npz")


def ising_configurations(L: int, beta: float, coupling: float = 1.0, field: float = 0.0, n: int = 10000,
                         seed: int = 0, replicas: int = DEFAULT_REPLICAS, cache: bool = True,
                         progress=None) -> IsingSamples:
    """n equilibrium configurations of the L×L torus, from the cache when it holds this request."""
    request = _request(L, beta, coupling, field, n, seed, replicas)
    path = cache_path(request)
    if cache:
        cached = _read(path, request)
        if cached is not None:
            return cached
    samples = generate(request, progress)
    if cache:
        _write(path, request, samples)
    return samples


def _pilot_tau(sampler, model: IsingModel) -> float:
    """τ in sweeps: the larger of the energy's and |m|'s, from a pilot run made longer until it spans 50 τ."""
    sweeps = PILOT_SWEEPS
    while True:
        sums = np.empty((sweeps, sampler.replicas, 4))
        for i in range(sweeps):
            sampler.sweep(1)
            sums[i] = sampler.sums()
        series = series_from_sums(model, sums)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ShortRunWarning)
            taus = [integrated_time(series["energy"], name="energy"),
                    integrated_time(np.abs(series["magnetization"]), name="|m|")]
        tau = max(t for t in taus if math.isfinite(t)) if any(math.isfinite(t) for t in taus) else float(sweeps)
        if not caught or sweeps >= MAX_PILOT_SWEEPS:
            return max(1.0, tau)
        sweeps *= 4


def generate(request: dict, progress=None) -> IsingSamples:
    """Run the sampler for ``request`` (see ``_request``) and take decorrelated configurations."""
    model = IsingModel(request["L"], request["beta"], request["J"], request["h"])
    algorithm = "hybrid" if model.field == 0 else "metropolis"
    rng = np.random.default_rng(np.random.SeedSequence([request["seed"], GENERATOR_VERSION]))
    replicas, n = request["replicas"], request["n"]
    sampler = make_sampler(algorithm, model, replicas, rng, start=default_start(model))
    sampler.thermalize(max(200, PILOT_SWEEPS // 2))
    tau = _pilot_tau(sampler, model)
    gap = int(math.ceil(tau))
    per_replica = -(-n // replicas)
    spins = np.empty((per_replica, replicas, model.n_spins), np.int8)
    for k in range(per_replica):
        sampler.sweep(gap)
        spins[k] = sampler.spins.reshape(replicas, -1)
        if progress is not None:
            progress(k + 1, per_replica)
    spins = spins.reshape(-1, model.n_spins)[:n]
    info = {**request, "algorithm": algorithm, "tau_int_sweeps": tau, "gap_sweeps": gap,
            "thermalization_sweeps": sampler.sweeps_done - per_replica * gap,
            "sampler": sampler.describe(), "order": "time-major: configuration k of every replica, then k + 1"}
    return IsingSamples(spins, info)


def _read(path: Path, request: dict) -> IsingSamples | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            info = json.loads(str(archive["metadata"]))
            packed = archive["spins"]
        if any(info.get(k) != v for k, v in request.items()):
            return None
        n_spins = request["L"] ** 2
        bits = np.unpackbits(packed, axis=1, count=n_spins)
        if bits.shape != (request["n"], n_spins):
            return None
    except (OSError, ValueError, KeyError, json.JSONDecodeError, EOFError):
        return None  # unreadable or not ours: regenerate
    spins = (2 * bits.astype(np.int8) - 1).astype(np.int8)
    return IsingSamples(spins, {**info, "cache": str(path)})


def _write(path: Path, request: dict, samples: IsingSamples) -> None:
    from rbm_explorer.io.atomic import atomic_write

    packed = np.packbits(samples.spins > 0, axis=1)
    with atomic_write(path) as handle:
        np.savez_compressed(handle, spins=packed, metadata=np.array(json.dumps(samples.info)))
    samples.info["cache"] = str(path)
