"""The interface every unit kind implements, and the registry that maps kind names to classes.

Vocabulary (fixed; RBM and sampler code use only these):

* ``features(x)`` - the float vector a state contributes to the weight product (one-hot for Potts);
* ``energy(x)`` - the layer's own energy term, minus the fields times the features (plus a quadratic term
  for Gaussian units);
* ``cgf(inputs)`` - the log-partition Gamma of the layer given the inputs from the other layer, summed over
  units: log sum_x exp(-energy(x) + inputs . features(x)), so that summing the other layer out gives the free
  energy F(v) = energy(v) - cgf(I(v)) (Pozas-Kerstjens et al. (2021), Eqs. A1-A2);
* ``mean_from_inputs(inputs, beta)`` - conditional mean of the features;
* ``var_from_inputs(inputs, beta)`` - conditional variance of each feature (the derivative of the mean);
* ``sample_from_inputs(inputs, beta, states, out)`` - draw features in place with per-chain counters.

What callers outside ``layers/`` may ask instead of looking at the kind name:

* ``roles`` - where the kind may sit ("visible", "hidden", "label"); ``layer_kinds(role)`` lists them;
* ``levels`` - the values one unit takes (None for continuous units), ``value_range`` for colour scales;
* ``option_names``, ``options()``, ``check_options``, ``field_shape_for`` and ``zeros`` - the constructor
  options (``q`` for Potts), which model files store as top-level metadata keys;
* ``mirror(x)`` and ``mirror_sum`` - the relabelling x -> mirror_sum - x that maps the unit's states onto
  themselves and leaves its non-field energy unchanged; it flips a chain's unit, and ``RBM.flip_hidden_unit``
  uses it for the exact gauge flip of the parameters;
* ``state_index(x)`` - position of natural states in ``all_states()`` order (exact enumeration);
* ``states_from_data(X)`` and ``options_from_data(X)`` - raw float data checked and converted to natural
  states, with an error that names what is wrong (the scikit-learn estimator);
* ``describe()`` - a short human description ("potts, q = 21").

States come in two forms: *natural* (what users see: 0/1, +-1, Potts integers, Gaussian reals) and
*features* (float32 rows that multiply W). Adding a unit kind means adding one subclass with ``kind`` set;
``register_layer`` makes it known to model files and the CLI.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

LAYER_KINDS: dict[str, type["Layer"]] = {}
ROLES = ("visible", "hidden", "label")


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


def layer_kinds(role: str | None = None) -> tuple[str, ...]:
    """Registered kind names, sorted; only those that may sit in ``role`` ("visible", "hidden", "label")."""
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown layer role {role!r}; roles: {', '.join(ROLES)}")
    return tuple(sorted(k for k, cls in LAYER_KINDS.items() if role is None or role in cls.roles))


def option_names() -> set[str]:
    """The constructor option names of every registered kind (``q``): keys that files and estimators reserve."""
    return {name for cls in LAYER_KINDS.values() for name in cls.option_names}


def layer_for_role(kind: str, role: str) -> type["Layer"]:
    """The class of ``kind``, which must be allowed in ``role``; ``ValueError`` naming the allowed kinds."""
    cls = layer_class(kind)
    if role not in cls.roles:
        raise ValueError(f"{kind} units cannot be the {role} layer; {role} kinds: {', '.join(layer_kinds(role))}")
    return cls


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
    #: Where units of this kind may sit in an RBM.
    roles: ClassVar[frozenset] = frozenset({"visible", "hidden"})
    #: Names of the constructor options besides the fields; model files store them as metadata keys.
    option_names: ClassVar[tuple[str, ...]] = ()
    #: x -> mirror_sum - x relabels the states of a unit (None: no such symmetry).
    mirror_sum: ClassVar[float | None] = None
    #: Raw data for this kind are never negative / are category indices (scikit-learn input tags).
    nonnegative_data: ClassVar[bool] = False
    categorical_data: ClassVar[bool] = False
    #: The energy is -fields . features(x), linear in the features, so that the RBM's energy is bilinear and
    #: separates into reciprocal modes (``analysis.spectra``).
    linear_energy: ClassVar[bool] = True

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
        """Extra constructor options besides the fields (``q`` for Potts), keyed by ``option_names``."""
        return {}

    @classmethod
    def check_options(cls, options: dict) -> dict:
        """Validate constructor options (e.g. read from a file); returns them. ``ValueError`` names the problem."""
        unknown = set(options) - set(cls.option_names)
        if unknown:
            raise ValueError(f"{cls.kind} units take no option {sorted(unknown)}")
        return dict(options)

    @classmethod
    def field_shape_for(cls, n_units: int, **options) -> tuple:
        """The shape of the fields of ``n_units`` units with these options."""
        cls.check_options(options)
        return (int(n_units),)

    @classmethod
    def zeros(cls, n_units: int, **options) -> "Layer":
        """``n_units`` units of this kind with zero fields."""
        return cls(np.zeros(cls.field_shape_for(n_units, **options)), **options)

    def with_fields(self, fields) -> "Layer":
        """A layer of the same kind and options with other fields."""
        return type(self)(fields, **self.options())

    def describe(self) -> str:
        """The kind and its options, for people: "binary", "potts, q = 21"."""
        return ", ".join([self.kind, *(f"{k} = {v}" for k, v in self.options().items())])

    # --- values ------------------------------------------------------------------------------------------
    @property
    def levels(self) -> tuple | None:
        """The natural values one unit takes, in order; None for continuous units."""
        return None

    @property
    def value_range(self) -> tuple[float, float]:
        """Smallest and largest natural value, for colour scales (mean +- 3 sd for continuous units)."""
        return (float(min(self.levels)), float(max(self.levels)))

    def mirror(self, x) -> np.ndarray:
        """The relabelled states mirror_sum - x (a flipped unit); ``ValueError`` for kinds without it."""
        if self.mirror_sum is None:
            raise ValueError(f"{self.kind} units cannot be flipped")
        return self.mirror_sum - np.asarray(x, dtype=np.float64)

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
    def var_from_inputs(self, inputs, beta: float = 1.0) -> np.ndarray:
        """Conditional variance of each feature at inverse temperature beta. (batch x n_features).

        At beta = 1 it is the derivative of ``mean_from_inputs`` with respect to the feature's own input."""

    def sample_from_inputs(self, inputs, beta: float, states, out) -> None:
        """Sample features given float32 inputs (chains x n_features) into ``out``; advances ``states``."""
        serial, _, args = self.sampling_kernels(inputs, beta, states, out)
        serial(*args)

    @abstractmethod
    def sampling_kernels(self, inputs, beta: float, states, out) -> tuple:
        """``(serial, claimed, args)``: the numba kernel that samples all chains as ``serial(*args)``, its form
        that several threads share by claiming rows (``claimed(*args, work, rows_per_claim)``, or None), and
        the arguments both take. ``rbm_explorer.sampling.kernel_threads`` runs the claimed form."""

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

    def state_index(self, x) -> np.ndarray:
        """Index of each natural state (batch x n_units) in the order of ``all_states()``."""
        raise ValueError(f"{self.kind} units have a continuous state space and cannot be enumerated")

    # --- raw data ----------------------------------------------------------------------------------------
    @classmethod
    def options_from_data(cls, X) -> dict:
        """Constructor options implied by raw training data (``q`` for Potts); none for most kinds."""
        return {}

    def states_from_data(self, X) -> np.ndarray:
        """Raw float data (n x n_units), already finite, checked and converted to natural states.

        ``ValueError`` names the values that do not fit. The default accepts any finite reals."""
        return np.asarray(X)

    def is_soft(self, X) -> bool:
        """Whether accepted data ``X`` are conditional means ("probabilities") rather than states."""
        return False

    def draw_from_means(self, means, rng: np.random.Generator) -> np.ndarray:
        """Natural states drawn independently with the given means (soft data made into states)."""
        raise ValueError(f"{self.kind} units take no soft data")


