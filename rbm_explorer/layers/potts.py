"""Potts units with q states, one-hot coded: p(x_i = a | I) = softmax_a(g_ia + I_ia) (the protein
RBMs of Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), Sec. VII.B).

Natural states are integers 0..q-1 (batch x n_units); features are the flattened one-hot rows
(batch x n_units*q), matching weights of shape N x q x M flattened to (N*q) x M.
"""

import numpy as np
from scipy.special import logsumexp, softmax

from rbm_explorer.layers.base import Layer, register_layer


@register_layer
class Potts(Layer):
    kind = "potts"
    roles = frozenset({"visible"})
    option_names = ("q",)
    nonnegative_data = True
    categorical_data = True

    def __init__(self, fields, q: int | None = None):
        fields = np.asarray(fields, dtype=np.float64)
        if fields.ndim != 2:
            raise ValueError(f"potts fields must be N x q, got shape {fields.shape}")
        if q is not None and fields.shape[1] != q:
            raise ValueError(f"potts fields have {fields.shape[1]} states per unit but q = {q}")
        if fields.shape[1] < 2:
            raise ValueError("potts units need q >= 2 states")
        self.fields = fields

    @property
    def q(self) -> int:
        return self.fields.shape[1]

    def options(self):
        return {"q": self.q}

    @classmethod
    def check_options(cls, options):
        options = super().check_options(options)
        q = options.get("q")
        if not isinstance(q, (int, np.integer)) or isinstance(q, bool) or q < 2:
            raise ValueError(f"{cls.kind} units need an integer option 'q' >= 2, got {q!r}")
        return {"q": int(q)}

    @classmethod
    def field_shape_for(cls, n_units, **options):
        return (int(n_units), cls.check_options(options)["q"])

    @property
    def levels(self):
        return tuple(range(self.q))

    @classmethod
    def options_from_data(cls, X):
        """q = the largest state seen plus one (at least 2)."""
        X = np.asarray(X)
        return {"q": max(2, int(X.max()) + 1 if X.size else 2)}

    def states_from_data(self, X):
        X = np.asarray(X)
        if X.size and X.min() < 0:
            raise ValueError(f"Negative values in data passed to {self.kind} units: they need integer states "
                             f"0..{self.q - 1}")
        if np.any(X != np.round(X)):
            raise ValueError(f"{self.kind} units need integer states 0..{self.q - 1}, got non-integer values")
        states = X.astype(np.intp)
        if states.size and states.max() >= self.q:
            raise ValueError(f"{self.kind} states must lie in 0..{self.q - 1} (q = {self.q}), got {int(states.max())}")
        return states

    def state_index(self, x):
        # np.indices(...).reshape(n, -1).T orders states with unit 0 as the most significant digit
        digits = np.asarray(x).reshape(-1, self.n_units).astype(np.int64)
        return digits @ (np.int64(self.q) ** np.arange(self.n_units - 1, -1, -1, dtype=np.int64))

    def features(self, x):
        return self.encode_units(np.asarray(x).reshape(-1, self.n_units))

    def encode_units(self, values):
        x = np.asarray(values)
        if not np.issubdtype(x.dtype, np.integer):
            if np.any(x != np.round(x)):
                raise ValueError("potts states must be integers")
            x = x.astype(np.intp)
        if x.size and (x.min() < 0 or x.max() >= self.q):
            raise ValueError(f"potts states must lie in 0..{self.q - 1}")
        onehot = np.zeros(x.shape + (self.q,))
        np.put_along_axis(onehot, x[..., None], 1.0, axis=-1)
        return onehot.reshape(x.shape[0], -1)

    def natural_from_features(self, f):
        return np.asarray(f).reshape(-1, self.n_units, self.q).argmax(axis=2)

    def feature_columns(self, units):
        units = np.asarray(units, dtype=np.intp)
        return (units[:, None] * self.q + np.arange(self.q)[None, :]).reshape(-1)

    def check_values(self, values):
        values = np.asarray(values)
        if np.any(values != np.round(values)) or np.any(values < 0) or np.any(values >= self.q):
            raise ValueError(f"potts units take integer values 0..{self.q - 1}, got {np.unique(values).tolist()}")
        return values.astype(np.intp)

    def _local(self, inputs):
        return np.asarray(inputs, np.float64).reshape(-1, self.n_units, self.q) + self.fields

    def cgf(self, inputs):
        return logsumexp(self._local(inputs), axis=2).sum(axis=1)

    def mean_from_inputs(self, inputs, beta=1.0):
        return softmax(beta * self._local(inputs), axis=2).reshape(-1, self.n_features)

    def var_from_inputs(self, inputs, beta=1.0):
        p = self.mean_from_inputs(inputs, beta)
        return p * (1.0 - p)

    def sampling_kernels(self, inputs, beta, states, out):
        from rbm_explorer._kernels import sample_categorical_claimed, sample_categorical_into

        shape = (inputs.shape[0], self.n_units, self.q)
        fields32 = self.fields.astype(np.float32)  # per call, so that training may update the fields in place
        args = (inputs.reshape(shape), fields32, np.float32(beta), states, out.reshape(shape))
        return sample_categorical_into, sample_categorical_claimed, args

    def fields_from_mean(self, mean, eps: float = 1e-3):
        freqs = np.clip(np.asarray(mean, np.float64).reshape(self.n_units, self.q), eps, None)
        logs = np.log(freqs / freqs.sum(axis=1, keepdims=True))
        return (logs - logs.mean(axis=1, keepdims=True)).reshape(-1)

    def random_features(self, n, rng):
        return self.features(rng.integers(0, self.q, size=(n, self.n_units))).astype(np.float32)

    def all_states(self):
        if self.q**self.n_units > 2**22:
            raise ValueError(f"cannot enumerate {self.q}**{self.n_units} states")
        grids = np.indices((self.q,) * self.n_units).reshape(self.n_units, -1).T
        return grids.astype(np.intp)
