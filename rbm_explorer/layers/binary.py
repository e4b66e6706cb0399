"""Binary {0,1} units: p(x=1 | I) = sigmoid(theta + I), Gamma(x) = log(1 + e^x) (the Bernoulli units of
Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), Sec. II.A, Eqs. 1-3)."""

import numpy as np
from scipy.special import expit

from rbm_explorer.layers.base import TwoStateLayer, register_layer


@register_layer
class Binary(TwoStateLayer):
    kind = "binary"
    low, high, scale = 0.0, 1.0, 1.0
    mirror_sum = 1.0  # h -> 1 - h
    nonnegative_data = True

    def states_from_data(self, X):
        """Binary visibles accept any values in [0, 1]: 0/1 states, or probabilities for mean-field data."""
        X = np.asarray(X)
        if X.size and X.min() < 0.0:
            raise ValueError(f"Negative values in data passed to binary visible units: they need values in "
                             f"[0, 1], got a minimum of {X.min():g}")
        if X.size and X.max() > 1.0:
            raise ValueError(f"binary visible units need values in [0, 1], got a maximum of {X.max():g}")
        return X

    def is_soft(self, X):
        X = np.asarray(X)
        return not np.all((X == 0.0) | (X == 1.0))

    def draw_from_means(self, means, rng):
        means = np.asarray(means, np.float64)
        return (rng.random(means.shape) < means).astype(np.float64)

    def cgf(self, inputs):
        return np.logaddexp(0.0, np.asarray(inputs, np.float64) + self.fields).sum(axis=1)

    def mean_from_inputs(self, inputs, beta=1.0):
        return expit(beta * (np.asarray(inputs, np.float64) + self.fields))