class TwoStateLayer(Layer):
    """Shared code of the binary {0,1} and spin {-1,+1} kinds: states ``low`` and ``high``."""

    low: ClassVar[float]
    high: ClassVar[float]
    #: p(high | x) = sigmoid(scale * x) with scale = high - low (1 for binary, 2 for spins).
    scale: ClassVar[float]

    @property
    def levels(self):
        return (self.low, self.high)

    def var_from_inputs(self, inputs, beta=1.0):
        # the features are low + (high - low) b with b Bernoulli(p): variance (high - low)^2 p (1 - p)
        span = self.high - self.low
        p = (self.mean_from_inputs(inputs, beta) - self.low) / span
        return span * span * p * (1.0 - p)

    def states_from_data(self, X):
        X = np.asarray(X)
        if not np.all((X == self.low) | (X == self.high)):
            raise ValueError(f"{self.kind} visible units need values {self.low:+g} and {self.high:+g}, got "
                             f"{np.unique(X)[:10].tolist()}")
        return X

    def state_index(self, x):
        # all_states counts in binary with unit 0 as the least significant digit
        bits = (np.asarray(x).reshape(-1, self.n_units) == self.high).astype(np.int64)
        return bits @ (np.int64(2) ** np.arange(self.n_units, dtype=np.int64))

    def check_values(self, values):
        values = super().check_values(values)
        if not np.all((values == self.low) | (values == self.high)):
            bad = sorted(set(np.unique(values).tolist()) - {self.low, self.high})
            raise ValueError(f"{self.kind} units take the values {self.low:g} and {self.high:g}, got {bad}")
        return values

    def sampling_kernels(self, inputs, beta, states, out):
        from rbm_explorer._kernels import sample_two_state_claimed, sample_two_state_into

        args = (inputs, self.sampling_fields, np.float32(self.scale * beta), np.float32(self.low),
                np.float32(self.high), states, out)
        return sample_two_state_into, sample_two_state_claimed, args

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
