"""Block Gibbs sampling of many chains at once, with clamping.

One step: h ~ p(h | v, l), then v ~ p(v | h) and l ~ p(l | h). The products go through BLAS on float32
state with preallocated outputs; element-wise sampling goes through the layers' numba kernels. Each chain
owns a counter-based random stream seeded from one seed, so the same seed gives the same chains whatever the
number of threads.

Clamped units keep their values: after each layer is sampled, the clamped feature columns are overwritten.
Since those values never change between steps, the chains sample the conditional distribution
P(v, free h | clamped units).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from rbm_explorer._kernels import seed_chain_states
from rbm_explorer.rbm import RBM


@dataclass
class Clamp:
    """Fixed feature values for some columns of a layer: ``values`` is (chains x columns), float32."""

    columns: np.ndarray
    values: np.ndarray

    def apply(self, features: np.ndarray) -> None:
        if self.columns.size:
            features[:, self.columns] = self.values


@dataclass
class ChainState:
    """Everything that determines the chains' future: states in feature form (float32), the per-chain
    random counters used by the sampling kernels, and ``rng``, the Generator that draws restart noise and
    initial labels. Saving and restoring a ``ChainState`` (``random_state`` / ``set_random_state`` for the
    random parts) reproduces the chains exactly."""

    v: np.ndarray
    h: np.ndarray
    label: np.ndarray | None
    counters: np.ndarray
    rng: np.random.Generator
    steps: int = 0
    clamps: dict[str, dict[int, np.ndarray]] = field(default_factory=lambda: {"v": {}, "h": {}, "label": {}})

    @property
    def n_chains(self) -> int:
        return self.v.shape[0]

    def random_state(self) -> dict:
        """The random parts as plain data: the per-chain counters and the Generator's bit-generator state."""
        return {"counters": self.counters.copy(), "rng": self.rng.bit_generator.state}

    def set_random_state(self, saved: dict) -> None:
        """Restore what ``random_state`` returned."""
        counters = np.asarray(saved["counters"], dtype=np.uint64)
        if counters.shape != self.counters.shape:
            raise ValueError(f"saved random counters are for {counters.shape[0]} chains, not {self.n_chains}")
        self.counters[:] = counters
        self.rng.bit_generator.state = saved["rng"]


