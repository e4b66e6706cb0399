"""The interface every unit kind implements, and the registry that maps kind names to classes.

Vocabulary (fixed; RBM and sampler code use only these):

* ``features(x)`` - the float vector a state contributes to the weight product (one-hot for Potts);
* ``energy(x)`` - the layer's own energy term, minus the fields times the features (plus a quadratic term
  for Gaussian units);
* ``cgf(inputs)`` - the log-partition Gamma of the layer given the inputs from the other layer, summed over
  units: log sum_x exp(-energy(x) + inputs . features(x)) (PAPERS.md section 0);
* ``mean_from_inputs(inputs, beta)`` - conditional mean of the features;
* ``sample_from_inputs(inputs, beta, states, out)`` - draw features in place with per-chain counters.

States come in two forms: *natural* (what users see: 0/1, +-1, Potts integers, Gaussian reals) and
*features* (float32 rows that multiply W). Adding a unit kind means adding one subclass with ``kind`` set;
``register_layer`` makes it known to model files and the CLI.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

LAYER_KINDS: dict[str, type["Layer"]] = {}


def register_layer(cls: type["Layer"]) -> type["Layer"]:
    """Class decorator: make ``cls`` available under ``cls.kind``."""
    LAYER_KINDS[cls.kind] = cls
    return cls


def layer_class(kind: str) -> type["Layer"]:
    """The layer class registered as ``kind``; ``ValueError`` naming the known kinds otherwise."""
    try:
        return LAYER_KINDS[kind]
    except KeyError:
        known = ", ".join(sorted(LAYER_KINDS))
        raise ValueError(f"unknown unit kind {kind!r}; known kinds: {known}") from None


class Layer(ABC):
    """A layer of units of one kind with its fields.

    Parameters
    ----------
    fields : array
        Shape ``field_shape``: (n_units,) for most kinds, (n_units, q) for Potts. Stored as float64.
    """

    kind: ClassVar[str]
    #: Whether the states can be enumerated (finite state space).
    discrete: ClassVar[bool] = True

    def __init__(self, fields):
        fields = np.asarray(fields, dtype=np.float64)
        if fields.ndim != 1:
            raise ValueError(f"{self.kind} fields must be 1-d, got shape {fields.shape}")
        self.fields = fields

    # --- shapes -----------------------------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return self.fields.shape[0]

    @property
    def field_shape(self) -> tuple:
        """Shape of the fields: (n_units,), or (n_units, q) for Potts. Weights are field_shape + (M,)."""
        return self.fields.shape

    @property
    def n_features(self) -> int:
        """Width of the feature rows that multiply the weight matrix."""
        return self.fields.size

    @property
    def feature_fields(self) -> np.ndarray:
        """Fields flattened to feature layout, float64."""
        return self.fields.reshape(-1)

    def options(self) -> dict:
        """Extra constructor options besides the fields (``q`` for Potts)."""
        return {}

    def with_fields(self, fields) -> "Layer":
        """A layer of the same kind and options with other fields."""
        return type(self)(fields, **self.options())

    # --- conversions -------------------------------------------------------------------------------------
    def features(self, x) -> np.ndarray:
        """Natural states (batch x n_units) to float64 feature rows (batch x n_features)."""
        return np.asarray(x, dtype=np.float64).reshape(-1, self.n_features)

    def encode_units(self, values) -> np.ndarray:
        """Natural values of some units (batch x k) to their feature columns (batch x k * width)."""
        return np.asarray(values, dtype=np.float64)

    def natural_from_features(self, f) -> np.ndarray:
        """Feature rows back to natural states."""
        return np.asarray(f).reshape(-1, self.n_units)

    def feature_columns(self, units) -> np.ndarray:
        """Feature columns that belong to the given units."""
        return np.asarray(units, dtype=np.intp)

    def check_values(self, values) -> np.ndarray:
        """Validate natural values for clamping; returns them as an array."""
        values = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{self.kind} values must be finite")
        return values

    # --- physics -----------------------------------------------------------------------------------------
    def energy(self, x) -> np.ndarray:
        """Energy term of natural states x: -sum_i fields_i . features_i(x). Shape (batch,), float64."""
        return -(self.features(x) @ self.feature_fields)

    @abstractmethod
    def cgf(self, inputs) -> np.ndarray:
        """log sum_x exp(-energy(x) + inputs . features(x)), summed over units. (batch,), float64."""

    @abstractmethod
    def mean_from_inputs(self, inputs, beta: float = 1.0) -> np.ndarray:
        """Conditional mean of the features at inverse temperature beta. (batch x n_features)."""

    @abstractmethod
    def sample_from_inputs(self, inputs, beta: float, states, out) -> None:
        """Sample features given float32 inputs (chains x n_features) into ``out``; advances ``states``."""

    def fields_from_mean(self, mean: np.ndarray) -> np.ndarray:
        """Fields whose zero-input conditional mean is ``mean`` (feature layout): the independent-unit model
        of the data, used to initialise visible fields from data frequencies."""
        raise ValueError(f"{self.kind} units have no fields-from-frequencies initialisation")

    @abstractmethod
    def random_features(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform-noise initial states in feature form, float32 (n x n_features)."""

    def all_states(self) -> np.ndarray:
        """Every natural state of the layer, for exact enumeration (small layers only)."""
        raise ValueError(f"{self.kind} units have a continuous state space and cannot be enumerated")


class TwoStateLayer(Layer):
    """Shared code of the binary {0,1} and spin {-1,+1} kinds: states ``low`` and ``high``."""

    low: ClassVar[float]
    high: ClassVar[float]
    #: p(high | x) = sigmoid(scale * x) with scale = high - low (1 for binary, 2 for spins).
    scale: ClassVar[float]

    def check_values(self, values):
        values = super().check_values(values)
        if not np.all((values == self.low) | (values == self.high)):
            bad = sorted(set(np.unique(values).tolist()) - {self.low, self.high})
            raise ValueError(f"{self.kind} units take the values {self.low:g} and {self.high:g}, got {bad}")
        return values

    def sample_from_inputs(self, inputs, beta, states, out):
        from rbm_explorer._kernels import sample_two_state_into

        sample_two_state_into(
            inputs,
            self.sampling_fields,
            np.float32(self.scale * beta),
            np.float32(self.low),
            np.float32(self.high),
            states,
            out,
        )

    @property
    def sampling_fields(self) -> np.ndarray:
        """float32 copy of the fields; made per call (M floats) so that training may update them in place."""
        return self.feature_fields.astype(np.float32)

    def fields_from_mean(self, mean, eps: float = 1e-3):
        p_high = np.clip((np.asarray(mean, np.float64) - self.low) / (self.high - self.low), eps, 1 - eps)
        return np.log(p_high / (1 - p_high)) / self.scale

    def random_features(self, n, rng):
        pick = rng.random((n, self.n_units)) < 0.5
        return np.where(pick, self.high, self.low).astype(np.float32)

    def all_states(self):
        n = self.n_units
        if n > 24:
            raise ValueError(f"cannot enumerate 2**{n} states")
        bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
        return np.where(bits == 1, self.high, self.low).astype(np.float64)
