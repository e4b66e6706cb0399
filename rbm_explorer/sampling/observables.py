"""Observables a live sampler records after every sweep: pluggable parts of ``GibbsSampling``.

An observable has ``record(engine)`` (called on the sampler's thread after each sweep), ``clear()`` (a
restart) and ``arrays()``, a dict of arrays that goes into the sampler's snapshot under those keys. The
sampler knows nothing of what they compute; a page that wants another trace passes another observable.
"""

from __future__ import annotations

import collections
from typing import Protocol

import numpy as np

from rbm_explorer.sampling.gibbs import GibbsEngine


class Observable(Protocol):
    def record(self, engine: GibbsEngine) -> None: ...

    def clear(self) -> None: ...

    def arrays(self) -> dict[str, np.ndarray]: ...


def empty_traces(n_chains: int = 0, n_watched: int = 0) -> dict[str, np.ndarray]:
    """The arrays of ``RBMTraces`` before the first sweep (or without traces)."""
    empty = np.empty((0, n_chains), np.float32)
    return {"trace_steps": np.empty(0, np.int64), "energy": empty, "free_energy": empty,
            "watched_inputs": np.empty((0, n_chains, n_watched), np.float32), "visible_mean": empty}


class RBMTraces:
    """Ring buffers of per-sweep, per-chain observables of the first ``n_chains`` chains:

    * ``trace_steps`` (T,): the sweep count;
    * ``energy`` E(v, h) and ``free_energy`` F(v) (T x K), from the new v and the h that generated it;
    * ``watched_inputs`` (T x K x len(watched_units)): the inputs I_mu(v) of the watched hidden units;
    * ``visible_mean`` (T x K): the mean visible feature, the magnetization for spins.

    All in float32; the cost is one product with W per sweep for K chains."""

    def __init__(self, length: int, n_chains: int, watched_units=()):
        self.watched_units = tuple(int(u) for u in watched_units)
        self.n_chains = int(n_chains)
        self._rings = {key: collections.deque(maxlen=length) for key in empty_traces()}

    def record(self, engine: GibbsEngine) -> None:
        rbm, st, k = engine.rbm, engine.state, self.n_chains
        inputs = engine.current_inputs_h(k)
        v = rbm.visible.natural_from_features(st.v[:k])
        h = st.h[:k]
        visible_energy = rbm.visible.energy(v)
        if st.label is not None:
            visible_energy = visible_energy + rbm.label.energy(rbm.label.natural_from_features(st.label[:k]))
        rings = self._rings
        rings["trace_steps"].append(st.steps)
        rings["energy"].append((visible_energy + rbm.hidden.energy(h) - np.einsum("bm,bm->b", inputs, h))
                               .astype(np.float32))
        rings["free_energy"].append((visible_energy - rbm.hidden.cgf(inputs)).astype(np.float32))
        rings["watched_inputs"].append(inputs[:, list(self.watched_units)])
        rings["visible_mean"].append(st.v[:k].mean(axis=1))

    def clear(self) -> None:
        for ring in self._rings.values():
            ring.clear()

    def arrays(self) -> dict[str, np.ndarray]:
        rings = self._rings
        if not rings["trace_steps"]:
            return empty_traces(self.n_chains, len(self.watched_units))
        arrays = {key: np.stack(ring) for key, ring in rings.items() if key != "trace_steps"}
        arrays["trace_steps"] = np.array(rings["trace_steps"], np.int64)
        return arrays