def as_generator(seed) -> np.random.Generator:
    """A Generator from a seed, a SeedSequence or a Generator (passed through)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


_LIVE_ENGINES: "weakref.WeakSet[GibbsEngine]" = weakref.WeakSet()


def live_engines() -> int:
    """Engines not yet collected in this process: a server's health log counts them, so that a session
    that leaves an engine behind shows up (``rbm_explorer.app.health``)."""
    return len(_LIVE_ENGINES)


class GibbsEngine:
    """Runs block Gibbs on ``n_chains`` chains of an RBM.

    Parameters
    ----------
    rbm : RBM
    n_chains : int
    seed : int, SeedSequence or Generator
        Seeds the per-chain streams and the initial noise.
    beta : float
        Inverse temperature of sampling: the chains sample P(v, h) proportional to exp(-beta E(v, h)).
    init_v : array, optional
        Natural visible states to start from (rows are cycled if fewer than ``n_chains``); uniform noise
        otherwise.
    init_label : array, optional
        Initial labels for a labelled RBM; uniform otherwise.
    """

    def __init__(self, rbm: RBM, n_chains: int, seed=None, beta: float = 1.0, init_v=None, init_label=None):
        if n_chains < 1:
            raise ValueError(f"n_chains must be at least 1, got {n_chains}")
        _LIVE_ENGINES.add(self)
        self.beta = beta
        rng = as_generator(seed)
        self.set_model(rbm)
        n_v, n_h = rbm.visible.n_features, rbm.hidden.n_units
        v = np.empty((n_chains, n_v), np.float32)
        h = np.zeros((n_chains, n_h), np.float32)
        label = None if rbm.label is None else np.zeros((n_chains, rbm.label.n_features), np.float32)
        self.state = ChainState(v, h, label, seed_chain_states(n_chains, rng), rng)
        self._inputs_h = np.empty((n_chains, n_h), np.float32)
        self._inputs_v = np.empty((n_chains, n_v), np.float32)
        self._inputs_label = None if label is None else np.empty_like(label)
        self.reinitialize(init_v, init_label)

    # --- parameters --------------------------------------------------------------------------------------
    @property
    def beta(self) -> float:
        return self._beta

    @beta.setter
    def beta(self, value: float) -> None:
        value = float(value)
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"beta must be a positive finite number, got {value}")
        self._beta = value

    def set_model(self, rbm: RBM) -> None:
        """Use new parameters (same shapes) from the next step on; keeps the chains."""
        if hasattr(self, "rbm") and _layout(self.rbm) != _layout(rbm):
            raise ValueError(f"set_model needs an RBM with the same layers: {_layout(self.rbm)} != {_layout(rbm)}")
        self.rbm = rbm
        self._clamp_cache = {}
        self._w = np.ascontiguousarray(rbm.weight_matrix, dtype=np.float32)
        self._d = None if rbm.label is None else np.ascontiguousarray(rbm.label_weights, dtype=np.float32)

    @property
    def n_chains(self) -> int:
        return self.state.n_chains

    @property
    def weight_matrix32(self) -> np.ndarray:
        """The float32 weight matrix the engine samples with (read-only use)."""
        return self._w

    @property
    def inputs_h(self) -> np.ndarray:
        """Hidden inputs I(v) (with the label term) computed from the visible state before the last step."""
        return self._inputs_h

    # --- initialisation ----------------------------------------------------------------------------------
    def reinitialize(self, init_v=None, init_label=None) -> None:
        """Restart the chains: visibles from ``init_v`` (natural states, cycled) or noise; labels likewise.

        Hidden units are then drawn from p(h | v, l). Clamps stay in force.
        """
        rbm, st, n = self.rbm, self.state, self.n_chains
        if init_v is None:
            st.v[:] = rbm.visible.random_features(n, st.rng)
        else:
            data = np.asarray(init_v)
            if data.ndim == 1:
                data = data[None, :]
            if data.ndim != 2 or data.shape[1] != rbm.n_visible or data.shape[0] == 0:
                raise ValueError(f"initial visible states must be rows of {rbm.n_visible} units, got shape {data.shape}")
            rows = rbm.visible.features(rbm.visible.check_values(data))
            st.v[:] = rows[np.arange(n) % rows.shape[0]]
        if st.label is not None:
            labels = st.rng.integers(0, rbm.label.n_classes, n) if init_label is None else init_label
            labels = np.broadcast_to(np.asarray(labels), (n,))
            st.label[:] = rbm.label.features(rbm.label.check_values(labels))
        for layer in ("v", "label"):
            self._clamp(layer).apply(self._features(layer))
        self._sample_hidden()

    # --- clamping ----------------------------------------------------------------------------------------
    def _layer(self, which: str):
        return {"v": self.rbm.visible, "h": self.rbm.hidden, "label": self.rbm.label}[which]

    def _features(self, which: str) -> np.ndarray:
        return {"v": self.state.v, "h": self.state.h, "label": self.state.label}[which]

    def clamp(self, which: str, units, values) -> None:
        """Fix ``units`` of layer ``which`` ('v', 'h' or 'label') to natural ``values``.

        ``values`` is one value per unit (shared by all chains), or (chains x units). The label has one
        unit, index 0. Takes effect at once in the state and holds until ``unclamp``.
        """
        layer = self._layer(which)
        if layer is None:
            raise ValueError("this RBM has no label unit")
        units = np.atleast_1d(np.asarray(units, dtype=np.intp))
        if units.size and (units.min() < 0 or units.max() >= layer.n_units):
            raise ValueError(f"{which} unit index out of range 0..{layer.n_units - 1}: {units.tolist()}")
        values = layer.check_values(np.broadcast_to(np.asarray(values), (self.n_chains, units.size)))
        for j, unit in enumerate(units):
            self.state.clamps[which][int(unit)] = np.array(values[:, j])
        self._clamp_cache.pop(which, None)
        self._clamp(which).apply(self._features(which))

    def unclamp(self, which: str, units=None) -> None:
        """Release ``units`` of layer ``which`` (all of them when ``units`` is None)."""
        if units is None:
            self.state.clamps[which].clear()
        else:
            for unit in np.atleast_1d(units):
                self.state.clamps[which].pop(int(unit), None)
        self._clamp_cache.pop(which, None)

    def clamped(self, which: str) -> dict[int, np.ndarray]:
        """Clamped units of a layer: unit index -> per-chain natural values."""
        return dict(self.state.clamps[which])

    def _clamp(self, which: str) -> Clamp:
        cached = self._clamp_cache.get(which)
        if cached is None:
            layer, clamps = self._layer(which), self.state.clamps[which]
            if not clamps:
                cached = Clamp(np.empty(0, np.intp), np.empty((self.n_chains, 0), np.float32))
            else:
                units = np.array(sorted(clamps), dtype=np.intp)
                natural = np.stack([clamps[u] for u in units], axis=1)
                feats = layer.encode_units(natural)
                cached = Clamp(layer.feature_columns(units), feats.astype(np.float32))
            self._clamp_cache[which] = cached
        return cached

    # --- stepping ----------------------------------------------------------------------------------------
    def _sample_hidden(self, threads: int | None = None) -> None:
        st = self.state
        np.matmul(st.v, self._w, out=self._inputs_h)
        if st.label is not None:
            self._inputs_h += st.label @ self._d
        threads = _engine_threads(self) if threads is None else threads
        _sample_layer(self.rbm.hidden, self._inputs_h, self._beta, st.counters, st.h, threads)
        self._clamp("h").apply(st.h)

    def _sample_visible(self, threads: int | None = None) -> None:
        st = self.state
        np.matmul(st.h, self._w.T, out=self._inputs_v)
        threads = _engine_threads(self) if threads is None else threads
        _sample_layer(self.rbm.visible, self._inputs_v, self._beta, st.counters, st.v, threads)
        self._clamp("v").apply(st.v)
        if st.label is not None:
            np.matmul(st.h, self._d.T, out=self._inputs_label)
            self.rbm.label.sample_from_inputs(self._inputs_label, self._beta, st.counters, st.label)
            self._clamp("label").apply(st.label)

    def step(self, n_steps: int = 1) -> None:
        """Run ``n_steps`` full sweeps: v -> h -> v (and label).

        The sampling kernels run on ``kernel_threads.threads_for(engine.kernel_threads)`` threads, by blocks of
        chains: by default as many as the BLAS threads in force (``rbm_explorer.sampling.kernel_threads``). The
        chains do not depend on that number.
        """
        threads = _engine_threads(self)
        for _ in range(n_steps):
            self._sample_hidden(threads)
            self._sample_visible(threads)
            self.state.steps += 1

    def current_inputs_h(self, n_chains: int | None = None) -> np.ndarray:
        """Hidden inputs I(v) (+ label term) of the current visible states of the first ``n_chains`` chains,
        float32 through BLAS (for traces; ``rbm.inputs_h_from_v`` is the float64 reference)."""
        st = self.state
        k = self.n_chains if n_chains is None else min(n_chains, self.n_chains)
        inputs = st.v[:k] @ self._w
        if st.label is not None:
            inputs += st.label[:k] @ self._d
        return inputs

    # --- read-out ----------------------------------------------------------------------------------------
    def visible_states(self) -> np.ndarray:
        """Natural visible states, a copy (chains x n_visible; integers for Potts)."""
        return self.rbm.visible.natural_from_features(self.state.v.copy())

    def hidden_states(self) -> np.ndarray:
        return self.rbm.hidden.natural_from_features(self.state.h.copy())

    def label_states(self) -> np.ndarray | None:
        if self.state.label is None:
            return None
        return self.rbm.label.natural_from_features(self.state.label)


def _layout(rbm: RBM) -> tuple:
    """What must match for chains to carry over to another RBM: kinds, unit counts, q, label classes."""
    label = None if rbm.label is None else rbm.label.n_classes
    return (rbm.visible.kind, rbm.visible.field_shape, rbm.hidden.kind, rbm.hidden.n_units, label)


# --- sampling kernels on several threads (rbm_explorer.sampling.kernel_threads) ---------------------------
from rbm_explorer.sampling import kernel_threads  # noqa: E402


def _engine_threads(engine: GibbsEngine) -> int:
    """Threads for an engine's sampling kernels: its ``kernel_threads`` attribute if one was set (an int, or
    None to follow the default), else the default of ``kernel_threads.threads_for``."""
    return kernel_threads.threads_for(getattr(engine, "kernel_threads", None))


def _sample_layer(layer, inputs, beta, counters, out, threads: int) -> None:
    """``layer.sample_from_inputs`` on all chains, on ``threads`` threads when the layer's kernel has a
    claimed form and the work is large enough (``kernel_threads.run_claimed``). Each row uses only its own
    inputs and counter, so the result is the same on any number of threads."""
    split = kernel_threads.worth_splitting(inputs.shape[0], inputs.shape[1], threads)
    plan = kernel_threads.claimed_plan(layer, inputs, beta, counters, out) if split else None
    if plan is None:
        layer.sample_from_inputs(inputs, beta, counters, out)
        return
    kernel, args, units_per_row = plan
    kernel_threads.run_claimed(kernel, args, inputs.shape[0], units_per_row, threads)
