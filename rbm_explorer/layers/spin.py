"""Spin {-1,+1} units: p(s=+1 | I) = sigmoid(2(theta + I)), E[s] = tanh(theta + I), Gamma(x) = log(2 cosh x)."""

import numpy as np

from rbm_explorer.layers.base import TwoStateLayer, register_layer


@register_layer
class Spin(TwoStateLayer):
    kind = "spin"
    low, high, scale = -1.0, 1.0, 2.0
    mirror_sum = 0.0  # s -> -s

    def cgf(self, inputs):
        x = np.asarray(inputs, np.float64) + self.fields
        # log(2 cosh x) = |x| + log(1 + e^{-2|x|}), stable for large |x|
        return (np.abs(x) + np.log1p(np.exp(-2.0 * np.abs(x)))).sum(axis=1)

    def mean_from_inputs(self, inputs, beta=1.0):
        return np.tanh(beta * (np.asarray(inputs, np.float64) + self.fields))
