"""Unit-variance Gaussian units: E(x) = x^2/2 - theta x, so x | I ~ N(theta + I, 1/beta) and
Gamma(I) = (theta + I)^2 / 2 + log(2 pi) / 2 (the analytic Gaussian-spin model of
Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), Sec. IX.B, Eqs. 31-34)."""

import numpy as np

from rbm_explorer.layers.base import Layer, register_layer


@register_layer
class Gaussian(Layer):
    kind = "gaussian"
    discrete = False
    mirror_sum = 0.0  # x -> -x leaves x^2 / 2 unchanged
    linear_energy = False  # the x^2 / 2 term

    @property
    def value_range(self):
        """The mean +- 3 standard deviations of a unit with zero input, for colour scales."""
        centre = float(self.fields.mean()) if self.fields.size else 0.0
        return (centre - 3.0, centre + 3.0)

    def energy(self, x):
        x = self.features(x)
        return 0.5 * (x * x).sum(axis=1) - x @ self.fields

    def cgf(self, inputs):
        x = np.asarray(inputs, np.float64) + self.fields
        return 0.5 * (x * x).sum(axis=1) + 0.5 * np.log(2 * np.pi) * self.n_units

    def mean_from_inputs(self, inputs, beta=1.0):
        return np.asarray(inputs, np.float64) + self.fields

    def var_from_inputs(self, inputs, beta=1.0):
        return np.full(np.shape(inputs), 1.0 / beta)

    def sampling_kernels(self, inputs, beta, states, out):
        from rbm_explorer._kernels import sample_gaussian_claimed, sample_gaussian_into

        return sample_gaussian_into, sample_gaussian_claimed, (inputs, self.fields.astype(np.float32),
                                                                np.float32(beta), states, out)

    def fields_from_mean(self, mean):
        return np.asarray(mean, np.float64)

    def random_features(self, n, rng):
        return rng.standard_normal((n, self.n_units)).astype(np.float32)
