"""Binary {0,1} units: p(x=1 | I) = sigmoid(theta + I), Gamma(x) = log(1 + e^x) (PAPERS.md section 0)."""

import numpy as np
from scipy.special import expit

from rbm_explorer.layers.base import TwoStateLayer, register_layer


@register_layer
class Binary(TwoStateLayer):
    kind = "binary"
    low, high, scale = 0.0, 1.0, 1.0

    def cgf(self, inputs):
        return np.logaddexp(0.0, np.asarray(inputs, np.float64) + self.fields).sum(axis=1)

    def mean_from_inputs(self, inputs, beta=1.0):
        return expit(beta * (np.asarray(inputs, np.float64) + self.fields))
