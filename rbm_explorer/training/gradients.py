"""Log-likelihood gradients of an RBM from a positive (data) and a negative (model) sample.

d log P / d W = <f(v) E[h|v]>_data - <f(v) E[h|v]>_model, d/d g = <f(v)>_data - <f(v)>_model,
d/d theta = <E[h|v]>_data - <E[h|v]>_model (the moment-matching gradient of Carbone, Decelle, Rosset and
Seoane (2023), Eq. 4, with the hidden units summed out). Using the conditional means E[h|v] in both
phases (rather than sampled h) removes the hidden-layer sampling noise from the estimate. ``weights`` lets
data samples count unequally (protein sequence weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rbm_explorer.rbm import RBM


@dataclass
class Moments:
    """First and second moments of a sample in feature form: <f>, <E[h|v]>, <f E[h|v]^T>."""

    visible: np.ndarray
    hidden: np.ndarray
    cross: np.ndarray


def moments(rbm: RBM, features: np.ndarray, weights: np.ndarray | None = None, weight_matrix=None) -> Moments:
    """Moments of visible feature rows (n x n_features) under ``rbm``'s hidden conditional means.

    By default in float64 (exact checks). The trainer passes float32 ``features`` and a float32 copy of the
    weight matrix: the products then run in float32, like the sampler, at half the cost.
    """
    w_matrix = rbm.weight_matrix if weight_matrix is None else weight_matrix
    dtype = w_matrix.dtype
    inputs = features @ w_matrix
    mean_h = rbm.hidden.mean_from_inputs(inputs).astype(dtype, copy=False)
    if weights is None:
        w = np.full(len(features), 1.0 / len(features), dtype=dtype)
    else:
        w = (np.asarray(weights, dtype=np.float64) / np.sum(weights)).astype(dtype)
    cross = (features * w[:, None]).T @ mean_h
    return Moments((w @ features).astype(np.float64), (w @ mean_h).astype(np.float64), cross.astype(np.float64))


@dataclass
class Gradient:
    """Ascent direction for (weight_matrix, visible feature fields, hidden fields)."""

    weights: np.ndarray
    visible_fields: np.ndarray
    hidden_fields: np.ndarray

    def as_list(self) -> list[np.ndarray]:
        return [self.weights, self.visible_fields, self.hidden_fields]


def likelihood_gradient(rbm: RBM, positive: Moments, negative: Moments) -> Gradient:
    return Gradient(
        positive.cross - negative.cross,
        positive.visible - negative.visible,
        positive.hidden - negative.hidden,
    )
